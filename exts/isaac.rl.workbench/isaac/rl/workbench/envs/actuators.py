"""``[actuators.<group>]``: per-joint PD gains and limits that override the scene's drives, read from the spec and
turned into per-joint values for the physics backend."""

from __future__ import annotations

import math

from .spec_schema import ACTUATOR_GAINS, ActuatorSpec
from .spec_table import SpecTable, check_joints

_MINIMUM = {"stiffness": 0.0, "damping": 0.0, "armature": 0.0, "friction": 0.0}  # the others must be > 0


def load_actuators(t: SpecTable, joint_names: list[str], root: str) -> dict[str, ActuatorSpec]:
    """Every ``[actuators.<group>]`` table, validated: known keys, joints of the articulation (each in one group at
    most), gains >= 0 and limits > 0."""
    groups: dict[str, ActuatorSpec] = {}
    owner: dict[str, str] = {}
    for name in t.data:
        group = t.sub(name)
        group.check_keys(["joints", *ACTUATOR_GAINS])
        joints = check_joints(group, "joints", group.get("joints", list, required=True), joint_names, root)
        for joint in joints:
            if joint in owner:
                raise group.error("joints", f"joint '{joint}' is already in actuator group '{owner[joint]}'")
            owner[joint] = name
        values = {}
        for key in ACTUATOR_GAINS:
            if key in group.data:
                minimum = _MINIMUM.get(key)
                values[key] = group.number(key, 0.0, minimum=minimum, positive=minimum is None)
        groups[name] = ActuatorSpec(joints=joints, **values)
    return groups


def joint_overrides(actuators: dict[str, ActuatorSpec], joint_names: list[str]) -> dict[str, list[float]]:
    """For each gain or limit some group sets: its value per joint in ``joint_names`` order, NaN where no group
    sets it (the scene's value stays)."""
    out: dict[str, list[float]] = {}
    for group in actuators.values():
        for key in ACTUATOR_GAINS:
            value = getattr(group, key)
            if value is None:
                continue
            column = out.setdefault(key, [math.nan] * len(joint_names))
            for joint in group.joints:
                column[joint_names.index(joint)] = float(value)
    return out
