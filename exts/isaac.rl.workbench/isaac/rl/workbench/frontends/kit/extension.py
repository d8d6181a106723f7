"""The extension's lifecycle: the Window > RL Workbench menu item that shows and hides the panel, the autostart
run of a headless app, and a shutdown that leaves nothing behind (run stopped, tasks cancelled, menu removed,
window destroyed). The ``physics`` setting reaches the runs as the ``env.physics`` override (``headless.py``,
``window.py``); nothing here switches engines."""

from __future__ import annotations

import omni.ext

from . import isaacsim_adapter as isaacsim
from .settings import read_settings

MENU_NAME = "RL Workbench"


class RLWorkbenchExtension(omni.ext.IExt):
    """Kit creates one and calls :meth:`on_startup` when the extension is enabled, :meth:`on_shutdown` when it is
    disabled or the app quits."""

    def on_startup(self, ext_id: str) -> None:
        self.settings = read_settings(isaacsim.get_setting)
        self.window = None
        self._task = None
        if self.settings["autostart"]:
            from .headless import train_and_quit  # the Workbench (torch, Newton): imported when it trains

            self._task = isaacsim.start_task(train_and_quit(self.settings))
            self._menu = None
            return
        self._menu = isaacsim.add_window_menu(MENU_NAME, self.toggle_window, self.window_visible)

    def window_visible(self) -> bool:
        return self.window is not None and self.window.visible

    def toggle_window(self) -> None:
        """Show the panel (made on first use) or hide it."""
        if self.window is None:
            from .window import WorkbenchWindow

            self.window = WorkbenchWindow(MENU_NAME, self.settings)
        self.window.visible = not self.window.visible

    def on_shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._menu is not None:
            isaacsim.remove_window_menu(self._menu)
        if self.window is not None:
            self.window.destroy()
        self.window = self._task = self._menu = None
