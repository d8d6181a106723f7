"""The joint velocity limits a USD asset authors: Newton's ``newton:velocityLimit`` (what URDF converters write from
a URDF's ``<limit velocity>``), else PhysX's ``physxJoint:maxJointVelocity``. Both are per second in degrees for a
revolute joint and in stage units for a prismatic one; they are returned in rad/s and m/s."""

from __future__ import annotations

import math
import os

from pxr import Usd, UsdGeom

from .inspect import JointInfo

VELOCITY_ATTRIBUTES = ("newton:velocityLimit", "physxJoint:maxJointVelocity")
"""The attributes read, in order of preference."""


def joint_velocity_limits(scene: str | os.PathLike, joints: list[JointInfo]) -> list[float]:
    """Each joint's authored velocity limit [rad/s or m/s] in ``joints`` order; inf where none is authored."""
    stage = Usd.Stage.Open(os.fspath(scene))
    meters_per_unit = float(UsdGeom.GetStageMetersPerUnit(stage))
    out = []
    for joint in joints:
        prim = stage.GetPrimAtPath(joint.path)
        value = next(
            (
                prim.GetAttribute(name).Get()
                for name in VELOCITY_ATTRIBUTES
                if prim and prim.HasAttribute(name) and prim.GetAttribute(name).Get() is not None
            ),
            None,
        )
        if value is None or not math.isfinite(value) or value <= 0:
            out.append(math.inf)
        else:
            out.append(float(value) * (math.radians(1.0) if joint.type == "revolute" else meters_per_unit))
    return out
