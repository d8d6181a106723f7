"""What a spec opened or edited through the browser page may reach: nothing outside the allowed folders.

The page is a remote client, so a spec it opens is held to stricter rules than one on the command line: its scene
must lie in the allowed folders, its ``python_path`` may only be its own folder, and its ``package.module:function``
terms must come from modules in its own folder (not from any installed module, whose functions the env would call).
These checks run on the raw TOML table, before :func:`~..envs.spec.spec_from_table` imports any term module.
A known task (a spec file in a task folder, which the page did not write) keeps its own scene, python_path and term
functions wherever they point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..envs.spec import SpecError
from .allowed_paths import AllowedFolders, PathRefused

TERM_TABLES = ("rewards", "terminations", "events")


def check_page_spec(
    raw: dict[str, Any], spec_file: Path, folders: AllowedFolders, trusted: dict[str, Any] | None = None
) -> None:
    """Raise :class:`SpecError` (with ``.key``) when ``raw``, a spec table whose file is ``spec_file``, reaches
    outside ``folders``: its scene, its python_path, or a ``module:function`` term from outside its folder.
    ``trusted``: the table of a known task as its file holds it; a value ``raw`` keeps unchanged from it is allowed."""
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
    kept = set(_term_functions(trusted))
    for key, func in _term_functions(raw):
        if (key, func) in kept:
            continue
        module = func.partition(":")[0].split(".")[0]
        if ":" in func and not ((own / f"{module}.py").is_file() or (own / module / "__init__.py").is_file()):
            raise SpecError(
                f"{spec_file}: key '{key}': '{func}': a spec opened in the panel may only use term functions from "
                f"modules in its own folder ({own}); no {module}.py there",
                key=key,
            )


def _term_functions(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """(dotted key, func) of every term of the table that names a function."""
    found = []
    for kind in TERM_TABLES:
        for name, table in (raw.get(kind) or {}).items():
            if isinstance(table, dict):
                found.append((f"{kind}.{name}.func", str(table.get("func", name))))
    for group, table in (raw.get("observations") or {}).items():
        for i, term in enumerate(table.get("terms", []) if isinstance(table, dict) else []):
            func = term.get("func") if isinstance(term, dict) else term
            found.append((f"observations.{group}.terms[{i}]", str(func)))
    return found
