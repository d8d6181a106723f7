"""``[actuators.<group>]`` and ``[robot]``: what the spec overrides of the robot the scene authors (per-joint PD
gains and limits, explicit motor models; the base type, root height, initial joint positions, self-collisions),
read from the spec and turned into per-joint values."""

from __future__ import annotations

import math
import re

from .schema import ACTUATOR_GAINS, ACTUATOR_MODELS, ROBOT_BASES, ActuatorSpec, RobotSpec
from .tables import SpecTable, check_joints

# the others must be > 0
_MINIMUM = {"stiffness": 0.0, "damping": 0.0, "armature": 0.0, "friction": 0.0, "viscous_friction": 0.0}
_EXPLICIT_KEYS = {  # what an explicit model takes over from the solver's drive, per model
    "pd": ("stiffness", "damping", "effort_limit"),
    "dc_motor": ("stiffness", "damping", "effort_limit", "velocity_limit"),
}


def load_actuators(t: SpecTable, joint_names: list[str], root: str) -> dict[str, ActuatorSpec]:
    """Every ``[actuators.<group>]`` table, validated: known keys, joints of the articulation (each in one group at
    most), gains >= 0 and limits > 0."""
    groups: dict[str, ActuatorSpec] = {}
    owner: dict[str, str] = {}
    for name in t.data:
        group = t.sub(name)
        group.check_keys(["joints", "model", "saturation_effort", "delay_steps", *ACTUATOR_GAINS])
        joints = check_joints(group, "joints", group.get("joints", list, required=True), joint_names, root)
        for joint in joints:
            if joint in owner:
                raise group.error("joints", f"joint '{joint}' is already in actuator group '{owner[joint]}'")
            owner[joint] = name
        values = {}
        for key in (*ACTUATOR_GAINS, "saturation_effort"):
            if key in group.data:
                minimum = _MINIMUM.get(key)
                values[key] = group.number(key, 0.0, minimum=minimum, positive=minimum is None)
        model = group.get("model", str, "implicit")
        if model not in ACTUATOR_MODELS:
            raise group.error("model", f"expected one of {', '.join(ACTUATOR_MODELS)}, got '{model}'")
        _check_model_keys(group, model)
        delay_steps = group.number("delay_steps", 0, minimum=0, integer=True)
        groups[name] = ActuatorSpec(joints=joints, model=model, delay_steps=delay_steps, **values)
    return groups


def _check_model_keys(group: SpecTable, model: str) -> None:
    """The keys each model needs or refuses, with the model in the message."""
    needed = {"pd": ["stiffness", "damping"], "dc_motor": ["stiffness", "damping", "saturation_effort"]}.get(model, [])
    if model == "dc_motor":
        needed.append("velocity_limit")
    for key in needed:
        if key not in group.data:
            raise group.error(key, f'missing: model = "{model}" needs {", ".join(needed)}')
    if "saturation_effort" in group.data and model != "dc_motor":
        raise group.error("saturation_effort", f'only a model = "dc_motor" takes it (this group is "{model}")')
    if "delay_steps" in group.data and model == "implicit":
        raise group.error("delay_steps", 'the solver\'s implicit PD cannot delay; use model = "pd" or "dc_motor"')


def joint_overrides(
    actuators: dict[str, ActuatorSpec], joint_names: list[str], solver_only: bool = False
) -> dict[str, list[float]]:
    """For each gain or limit some group sets: its value per joint in ``joint_names`` order, NaN where no group
    sets it (the scene's value stays). ``solver_only`` leaves out what an explicit model computes itself (its
    gains and clamps), keeping what the solver still needs (armature, friction)."""
    out: dict[str, list[float]] = {}
    for group in actuators.values():
        for key in ACTUATOR_GAINS:
            value = getattr(group, key)
            if value is None or (solver_only and key in _EXPLICIT_KEYS.get(group.model, ())):
                continue
            column = out.setdefault(key, [math.nan] * len(joint_names))
            for joint in group.joints:
                column[joint_names.index(joint)] = float(value)
    return out


def per_joint(
    actuators: dict[str, ActuatorSpec], joint_names: list[str], drives: dict, key: str, from_drive
) -> list[float]:
    """Each joint's ``key`` in ``joint_names`` order: its actuator group's value where one sets it, else
    ``from_drive`` of the scene's drive for it (``drives``: joint name -> ``DriveInfo``, None or absent without)."""
    given = joint_overrides(actuators, joint_names).get(key, [math.nan] * len(joint_names))
    return [v if not math.isnan(v) else from_drive(drives.get(n)) for n, v in zip(joint_names, given, strict=True)]


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
