"""What differs between two task specs, as a flat list of dotted keys with the old and the new value: a run's
resolved ``spec.toml`` against its task's spec file loaded fresh, or two runs against each other.

Both sides are loaded and validated (:func:`~..specs.loader.load_spec`), so defaults filled in and paths resolved
are no difference; only what was set otherwise is.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..specs.loader import load_spec
from ..specs.schema import SpecError
from ..specs.task_files import list_tasks

ABSENT = "(absent)"
"""What a side shows for a key it does not have."""
_cache: dict[tuple, tuple[list[SpecChange] | None, str]] = {}


@dataclass(frozen=True)
class SpecChange:
    """One dotted key whose value differs: ``old`` (the task's, or the first run's) and ``new``."""

    key: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.key}: {_show(self.old)} -> {_show(self.new)}"


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"env": {"num_envs": 8}}`` -> ``{"env.num_envs": 8}``; lists and empty tables are values."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def diff_tables(old: dict[str, Any], new: dict[str, Any]) -> list[SpecChange]:
    """The dotted keys whose values differ between two spec tables, sorted by key."""
    a, b = flatten(old), flatten(new)
    return [
        SpecChange(key, a.get(key, ABSENT), b.get(key, ABSENT))
        for key in sorted(a.keys() | b.keys())
        if a.get(key, ABSENT) != b.get(key, ABSENT)
    ]


def diff_runs(run_a: Path, run_b: Path) -> list[SpecChange]:
    """What run ``run_b``'s spec sets otherwise than run ``run_a``'s.

    Raises:
        SpecError: a run's ``spec.toml`` does not load (naming the file and the key).
    """
    return diff_tables(load_spec(Path(run_a) / "spec.toml").raw, load_spec(Path(run_b) / "spec.toml").raw)


def changes_from_task(run_dir: Path, task: str) -> tuple[list[SpecChange] | None, str]:
    """What run ``run_dir``'s spec sets otherwise than task ``task``'s spec file, loaded now; (None, why) when there
    is nothing to compare with (no task of that name, a spec that no longer loads). Cached per file versions."""
    spec_file = Path(run_dir) / "spec.toml"
    task_file = list_tasks().get(task)
    try:
        task_version = task_file.stat().st_mtime_ns if task_file else None
        key = (str(spec_file.resolve()), spec_file.stat().st_mtime_ns, task, task_version)
    except OSError as exc:
        return None, str(exc)
    if key not in _cache:
        _cache[key] = _changes(spec_file, task, task_file is not None)
    return _cache[key]


def _changes(spec_file: Path, task: str, known: bool) -> tuple[list[SpecChange] | None, str]:
    if not known:
        return None, f"no task named '{task}' to compare with"
    try:
        return diff_tables(load_spec(task).raw, load_spec(spec_file).raw), ""
    except (SpecError, OSError, tomllib.TOMLDecodeError) as exc:
        return None, str(exc)


def _show(value: Any) -> str:
    return value if value == ABSENT else repr(value) if isinstance(value, str) else str(value)
