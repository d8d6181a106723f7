"""What a spec opened or edited through the browser page may reach: nothing outside the allowed folders.

The page is a remote client, so a spec it opens is held to stricter rules than one on the command line: its scene
must lie in the allowed folders, its ``python_path`` may only be its own folder, and every function it names must
come from a module in its own folder (not from any installed module, which the env or the learner would import and
call). These checks run on the raw TOML table, before :func:`~..specs.loader.spec_from_table` imports any module.

What names a function is found by walking the whole table, every table and list at any depth (terms of
observations, rewards, terminations, events and metrics, commands, actuators, PPO settings, and any table added
later), not a list of tables: any string ``package.module:function`` (rsl-rl's ``class_name`` also takes
``package.module.Class``), and a table named ``package.module:function`` (a term without ``func`` is named after its
function). A known task (a spec file in a task folder, which the page did not write) keeps its own scene,
python_path and functions wherever they point.

A spec that extends another is checked as merged with its parents (the table the panel edits), and each parent
file must itself lie in the allowed folders (:func:`parent_check`, called before the parent is read). A parent in
another folder brings that folder into the merged ``python_path``, which the rule above refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..specs.loader import SpecError
from .allowed_paths import AllowedFolders, PathRefused

PATH_KEYS = ("scene", "scene_fallback", "python_path", "python_path_fallback")
"""Top-level keys that hold paths, checked as paths (never imported as modules)."""
FUNCTION_KEYS = ("func", "terms", "class_name")
"""Keys whose values the loader (or rsl-rl) imports: a term's function, an observation group's terms, a class."""


def check_page_spec(
    raw: dict[str, Any], spec_file: Path, folders: AllowedFolders, trusted: dict[str, Any] | None = None
) -> None:
    """Raise :class:`SpecError` (with ``.key``) when ``raw``, a spec table whose file is ``spec_file``, reaches
    outside ``folders``: its scene, its python_path, or a function (anywhere in the table) from a module outside its
    folder. ``trusted``: the table of a known task as its file holds it; a value ``raw`` keeps unchanged from it is
    allowed."""
    trusted = trusted or {}
    own = spec_file.resolve().parent
    for key in ("scene", "scene_fallback"):
        if isinstance(raw.get(key), str) and raw[key] != trusted.get(key):
            try:
                folders.resolve(own / raw[key], must_exist=False)
            except PathRefused as exc:
                raise SpecError(f"{spec_file}: key '{key}': {exc}", key=key) from None
    for key in ("python_path", "python_path_fallback"):
        for entry in [] if raw.get(key) == trusted.get(key) else raw.get(key) or []:
            if (own / str(entry)).resolve() != own:
                raise SpecError(
                    f"{spec_file}: key '{key}': '{entry}': a spec opened in the panel may only use its own folder "
                    f"({own}) for its term modules",
                    key=key,
                )
    kept = set(named_functions(trusted))
    for key, func, module in named_functions(raw):
        if (key, func, module) in kept:
            continue
        top = module.lstrip(".").split(".")[0]
        if not ((own / f"{top}.py").is_file() or (own / top / "__init__.py").is_file()):
            raise SpecError(
                f"{spec_file}: key '{key}': '{func}': a spec opened in the panel may only use functions from "
                f"modules in its own folder ({own}); no {top}.py there",
                key=key,
            )


def parent_check(folders: AllowedFolders) -> Callable[[Path, Path], None]:
    """The check a page-opened spec's parents pass before they are read (``allow_parent`` of
    :func:`~..specs.loader.read_spec`): a parent file outside ``folders`` is refused with :class:`SpecError` naming
    the key ``extends`` of the spec that names it."""

    def check(spec_file: Path, parent: Path) -> None:
        try:
            folders.resolve(parent)
        except PathRefused as exc:
            raise SpecError(f"{spec_file}: key 'extends': {exc}", key="extends") from None

    return check


def named_functions(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(dotted key, value, module) of every function the table names, at any depth (see the module doc).

    A list's items are keyed ``key[i]``; a table in a list (an observation term ``{ func = ... }``) is reported at
    its item's key. A table named after a function, with no ``func`` of its own, is reported at ``<key>.func``.
    """
    found: list[tuple[str, str, str]] = []

    def walk(value: Any, key: str, item_key: str | None) -> None:
        if isinstance(value, dict):
            for name, child in value.items():
                child_key = f"{key}.{name}" if key else str(name)
                if not key and name in PATH_KEYS:
                    continue
                module = _module_of(str(name), "func")
                if module is not None and isinstance(child, dict) and "func" not in child:
                    found.append((f"{child_key}.func", str(name), module))
                walk(child, child_key, item_key if name == "func" else None)
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, f"{key}[{i}]", f"{key}[{i}]")
        elif isinstance(value, str):
            module = _module_of(value, key.rpartition(".")[2])
            if module is not None:
                found.append((item_key or key, value, module))

    walk(raw, "", None)
    return found


def _module_of(value: str, key_name: str) -> str | None:
    """The module ``value`` names when it names a function, else None: ``package.module:function`` anywhere; under a
    key the loader resolves (:data:`FUNCTION_KEYS`, a table's name) any ``package.module:...`` (the module is imported
    before the rest is looked at), and under ``class_name`` also rsl-rl's ``package.module.Class``."""
    head, colon, tail = value.partition(":")
    resolved = key_name.partition("[")[0] in FUNCTION_KEYS
    if not colon:
        if key_name != "class_name" or "." not in value:
            return None
        head, tail = value.rpartition(".")[0], "Class"
    if not _dotted(head.strip().lstrip(".")) or not (resolved or _dotted(tail.strip())):
        return None
    return head.strip()


def _dotted(text: str) -> bool:
    """``a.b.c``: Python identifiers joined by dots."""
    return all(part.isidentifier() for part in text.split("."))
