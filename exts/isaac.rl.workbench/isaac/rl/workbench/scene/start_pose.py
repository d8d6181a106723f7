"""A start pose that stands: the stance a spec starts a robot in, and the height of a floating root that puts the
robot's lowest collision point just above the ground in that stance. Pure ``pxr`` and numpy: forward kinematics
over the articulation's joint frames, no physics engine.

The stance: each 1-DOF joint at 0 (the pose the robot's file draws: ANYmal's and G1's straight legs, an arm's
zero) where 0 lies within its limits, else the middle of its limits (the Go2's calves). Mid-range everywhere
would twist the hips and shoulders of robots whose ranges are lopsided, and the file's zero is the pose its
author drew the collision shapes in. Neither URDF nor the MJCF converter's output carries a keyframe.

Assumes the stage's up axis is Z and bodies carry no scale (as the URDF and MJCF converters write them); lengths
are converted to metres with the stage's ``metersPerUnit`` where it authors one (else 1, as Newton reads it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from pxr import Gf, Usd, UsdGeom, UsdPhysics

from .geometry import _shape
from .inspect import ArticulationInfo, JointInfo

CLEARANCE = 0.005
"""Height of the lowest collision point above the ground at reset [m]: a drop of a few mm, no contact at reset."""
_AXES = {"X": Gf.Vec3d(1, 0, 0), "Y": Gf.Vec3d(0, 1, 0), "Z": Gf.Vec3d(0, 0, 1)}


def stance(art: ArticulationInfo) -> dict[str, float]:
    """Joint name -> start position [rad or m] of every 1-DOF joint whose limits exclude 0 (the middle of its
    limits); the others start at 0."""
    out = {}
    for joint in art.joints:
        finite = math.isfinite(joint.lower) and math.isfinite(joint.upper)
        if joint.num_dofs == 1 and finite and not joint.lower <= 0.0 <= joint.upper:
            out[joint.name] = round((joint.lower + joint.upper) / 2, 4)
    return out


def body_poses(
    usd_file: Path, art: ArticulationInfo, joint_pos: dict[str, float], root_height: float | None = None
) -> dict[str, np.ndarray]:
    """Body path -> world pose (7,) (x, y, z [m], qx, qy, qz, qw) of each body of ``art`` with its joints at
    ``joint_pos`` (name -> rad or m; others 0) and its root body's origin at ``root_height`` [m] (None: where the
    scene puts it)."""
    stage = Usd.Stage.Open(str(usd_file))
    meters = _meters_per_unit(stage)
    out = {}
    for path, matrix in _poses(stage, art, joint_pos, root_height).items():
        quat = matrix.ExtractRotationQuat().GetNormalized()
        out[path] = np.array([*(matrix.ExtractTranslation() * meters), *quat.GetImaginary(), quat.GetReal()])
    return out


def lowest_collision_point(
    usd_file: Path, art: ArticulationInfo, joint_pos: dict[str, float], root_height: float | None = None
) -> float | None:
    """Height [m] of the articulation's lowest collision point with its joints at ``joint_pos`` (name -> rad or m;
    others 0) and its root body's origin at ``root_height`` [m] (None: where the scene puts it). None when the
    articulation has no collision shape."""
    stage = Usd.Stage.Open(str(usd_file))
    poses = _poses(stage, art, joint_pos, root_height)
    lowest = math.inf
    for body, points in collision_points(stage, usd_file, poses):
        matrix = np.array(poses[body], dtype=np.float64)
        lowest = min(lowest, float((points @ matrix[:3, 2] + matrix[3, 2]).min()))
    return None if math.isinf(lowest) else lowest * _meters_per_unit(stage)


def collision_points(stage: Usd.Stage, usd_file: Path, bodies: Iterable[str]) -> Iterator[tuple[str, np.ndarray]]:
    """(body, the points of one of its collision shapes in the body's frame (N, 3) [stage units]) for each collision
    shape of the bodies (prim paths) in ``bodies``; the body's frame is its authored transform without scale."""
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    for prim in stage.Traverse(Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)):
        if not prim.HasAPI(UsdPhysics.CollisionAPI):
            continue
        body = _owning_body(prim)
        shape = _shape(prim, usd_file) if body in bodies else None
        if shape is None:
            continue
        authored = cache.GetLocalToWorldTransform(stage.GetPrimAtPath(body)).RemoveScaleShear()
        local = np.array(cache.GetLocalToWorldTransform(prim) * authored.GetInverse(), dtype=np.float64)
        yield body, shape[0] @ local[:3, :3] + local[3, :3]


def _poses(
    stage: Usd.Stage, art: ArticulationInfo, joint_pos: dict[str, float], root_height: float | None
) -> dict[str, Gf.Matrix4d]:
    """Body path -> world transform [stage units] of every body of ``art``; bodies no joint path reaches move
    rigidly with the root."""
    meters = _meters_per_unit(stage)
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    authored = {
        path: cache.GetLocalToWorldTransform(stage.GetPrimAtPath(path)).RemoveScaleShear() for path in art.bodies
    }
    root = _root_body(art)
    start = Gf.Matrix4d(authored[root])
    if root_height is not None:
        translation = start.ExtractTranslation()
        start.SetTranslateOnly(Gf.Vec3d(translation[0], translation[1], root_height / meters))
    in_stage_units = {n: _stage_units(art, n, v, meters) for n, v in joint_pos.items()}
    poses = _forward_kinematics(stage, art, root, start, in_stage_units)
    moved = authored[root].GetInverse() * start
    return {path: poses.get(path, authored[path] * moved) for path in art.bodies}


def standing_root_height(
    usd_file: Path, art: ArticulationInfo, joint_pos: dict[str, float], clearance: float = CLEARANCE
) -> float | None:
    """The root height [m] that puts the lowest collision point ``clearance`` [m] above the ground with the joints
    at ``joint_pos``; None when the articulation has no collision shape."""
    lowest = lowest_collision_point(usd_file, art, joint_pos)
    return None if lowest is None else round(authored_root_height(usd_file, art) + clearance - lowest, 3)


def authored_root_height(usd_file: Path, art: ArticulationInfo) -> float:
    """The height [m] of the root body's origin as the scene puts it (a floating root starts there when the spec
    gives no ``root_height``)."""
    stage = Usd.Stage.Open(str(usd_file))
    root = stage.GetPrimAtPath(_root_body(art))
    height = UsdGeom.XformCache().GetLocalToWorldTransform(root).ExtractTranslation()[2]
    return float(height) * _meters_per_unit(stage)


def _meters_per_unit(stage: Usd.Stage) -> float:
    """Metres per stage unit where the stage authors it, else 1 (as Newton reads a stage)."""
    return UsdGeom.GetStageMetersPerUnit(stage) if UsdGeom.StageHasAuthoredMetersPerUnit(stage) else 1.0


def _root_body(art: ArticulationInfo) -> str:
    """The body a floating base frees: the articulation root when it is a body, else the body welded to the
    world."""
    if art.root_path in art.bodies:
        return art.root_path
    welded = [j.body1 or j.body0 for j in art.joints if not (j.body0 and j.body1)]
    return welded[0] if welded else art.bodies[0]


def _forward_kinematics(
    stage: Usd.Stage, art: ArticulationInfo, root: str, start: Gf.Matrix4d, joint_pos: dict[str, float]
) -> dict[str, Gf.Matrix4d]:
    """Body path -> world transform (row-vector convention, ``p_world = p_body * M``) with the root at ``start``
    and each 1-DOF joint at ``joint_pos`` (0 when absent); multi-DOF joints at their zero."""
    poses = {root: start}
    pending = [j for j in art.joints if j.body0 and j.body1]
    while pending:
        left = []
        for joint in pending:
            if joint.body0 in poses and joint.body1 not in poses:
                frame0, motion, frame1 = _joint_frames(stage, joint, joint_pos.get(joint.name, 0.0))
                poses[joint.body1] = frame1.GetInverse() * motion * frame0 * poses[joint.body0]
            elif joint.body1 in poses and joint.body0 not in poses:
                frame0, motion, frame1 = _joint_frames(stage, joint, joint_pos.get(joint.name, 0.0))
                poses[joint.body0] = (frame1.GetInverse() * motion * frame0).GetInverse() * poses[joint.body1]
            elif joint.body0 not in poses:
                left.append(joint)
        if len(left) == len(pending):
            break  # bodies no joint path reaches keep their authored pose
        pending = left
    return poses


def _stage_units(art: ArticulationInfo, name: str, position: float, meters: float) -> float:
    """A joint position in the units the joint frames are authored in: radians, or stage units for a slide."""
    prismatic = any(j.name == name and j.type == "prismatic" for j in art.joints)
    return position / meters if prismatic else position


def _joint_frames(stage: Usd.Stage, info: JointInfo, position: float) -> tuple[Gf.Matrix4d, Gf.Matrix4d, Gf.Matrix4d]:
    """The joint's frame on body0, its motion at ``position`` [rad or stage units] in that frame, and its frame on
    body1."""
    joint = UsdPhysics.Joint(stage.GetPrimAtPath(info.path))
    frame0 = _frame(joint.GetLocalRot0Attr().Get(), joint.GetLocalPos0Attr().Get())
    frame1 = _frame(joint.GetLocalRot1Attr().Get(), joint.GetLocalPos1Attr().Get())
    motion = Gf.Matrix4d(1.0)
    if info.type == "revolute" and info.axis in _AXES:
        motion.SetRotate(Gf.Rotation(_AXES[info.axis], math.degrees(position)))
    elif info.type == "prismatic" and info.axis in _AXES:
        motion.SetTranslate(_AXES[info.axis] * position)
    return frame0, motion, frame1


def _frame(rotation: Gf.Quatf | None, position: Gf.Vec3f | None) -> Gf.Matrix4d:
    matrix = Gf.Matrix4d(1.0)
    matrix.SetTransform(Gf.Rotation(Gf.Quatd(rotation or Gf.Quatf(1.0))), Gf.Vec3d(position or Gf.Vec3f(0.0)))
    return matrix


def _owning_body(prim: Usd.Prim) -> str | None:
    """The path of the nearest ancestor-or-self of ``prim`` with RigidBodyAPI, None when there is none."""
    while prim.IsValid() and not prim.IsPseudoRoot():
        if prim.HasAPI(UsdPhysics.RigidBodyAPI):
            return str(prim.GetPath())
        prim = prim.GetParent()
    return None
