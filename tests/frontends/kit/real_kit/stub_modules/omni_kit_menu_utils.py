"""FAKE ``omni.kit.menu.utils`` (Kit SDK; not obtainable here), the Python module of the stand-in extension of that
name that ``in_kit_checks.py`` writes: it only records the items added to and removed from each menu, so that the
checks see what the extension's ``on_startup`` / ``on_shutdown`` did. Not Kit's menu."""

from __future__ import annotations

from typing import Any

MENUS: dict[str, list] = {}
"""Menu name -> the items added and not removed yet."""


class MenuItemDescription:
    """Holds the keyword arguments it is given (``name``, ``onclick_fn``, ``ticked``, ``ticked_fn``, ...)."""

    def __init__(self, name: str = "", **kwargs: Any) -> None:
        self.name = name
        self.__dict__.update(kwargs)


def add_menu_items(items: list, menu: str, *args: Any, **kwargs: Any) -> None:
    MENUS.setdefault(menu, []).extend(items)


def remove_menu_items(items: list, menu: str, *args: Any, **kwargs: Any) -> None:
    for item in items:
        MENUS[menu].remove(item)
