"""Task specs that extend another: ``extends = "go2_flat.toml"`` at the top of a spec merges the spec's tables over
its parent's, and the result is validated as one spec (docs/tasks.md, "Specs that extend another").

The rules:

- ``extends`` names the parent: a path relative to the spec's folder (a value ending in ``.toml`` or holding a
  ``/``), or a task name, looked up as ``isaac-rl-workbench train NAME`` looks it up. A parent may extend another
  (a chain); a spec that reaches itself again is refused, with the chain named.
- Tables merge key by key, at any depth (a term's ``params`` and inline tables too): a key the spec gives replaces
  the parent's value, a key it leaves out keeps the parent's. Arrays are values: the spec's array replaces the
  parent's whole (an observation group's ``terms``: restate the group's list to change one term).
- In any table but ``params`` (whose keys are the term function's arguments), two keys steer the merge and are
  not kept: ``enabled = false`` (alone in the table) removes the parent's table of that name (a term, an observation
  group, ``[deploy]``, ``[ppo.critic]``, ...); ``replace = true`` makes the spec's table replace the parent's instead
  of merging into it.
- ``name`` and ``extends`` are not inherited: a spec's name is its own ``name``, or its file's stem.
- Paths stay relative to the file that gives them: a parent's ``scene`` in another folder becomes an absolute path.
  ``python_path`` is the spec's folders (default its own), then each parent's (default the parent's own folder),
  duplicates dropped, so the ``module:function`` terms of every file of the chain are found, the spec's own first.
- Order: a table keeps its parent's keys in the parent's order; keys only the spec has follow, in the spec's order.

The merged table reads as if the whole spec had been written in the spec's own file; :class:`ResolvedTable` also
remembers which file of the chain gave each key, so a validation error names that file.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import SpecError
from .task_files import TaskNotFoundError, find_parent

EXTENDS = "extends"
"""The top-level key that names a spec's parent."""
ENABLED, REPLACE = "enabled", "replace"
"""The keys of a table that steer the merge (see the module doc); never kept in the merged table."""
NOT_INHERITED = ("name", EXTENDS)
"""Top-level keys a spec never takes from its parent."""

Key = tuple[str, ...]


@dataclass
class ResolvedTable:
    """A spec's table with its parents merged in.

    Attributes:
        table: the merged TOML table, without ``extends``, as if written in ``file``.
        file: the spec file (resolved).
        chain: ``file``, its parent, the parent's parent, ... (resolved paths).
        origins: the file of the chain that gave each key (a dotted key split into parts); a key not listed comes
            from the file of its longest listed prefix.
    """

    table: dict[str, Any]
    file: Path
    chain: list[Path]
    origins: dict[Key, Path] = field(default_factory=dict)

    def file_of(self, key: str) -> Path:
        """The file of the chain that holds ``key`` (``"rewards.track.weight"``, ``"observations.policy.terms[0]"``);
        ``file`` for a key no file gives (a missing key)."""
        parts = re.sub(r"\[\d+\]", "", key).split(".")
        for n in range(len(parts), 0, -1):
            if tuple(parts[:n]) in self.origins:
                return self.origins[tuple(parts[:n])]
        return self.file

    def relocate(self, error: SpecError, overridden: Iterable[str] = ()) -> SpecError:
        """``error`` (which names ``file``) naming the file of the chain that holds its key instead, or ``error``
        itself where that is ``file``; keys set by an override (``--set``, and the keys under them) stay ``file``'s."""
        key = error.key
        prefix = f"{self.file}: "
        if not key or any(key == o or key.startswith(f"{o}.") for o in overridden):
            return error
        origin = self.file_of(key)
        if origin == self.file or not str(error).startswith(prefix):
            return error
        return SpecError(f"{origin}: {str(error)[len(prefix) :]} (inherited by {self.file})", key=key)


def read_toml(file: Path) -> dict[str, Any]:
    """The TOML table of a spec file.

    Raises:
        SpecError: not valid TOML (with line and column), or nested too deeply for the reader.
    """
    try:
        return tomllib.loads(Path(file).read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{file}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise SpecError(f"{file}: not valid TOML: arrays or tables nested too deeply to read") from None


def resolve_extends(
    raw: dict[str, Any],
    file: Path,
    check: Callable[[dict[str, Any], Path], None],
    allow_parent: Callable[[Path, Path], None] | None = None,
) -> ResolvedTable:
    """Merge the specs ``raw`` extends under it (see the module doc).

    Args:
        raw: the spec's TOML table, read from ``file`` (not modified).
        file: the spec file.
        check: called on each file's table with its file before it is merged (value and nesting checks, whose
            errors then name the file that holds the key).
        allow_parent: called with (spec file, parent file) before a parent is read; raises :class:`SpecError` to
            refuse it (the browser page keeps parents inside its folders).

    Raises:
        SpecError: naming the file of the chain and its key: a parent not found, a cycle, a parent that is not
            valid TOML, ``enabled`` or ``replace`` that is not true or false, ``enabled = false`` with nothing
            inherited to remove, a path key of the wrong type.
    """
    file = Path(file).resolve()
    check(raw, file)
    levels = [(file, copy.deepcopy(raw))]
    while EXTENDS in levels[-1][1]:
        child_file, child = levels[-1]
        parent = _parent_file(child[EXTENDS], child_file, [f for f, _ in levels])
        if allow_parent is not None:
            allow_parent(child_file, parent)
        table = read_toml(parent)
        check(table, parent)
        levels.append((parent, table))
    if len(levels) > 1:
        for level_file, table in levels:
            _check_paths(table, level_file)
    merged: dict[str, Any] = {}
    origins: dict[Key, Path] = {}
    folder: Path | None = None
    for level_file, table in reversed(levels):
        own = {k: v for k, v in table.items() if k != EXTENDS}
        if folder is not None:
            _merge_paths(merged, own, folder, level_file, origins)
            for key in NOT_INHERITED:
                merged.pop(key, None)
                _forget(origins, (key,))
        _merge(merged, own, level_file, (), origins, directives=True)
        folder = level_file.parent
    return ResolvedTable(merged, file, [f for f, _ in levels], origins)


def _parent_file(value: Any, child_file: Path, chain: list[Path]) -> Path:
    if not isinstance(value, str) or not value:
        raise _error(child_file, (EXTENDS,), f"expected a task name or a spec file path, got {value!r}")
    try:
        parent = find_parent(value, child_file).resolve()
    except TaskNotFoundError as exc:
        raise _error(child_file, (EXTENDS,), str(exc)) from None
    if parent in chain:
        cycle = " -> ".join(str(f) for f in [*chain, parent])
        raise _error(child_file, (EXTENDS,), f"specs that extend each other in a cycle: {cycle}")
    return parent


def _merge(base: dict, table: dict, file: Path, key: Key, origins: dict[Key, Path], directives: bool) -> None:
    """Merge ``table`` (of ``file``, at ``key``) into ``base`` in place, reading ``enabled``/``replace`` of its
    sub-tables where ``directives``."""
    for name, value in table.items():
        path = (*key, name)
        if not isinstance(value, dict):
            base[name] = value
            _forget(origins, path)
            origins[path] = file
            continue
        steer = directives and name != "params"
        enabled, replace, body = _steering(value, file, path) if steer else (True, False, value)
        if not enabled:
            if name not in base:
                raise _error(file, (*path, ENABLED), f"no [{'.'.join(path)}] is inherited to remove")
            del base[name]
            _forget(origins, path)
            continue
        if isinstance(base.get(name), dict) and not replace:
            origins[path] = file
            _merge(base[name], body, file, path, origins, steer)
            continue
        _forget(origins, path)
        origins[path] = file
        fresh: dict[str, Any] = {}
        _merge(fresh, body, file, path, origins, steer)
        base[name] = fresh  # a replaced table keeps the parent's place


def _steering(table: dict, file: Path, key: Key) -> tuple[bool, bool, dict]:
    """(enabled, replace, the table without those keys) of a spec's table."""
    for name in (ENABLED, REPLACE):
        if name in table and not isinstance(table[name], bool):
            raise _error(file, (*key, name), f"expected true or false, got {table[name]!r}")
    enabled, replace = table.get(ENABLED, True), table.get(REPLACE, False)
    body = {k: v for k, v in table.items() if k not in (ENABLED, REPLACE)}
    if not enabled and (body or replace):
        other = next(iter(body)) if body else REPLACE
        raise _error(file, (*key, ENABLED), f"enabled = false removes the table: give it no other key, found '{other}'")
    return enabled, replace, body


def _merge_paths(merged: dict, own: dict, parent_folder: Path, file: Path, origins: dict[Key, Path]) -> None:
    """Before ``own`` (the table of ``file``) is merged over its parent's ``merged`` (written in ``parent_folder``):
    the parent's paths made valid from ``file``'s folder, and ``python_path`` joined (the module doc)."""
    folder = file.parent
    if "scene" in own:
        merged.pop("scene_fallback", None)  # the parent's fallback was for the parent's scene
    elif isinstance(merged.get("scene"), str) and parent_folder != folder:
        merged["scene"] = str((parent_folder / merged["scene"]).resolve())
    given = "python_path" in own or "python_path" in merged
    inherited = _parent_folders(merged, parent_folder, folder)
    entries = list(own.get("python_path", ["."]))
    seen = {(folder / entry).resolve() for entry in entries}
    for entry in inherited:
        if (folder / entry).resolve() not in seen:
            seen.add((folder / entry).resolve())
            entries.append(entry)
    if given or entries != ["."]:
        merged["python_path"] = entries
        origins[("python_path",)] = file
    own.pop("python_path", None)
    _forget(origins, ("python_path_fallback",))
    if "python_path_fallback" in own:  # the spec's own fallbacks: its entries come first, so their indices hold
        merged["python_path_fallback"] = own.pop("python_path_fallback")
        origins[("python_path_fallback",)] = file


def _parent_folders(merged: dict, parent_folder: Path, folder: Path) -> list[str]:
    """The parent's ``python_path`` entries as seen from ``folder`` (unchanged where the folder is the same, else
    absolute), each replaced by its ``python_path_fallback`` where the entry is not a folder and the fallback is."""
    entries = merged.pop("python_path", ["."])
    fallback = merged.pop("python_path_fallback", [])
    out = []
    for i, entry in enumerate(entries):
        path = (parent_folder / entry).resolve()
        if not path.is_dir() and i < len(fallback) and Path(fallback[i]).is_dir():
            out.append(str(Path(fallback[i]).resolve()))
        else:
            out.append(entry if parent_folder == folder else str(path))
    return out


def _check_paths(table: dict, file: Path) -> None:
    """The path keys of one file of a chain have the types :func:`_merge_paths` works on."""
    for key in ("scene", "scene_fallback"):
        if key in table and (not isinstance(table[key], str) or not table[key]):
            raise _error(file, (key,), f"expected a file path (a string), got {table[key]!r}")
    for key in ("python_path", "python_path_fallback"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise _error(file, (key,), f"expected a list of folders (strings), got {value!r}")


def _forget(origins: dict[Key, Path], key: Key) -> None:
    """Drop what ``origins`` says of ``key`` and of the keys under it."""
    for known in [k for k in origins if k[: len(key)] == key]:
        del origins[known]


def _error(file: Path, key: Key, problem: str) -> SpecError:
    dotted = ".".join(key)
    return SpecError(f"{file}: key '{dotted}': {problem}", key=dotted)
