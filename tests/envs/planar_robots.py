"""A planar hopper-like robot for the ground tests, written with pxr: a base welded to the world at the origin, a
slide along z (``rootz``) lifting a 1 kg torso, and a hinge about y (``rooty``) turning a 0.5 kg leg whose sphere
foot (radius 0.05 m) hangs 0.3 m below the torso. At joint positions 0 the foot's lowest point is 5 mm up."""

from __future__ import annotations

from pathlib import Path

from pxr import Gf, Usd, UsdGeom, UsdPhysics

TORSO_HEIGHT = 0.355
"""Height of the torso's origin at joint positions 0 [m]."""
FOOT_DROP = 0.3
"""How far the foot sphere's centre hangs below the torso's origin [m]."""
FOOT_RADIUS = 0.05
"""Radius of the foot sphere [m]."""


def _body(stage: Usd.Stage, path: str, z: float, mass: float) -> UsdGeom.Xform:
    body = UsdGeom.Xform.Define(stage, path)
    body.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, z))
    UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
    api = UsdPhysics.MassAPI.Apply(body.GetPrim())
    api.CreateMassAttr(mass)
    api.CreateDiagonalInertiaAttr(Gf.Vec3f(0.01, 0.01, 0.01))
    return body


def _joint(kind, stage: Usd.Stage, path: str, body0: str, body1: str, pos0, axis: str):
    joint = kind.Define(stage, path)
    joint.CreateBody0Rel().SetTargets([body0])
    joint.CreateBody1Rel().SetTargets([body1])
    joint.CreateLocalPos0Attr(Gf.Vec3f(*pos0))
    joint.CreateLocalPos1Attr(Gf.Vec3f(0.0))
    joint.CreateAxisAttr(axis)
    return joint


def planar_hopper(path: Path, foot: str = "collider") -> Path:
    """The robot of the module's docstring at ``path`` (articulation ``/hopper``). ``foot``: "collider" (the only
    collision shape), "visual" (a sphere that collides with nothing) or "none" (no shape at all on the robot)."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.Scene.Define(stage, "/physicsScene")
    root = UsdGeom.Xform.Define(stage, "/hopper")
    UsdPhysics.ArticulationRootAPI.Apply(root.GetPrim())
    _body(stage, "/hopper/base", 0.0, 0.01)
    weld = UsdPhysics.FixedJoint.Define(stage, "/hopper/weld")
    weld.CreateBody1Rel().SetTargets(["/hopper/base"])
    _body(stage, "/hopper/torso", TORSO_HEIGHT, 1.0)
    lift = (0.0, 0.0, TORSO_HEIGHT)
    _joint(UsdPhysics.PrismaticJoint, stage, "/hopper/rootz", "/hopper/base", "/hopper/torso", lift, "Z")
    _body(stage, "/hopper/leg", TORSO_HEIGHT, 0.5)
    _joint(UsdPhysics.RevoluteJoint, stage, "/hopper/rooty", "/hopper/torso", "/hopper/leg", (0, 0, 0), "Y")
    if foot != "none":
        sphere = UsdGeom.Sphere.Define(stage, "/hopper/leg/foot")
        sphere.CreateRadiusAttr(FOOT_RADIUS)
        sphere.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, -FOOT_DROP))
    if foot == "collider":
        UsdPhysics.CollisionAPI.Apply(sphere.GetPrim())
    stage.Save()
    return path
