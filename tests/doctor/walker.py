"""Small robots for the doctor's tests, written with pxr: a floating one whose start height is known, and a fixed
arm with a gravity-loaded joint and an unloaded one."""

from __future__ import annotations

from pathlib import Path

from pxr import Gf, Usd, UsdGeom, UsdPhysics


def _body(stage: Usd.Stage, path: str, position, mass: float, inertia=(0.01, 0.01, 0.01), rotation=None):
    body = UsdGeom.Xform.Define(stage, path)
    body.AddTranslateOp().Set(Gf.Vec3d(*position))
    if rotation is not None:
        body.AddOrientOp().Set(Gf.Quatf(*rotation))
    UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
    api = UsdPhysics.MassAPI.Apply(body.GetPrim())
    api.CreateMassAttr(mass)
    api.CreateDiagonalInertiaAttr(Gf.Vec3f(*inertia))
    return body


def _hinge(stage: Usd.Stage, path: str, body0: str, body1: str, pos0, pos1, axis: str, limits=None):
    hinge = UsdPhysics.RevoluteJoint.Define(stage, path)
    hinge.CreateBody0Rel().SetTargets([body0])
    hinge.CreateBody1Rel().SetTargets([body1])
    hinge.CreateLocalPos0Attr(Gf.Vec3f(*pos0))
    hinge.CreateLocalPos1Attr(Gf.Vec3f(*pos1))
    hinge.CreateAxisAttr(axis)
    if limits:
        hinge.CreateLowerLimitAttr(limits[0])
        hinge.CreateUpperLimitAttr(limits[1])
    return hinge


def leg_robot(path: Path, hip_limits_deg=None) -> Path:
    """A base (a 0.2 m cube, its centre at the origin) and a leg on a hip (axis Y) 0.1 m below the base's centre,
    with a 0.05 m sphere foot 0.4 m below the hip: at hip angle 0 the foot's lowest point is 0.55 m below the base
    origin; at 90 degrees the base's bottom face (0.1 m below) and the foot (0.15 m below) are the lowest."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/walker").GetPrim())
    _body(stage, "/walker/base", (0, 0, 0), 5.0)
    box = UsdGeom.Cube.Define(stage, "/walker/base/box")
    box.CreateSizeAttr(0.2)
    UsdPhysics.CollisionAPI.Apply(box.GetPrim())
    _body(stage, "/walker/leg", (0, 0, -0.1), 1.0)
    foot = UsdGeom.Sphere.Define(stage, "/walker/leg/foot")
    foot.CreateRadiusAttr(0.05)
    foot.AddTranslateOp().Set(Gf.Vec3d(0, 0, -0.4))
    UsdPhysics.CollisionAPI.Apply(foot.GetPrim())
    _hinge(stage, "/walker/hip", "/walker/base", "/walker/leg", (0, 0, -0.1), (0, 0, 0), "Y", hip_limits_deg)
    stage.Save()
    return path


def pole_robot(path: Path, tilt_deg: float = 5.0) -> Path:
    """A 0.8 m pole (a capsule of radius 0.05, standing on its round end, tilted ``tilt_deg`` about X) with a small
    flap on a hinge: it cannot stand, and falls on its side."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/pole").GetPrim())
    rotation = Gf.Rotation(Gf.Vec3d(1, 0, 0), tilt_deg).GetQuat()
    quat = (rotation.GetReal(), *rotation.GetImaginary())
    _body(stage, "/pole/base", (0, 0, 0.41), 2.0, (0.1, 0.1, 0.01), rotation=quat)
    capsule = UsdGeom.Capsule.Define(stage, "/pole/base/capsule")
    capsule.CreateRadiusAttr(0.05)
    capsule.CreateHeightAttr(0.7)
    capsule.CreateAxisAttr("Z")
    UsdPhysics.CollisionAPI.Apply(capsule.GetPrim())
    flap_position = Gf.Matrix4d().SetRotate(rotation).Transform(Gf.Vec3d(0, 0, 0.3)) + Gf.Vec3d(0, 0, 0.41)
    _body(stage, "/pole/flap", tuple(flap_position), 0.1, (1e-4, 1e-4, 1e-4), rotation=quat)
    _hinge(stage, "/pole/hinge", "/pole/base", "/pole/flap", (0, 0, 0.3), (0, 0, 0), "X")
    stage.Save()
    return path


def arm_robot(path: Path) -> Path:
    """A base welded to the world 1 m up, with two 2 kg links: ``lift`` on a hinge about Y holds its link 0.5 m out
    against gravity (9.81 N·m at the start pose); ``pan`` on a hinge about Z carries no load."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/arm").GetPrim())
    _body(stage, "/arm/base", (0, 0, 1), 5.0)
    weld = UsdPhysics.FixedJoint.Define(stage, "/arm/weld")
    weld.CreateBody1Rel().SetTargets(["/arm/base"])
    weld.CreateLocalPos0Attr(Gf.Vec3f(0, 0, 1))
    _body(stage, "/arm/upper", (0.5, 0, 1), 2.0)
    _hinge(stage, "/arm/lift", "/arm/base", "/arm/upper", (0, 0, 0), (-0.5, 0, 0), "Y", (-90.0, 90.0))
    _body(stage, "/arm/side", (0, 0.5, 1), 2.0)
    _hinge(stage, "/arm/pan", "/arm/base", "/arm/side", (0, 0, 0), (0, -0.5, 0), "Z", (-90.0, 90.0))
    for name in ("upper", "side"):  # small colliders: a robot without any does not build
        ball = UsdGeom.Sphere.Define(stage, f"/arm/{name}/ball")
        ball.CreateRadiusAttr(0.05)
        UsdPhysics.CollisionAPI.Apply(ball.GetPrim())
    stage.Save()
    return path


def slider_robot(path: Path, travel: float = 0.04, mass: float = 0.05) -> Path:
    """A base welded to the world 1 m up, and a ``mass`` kg finger on a prismatic joint ``slide`` along X (no
    gravity load) that travels 0 to ``travel`` m, as a gripper's finger does."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)  # the limits are lengths
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/hand").GetPrim())
    _body(stage, "/hand/base", (0, 0, 1), 1.0)
    weld = UsdPhysics.FixedJoint.Define(stage, "/hand/weld")
    weld.CreateBody1Rel().SetTargets(["/hand/base"])
    weld.CreateLocalPos0Attr(Gf.Vec3f(0, 0, 1))
    _body(stage, "/hand/finger", (0.1, 0, 1), mass, (1e-5, 1e-5, 1e-5))
    ball = UsdGeom.Sphere.Define(stage, "/hand/finger/ball")
    ball.CreateRadiusAttr(0.01)
    UsdPhysics.CollisionAPI.Apply(ball.GetPrim())
    slide = UsdPhysics.PrismaticJoint.Define(stage, "/hand/slide")
    slide.CreateBody0Rel().SetTargets(["/hand/base"])
    slide.CreateBody1Rel().SetTargets(["/hand/finger"])
    slide.CreateLocalPos0Attr(Gf.Vec3f(0.1, 0, 0))
    slide.CreateAxisAttr("X")
    slide.CreateLowerLimitAttr(0.0)
    slide.CreateUpperLimitAttr(travel)
    stage.Save()
    return path


def table_robot(path: Path) -> Path:
    """A 4 kg base (a 0.4 x 0.3 x 0.1 m box, its centre at the origin) on four 0.5 kg legs, each on a hip about Y
    at a corner of its bottom face, with a 0.03 m sphere foot 0.3 m below the hip: standing, the feet's lowest
    points are 0.38 m below the base's origin. Legs that give way swing together and the base sinks to the ground."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/table").GetPrim())
    _body(stage, "/table/base", (0, 0, 0), 4.0, (0.03, 0.06, 0.08))
    box = UsdGeom.Cube.Define(stage, "/table/base/box")
    box.CreateSizeAttr(1.0)
    box.AddScaleOp().Set(Gf.Vec3f(0.4, 0.3, 0.1))
    UsdPhysics.CollisionAPI.Apply(box.GetPrim())
    for name, x, y in (("lf", 0.15, 0.1), ("rf", 0.15, -0.1), ("lh", -0.15, 0.1), ("rh", -0.15, -0.1)):
        _body(stage, f"/table/{name}_leg", (x, y, -0.2), 0.5, (4e-3, 4e-3, 1e-4))
        foot = UsdGeom.Sphere.Define(stage, f"/table/{name}_leg/foot")
        foot.CreateRadiusAttr(0.03)
        foot.AddTranslateOp().Set(Gf.Vec3d(0, 0, -0.15))
        UsdPhysics.CollisionAPI.Apply(foot.GetPrim())
        hip = (x, y, -0.05)
        _hinge(stage, f"/table/{name}_hip", "/table/base", f"/table/{name}_leg", hip, (0, 0, 0.15), "Y", (-90, 90))
    stage.Save()
    return path
