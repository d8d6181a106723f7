"""UsdPhysics building blocks for authoring robots from code: a stage, rigid bodies, joints, drives.

Every helper writes the same attributes in the same order each time, so a robot written twice is byte-identical.
Units: metres, kilograms, seconds; angles in degrees where USD stores degrees (limits, angular drive gains).
"""

from __future__ import annotations

import math

from pxr import Gf, Usd, UsdGeom, UsdPhysics, Vt


def new_articulation_stage(doc: str, root_path: str) -> tuple[Usd.Stage, UsdGeom.Xform]:
    """An in-memory stage in metres, kilograms and Z up, with a PhysicsScene (gravity 9.81 m/s² along -Z) and an
    Xform at ``root_path`` that is the default prim and carries ArticulationRootAPI."""
    stage = Usd.Stage.CreateInMemory()
    stage.GetRootLayer().documentation = doc
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    scene = UsdPhysics.Scene.Define(stage, "/physicsScene")
    scene.CreateGravityDirectionAttr(Gf.Vec3f(0.0, 0.0, -1.0))
    scene.CreateGravityMagnitudeAttr(9.81)
    root = UsdGeom.Xform.Define(stage, root_path)
    stage.SetDefaultPrim(root.GetPrim())
    UsdPhysics.ArticulationRootAPI.Apply(root.GetPrim())
    return stage, root


def quat_about(axis: Gf.Vec3d, angle_deg: float) -> Gf.Quatd:
    """The unit quaternion of a rotation by ``angle_deg`` [deg] about the unit vector ``axis``."""
    half = math.radians(angle_deg) / 2
    return Gf.Quatd(math.cos(half), axis * math.sin(half))


def rounded(vector) -> Gf.Vec3d:
    """``vector`` (3 numbers) rounded to nanometres, so the file does not hang on the last bits of cos and sin."""
    return Gf.Vec3d(*(round(value, 9) + 0.0 for value in vector))


def box_inertia(mass: float, size: tuple[float, float, float]) -> Gf.Vec3f:
    """Diagonal inertia [kg·m²] of a solid box of the given mass [kg] and edge lengths [m] about its centre."""
    x, y, z = size
    return Gf.Vec3f(mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12)


def apply_rigid_body(prim: Usd.Prim, mass: float, centre, inertia) -> None:
    """RigidBodyAPI and an explicit MassAPI: ``mass`` [kg], centre of mass [m] and diagonal inertia [kg·m²]
    (3 numbers each) in the body frame."""
    UsdPhysics.RigidBodyAPI.Apply(prim)
    mass_api = UsdPhysics.MassAPI.Apply(prim)
    mass_api.CreateMassAttr(mass)
    mass_api.CreateCenterOfMassAttr(Gf.Vec3f(*centre))
    mass_api.CreateDiagonalInertiaAttr(Gf.Vec3f(*inertia))
    mass_api.CreatePrincipalAxesAttr(Gf.Quatf(1.0))


def define_box_body(
    stage: Usd.Stage,
    path: str,
    position: tuple[float, float, float],
    size: tuple[float, float, float],
    mass: float,
    color: tuple[float, float, float],
    box_centre: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Usd.Prim:
    """A rigid body Xform at ``position`` [m] (world) with one box collider of edge lengths ``size`` [m] centred at
    ``box_centre`` in the body frame, explicit mass [kg], centre of mass at the box centre and box inertia."""
    body = UsdGeom.Xform.Define(stage, path)
    body.AddTranslateOp().Set(Gf.Vec3d(*position))
    prim = body.GetPrim()
    apply_rigid_body(prim, mass, box_centre, box_inertia(mass, size))

    box = UsdGeom.Cube.Define(stage, f"{path}/box")
    box.CreateSizeAttr(1.0)
    box.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(-0.5), Gf.Vec3f(0.5)]))
    box.AddTranslateOp().Set(Gf.Vec3d(*box_centre))
    box.AddScaleOp().Set(Gf.Vec3f(*size))
    box.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*color)]))
    UsdPhysics.CollisionAPI.Apply(box.GetPrim())
    return prim


def filter_collisions(body: Usd.Prim, others: list[Usd.Prim]) -> None:
    """Disable collisions between ``body`` and each of ``others`` (UsdPhysics.FilteredPairsAPI)."""
    relationship = UsdPhysics.FilteredPairsAPI.Apply(body).CreateFilteredPairsRel()
    for other in others:
        relationship.AddTarget(other.GetPath())


def connect(
    joint: UsdPhysics.Joint,
    body0: Usd.Prim | None,
    body1: Usd.Prim,
    anchor0,
    rotation0: Gf.Quatd = Gf.Quatd(1.0),  # noqa: B008 (an immutable value)
) -> None:
    """Join ``body0`` (None: the world) to ``body1``.

    The joint frame sits at ``anchor0`` [m] (3 numbers, rounded to nanometres) turned by ``rotation0`` in body0's
    frame, and is body1's own frame, so joint angle 0 is the authored pose.
    """
    if body0 is not None:
        joint.CreateBody0Rel().SetTargets([body0.GetPath()])
    joint.CreateBody1Rel().SetTargets([body1.GetPath()])
    joint.CreateLocalPos0Attr(Gf.Vec3f(rounded(anchor0)))
    joint.CreateLocalRot0Attr(Gf.Quatf(rotation0))
    joint.CreateLocalPos1Attr(Gf.Vec3f(0.0))
    joint.CreateLocalRot1Attr(Gf.Quatf(1.0))


def apply_force_drive(prim: Usd.Prim, instance: str, max_force: float, damping: float = 0.0) -> None:
    """A force drive with zero stiffness: the policy commands effort directly, up to ``max_force`` [N or N·m].

    ``instance`` is "linear" or "angular"; ``damping`` is in USD units: N·s/m (linear) or N·m·s/deg (angular).
    """
    drive = UsdPhysics.DriveAPI.Apply(prim, instance)
    drive.CreateTypeAttr(UsdPhysics.Tokens.force)
    drive.CreateStiffnessAttr(0.0)
    drive.CreateDampingAttr(damping)
    drive.CreateMaxForceAttr(max_force)
