"""The MJCF actuators that ``mujoco-usd-converter`` keeps as ``MjcActuator`` prims, read as a spec's terms.

Newton's loading in the workbench reads no ``MjcActuator``: :func:`mjcf_actuators` reads them (pure ``pxr``) so
that ``import`` can suggest ``[actuators]`` tables that carry them. MuJoCo's joint transmission with gear ``g``
applies ``g · force`` to the joint, where a position actuator's force is ``kp · (ctrl - g·q) - kv · g·q̇`` and a
motor's is ``ctrl``; ``forcerange`` clamps the force, ``ctrlrange`` the control. So on the joint:

- a **position** actuator is a PD with stiffness ``g²·kp`` and damping ``g²·kv`` (N·m/rad and N·m·s/rad, or N/m
  and N·s/m on a slide), its target ``ctrl / g``;
- a **motor** is a torque ``g · ctrl``: a ``joint_effort`` action scaled by ``g``, clipped to the ``ctrlrange``;
- either is clamped to an effort limit ``|g| · max|forcerange|``, and a motor also to ``|g| · max|ctrlrange|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pxr import Usd

from .inspect import ArticulationInfo


@dataclass(frozen=True)
class MjcfActuator:
    """One MJCF actuator on a 1-DOF joint, in the joint's units (see the module's docstring).

    ``kind``: "position" (``<position>``, or ``<general>`` of that form), "motor" (``<motor>``, or ``<general>``
    with a fixed gain and no bias) or "other" (velocity, muscle, filtered...: not carried). ``stiffness`` and
    ``damping``: a position actuator's PD on the joint (0 for others). ``gear``: g. ``effort_limit``: N·m or N,
    ``inf`` when unlimited. ``ctrl_range``: (low, high) of the control, None when unlimited.
    """

    name: str
    joint: str
    kind: str
    gear: float
    stiffness: float
    damping: float
    effort_limit: float
    ctrl_range: tuple[float, float] | None


def mjcf_actuators(usd_file: Path, art: ArticulationInfo) -> list[MjcfActuator]:
    """The ``MjcActuator`` prims of ``usd_file`` that act on one 1-DOF joint of ``art``, in the file's order."""
    names = {j.path: j.name for j in art.joints if j.num_dofs == 1}
    out = []
    stage = Usd.Stage.Open(str(usd_file))  # held: its prims expire with it
    for prim in stage.Traverse():
        targets = prim.GetRelationship("mjc:target").GetTargets() if prim.GetTypeName() == "MjcActuator" else []
        if len(targets) == 1 and str(targets[0]) in names:
            out.append(_read(prim, names[str(targets[0])]))
    return out


def _read(prim: Usd.Prim, joint: str) -> MjcfActuator:
    gain, bias = _mjc(prim, "gainPrm", [1.0]) + [0.0] * 3, _mjc(prim, "biasPrm", []) + [0.0] * 3
    gear = float(_mjc(prim, "gear", [1.0])[0])
    types = [_mjc(prim, key, "fixed" if key == "gainType" else "none") for key in ("gainType", "biasType", "dynType")]
    kind = "other"
    if types == ["fixed", "affine", "none"] and bias[0] == 0.0 and bias[1] == -gain[0] and bias[2] <= 0.0:
        kind = "position"
    elif types == ["fixed", "none", "none"] and gain[0] == 1.0:
        kind = "motor"
    ctrl = _range(prim, "ctrl")
    force = _range(prim, "force")
    limit = abs(gear) * max(map(abs, force)) if force else math.inf
    if kind == "motor" and ctrl:
        limit = min(limit, abs(gear) * max(map(abs, ctrl)))
    stiffness, damping = (gear * gear * gain[0], gear * gear * max(0.0, -bias[2])) if kind == "position" else (0, 0)
    return MjcfActuator(prim.GetName(), joint, kind, gear, float(stiffness), float(damping), float(limit), ctrl)


def _range(prim: Usd.Prim, name: str) -> tuple[float, float] | None:
    """``mjc:<name>Range`` when ``mjc:<name>Limited`` is "true", or "auto" (MuJoCo's autolimits) with a range."""
    low, high = float(_mjc(prim, f"{name}Range:min", 0.0)), float(_mjc(prim, f"{name}Range:max", 0.0))
    limited = _mjc(prim, f"{name}Limited", "auto")
    return (low, high) if limited == "true" or (limited == "auto" and low < high) else None


def _mjc(prim: Usd.Prim, name: str, default):
    """The ``mjc:<name>`` attribute of ``prim`` (a list for an array), or ``default`` where it is not authored."""
    value = prim.GetAttribute(f"mjc:{name}").Get()
    if value is None:
        return default
    return value if isinstance(value, str) or not hasattr(value, "__len__") else list(value)
