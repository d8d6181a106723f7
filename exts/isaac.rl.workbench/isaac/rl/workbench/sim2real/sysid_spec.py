"""The fitted spec :func:`sysid.identify`'s result leads to: the task spec with the fitted values written in."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..specs.loader import MAX_NAME_LENGTH, TaskSpec, save_spec, spec_from_table

if TYPE_CHECKING:
    from .sysid import SysidResult


SPEC_KEY = {"joint_friction": "friction", "joint_damping": "viscous_friction", "armature": "armature"}
"""Per-joint parameter -> the ``[actuators.<group>]`` key that holds it."""


def fitted_spec_table(spec: TaskSpec, result: SysidResult) -> dict:
    """``spec``'s table with the fitted values written in, named ``<name>_sysid``: per-joint values as
    ``[actuators.<group>]`` keys (a group whose joints got different values is split, joints without a group get
    a ``sysid`` group), the actuator gain on ``actions.scale`` (effort) or on the groups' ``stiffness`` and
    ``damping`` (position targets) and as ``deploy.motor_strength`` (what the robot delivers of what it is sent:
    the gain, times the spec's own motor strength unless the log has the commanded gains), the mass factor as a
    start-up ``randomize_body_mass`` event of range [s, s], the latency rounded to whole control periods r as
    ``actions.delay_steps = [r, r + w]`` (w: the width of the spec's own delay range, so its randomisation above
    the measured latency is kept)."""
    raw = copy.deepcopy(spec.raw)
    raw["name"] = f"{spec.name[: MAX_NAME_LENGTH - len('_sysid')]}_sysid"
    per_joint: dict[str, dict[str, float]] = {}
    for p, value in zip(result.parameters, result.fitted, strict=True):
        for joint in p.joints:
            per_joint.setdefault(joint, {})[SPEC_KEY[p.name]] = _rounded(value)
    gain = result.value("actuator_gain")
    if spec.actions.type == "joint_position" and (gain is not None or result.gains_from_log):
        for j, joint in enumerate(spec.joint_names):
            if result.stiffness[j] > 0 or result.damping[j] > 0:
                values = per_joint.setdefault(joint, {})
                values["stiffness"] = _rounded((gain or 1.0) * result.stiffness[j])
                values["damping"] = _rounded((gain or 1.0) * result.damping[j])
    elif gain is not None:
        scale = spec.actions.scale
        fitted = (
            {k: _rounded(v * gain) for k, v in scale.items()} if isinstance(scale, dict) else _rounded(scale * gain)
        )
        raw.setdefault("actions", {})["scale"] = fitted
    if gain is not None:  # a robot is sent the gains and torques it does not fully deliver
        strength = gain if result.gains_from_log else gain * spec.deploy.motor_strength
        raw.setdefault("deploy", {})["motor_strength"] = _rounded(strength)
    mass = result.value("mass_scale")
    if mass is not None:
        events = raw.setdefault("events", {})
        events[_fresh_name("sysid_mass_scale", events)] = {
            "func": "randomize_body_mass",
            "mode": "startup",
            "params": {"bodies": [".*"], "mass_range": [_rounded(mass)] * 2, "operation": "scale"},
        }
    latency = result.value("latency")
    if latency is not None:
        late = round(latency / spec.env.step_dt)
        low, high = spec.actions.delay_steps
        raw.setdefault("actions", {})["delay_steps"] = [late, late + high - low]
    _write_actuator_values(raw.setdefault("actuators", {}), spec, per_joint)
    return raw


def _write_actuator_values(tables: dict, spec: TaskSpec, per_joint: dict[str, dict[str, float]]) -> None:
    """Set each joint's values on its actuator group, splitting groups whose joints differ."""
    grouped = {joint: name for name, group in spec.actuators.items() for joint in group.joints}
    for name, group in spec.actuators.items():
        parts = _partition(group.joints, per_joint)
        if not any(values for values in parts):
            continue
        base = tables.pop(name)
        for i, (values, joints) in enumerate(parts.items()):
            table = {**base, **dict(values)}
            if len(parts) > 1:
                table["joints"] = [re.escape(j) for j in joints]
            tables[name if i == 0 else _fresh_name(f"{name}_{i + 1}", tables)] = table
    loose = [joint for joint in spec.joint_names if joint in per_joint and joint not in grouped]
    for values, joints in _partition(loose, per_joint).items():
        tables[_fresh_name("sysid", tables)] = {"joints": [re.escape(j) for j in joints], **dict(values)}


def _partition(joints: list[str], per_joint: dict[str, dict[str, float]]) -> dict[tuple, list[str]]:
    parts: dict[tuple, list[str]] = {}
    for joint in joints:
        parts.setdefault(tuple(sorted(per_joint.get(joint, {}).items())), []).append(joint)
    return parts


def _fresh_name(name: str, taken: dict) -> str:
    out, i = name, 2
    while out in taken:
        out, i = f"{name}_{i}", i + 1
    return out


def _rounded(value: float) -> float:
    return float(f"{float(value):.6g}")


def write_fitted_spec(spec: TaskSpec, result: SysidResult, path: Path) -> TaskSpec:
    """Validate the fitted spec (:func:`fitted_spec_table`) as if at ``path``, write it there; return it loaded."""
    fitted = spec_from_table(fitted_spec_table(spec, result), path)
    save_spec(fitted, path)
    return fitted
