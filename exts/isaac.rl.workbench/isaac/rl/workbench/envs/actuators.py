"""``[actuators.<group>]`` and ``[robot]``: what the spec overrides of the robot the scene authors (per-joint PD
gains and limits; the base type, root height, initial joint positions, self-collisions), read from the spec and
turned into per-joint values for the physics backend."""

from __future__ import annotations

import math
import re

from .spec_schema import ACTUATOR_GAINS, ROBOT_BASES, ActuatorSpec, RobotSpec
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


def load_robot(t: SpecTable, joint_names: list[str], root: str) -> RobotSpec:
    """``[robot]``, validated: the base type, a root height, joint positions of existing joints."""
    t.check_keys(["base", "root_height", "joint_pos", "self_collisions"])
    base = t.get("base", str)
    if base is not None and base not in ROBOT_BASES:
        raise t.error("base", f"expected one of {', '.join(ROBOT_BASES)}, got '{base}'")
    root_height = t.get("root_height", float)
    if root_height is not None and not math.isfinite(root_height):
        raise t.error("root_height", f"must be a finite number, got {root_height}")
    positions = t.sub("joint_pos")
    joint_pos = {}
    for pattern in positions.data:
        check_joints(positions, pattern, [pattern], joint_names, root)
        joint_pos[pattern] = positions.number(pattern, 0.0)
    return RobotSpec(
        base=base,
        root_height=root_height,
        joint_pos=joint_pos,
        self_collisions=t.get("self_collisions", bool, False),
    )


def initial_joint_positions(robot: RobotSpec, joint_names: list[str]) -> list[float]:
    """The ``[robot] joint_pos`` value of each joint in ``joint_names`` order (the first matching key), NaN where
    none matches (the scene's value stays)."""
    out = []
    for name in joint_names:
        value = next((v for p, v in robot.joint_pos.items() if p == name or re.fullmatch(p, name)), math.nan)
        out.append(float(value))
    return out
