"""Author the cartpole: a cart on a fixed rail (force-driven prismatic joint) balancing a passive pole."""

from __future__ import annotations

import os
from pathlib import Path

from pxr import UsdPhysics

from .usd_physics import apply_force_drive, connect, define_box_body, filter_collisions, new_articulation_stage

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


def write_cartpole(path: str | os.PathLike) -> None:
    """Write the cartpole: a fixed rail, a cart on prismatic joint "slider" (X, -3..3 m, force drive with
    max force 100 N) and a passive pole on revolute joint "hinge" (Y, unlimited, no drive; angle 0 = upright,
    positive angles tilt the pole towards +X).

    The rail, the cart centre and the hinge sit ``RAIL_HEIGHT`` (2 m) above the origin. Masses: cart 1 kg, pole
    0.25 kg (centre of mass 0.5 m above the hinge), rail 5 kg. Joint order: root_joint (fixed, world -> rail),
    slider (1 dof), hinge (1 dof); an engine's joint coordinates are therefore [slider, hinge].
    """
    stage, _ = new_articulation_stage(
        "Cartpole: a cart on a rail balancing a passive pole (written by make_assets.py).", "/cartpole"
    )

    rail = define_box_body(stage, "/cartpole/rail", (0.0, 0.0, RAIL_HEIGHT), RAIL_SIZE, RAIL_MASS, _RAIL_COLOR)
    cart = define_box_body(stage, "/cartpole/cart", (0.0, 0.0, RAIL_HEIGHT), CART_SIZE, CART_MASS, _CART_COLOR)
    hinge_world = (HINGE_OFFSET[0], HINGE_OFFSET[1], RAIL_HEIGHT + HINGE_OFFSET[2])
    pole_centre = (0.0, 0.0, POLE_SIZE[2] / 2)
    pole = define_box_body(stage, "/cartpole/pole", hinge_world, POLE_SIZE, POLE_MASS, _POLE_COLOR, pole_centre)
    filter_collisions(cart, [rail, pole])
    filter_collisions(pole, [rail])

    root_joint = UsdPhysics.FixedJoint.Define(stage, "/cartpole/root_joint")
    connect(root_joint, None, rail, (0.0, 0.0, RAIL_HEIGHT))

    slider = UsdPhysics.PrismaticJoint.Define(stage, "/cartpole/slider")
    connect(slider, rail, cart, (0.0, 0.0, 0.0))
    slider.CreateAxisAttr(UsdPhysics.Tokens.x)
    slider.CreateLowerLimitAttr(-CART_TRAVEL)
    slider.CreateUpperLimitAttr(CART_TRAVEL)
    apply_force_drive(slider.GetPrim(), "linear", max_force=CART_MAX_FORCE)

    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/cartpole/hinge")
    connect(hinge, cart, pole, HINGE_OFFSET)
    hinge.CreateAxisAttr(UsdPhysics.Tokens.y)
    # Passive: no DriveAPI. A drive with maxForce 0 would become MuJoCo actfrcrange [0, 0], which it rejects.

    Path(path).write_bytes(stage.GetRootLayer().ExportToString().encode("utf-8"))
