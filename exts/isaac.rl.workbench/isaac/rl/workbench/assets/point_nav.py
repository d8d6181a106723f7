"""Author the point-navigation arena: a disc robot that slides in the plane among four cylindrical obstacles.

Everything is one articulation, so the workbench's reset events place the obstacles: each obstacle sits on its own
pair of prismatic joints (x, y) with a damping drive and a large mass, so it stays where a reset puts it and a
robot that runs into it barely moves it. The robot (a 0.2 m radius disc) is driven by forces on its own x and y
joints. Nothing collides with the arena plate, which only carries the joints; the robot touches the obstacles
(the spec turns on self-collisions) and nothing else.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from pxr import Gf, Usd, UsdGeom, UsdPhysics, Vt

from .usd_physics import apply_force_drive, apply_rigid_body, connect, new_articulation_stage

POINT_NAV_FILE_NAME = "point_nav.usda"

HEIGHT = 0.1  # [m] of the plane the robot and obstacles move in (above the arena's origin)
TRAVEL = 4.0  # [m] joint limits: -4 .. 4 along x and y
ROBOT_RADIUS, ROBOT_MASS, ROBOT_MAX_FORCE, ROBOT_DAMPING = 0.2, 2.0, 20.0, 4.0  # m, kg, N, N·s/m
OBSTACLE_RADIUS, OBSTACLE_MASS, OBSTACLE_DAMPING = 0.3, 100.0, 2000.0  # m, kg, N·s/m
OBSTACLE_RING = 1.2  # [m] the obstacles' authored positions lie on this circle, at 45, 135, 225 and 315 degrees
NUM_OBSTACLES = 4

_ROBOT_COLOR, _OBSTACLE_COLOR = (0.15, 0.45, 0.8), (0.75, 0.3, 0.25)


def _cylinder_body(stage: Usd.Stage, path: str, xy, radius: float, height: float, mass: float, color) -> Usd.Prim:
    """A rigid body at (x, y, HEIGHT) with one upright cylinder collider."""
    body = UsdGeom.Xform.Define(stage, path)
    body.AddTranslateOp().Set(Gf.Vec3d(xy[0], xy[1], HEIGHT))
    side = mass * (3 * radius**2 + height**2) / 12
    apply_rigid_body(body.GetPrim(), mass, (0.0, 0.0, 0.0), (side, side, mass * radius**2 / 2))
    shape = UsdGeom.Cylinder.Define(stage, f"{path}/cylinder")
    shape.CreateAxisAttr(UsdGeom.Tokens.z)
    shape.CreateRadiusAttr(radius)
    shape.CreateHeightAttr(height)
    shape.CreateExtentAttr(
        Vt.Vec3fArray([Gf.Vec3f(-radius, -radius, -height / 2), Gf.Vec3f(radius, radius, height / 2)])
    )
    shape.CreateDisplayColorAttr(Vt.Vec3fArray([Gf.Vec3f(*color)]))
    UsdPhysics.CollisionAPI.Apply(shape.GetPrim())
    return body.GetPrim()


def _carrier(stage: Usd.Stage, path: str, xy) -> Usd.Prim:
    """A light body without a collider between a sliding body's x and y joints."""
    body = UsdGeom.Xform.Define(stage, path)
    body.AddTranslateOp().Set(Gf.Vec3d(xy[0], xy[1], HEIGHT))
    apply_rigid_body(body.GetPrim(), 0.01, (0.0, 0.0, 0.0), (1e-5, 1e-5, 1e-5))
    return body.GetPrim()


def _slide(stage: Usd.Stage, name: str, arena: Usd.Prim, body: Usd.Prim, xy, max_force: float, damping: float) -> None:
    """Joints ``<name>_x`` (arena -> carrier) and ``<name>_y`` (carrier -> body), each with a force drive."""
    carrier = _carrier(stage, f"/point_nav/{name}_carrier", xy)
    for axis, parent, child, anchor in (("x", arena, carrier, (xy[0], xy[1], HEIGHT)), ("y", carrier, body, (0, 0, 0))):
        joint = UsdPhysics.PrismaticJoint.Define(stage, f"/point_nav/{name}_{axis}")
        connect(joint, parent, child, anchor)
        joint.CreateAxisAttr(UsdPhysics.Tokens.x if axis == "x" else UsdPhysics.Tokens.y)
        joint.CreateLowerLimitAttr(-TRAVEL)
        joint.CreateUpperLimitAttr(TRAVEL)
        apply_force_drive(joint.GetPrim(), "linear", max_force=max_force, damping=damping)


def write_point_nav(path: str | os.PathLike) -> None:
    """Write the arena: a fixed plate ``arena``; the disc ``robot`` (radius 0.2 m, 2 kg) on joints ``robot_x`` and
    ``robot_y`` (force drives up to 20 N, damping 4 N·s/m: about 5 m/s at full force), starting at the origin;
    obstacles ``obstacle_0`` .. ``obstacle_3`` (radius 0.3 m, 100 kg) on joints ``obstacle_<k>_x`` / ``_y``
    (damping 2000 N·s/m, no force to command) at 1.2 m from the origin. Joint positions are offsets from these
    authored places. Everything moves in the plane 0.1 m above the origin; there is no gravity along a joint."""
    stage, _ = new_articulation_stage(
        "Point navigation: a disc robot among four obstacles (written by make_assets.py).", "/point_nav"
    )
    arena = UsdGeom.Xform.Define(stage, "/point_nav/arena")
    apply_rigid_body(arena.GetPrim(), 1.0, (0.0, 0.0, 0.0), (0.1, 0.1, 0.1))
    UsdPhysics.FixedJoint.Define(stage, "/point_nav/root_joint").CreateBody1Rel().SetTargets([arena.GetPath()])
    robot = _cylinder_body(stage, "/point_nav/robot", (0.0, 0.0), ROBOT_RADIUS, 0.1, ROBOT_MASS, _ROBOT_COLOR)
    _slide(stage, "robot", arena.GetPrim(), robot, (0.0, 0.0), ROBOT_MAX_FORCE, ROBOT_DAMPING)
    for k in range(NUM_OBSTACLES):
        angle = math.radians(45 + 90 * k)
        xy = (round(OBSTACLE_RING * math.cos(angle), 9), round(OBSTACLE_RING * math.sin(angle), 9))
        obstacle = _cylinder_body(
            stage, f"/point_nav/obstacle_{k}", xy, OBSTACLE_RADIUS, 0.4, OBSTACLE_MASS, _OBSTACLE_COLOR
        )
        _slide(stage, f"obstacle_{k}", arena.GetPrim(), obstacle, xy, 1.0, OBSTACLE_DAMPING)
    Path(path).write_bytes(stage.GetRootLayer().ExportToString().encode("utf-8"))
