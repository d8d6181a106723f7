"""The ``[actions]`` table of a spec (how the policy's actions become joint commands), read into
:class:`.schema.ActionSpec`."""

from __future__ import annotations

from .schema import ACTION_TYPES, ActionSpec
from .tables import SpecTable, check_joints, matching_names


def load_actions(t: SpecTable, joint_names: list[str], root: str) -> ActionSpec:
    """``[actions]``, validated: a known type, joints of the articulation (names or full-match regexes; default
    every 1-DOF joint, in scene order), ``clip`` > 0, ``delay_steps`` = [min, max] env steps.

    Args:
        joint_names: the articulation's 1-DOF joint names, in scene order.
        root: the articulation's root prim path, for messages.

    Raises:
        SpecError: naming the key (``actions.delay_steps``) and what was expected.
    """
    t.check_keys(["type", "joints", "scale", "clip", "delay_steps"])
    action_type = t.get("type", str, "joint_effort")
    if action_type not in ACTION_TYPES:
        raise t.error("type", f"expected one of {', '.join(ACTION_TYPES)}, got '{action_type}'")
    joints = check_joints(t, "joints", t.get("joints", list, joint_names), joint_names, root)
    clip = t.get("clip", float)
    if clip is not None and not clip > 0:
        raise t.error("clip", f"must be > 0, got {clip}")
    delay = t.get("delay_steps", list, [0, 0])
    integers = all(isinstance(d, int) and not isinstance(d, bool) for d in delay)
    if len(delay) != 2 or not integers or not 0 <= delay[0] <= delay[1]:
        raise t.error("delay_steps", f"expected [min, max] env steps, integers with 0 <= min <= max, got {delay}")
    return ActionSpec(
        type=action_type, joints=joints, scale=_scale(t, joints), clip=clip, delay_steps=(delay[0], delay[1])
    )


def _scale(t: SpecTable, joints: list[str]) -> float | dict[str, float]:
    """``actions.scale``: a finite number, or a table of joint names or full-match regexes to finite numbers where
    each key matches one of the action ``joints`` and no joint is matched by two keys."""
    if not isinstance(t.data.get("scale"), dict):
        return t.number("scale", 1.0)
    scales = t.sub("scale")
    owner: dict[str, str] = {}
    for pattern in scales.data:
        value = scales.number(pattern, 1.0)
        if not value != 0:
            raise scales.error(pattern, "must not be 0: the joint could not be driven")
        matches = matching_names(scales, pattern, pattern, joints)
        if not matches:
            raise scales.error(pattern, f"matches none of the action joints ({', '.join(joints)})")
        for joint in matches:
            if joint in owner:
                raise scales.error(pattern, f"joint '{joint}' is also matched by '{owner[joint]}'; one scale per joint")
            owner[joint] = pattern
    return {pattern: float(scales.data[pattern]) for pattern in scales.data}
