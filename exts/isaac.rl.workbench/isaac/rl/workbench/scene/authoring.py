"""Author the project's robot scenes with pxr + UsdPhysics, byte-for-byte reproducibly.

Every asset is written from code by ``write_all`` (``scripts/make_assets.py``); the committed ``.usda`` files are
its output. Stages use metres, kilograms and Z up. The cartpole is authored here, the ant in ``ant_asset``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pxr import Gf, Usd, UsdGeom, UsdPhysics, Vt

CARTPOLE_FILE_NAME = "cartpole.usda"

# Cartpole dimensions [m] and masses [kg]
RAIL_HEIGHT = 2.0  # world height of the rail, cart centre and hinge
RAIL_SIZE = (8.0, 0.04, 0.04)
RAIL_MASS = 5.0
CART_SIZE = (0.4, 0.3, 0.2)
CART_MASS = 1.0
CART_TRAVEL = 3.0  # slider limits: -3 .. 3 m
CART_MAX_FORCE = 100.0  # N
POLE_SIZE = (0.04, 0.04, 1.0)  # the pole rises from the hinge along +Z at joint angle 0
POLE_MASS = 0.25
HINGE_OFFSET = (0.0, 0.2, 0.0)  # hinge in the cart frame: beside the cart, so the pole swings clear of it

_RAIL_COLOR = (0.35, 0.35, 0.38)
_CART_COLOR = (0.15, 0.45, 0.8)
_POLE_COLOR = (0.9, 0.55, 0.1)


def write_all(out_dir: str | os.PathLike) -> list[Path]:
    """Write every asset into ``out_dir`` (created if missing); returns the written paths."""
    # Imported here: ant_asset builds on this module's helpers.
    from isaac.rl.workbench.scene.ant_asset import ANT_FILE_NAME, write_ant

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cartpole, ant = out / CARTPOLE_FILE_NAME, out / ANT_FILE_NAME
    write_cartpole(cartpole)
    write_ant(ant)
    return [cartpole, ant]


def write_cartpole(path: str | os.PathLike) -> None:
    """Write the cartpole: a fixed rail, a cart on prismatic joint "slider" (X, -3..3 m, force drive with
    max force 100 N) and a passive pole on revolute joint "hinge" (Y, unlimited, no drive; angle 0 = upright,
    positive angles tilt the pole towards +X).

    The rail, the cart centre and the hinge sit ``RAIL_HEIGHT`` (2 m) above the origin. Masses: cart 1 kg, pole
    0.25 kg (centre of mass 0.5 m above the hinge), rail 5 kg. Joint order: root_joint (fixed, world -> rail),
    slider (1 dof), hinge (1 dof); an engine's joint coordinates are therefore [slider, hinge].
    """
    stage, _ = _new_articulation_stage(
        "Cartpole: a cart on a rail balancing a passive pole (written by make_assets.py).", "/cartpole"
    )

    rail = _define_box_body(stage, "/cartpole/rail", (0.0, 0.0, RAIL_HEIGHT), RAIL_SIZE, RAIL_MASS, _RAIL_COLOR)
    cart = _define_box_body(stage, "/cartpole/cart", (0.0, 0.0, RAIL_HEIGHT), CART_SIZE, CART_MASS, _CART_COLOR)
    hinge_world = (HINGE_OFFSET[0], HINGE_OFFSET[1], RAIL_HEIGHT + HINGE_OFFSET[2])
    pole_centre = (0.0, 0.0, POLE_SIZE[2] / 2)
    pole = _define_box_body(stage, "/cartpole/pole", hinge_world, POLE_SIZE, POLE_MASS, _POLE_COLOR, pole_centre)
    _filter_collisions(cart, [rail, pole])
    _filter_collisions(pole, [rail])

    root_joint = UsdPhysics.FixedJoint.Define(stage, "/cartpole/root_joint")
    _connect(root_joint, None, rail, (0.0, 0.0, RAIL_HEIGHT))

    slider = UsdPhysics.PrismaticJoint.Define(stage, "/cartpole/slider")
    _connect(slider, rail, cart, (0.0, 0.0, 0.0))
    slider.CreateAxisAttr(UsdPhysics.Tokens.x)
    slider.CreateLowerLimitAttr(-CART_TRAVEL)
    slider.CreateUpperLimitAttr(CART_TRAVEL)
    _apply_drive(slider.GetPrim(), "linear", max_force=CART_MAX_FORCE)

    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/cartpole/hinge")
    _connect(hinge, cart, pole, HINGE_OFFSET)
    hinge.CreateAxisAttr(UsdPhysics.Tokens.y)
    # Passive: no DriveAPI. A drive with maxForce 0 would become MuJoCo actfrcrange [0, 0], which it rejects.

    Path(path).write_bytes(stage.GetRootLayer().ExportToString().encode("utf-8"))


def _new_articulation_stage(doc: str, root_path: str) -> tuple[Usd.Stage, UsdGeom.Xform]:
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


def _box_inertia(mass: float, size: tuple[float, float, float]) -> Gf.Vec3f:
    """Diagonal inertia [kg·m²] of a solid box of the given mass [kg] and edge lengths [m] about its centre."""
    x, y, z = size
    return Gf.Vec3f(mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12)


def _define_box_body(
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
    UsdPhysics.RigidBodyAPI.Apply(prim)
    mass_api = UsdPhysics.MassAPI.Apply(prim)
    mass_api.CreateMassAttr(mass)
    mass_api.CreateCenterOfMassAttr(Gf.Vec3f(*box_centre))
    mass_api.CreateDiagonalInertiaAttr(_box_inertia(mass, size))
    mass_api.CreatePrincipalAxesAttr(Gf.Quatf(1.0))

    box = UsdGeom.Cube.Define(stage, f"{path}/box")
    box.CreateSizeAttr(1.0)
    box.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(-0.5), Gf.Vec3f(0.5)]))
    box.AddTranslateOp().Set(Gf.Vec3d(*box_centre))
    box.AddScaleOp().Set(Gf.Vec3f(*size))
    box.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*color)]))
    UsdPhysics.CollisionAPI.Apply(box.GetPrim())
    return prim


def _filter_collisions(body: Usd.Prim, others: list[Usd.Prim]) -> None:
    """Disable collisions between ``body`` and each of ``others`` (UsdPhysics.FilteredPairsAPI)."""
    relationship = UsdPhysics.FilteredPairsAPI.Apply(body).CreateFilteredPairsRel()
    for other in others:
        relationship.AddTarget(other.GetPath())


def _connect(
    joint: UsdPhysics.Joint, body0: Usd.Prim | None, body1: Usd.Prim, anchor0: tuple[float, float, float]
) -> None:
    """Join ``body0`` (None: the world) to ``body1`` at ``anchor0`` [m] in body0's frame, the origin of body1."""
    if body0 is not None:
        joint.CreateBody0Rel().SetTargets([body0.GetPath()])
    joint.CreateBody1Rel().SetTargets([body1.GetPath()])
    joint.CreateLocalPos0Attr(Gf.Vec3f(*anchor0))
    joint.CreateLocalRot0Attr(Gf.Quatf(1.0))
    joint.CreateLocalPos1Attr(Gf.Vec3f(0.0))
    joint.CreateLocalRot1Attr(Gf.Quatf(1.0))


def _apply_drive(prim: Usd.Prim, instance: str, max_force: float, damping: float = 0.0) -> None:
    """A force drive with zero stiffness: the policy commands effort directly, up to ``max_force`` [N or N·m].

    ``damping`` is in USD units: N·s/m (linear) or N·m·s/deg (angular).
    """
    drive = UsdPhysics.DriveAPI.Apply(prim, instance)
    drive.CreateTypeAttr(UsdPhysics.Tokens.force)
    drive.CreateStiffnessAttr(0.0)
    drive.CreateDampingAttr(damping)
    drive.CreateMaxForceAttr(max_force)
