"""Read the articulations of a USD file: roots, joints (parent before child), limits, drives, bodies.

Pure ``pxr``: no physics engine is imported, so the CLI and the task-spec checks can describe a scene
without compiling kernels. Units follow the engines: revolute limits, targets and gains are converted
from USD's degrees to radians; prismatic limits and targets are converted from stage units to metres.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from pxr import Sdf, Tf, Usd, UsdGeom, UsdPhysics

_FLOAT_MAX = 3.0e38  # |value| at or beyond this (or inf) means "unset" for UsdPhysics limits and maxForce
_DEGREES_PER_RADIAN = 180.0 / math.pi

# (schema, type name, dof count, drive instance name); subclasses before the generic UsdPhysics.Joint
_JOINT_KINDS = (
    (UsdPhysics.RevoluteJoint, "revolute", 1, "angular"),
    (UsdPhysics.PrismaticJoint, "prismatic", 1, "linear"),
    (UsdPhysics.SphericalJoint, "spherical", 3, None),
    (UsdPhysics.FixedJoint, "fixed", 0, None),
    (UsdPhysics.DistanceJoint, "distance", 0, None),
)
_D6_AXES = ("transX", "transY", "transZ", "rotX", "rotY", "rotZ")


class SceneError(Exception):
    """A USD file that cannot be used; message names the file and the problem."""


@dataclass(frozen=True)
class DriveInfo:
    """A joint drive (UsdPhysics.DriveAPI).

    Revolute drives: stiffness [N·m/rad], damping [N·m·s/rad], target_position [rad], target_velocity [rad/s]
    (converted from USD's per-degree values). Prismatic drives: stiffness [N/m], damping [N·s/m],
    target_position [m], target_velocity [m/s]. max_force [N or N·m] is ``inf`` when unset.
    """

    type: str  # "force" or "acceleration"
    stiffness: float
    damping: float
    max_force: float
    target_position: float
    target_velocity: float


@dataclass(frozen=True)
class JointInfo:
    """One joint. ``lower``/``upper``: radians (revolute) or metres (prismatic); -inf/inf when unlimited.

    ``body0``/``body1`` are rigid-body prim paths, ``""`` for the world (no target, or a static prim).
    """

    path: str
    name: str
    type: str  # "revolute" | "prismatic" | "spherical" | "fixed" | "distance" | "d6"
    axis: str  # "X" | "Y" | "Z" for revolute and prismatic joints, "" otherwise
    lower: float
    upper: float
    drive: DriveInfo | None
    body0: str
    body1: str
    num_dofs: int  # 1 revolute/prismatic, 3 spherical, 0 fixed/distance, 6 minus locked axes for d6


@dataclass(frozen=True)
class ArticulationInfo:
    """One articulation: its root prim, its joints in depth-first order from the base, and its bodies.

    ``problems`` lists what makes it untrainable as authored, one sentence each (empty when none).
    """

    root_path: str
    fixed_base: bool
    joints: tuple[JointInfo, ...]
    bodies: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def duplicate_names(self) -> tuple[str, ...]:
        """One sentence per name that several bodies, or several 1-DOF joints, share: a spec names bodies and
        joints by the last component of their prim path, so it cannot tell these apart."""
        out = []
        movable = [j.path for j in self.joints if j.num_dofs == 1]
        for plural, paths in (("bodies", self.bodies), ("joints", movable)):
            by_name: dict[str, list[str]] = {}
            for path in paths:
                by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
            out += [
                f"{len(same)} {plural} are named '{name}' ({', '.join(same)}): a spec cannot name one of them; "
                f"rename them in the robot file"
                for name, same in by_name.items()
                if len(same) > 1
            ]
        return tuple(out)

    @property
    def dof_names(self) -> tuple[str, ...]:
        """Names of the 1-dof joints (the controllable ones), in joint order."""
        return tuple(joint.name for joint in self.joints if joint.num_dofs == 1)

    def checked(self, file: str) -> ArticulationInfo:
        """This articulation, or a SceneError naming the file and its first problem."""
        if self.problems:
            raise SceneError(f"{file}: {self.problems[0]}")
        return self


@dataclass(frozen=True)
class SceneInfo:
    """What a USD file holds: stage conventions and every articulation."""

    path: str
    up_axis: str
    meters_per_unit: float
    articulations: tuple[ArticulationInfo, ...]

    def find(self, root_path: str | None) -> ArticulationInfo:
        """The articulation rooted at ``root_path``; ``None`` picks the only one (SceneError when several)."""
        roots = ", ".join(art.root_path for art in self.articulations)
        if root_path is None:
            if len(self.articulations) == 1:
                return self.articulations[0].checked(self.path)
            raise SceneError(f"{self.path}: {len(self.articulations)} articulations ({roots}); name one of them")
        for art in self.articulations:
            if art.root_path == root_path:
                return art.checked(self.path)
        raise SceneError(f"{self.path}: no articulation root at {root_path}; articulation roots: {roots}")


def inspect_scene(path: str | os.PathLike) -> SceneInfo:
    """Open a USD file and describe its articulations; raises SceneError naming the file and the problem."""
    file = os.fspath(path)
    stage = _open_stage(file)
    meters_per_unit = float(UsdGeom.GetStageMetersPerUnit(stage))
    prims = list(Usd.PrimRange.Stage(stage, Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)))
    bodies = [str(prim.GetPath()) for prim in prims if _is_rigid_body(prim)]
    body_set = set(bodies)
    joints = [
        _read_joint(prim, body_set, meters_per_unit)
        for prim in prims
        if prim.IsA(UsdPhysics.Joint) and _is_articulation_joint(prim)
    ]
    roots = [prim for prim in prims if prim.HasAPI(UsdPhysics.ArticulationRootAPI)]
    if not roots:
        found = f"prims with RigidBodyAPI: {len(bodies)}"
        raise SceneError(f"{file}: no articulation root (UsdPhysics.ArticulationRootAPI) found; {found}")
    planes = {}  # body -> its plane shapes, which the physics only accepts on the world
    for prim in prims:
        if prim.IsA(UsdGeom.Plane) and (owner := _owning_body(prim.GetPath(), body_set)):
            planes.setdefault(owner, []).append(prim.GetName())
    articulations = tuple(_collect_articulation(file, root, bodies, joints, planes) for root in roots)
    return SceneInfo(file, str(UsdGeom.GetStageUpAxis(stage)), meters_per_unit, articulations)


def _open_stage(file: str) -> Usd.Stage:
    if not os.path.exists(file):
        raise SceneError(f"{file}: no such file")
    if os.path.isdir(file):
        raise SceneError(f"{file}: is a directory, not a USD file")
    try:
        stage = Usd.Stage.Open(file, Usd.Stage.LoadAll)
    except Tf.ErrorException as error:
        reasons = re.findall(r" : '(.*)'\s*$", str(error), flags=re.MULTILINE) or [str(error).strip()]
        reason = re.sub(r":SDF_FORMAT_ARGS:[^@]*", "", reasons[0])
        raise SceneError(f"{file}: not a USD file ({reason})") from None
    if stage is None:
        raise SceneError(f"{file}: not a USD file (pxr could not open it)")
    return stage


def _is_rigid_body(prim: Usd.Prim) -> bool:
    if not prim.HasAPI(UsdPhysics.RigidBodyAPI):
        return False
    return UsdPhysics.RigidBodyAPI(prim).GetRigidBodyEnabledAttr().Get() is not False


def _is_articulation_joint(prim: Usd.Prim) -> bool:
    joint = UsdPhysics.Joint(prim)
    return joint.GetJointEnabledAttr().Get() is not False and not joint.GetExcludeFromArticulationAttr().Get()


def _resolve_body(relationship: Usd.Relationship, body_set: set[str]) -> str:
    """The rigid body a joint relationship targets: the target or its closest rigid-body ancestor; "" = world."""
    targets = relationship.GetTargets()
    return _owning_body(targets[0] if targets else Sdf.Path.emptyPath, body_set)


def _owning_body(path: Sdf.Path, body_set: set[str]) -> str:
    """The rigid body at ``path`` or its closest rigid-body ancestor; "" when none (the world)."""
    while not path.isEmpty and path != Sdf.Path.absoluteRootPath:
        if str(path) in body_set:
            return str(path)
        path = path.GetParentPath()
    return ""


def _finite(value: float | None, default: float) -> float:
    if value is None or math.isinf(value) or abs(value) >= _FLOAT_MAX:
        return default
    return float(value)


def _read_joint(prim: Usd.Prim, body_set: set[str], meters_per_unit: float) -> JointInfo:
    joint = UsdPhysics.Joint(prim)
    kind, num_dofs, drive_name = next(
        ((name, dofs, drive_instance) for schema, name, dofs, drive_instance in _JOINT_KINDS if prim.IsA(schema)),
        ("d6", 6 - _count_locked_d6_axes(prim), None),
    )
    axis, lower, upper, drive = "", -math.inf, math.inf, None
    if drive_name is not None:
        typed = UsdPhysics.RevoluteJoint(prim) if kind == "revolute" else UsdPhysics.PrismaticJoint(prim)
        scale = math.radians(1.0) if kind == "revolute" else meters_per_unit
        axis = str(typed.GetAxisAttr().Get())
        lower = _finite(typed.GetLowerLimitAttr().Get(), -math.inf) * scale
        upper = _finite(typed.GetUpperLimitAttr().Get(), math.inf) * scale
        if prim.HasAPI(UsdPhysics.DriveAPI, drive_name):
            drive = _read_drive(UsdPhysics.DriveAPI(prim, drive_name), scale, kind == "revolute")
    return JointInfo(
        path=str(prim.GetPath()),
        name=prim.GetName(),
        type=kind,
        axis=axis,
        lower=lower,
        upper=upper,
        drive=drive,
        body0=_resolve_body(joint.GetBody0Rel(), body_set),
        body1=_resolve_body(joint.GetBody1Rel(), body_set),
        num_dofs=num_dofs,
    )


def _read_drive(api: UsdPhysics.DriveAPI, position_scale: float, per_degree_gains: bool) -> DriveInfo:
    gain_scale = _DEGREES_PER_RADIAN if per_degree_gains else 1.0
    return DriveInfo(
        type=str(api.GetTypeAttr().Get() or "force"),
        stiffness=float(api.GetStiffnessAttr().Get() or 0.0) * gain_scale,
        damping=float(api.GetDampingAttr().Get() or 0.0) * gain_scale,
        max_force=_finite(api.GetMaxForceAttr().Get(), math.inf),
        target_position=float(api.GetTargetPositionAttr().Get() or 0.0) * position_scale,
        target_velocity=float(api.GetTargetVelocityAttr().Get() or 0.0) * position_scale,
    )


def _count_locked_d6_axes(prim: Usd.Prim) -> int:
    """Axes of a generic joint locked by a LimitAPI whose low exceeds its high (UsdPhysics convention)."""
    locked = 0
    for axis in _D6_AXES:
        if prim.HasAPI(UsdPhysics.LimitAPI, axis):
            limit = UsdPhysics.LimitAPI(prim, axis)
            low, high = limit.GetLowAttr().Get(), limit.GetHighAttr().Get()
            locked += low is not None and high is not None and low > high
    return locked


def _collect_articulation(
    file: str, root: Usd.Prim, bodies: list[str], joints: list[JointInfo], planes: dict[str, list[str]]
) -> ArticulationInfo:
    """Bodies reachable through joints from the root's bodies; joints depth-first from the base. ``planes``: the
    plane shapes under each body (a problem: the physics refuses a plane on anything but the world)."""
    root_path = str(root.GetPath())
    if root.IsA(UsdPhysics.Joint):  # the API on the joint to the base
        root_joint = next((j for j in joints if j.path == root_path), None)
        seeds = [b for b in (root_joint.body0, root_joint.body1) if b] if root_joint else []
    elif root_path in bodies:  # the API on the base body
        seeds = [root_path]
    else:  # the API on an ancestor of the bodies
        seeds = [b for b in bodies if Sdf.Path(b).HasPrefix(root.GetPath())]
    if not seeds:
        raise SceneError(f"{file}: articulation root {root_path} has no rigid bodies under it or attached to it")

    adjacency: dict[str, list[JointInfo]] = {}
    for joint in joints:
        for body in {joint.body0, joint.body1} - {""}:
            adjacency.setdefault(body, []).append(joint)
    members, frontier = set(seeds), list(seeds)
    while frontier:
        for joint in adjacency.get(frontier.pop(), []):
            for body in (joint.body0, joint.body1):
                if body and body not in members:
                    members.add(body)
                    frontier.append(body)
    art_joints = [j for j in joints if {j.body0, j.body1} & members]
    world_joints = [j for j in art_joints if not (j.body0 and j.body1)]
    depth_order = sorted((b for b in bodies if b in members), key=lambda b: Sdf.Path(b).pathElementCount)
    base_body = seeds[0] if root.IsA(UsdPhysics.Joint) or root_path in bodies else None
    ordered_joints, ordered_bodies = _depth_first(base_body, world_joints, depth_order, adjacency)
    tree_paths = {j.path for j in ordered_joints}
    closing = [j for j in art_joints if j.path not in tree_paths]  # loop closures, extra world joints
    problems = tuple(
        f"joint {j.path} ({j.type}) attaches {j.body0 or j.body1} straight to the world; physics engines then "
        f"make {j.body0 or j.body1} a root of its own that never moves with the joint: add a base link (a rigid "
        f"body fixed to the world by a FixedJoint) and put {j.name} between it and {j.body0 or j.body1}"
        for j in world_joints
        if j.num_dofs > 0
    ) + tuple(
        f"body {body} holds a plane ({', '.join(planes[body])}); the physics accepts planes only on the world "
        f"(a ground): make it a box, or move it out of the robot (in an MJCF, into <worldbody>)"
        for body in ordered_bodies
        if body in planes
    )
    return ArticulationInfo(
        root_path, bool(world_joints), tuple(ordered_joints + closing), tuple(ordered_bodies), problems
    )


def _depth_first(
    base_body: str | None, world_joints: list[JointInfo], bodies: list[str], adjacency: dict[str, list[JointInfo]]
) -> tuple[list[JointInfo], list[str]]:
    """Tree joints and bodies in depth-first preorder: world-attached bases first, then the given base, then the
    shallowest remaining body of each further tree."""
    ordered_joints: list[JointInfo] = []
    ordered_bodies: list[str] = []
    visited: set[str] = set()
    starts = [(j, j.body0 or j.body1) for j in world_joints] + [(None, b) for b in ([base_body] if base_body else [])]
    starts += [(None, b) for b in bodies]
    for start_joint, start_body in starts:
        if start_body in visited:
            continue
        if start_joint is not None:
            ordered_joints.append(start_joint)
        visited.add(start_body)
        ordered_bodies.append(start_body)
        stack = [(start_body, iter(adjacency.get(start_body, [])))]
        while stack:
            parent, parent_joints = stack[-1]
            joint = next(parent_joints, None)
            if joint is None:
                stack.pop()
                continue
            child = joint.body1 if joint.body0 == parent else joint.body0
            if child and child not in visited:
                ordered_joints.append(joint)
                visited.add(child)
                ordered_bodies.append(child)
                stack.append((child, iter(adjacency.get(child, []))))
    return ordered_joints, ordered_bodies


def format_scene(info: SceneInfo) -> str:
    """A multi-line human-readable report of every articulation, its joints and bodies."""
    lines = [f"{info.path}: up axis {info.up_axis}, {info.meters_per_unit:g} m per unit"]
    for art in info.articulations:
        base = "fixed base" if art.fixed_base else "floating base"
        lines.append(
            f"articulation {art.root_path}: {base}, {len(art.joints)} joints, {len(art.dof_names)} 1-dof joints, "
            f"{len(art.bodies)} bodies"
        )
        for joint in art.joints:
            axis = f", axis {joint.axis}" if joint.axis else ""
            lines.append(f"  joint {joint.name} ({joint.path}): {joint.type}{axis}, {joint.num_dofs} dof")
            lines.append(f"      bodies: {joint.body0 or 'world'} -> {joint.body1 or 'world'}")
            if joint.type in ("revolute", "prismatic"):
                lines.append(f"      limits: {_format_limits(joint)}")
            if joint.drive is not None:
                lines.append(f"      drive: {_format_drive(joint, info.meters_per_unit)}")
        lines.append("  bodies: " + ", ".join(art.bodies))
        lines += [f"  problem: {problem}" for problem in art.problems]
        lines += [f"  warning: {duplicate}" for duplicate in art.duplicate_names]
    return "\n".join(lines)


def _format_drive(joint: JointInfo, meters_per_unit: float) -> str:
    """A drive's gains and force limit with their units; an angular drive's gains also as USD authors them (per
    degree), since a per-degree gain read as per radian is a 57x error. Linear gains are as authored: per metre on
    a stage in metres, per stage length unit otherwise (said so)."""
    drive = joint.drive
    if joint.type == "revolute":
        stiffness = f"stiffness {drive.stiffness:g} N·m/rad ({drive.stiffness / _DEGREES_PER_RADIAN:g} N·m/deg in USD)"
        damping = f"damping {drive.damping:g} N·m·s/rad ({drive.damping / _DEGREES_PER_RADIAN:g} N·m·s/deg in USD)"
        force_unit = "N·m"
    else:
        per = "m" if meters_per_unit == 1.0 else f"stage unit ({meters_per_unit:g} m)"
        stiffness, damping = f"stiffness {drive.stiffness:g} N/{per}", f"damping {drive.damping:g} N·s/{per}"
        force_unit = "N"
    limit = "unlimited" if math.isinf(drive.max_force) else f"{drive.max_force:g} {force_unit}"
    return f"{drive.type}, {stiffness}, {damping}, max force {limit}"


def _format_limits(joint: JointInfo) -> str:
    if math.isinf(joint.lower) and math.isinf(joint.upper):
        return "none"
    if joint.type == "revolute":
        degrees = f"{math.degrees(joint.lower):g} .. {math.degrees(joint.upper):g} deg"
        return f"{degrees} ({joint.lower:.4g} .. {joint.upper:.4g} rad)"
    return f"{joint.lower:g} .. {joint.upper:g} m"
