"""What each joint of a robot moves and holds at its start pose, from the USD alone: the effective inertia
(``1 / (H⁻¹)ⱼⱼ`` of the joint-space mass matrix H, the other joints and a floating base free), the gravity torque
and its growth as the joint gives way, and the file's effort limit. :mod:`.suggested_gains` turns these into PD
gains.

Gravity torques come from the bodies' masses and centres of mass (``UsdPhysics.MassAPI``, else their collision
shapes at ``DEFAULT_DENSITY``) at the start pose, by forward kinematics (:mod:`.start_pose`); for a floating base,
the robot's weight rests in equal shares on its feet (the bodies with a collision point within ``FOOT_BAND`` of the
lowest one), each share pushing up at the centre of its foot's lowest points; on a joint between the base and a
foot, the growth is at least that of the robot tipping over the pinned foot (the weight share times the height of
the robot's centre of mass above the joint). Pure ``pxr``, numpy, scipy and trimesh; no physics engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from pxr import Usd, UsdGeom, UsdPhysics
from scipy.spatial.transform import Rotation

from .geometry import _shape
from .inspect import ArticulationInfo, JointInfo
from .start_pose import _owning_body, _root_body, body_poses, collision_points

GRAVITY = 9.81  # [m/s²], along -Z
DEFAULT_DENSITY = 1000.0  # [kg/m³] of a collision shape without an authored mass or density (Newton's default)
FOOT_BAND = 0.01
"""Bodies with a collision point within this of the lowest one carry the weight of a floating base [m]."""
EFFORT_ATTRIBUTE = "urdf:limit:effort"  # what urdf-usd-converter writes from a URDF's <limit effort>


@dataclass(frozen=True)
class JointLoad:
    """What a 1-DOF joint moves and holds at the start pose."""

    name: str
    prismatic: bool
    inertia: float  # effective inertia, the other joints (and a floating base) free [kg·m² or kg]
    gravity_torque: float  # torque the joint holds against gravity (and the ground, on a floating base) [N·m or N]
    gravity_stiffness: float  # growth of that torque as the joint gives way [N·m/rad]; > 0 buckles
    effort_limit: float  # [N·m or N], inf when the file gives none


def joint_loads(
    usd_file: Path,
    art: ArticulationInfo,
    joint_pos: dict[str, float],
    floating: bool,
    root_height: float | None = None,
) -> list[JointLoad]:
    """Each 1-DOF joint's :class:`JointLoad` in joint order, with the joints at ``joint_pos`` (name -> rad or m;
    others 0), the root at ``root_height`` [m] (None: where the scene puts it) and the base fixed or ``floating``
    (then standing on its feet)."""
    stage = Usd.Stage.Open(str(usd_file))
    meters = UsdGeom.GetStageMetersPerUnit(stage) if UsdGeom.StageHasAuthoredMetersPerUnit(stage) else 1.0
    poses = body_poses(usd_file, art, joint_pos, root_height)
    rotations = {path: Rotation.from_quat(pose[3:]).as_matrix() for path, pose in poses.items()}
    root = _root_body(art)
    parent_of, joints = _tree(art, root)
    masses = {path: _mass(stage, usd_file, path, meters, rotations[path], poses[path][:3]) for path in art.bodies}
    movable = [j for j in art.joints if j.num_dofs == 1 and j.path in joints]
    frames = {j.path: _axis(stage, j, joints[j.path], meters, rotations, poses) for j in movable}
    columns = 6 if floating else 0
    size = columns + len(movable)
    inertia_matrix = np.zeros((size, size))
    generalized = np.zeros(size)  # generalized force of gravity and the ground
    stiffness = np.zeros(len(movable))
    forces = [(m, c, np.array([0.0, 0.0, -GRAVITY * m]), inertia, body) for body, (m, c, inertia) in masses.items()]
    feet = _feet(stage, usd_file, art, poses, rotations, meters) if floating else []
    total = sum(m for m, *_ in masses.values())
    forces += [(0.0, point, np.array([0.0, 0.0, GRAVITY * total / len(feet)]), None, b) for b, point in feet]
    for mass, point, force, inertia, body in forces:
        jv, jw = np.zeros((3, size)), np.zeros((3, size))
        if floating:
            jv[:, :3] = np.eye(3)
            jv[:, 3:6] = -_cross_matrix(point - poses[root][:3])
            jw[:, 3:6] = np.eye(3)
        chain = _ancestors(body, parent_of)
        for column, joint in enumerate(movable):
            if joints[joint.path][1] not in chain:
                continue
            origin, axis = frames[joint.path]
            if joint.type == "prismatic":
                jv[:, columns + column] = axis
            else:
                arm = point - origin
                jv[:, columns + column], jw[:, columns + column] = np.cross(axis, arm), axis
                stiffness[column] += force @ np.cross(axis, np.cross(axis, arm))
        generalized += force @ jv
        if inertia is not None:
            inertia_matrix += mass * jv.T @ jv + jw.T @ inertia @ jw
    if feet:  # a leg joint under the body's weight: the body tips over the pinned foot as the joint gives way
        centre = sum(m * c for m, c, _ in masses.values()) / total
        for column, joint in enumerate(movable):
            carried = sum(joints[joint.path][1] in _ancestors(body, parent_of) for body, _ in feet)
            if carried and joint.type != "prismatic":
                origin, axis = frames[joint.path]
                arm = centre - origin
                pinned = GRAVITY * total * carried / len(feet) * (arm[2] - axis[2] * (axis @ arm))
                stiffness[column] = max(stiffness[column], pinned)
    effective = _effective_inertia(inertia_matrix)[columns:]
    return [
        JointLoad(
            name=joint.name,
            prismatic=joint.type == "prismatic",
            inertia=float(effective[column]),
            gravity_torque=float(-generalized[columns + column]),
            gravity_stiffness=float(stiffness[column]),
            effort_limit=_effort_limit(stage, joint, meters),
        )
        for column, joint in enumerate(movable)
    ]


def _tree(art: ArticulationInfo, root: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Body -> parent body, from ``root`` out over every joint between two bodies; joint path -> (parent, child)."""
    parent_of: dict[str, str] = {}
    joints: dict[str, tuple[str, str]] = {}
    reached = {root}
    pending = [j for j in art.joints if j.body0 and j.body1]
    while pending:
        left = []
        for joint in pending:
            if joint.body0 in reached and joint.body1 not in reached:
                parent, child = joint.body0, joint.body1
            elif joint.body1 in reached and joint.body0 not in reached:
                parent, child = joint.body1, joint.body0
            else:
                if joint.body0 not in reached:
                    left.append(joint)
                continue
            parent_of[child], joints[joint.path] = parent, (parent, child)
            reached.add(child)
        if len(left) == len(pending):
            break
        pending = left
    return parent_of, joints


def _ancestors(body: str, parent_of: dict[str, str]) -> set[str]:
    """``body`` and every body between it and the root."""
    chain = {body}
    while body in parent_of:
        body = parent_of[body]
        chain.add(body)
    return chain


def _mass(
    stage: Usd.Stage, usd_file: Path, path: str, meters: float, rotation: np.ndarray, position: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """A body's mass [kg], its centre of mass in the world [m] (3,) and its inertia about that centre in world axes
    [kg·m²] (3, 3): as authored (``UsdPhysics.MassAPI``), else from its collision shapes at their density (the
    physics' default 1000 kg/m³ where none is authored: an MJCF's geoms without ``mass``), as Newton derives them;
    zero for a body with neither (a frame link)."""
    api = UsdPhysics.MassAPI(stage.GetPrimAtPath(path))
    mass = float(api.GetMassAttr().Get() or 0.0) if api else 0.0
    com = np.array(api.GetCenterOfMassAttr().Get() or (0.0, 0.0, 0.0), dtype=float) * meters if api else np.zeros(3)
    com = com if np.isfinite(com).all() else np.zeros(3)  # unset: -inf; the body's origin
    if not math.isfinite(mass) or mass <= 0:
        mass, com, inertia = _shape_mass(stage, usd_file, path, meters)
        return mass, position + rotation @ com, rotation @ inertia @ rotation.T
    diagonal = np.array(api.GetDiagonalInertiaAttr().Get() or (0.0, 0.0, 0.0), dtype=float) * meters**2
    axes = api.GetPrincipalAxesAttr().Get()
    principal = np.eye(3)
    if axes is not None and (axes.GetReal() != 0 or any(axes.GetImaginary())):  # unset: (0, 0, 0, 0)
        principal = Rotation.from_quat([*axes.GetImaginary(), axes.GetReal()]).as_matrix()
    world_axes = rotation @ principal
    inertia = world_axes @ np.diag(np.clip(diagonal, 0.0, None)) @ world_axes.T
    return mass, position + rotation @ com, inertia


def _shape_mass(stage: Usd.Stage, usd_file: Path, path: str, meters: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass [kg], centre of mass [m] (3,) and inertia about it [kg·m²] (3, 3), in the body's frame, of the collision
    shapes of body ``path`` (trimesh's mass properties of each shape's mesh at its density)."""
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    body = stage.GetPrimAtPath(path)
    authored = cache.GetLocalToWorldTransform(body).RemoveScaleShear()
    body_density = UsdPhysics.MassAPI(body).GetDensityAttr().Get() if body.HasAPI(UsdPhysics.MassAPI) else None
    meshes = []
    for prim in Usd.PrimRange(body, Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)):
        shape = _shape(prim, usd_file) if prim.HasAPI(UsdPhysics.CollisionAPI) else None
        if shape is None or _owning_body(prim) != path:
            continue
        local = np.array(cache.GetLocalToWorldTransform(prim) * authored.GetInverse(), dtype=float)
        mesh = trimesh.Trimesh((shape[0] @ local[:3, :3] + local[3, :3]) * meters, shape[1], process=False)
        density = UsdPhysics.MassAPI(prim).GetDensityAttr().Get() if prim.HasAPI(UsdPhysics.MassAPI) else None
        mesh.density = next((d for d in (density, body_density) if d and d > 0), DEFAULT_DENSITY)
        if mesh.volume > 0:
            meshes.append(mesh)
    if not meshes:
        return 0.0, np.zeros(3), np.zeros((3, 3))
    masses = np.array([m.mass for m in meshes])
    com = sum(m.mass * m.center_mass for m in meshes) / masses.sum()
    inertia = sum(
        m.moment_inertia + m.mass * (np.dot(r := m.center_mass - com, r) * np.eye(3) - np.outer(r, r)) for m in meshes
    )
    return float(masses.sum()), com, inertia


def _axis(
    stage: Usd.Stage,
    joint: JointInfo,
    bodies: tuple[str, str],
    meters: float,
    rotations: dict[str, np.ndarray],
    poses: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """A joint's anchor [m] and unit axis (3,) each, in the world, from its frame on the parent body."""
    physics = UsdPhysics.Joint(stage.GetPrimAtPath(joint.path))
    parent = bodies[0]
    first = parent == joint.body0
    position = (physics.GetLocalPos0Attr() if first else physics.GetLocalPos1Attr()).Get()
    rotation = (physics.GetLocalRot0Attr() if first else physics.GetLocalRot1Attr()).Get()
    local = np.array(position or (0.0, 0.0, 0.0), dtype=float) * meters
    frame = np.eye(3)
    if rotation is not None:
        frame = Rotation.from_quat([*rotation.GetImaginary(), rotation.GetReal()]).as_matrix()
    axis = rotations[parent] @ frame @ np.eye(3)["XYZ".index(joint.axis or "X")]
    return poses[parent][:3] + rotations[parent] @ local, axis / np.linalg.norm(axis)


def _feet(
    stage: Usd.Stage,
    usd_file: Path,
    art: ArticulationInfo,
    poses: dict[str, np.ndarray],
    rotations: dict[str, np.ndarray],
    meters: float,
) -> list[tuple[str, np.ndarray]]:
    """(body, centre of its lowest collision points [m]) of each body touching the ground first: with a collision
    point within ``FOOT_BAND`` of the robot's lowest one. Empty without collision shapes."""
    points: dict[str, list[np.ndarray]] = {}
    for body, in_body in collision_points(stage, usd_file, poses):
        points.setdefault(body, []).append((in_body * meters) @ rotations[body].T + poses[body][:3])
    if not points:
        return []
    by_body = {body: np.concatenate(found) for body, found in points.items()}
    lowest = min(float(found[:, 2].min()) for found in by_body.values())
    feet = []
    for body, found in by_body.items():
        sole = found[found[:, 2] <= lowest + FOOT_BAND]
        if len(sole):
            feet.append((body, sole.mean(axis=0)))
    return feet


def _effort_limit(stage: Usd.Stage, joint: JointInfo, meters: float) -> float:
    """The joint's effort limit [N·m or N]: the URDF's ``<limit effort>`` as the converter keeps it, else the
    drive's ``maxForce``; inf when neither is authored (or 0: URDF's "unlimited")."""
    attribute = stage.GetPrimAtPath(joint.path).GetAttribute(EFFORT_ATTRIBUTE)
    value = attribute.Get() if attribute and attribute.HasAuthoredValue() else None
    if value is None and joint.drive is not None:
        value = joint.drive.max_force
    return float(value) if value is not None and math.isfinite(value) and value > 0 else math.inf


def _effective_inertia(inertia_matrix: np.ndarray) -> np.ndarray:
    """``1 / (H⁻¹)ᵢᵢ`` (n,) of a joint-space mass matrix H (n, n); a pseudo-inverse where massless links make it
    singular (a joint that moves nothing gets 0)."""
    if not inertia_matrix.size:
        return np.zeros(0)
    diagonal = np.diag(np.linalg.pinv(inertia_matrix, hermitian=True))
    with np.errstate(divide="ignore"):
        return np.where(diagonal > 0, 1.0 / np.where(diagonal > 0, diagonal, 1.0), 0.0)


def _cross_matrix(vector: np.ndarray) -> np.ndarray:
    x, y, z = vector
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
