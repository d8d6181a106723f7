"""``isaac-rl-workbench serve``: the Workbench panel in the browser, rendered with viser from the panel model.

One process holds one panel model (one spec, one run) and serves it to every tab: all tabs see the same state,
closing a tab stops nothing, and a tab that connects later gets the whole history (viser replays the GUI state).
Imports, compiled warp kernels and CUDA stay warm between runs, so a second Train starts quickly.

Rendering runs on one UI thread at most ``REFRESH_HZ`` times a second: the model's listeners only mark what changed,
so a training iteration never waits for the browser.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from ...specs.task_files import SHIPPED_TASKS_DIR, task_dirs
from ..ctrl_c import serve_until_stopped
from ..panel import PanelModel
from .access import is_loopback, new_token, page_url, start_server
from .camera_view import CameraView
from .own_origins import OwnOrigins
from .run_sections import RunSections
from .runs_section import RunsSection
from .scene_view import SceneView
from .spec_sections import SpecSections
from .sweep_section import SweepSection

REFRESH_HZ = 5.0


def default_folders() -> list[Path]:
    """The folders a panel may read scenes and specs from when none are given: the task folders and the shipped
    scenes (``assets/usd``)."""
    folders = [Path(f) for f in task_dirs()]
    shipped_scenes = SHIPPED_TASKS_DIR.parent / "assets" / "usd"
    return [f for f in [*folders, shipped_scenes] if f.is_dir()]


class PanelApp:
    """The browser panel of one :class:`PanelModel` on a viser server."""

    def __init__(self, server, model: PanelModel):
        self.server, self.model = server, model
        server.gui.configure_theme(control_width="large", dark_mode=False, show_logo=False, show_share_button=False)
        server.gui.set_panel_label("Isaac RL Workbench")
        self.view = SceneView(server, model)
        self.run = RunSections(server, model, self.view)
        self.spec = SpecSections(server, model)
        self.runs = RunsSection(server, model)
        self.sweep = SweepSection(server, model)
        self.cameras = CameraView(server, model)
        self._dirty: set[str] = {"spec", "run", "progress", "messages", "sweep"}
        self._dirty_lock = threading.Lock()
        self._spec_file = None
        self._stop = threading.Event()
        model.add_listener(lambda what, _model: self._mark(what))
        self._thread = threading.Thread(target=self._refresh_loop, name="panel-ui", daemon=True)
        self._thread.start()

    def _mark(self, what: str) -> None:
        with self._dirty_lock:
            self._dirty.add(what)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(1.0 / REFRESH_HZ):
            self.refresh_now()

    def refresh_now(self) -> None:
        """Render whatever changed since the last refresh."""
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        try:
            if "spec" in dirty:
                restructured = self.model.spec_file != self._spec_file
                self._spec_file = self.model.spec_file
                self.spec.refresh(structure_changed=restructured)
                self.view.show_spec()
            if "run" in dirty:
                self.model.runs.refresh()  # a run started, ended or saved: the list says so (shown at "runs")
                self.run.refresh_run()
                self.spec.show_liveness()  # a run started or ended: the fields it cannot take live greyed out or back
            if "runs" in dirty:
                self.runs.refresh()
                self.run.refresh_run_pick()
            if "sweep" in dirty or "spec" in dirty:
                self.sweep.refresh()
            if "poses" in dirty and self.model.run.play:
                self.run.refresh_policy()  # the play's step and return counters
            if dirty & {"progress", "run", "spec"}:  # the spec's max_iterations is the counter's end before a run
                self.run.refresh_progress()
            if dirty & {"cameras", "run"}:  # a new run shows no pictures until its cameras are read
                self.cameras.refresh()
            if "messages" in dirty:
                self.run.refresh_messages()
            if "save" in dirty:
                self.spec.refresh_save()
        except Exception as exc:  # a rendering bug must not end the UI thread; say it in the messages
            self.model.messages.append(f"error: panel: {type(exc).__name__}: {exc}")
            self._mark("messages")

    def close(self) -> None:
        self._stop.set()
        self.view.close()


def serve(
    task_or_spec: str | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    device: str = "cpu",
    scenes: list[Path] | None = None,
    runs_dir: Path = Path("runs"),
    view_envs: int = 4,
    block: bool = True,
    allow_origins: Sequence[str] = (),
) -> tuple[PanelApp, str]:
    """Start the panel; returns the app and the page's URL (with the token on a non-loopback host). With ``block``,
    serve until Ctrl-C, then stop training (saving a checkpoint) and return.

    ``allow_origins``: origins besides the panel's own whose pages may open it (a reverse proxy's
    ``https://lab.example.com``), or ``"*"`` for any (see :mod:`.own_origins`)."""
    token = None if is_loopback(host) else new_token()
    own = OwnOrigins.for_bind(host, allow_origins)  # a malformed origin is refused before anything starts
    folders = [Path(f) for f in scenes] if scenes else default_folders()
    model = PanelModel(runs_dir=runs_dir, device=device, folders=folders, view_envs=view_envs)
    server = start_server(host, port, token, allow_origins)
    app = PanelApp(server, model)
    if task_or_spec:
        model.open_spec(task_or_spec)
    url = page_url(host, server.get_port(), token)
    if not block:
        return app, url
    lines = [f"Isaac RL Workbench panel: {url}", f"scenes and specs from: {', '.join(map(str, model.folders.roots))}"]
    lines[-1] += f"; runs in {runs_dir}"
    if own.any_origin:
        lines.insert(1, "warning: --allow-origin '*': any web page this browser opens can read and drive the panel")
    serve_until_stopped(app, lines)
    return app, url
