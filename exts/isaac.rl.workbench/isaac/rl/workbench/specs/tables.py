"""Reading a spec's TOML tables: type and range checks whose errors name the file and the dotted key, and joint
selection by names or regular expressions; every table reader of this package uses them."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .schema import SpecError

MAX_NESTING = 32
"""Deepest nesting of tables and arrays in a spec (the shipped tasks nest 5 levels deep)."""


class SpecTable:
    """A TOML table being read: remembers the file and key path for error messages, rejects unknown keys."""

    def __init__(self, data: Any, file: Path, key: str):
        if not isinstance(data, dict):
            raise SpecError(f"{file}: [{key}] must be a table, got {type(data).__name__}", key=key or None)
        self.data, self.file, self.key = data, file, key

    def error(self, key: str, problem: str) -> SpecError:
        where = f"{self.key}.{key}" if self.key else key
        return SpecError(f"{self.file}: key '{where}': {problem}", key=where)

    def check_keys(self, allowed) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(unknown[0], f"unknown key; expected one of: {', '.join(sorted(allowed))}")

    def get(self, key: str, kind: type | tuple, default: Any = None, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.error(key, "missing")
            return copy.deepcopy(default)
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(key, f"expected {names}, got {value!r}")
        return value

    def number(
        self, key: str, default: float, *, minimum: float | None = None, positive: bool = False, integer: bool = False
    ) -> Any:
        value = self.get(key, int if integer else float, default)
        if positive and not value > 0:
            raise self.error(key, f"must be > 0, got {value}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        if not integer and not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        return value

    def sub(self, key: str, default: Any = None) -> SpecTable:
        data = self.data.get(key, {} if default is None else default)
        return SpecTable(data, self.file, f"{self.key}.{key}" if self.key else key)


def check_values(raw: dict[str, Any], file: Path, infinity_allowed: Callable[[str], bool]) -> None:
    """Every number of a spec table finite, and its tables and arrays nested at most :data:`MAX_NESTING` deep.

    Checked over the whole table before any key is read, so that no key (a term's parameter, a PPO setting, a
    noise range) can pass ``inf`` or ``nan`` on to the physics or the learner.

    Args:
        raw: the TOML table.
        file: the spec file, for the message.
        infinity_allowed: takes a dotted key (``commands.goal.resample_s``); True where ``+inf`` means something
            there (never NaN, never ``-inf``).

    Raises:
        SpecError: naming the dotted key (``observations.policy.terms[0].noise``) and the value.
    """
    pending: list[tuple[Any, str, int]] = [(raw, "", 0)]
    while pending:
        value, key, depth = pending.pop()
        if depth > MAX_NESTING:
            top = re.sub(r"(\[\d+\])+$", "", key)
            raise SpecError(
                f"{file}: key '{top}': tables and arrays nested more than {MAX_NESTING} levels deep", key=top
            )
        if isinstance(value, dict):
            children = [(item, f"{key}.{name}" if key else name, depth + 1) for name, item in value.items()]
            pending += reversed(children)  # popped in file order: the first bad key is named
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if _not_finite(item, key, infinity_allowed):
                    raise SpecError(f"{file}: key '{key}': expected finite numbers, got {item!r} at index {i}", key=key)
            nested = [
                (item, f"{key}[{i}]", depth + 1)
                for i, item in enumerate(value)
                if isinstance(item, dict | list | tuple)
            ]
            pending += reversed(nested)
        elif _not_finite(value, key, infinity_allowed):
            raise SpecError(f"{file}: key '{key}': expected a finite number, got {value!r}", key=key)


def _not_finite(value: Any, key: str, infinity_allowed: Callable[[str], bool]) -> bool:
    if not isinstance(value, float) or math.isfinite(value):
        return False
    return not (value == math.inf and infinity_allowed(key))


def check_joints(t: SpecTable, key: str, patterns: list, joint_names: list[str], root: str) -> list[str]:
    """Resolve joint names or full-match regex patterns against the articulation's 1-DOF joints, in scene order."""
    return _check_names(t, key, patterns, joint_names, "joint", root)


def check_bodies(t: SpecTable, key: str, patterns: list, body_names: list[str], root: str) -> list[str]:
    """Resolve body names or full-match regex patterns against the articulation's bodies (the last component of
    each body's prim path), in scene order."""
    if not isinstance(patterns, list):
        raise t.error(key, f"expected a list of body names, got {patterns!r}")
    return _check_names(t, key, patterns, body_names, "body", root)


def matching_names(t: SpecTable, key: str, pattern: str, names: list[str], kind: str = "joint") -> list[str]:
    """The names equal to ``pattern`` or fully matched by it as a regular expression, in ``names`` order.

    Raises:
        SpecError: ``pattern`` is not a regular expression; the message names ``key`` and the pattern.
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise t.error(
            key, f"'{pattern}' is not a regular expression ({exc}); expected {kind} names or full-match regexes"
        ) from None
    return [n for n in names if n == pattern or regex.fullmatch(n)]


def _check_names(t: SpecTable, key: str, patterns: list, names: list[str], kind: str, root: str) -> list[str]:
    selected: list[str] = []
    plural = "bodies" if kind == "body" else f"{kind}s"
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise t.error(key, f"expected {kind} names (strings), got {pattern!r}")
        matches = matching_names(t, key, pattern, names, kind)
        if not matches:
            raise t.error(key, f"{kind} '{pattern}' is not in articulation {root}; its {plural}: {', '.join(names)}")
        if shared := next((m for m in matches if names.count(m) > 1), None):
            raise t.error(
                key,
                f"'{pattern}' is ambiguous: {names.count(shared)} {plural} of articulation {root} are named "
                f"'{shared}'; rename them in the robot file (inspect lists their paths)",
            )
        selected += [m for m in matches if m not in selected]
    return [n for n in names if n in selected]
