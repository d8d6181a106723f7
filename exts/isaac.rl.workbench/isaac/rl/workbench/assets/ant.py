"""Author the ant: a floating-base quadruped with a spherical torso and four two-joint capsule legs.

Frames: +X is forward, +Y left, +Z up. The legs point diagonally away from the torso at 45° (front left),
-45° (front right), 135° (back left) and -135° (back right) about +Z. Each leg is an upper leg on a hip joint
(about world Z) and a foot on an ankle joint (about the horizontal axis perpendicular to the leg).

Joint angle 0 is the authored standing pose: upper legs horizontal, feet bent ``ANKLE_REST_ANGLE`` below the
horizontal. Positive hip angles swing a leg counter-clockwise seen from above; positive ankle angles bend the
foot further down, on every leg.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, Vt

from .usd_physics import apply_force_drive, apply_rigid_body, connect, new_articulation_stage, quat_about, rounded

ANT_FILE_NAME = "ant.usda"

# Dimensions [m], masses [kg], angles [deg], torques [N·m]
SPAWN_HEIGHT = 0.75  # torso centre above the ground in the authored pose
TORSO_RADIUS = 0.25
TORSO_MASS = 4.0
HIP_DISTANCE = 0.28  # horizontal distance from the torso centre to each hip joint
LEG_RADIUS = 0.08  # capsule radius of upper legs and feet
UPPER_LEG_LENGTH = 0.28  # hip to ankle (capsule segment length, without the end caps)
UPPER_LEG_MASS = 0.4
FOOT_LENGTH = 0.56  # ankle to toe (capsule segment length, without the end caps)
FOOT_MASS = 0.6
ANKLE_REST_ANGLE = 50.0  # downward bend of the feet below the horizontal at joint angle 0
HIP_LIMIT = 30.0  # hip range: -30 .. 30 deg
ANKLE_LIMIT = 20.0  # ankle range: -20 .. 20 deg, so the feet bend 30 .. 70 deg below the horizontal
MAX_TORQUE = 25.0  # force-drive max force of every joint
JOINT_DAMPING = 0.5  # force-drive damping of every joint [N·m·s/rad] (USD stores it per degree)
JOINT_ARMATURE = 0.05  # reflected motor inertia of every joint [kg·m²]; with the damping, it keeps MuJoCo stable
GROUND_SIZE = 20.0  # edge length of the displayed ground plane (its collider is infinite)

# (leg name, direction of the leg about +Z [deg]); joints and bodies are authored in this (alphabetical) order,
# which is also the order Newton's importer gives them
LEGS = (("back_left", 135.0), ("back_right", -135.0), ("front_left", 45.0), ("front_right", -45.0))

_TORSO_COLOR = (0.85, 0.55, 0.15)
_UPPER_LEG_COLOR = (0.25, 0.45, 0.75)
_FOOT_COLOR = (0.2, 0.3, 0.5)
_GROUND_COLOR = (0.5, 0.5, 0.5)


def write_ant(path: str | os.PathLike) -> None:
    """Write the ant: articulation root ``/ant`` (floating base, no joint to the world), bodies ``/ant/torso``,
    ``/ant/<leg>_upper`` and ``/ant/<leg>_foot``, and per leg the revolute joints ``/ant/<leg>_hip`` (Z, -30 .. 30
    deg) and ``/ant/<leg>_ankle`` (Y of the leg frame, -20 .. 20 deg), legs in ``LEGS`` order.

    Every joint has a force drive with no stiffness, damping ``JOINT_DAMPING`` (0.5 N·m·s/rad) and max force
    ``MAX_TORQUE`` (25 N·m), and armature ``JOINT_ARMATURE`` (0.05 kg·m²). Masses: torso 4 kg, upper legs 0.4 kg,
    feet 0.6 kg (8 kg in all). The torso centre is ``SPAWN_HEIGHT`` (0.75 m) above a static
    ``/groundPlane`` at z = 0, which sits outside ``/ant`` so that loading ``/ant`` alone leaves it out.
    """
    stage, _ = new_articulation_stage(
        "Ant: a four-legged walker with a floating base (written by make_assets.py).", "/ant"
    )

    torso = UsdGeom.Xform.Define(stage, "/ant/torso")
    torso.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, SPAWN_HEIGHT))
    inertia = 0.4 * TORSO_MASS * TORSO_RADIUS**2
    apply_rigid_body(torso.GetPrim(), TORSO_MASS, (0.0, 0.0, 0.0), (inertia, inertia, inertia))
    sphere = UsdGeom.Sphere.Define(stage, "/ant/torso/sphere")
    sphere.CreateRadiusAttr(TORSO_RADIUS)
    sphere.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(-TORSO_RADIUS), Gf.Vec3f(TORSO_RADIUS)]))
    sphere.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*_TORSO_COLOR)]))
    UsdPhysics.CollisionAPI.Apply(sphere.GetPrim())

    foot_pitch = quat_about(Gf.Vec3d(0.0, 1.0, 0.0), ANKLE_REST_ANGLE)
    for leg, direction in LEGS:
        yaw = quat_about(Gf.Vec3d(0.0, 0.0, 1.0), direction)
        outward = Gf.Vec3d(math.cos(math.radians(direction)), math.sin(math.radians(direction)), 0.0)
        hip = Gf.Vec3d(0.0, 0.0, SPAWN_HEIGHT) + outward * HIP_DISTANCE
        ankle = hip + outward * UPPER_LEG_LENGTH
        upper = _define_capsule_body(stage, f"/ant/{leg}_upper", hip, yaw, UPPER_LEG_LENGTH, UPPER_LEG_MASS)
        foot = _define_capsule_body(stage, f"/ant/{leg}_foot", ankle, yaw * foot_pitch, FOOT_LENGTH, FOOT_MASS)
        _set_color(upper, _UPPER_LEG_COLOR)
        _set_color(foot, _FOOT_COLOR)

        hip_joint = UsdPhysics.RevoluteJoint.Define(stage, f"/ant/{leg}_hip")
        connect(hip_joint, torso.GetPrim(), upper, outward * HIP_DISTANCE, yaw)
        hip_joint.CreateAxisAttr(UsdPhysics.Tokens.z)
        _limit_and_drive(hip_joint, HIP_LIMIT)

        ankle_joint = UsdPhysics.RevoluteJoint.Define(stage, f"/ant/{leg}_ankle")
        connect(ankle_joint, upper, foot, Gf.Vec3d(UPPER_LEG_LENGTH, 0.0, 0.0), foot_pitch)
        ankle_joint.CreateAxisAttr(UsdPhysics.Tokens.y)
        _limit_and_drive(ankle_joint, ANKLE_LIMIT)

    _define_ground(stage, "/groundPlane")
    Path(path).write_bytes(stage.GetRootLayer().ExportToString().encode("utf-8"))


def _capsule_inertia(mass: float, radius: float, length: float) -> tuple[float, float, float]:
    """Diagonal inertia [kg·m²] about the centre of a solid capsule along X: ``mass`` [kg], ``radius`` [m] and
    ``length`` [m] of the segment between the centres of its hemispherical caps."""
    cylinder_volume = math.pi * radius**2 * length
    cap_volume = 2.0 / 3.0 * math.pi * radius**3  # one hemisphere
    cylinder_mass = mass * cylinder_volume / (cylinder_volume + 2 * cap_volume)
    cap_mass = (mass - cylinder_mass) / 2
    axial = cylinder_mass * radius**2 / 2 + 2 * cap_mass * 0.4 * radius**2
    # each cap about its own flat face is 2/5 m r²; shift it out to the capsule centre (parallel axis theorem)
    transverse = cylinder_mass * (length**2 / 12 + radius**2 / 4) + 2 * cap_mass * (
        0.4 * radius**2 + length**2 / 4 + 3 * length * radius / 8
    )
    return axial, transverse, transverse


def _define_capsule_body(
    stage: Usd.Stage, path: str, position: Gf.Vec3d, orientation: Gf.Quatd, length: float, mass: float
) -> Usd.Prim:
    """A rigid body Xform at ``position`` [m] (world) turned by ``orientation``, holding one capsule collider of
    radius ``LEG_RADIUS`` whose segment runs ``length`` [m] along the body's +X from its origin."""
    body = UsdGeom.Xform.Define(stage, path)
    body.AddTranslateOp().Set(rounded(position))
    body.AddOrientOp().Set(Gf.Quatf(orientation))
    centre = (length / 2, 0.0, 0.0)
    apply_rigid_body(body.GetPrim(), mass, centre, _capsule_inertia(mass, LEG_RADIUS, length))

    capsule = UsdGeom.Capsule.Define(stage, f"{path}/capsule")
    capsule.CreateAxisAttr(UsdGeom.Tokens.x)
    capsule.CreateHeightAttr(length)
    capsule.CreateRadiusAttr(LEG_RADIUS)
    half_extent = Gf.Vec3f(length / 2 + LEG_RADIUS, LEG_RADIUS, LEG_RADIUS)
    capsule.CreateExtentAttr(Vt.Vec3fArray([-half_extent, half_extent]))
    capsule.AddTranslateOp().Set(Gf.Vec3d(*centre))
    UsdPhysics.CollisionAPI.Apply(capsule.GetPrim())
    return body.GetPrim()


def _set_color(body: Usd.Prim, color: tuple[float, float, float]) -> None:
    """Display colour of every geometry child of ``body``."""
    for child in body.GetChildren():
        UsdGeom.Gprim(child).CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*color)]))


def _limit_and_drive(joint: UsdPhysics.RevoluteJoint, limit: float) -> None:
    """Limits ``-limit .. limit`` [deg], a force drive with max torque ``MAX_TORQUE`` [N·m], no stiffness and
    damping ``JOINT_DAMPING``, and armature ``JOINT_ARMATURE`` for Newton (NewtonJointAPI) and PhysX
    (PhysxJointAPI)."""
    joint.CreateLowerLimitAttr(-limit)
    joint.CreateUpperLimitAttr(limit)
    prim = joint.GetPrim()
    apply_force_drive(prim, "angular", max_force=MAX_TORQUE, damping=math.radians(JOINT_DAMPING))
    for schema, attribute in (("NewtonJointAPI", "newton:armature"), ("PhysxJointAPI", "physxJoint:armature")):
        prim.AddAppliedSchema(schema)
        prim.CreateAttribute(attribute, Sdf.ValueTypeNames.Float, custom=False).Set(JOINT_ARMATURE)


def _define_ground(stage: Usd.Stage, path: str) -> None:
    """A static collision plane at z = 0, facing +Z, displayed ``GROUND_SIZE`` [m] square (no rigid body)."""
    plane = UsdGeom.Plane.Define(stage, path)
    plane.CreateAxisAttr(UsdGeom.Tokens.z)
    plane.CreateWidthAttr(GROUND_SIZE)
    plane.CreateLengthAttr(GROUND_SIZE)
    half = GROUND_SIZE / 2
    plane.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(-half, -half, 0.0), Gf.Vec3f(half, half, 0.0)]))
    plane.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*_GROUND_COLOR)]))
    UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
