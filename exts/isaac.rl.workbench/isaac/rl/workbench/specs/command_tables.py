"""The ``[commands.<name>]`` tables of a spec (the goals a policy is asked to reach: a velocity or a position),
read into :class:`.schema.CommandSpec`."""

from __future__ import annotations

import math

from .schema import COMMAND_FRAMES, COMMAND_TYPES, CommandSpec
from .tables import SpecTable, check_bodies

_COMMAND_COMPONENTS = {"position": ("x", "y", "z"), "velocity": ("lin_vel_x", "lin_vel_y", "ang_vel_z", "heading")}


def load_commands(t: SpecTable, body_names: list[str], root: str) -> dict[str, CommandSpec]:
    """Every ``[commands.<name>]`` table of ``t`` (the ``commands`` table), in file order, keyed by command name.

    Args:
        body_names: the articulation's body names, which ``clear_of`` may name (names or full-match regexes).
        root: the articulation's root prim path, for messages.

    Raises:
        SpecError: naming the command's key (``commands.goal.ranges.x``) and what was expected.
    """
    return {name: _load_command(t.sub(name), body_names, root) for name in t.data}


def _load_command(t: SpecTable, body_names: list[str], root: str) -> CommandSpec:
    t.check_keys(CommandSpec.__dataclass_fields__)
    kind = t.get("type", str, required=True)
    if kind not in COMMAND_TYPES:
        raise t.error("type", f"expected one of {', '.join(COMMAND_TYPES)}, got '{kind}'")
    components = _COMMAND_COMPONENTS[kind]
    ranges = {}
    for key, value in t.get("ranges", dict, {}).items():
        if key not in components:
            raise t.error(f"ranges.{key}", f"unknown component of a {kind} command; expected {', '.join(components)}")
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value)
            or value[0] > value[1]
        ):
            raise t.error(f"ranges.{key}", f"expected [min, max] with min <= max, got {value!r}")
        ranges[key] = (float(value[0]), float(value[1]))
    frame = t.get("frame", str, "base")
    if frame not in COMMAND_FRAMES:
        raise t.error("frame", f"expected one of {', '.join(COMMAND_FRAMES)}, got '{frame}'")
    resample = t.get("resample_s", list, [math.inf, math.inf])
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in resample)
    never = numbers and resample == [math.inf, math.inf]
    if len(resample) != 2 or not numbers or not (never or 0 < resample[0] <= resample[1] < math.inf):
        raise t.error(
            "resample_s", f"expected [min, max] seconds with 0 < min <= max, or [inf, inf] for never, got {resample}"
        )
    standing = t.number("standing_share", 0.0, minimum=0.0)
    if standing > 1.0 or (standing > 0 and kind != "velocity"):
        raise t.error("standing_share", f"expected a share in [0, 1] of a velocity command, got {standing}")
    clear_of = check_bodies(t, "clear_of", t.get("clear_of", list, []), body_names, root)
    clearance = t.number("clearance", 0.0, minimum=0.0)
    if (clear_of or clearance) and kind != "position":
        raise t.error("clear_of" if clear_of else "clearance", "only a position command keeps clear of bodies")
    return CommandSpec(
        type=kind,
        ranges=ranges,
        frame=frame,
        resample_s=(float(resample[0]), float(resample[1])),
        standing_share=standing,
        clear_of=clear_of,
        clearance=clearance,
    )
