"""Spec overrides: ``--set KEY=VALUE`` strings parsed as TOML values and set as dotted keys in a spec table.

The panels set their fields the same way, so every front end edits a spec through one mechanism.
"""

from __future__ import annotations

import tomllib
from typing import Any

from .schema import SpecError


def apply_overrides(raw: dict, overrides: dict[str, Any]) -> None:
    """Set dotted keys (``"env.num_envs"``) in a raw spec table in place.

    Raises:
        SpecError: a key with an empty part, or a part that names a value rather than a table (``seed.x``).
    """
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        if not all([*parents, leaf]):
            raise SpecError(f"override '{dotted}': empty key part; expected a dotted key such as env.num_envs")
        for depth, part in enumerate(parents):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                where = ".".join(parents[: depth + 1])
                raise SpecError(f"override '{dotted}': '{where}' is a value ({node!r}), not a table with keys")
        node[leaf] = value


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["ppo.algorithm.num_mini_batches=2", "env.spacing=2.5"]`` -> dotted keys with TOML-typed values."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"override '{item}': expected KEY=VALUE, e.g. env.num_envs=128")
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value  # a bare word is a string
        except RecursionError:
            raise SpecError(f"override '{key}': arrays or tables nested too deeply to read") from None
    return out
