"""PD gains from the robot: the stiffness each joint needs to hold its start pose under gravity and to move the
inertia it carries briskly, critically damped, within its effort limit. ``import`` prints them as
``[actuators.<group>]`` tables; ``doctor``'s sag fix uses the same rule (:func:`suggested_gains`).

The rule, per 1-DOF joint j with effective inertia ``M`` [kg·m² or kg] (``1 / (H⁻¹)ⱼⱼ`` of the joint-space mass
matrix H, the other joints and a floating base free: what ``doctor`` reads from the physics), the gravity torque
``τ`` [N·m or N] it holds at the start pose and the growth ``τ'`` [N·m/rad] of that torque as the joint gives way:

    k = max(ω² · M, |τ| / θ_max + max(τ', 0)),  d = 2 ζ √(k M)

- ``ω = 2π · min(TARGET_FREQUENCY, rate / RATE_FRACTION)``: 10 Hz at the default 120 Hz physics rate. The field's
  gains sit between 1.5 and 6 Hz on the joints' own inertia (Isaac Lab's UR10 800 N·m/rad, Franka 80, Unitree 25,
  G1's legs 150-200; legged_gym's ANYmal C 80), tuned for walking policies that set their targets every 20 ms; a
  start spec must first hold the robot, so it takes the doctor's ceiling for an underdamped drive, a twelfth of
  the physics rate.
- ``|τ| / θ_max`` holds the gravity load within ``SAG_ALLOWED`` (0.02 rad), well inside the 0.05 rad at which
  ``doctor`` calls a joint sagging; ``τ'`` adds the load's own negative stiffness (a straight knee under the body's
  weight buckles unless ``k`` outgrows it): the steady error is ``τ / (k - τ')``.
- ``ζ = DAMPING_RATIO``: critical damping (5% over), so the solver's implicit drive neither rings nor lags.
- capped at ``k ≤ M (STEP_LIMIT / physics_dt)²``: one physics step of the critically damped implicit drive then
  contracts (it diverges near ω·dt = 4.6; :func:`..doctor.gain_check.step_growth`), and at ``k ≤ effort / θ_max``
  so the drive reaches its effort limit no sooner than at θ_max. A capped joint may sag more: :class:`JointGains`
  says how much, and when the effort limit cannot hold the gravity torque at all.

Gravity torques come from the bodies' masses and centres of mass (``UsdPhysics.MassAPI``, else their collision
shapes at ``DEFAULT_DENSITY``) at the start pose, by forward kinematics (:mod:`.start_pose`); for a floating base,
the robot's weight rests in equal shares on its feet (the bodies with a collision point within ``FOOT_BAND`` of the
lowest one), each share pushing up at the centre of its foot's lowest points; on a joint between the base and a
foot, ``τ'`` is at least that of the robot tipping over the pinned foot (the weight share times the height of the
robot's centre of mass above the joint). Pure ``pxr``, numpy, scipy and trimesh; no physics engine.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from pxr import Usd, UsdGeom, UsdPhysics
from scipy.spatial.transform import Rotation

from .geometry import _shape
from .inspect import ArticulationInfo, JointInfo
from .start_pose import _owning_body, _root_body, body_poses, collision_points

TARGET_FREQUENCY = 10.0
"""Natural frequency the stiffness gives each joint on its own inertia [Hz], at most the physics rate over
``RATE_FRACTION``."""
RATE_FRACTION = 12
"""An underdamped PD's natural frequency may be at most the physics rate divided by this (``doctor`` warns above)."""
SAG_ALLOWED = 0.02
"""Steady error the stiffness allows under the start pose's gravity load [rad or m]."""
DAMPING_RATIO = 1.05
"""Critical, and 5% more: the physics' own inertia (within 1% of the rule's) and the printed 3 digits never make
the drive underdamped, which ``doctor`` flags above a twelfth of the physics rate."""
STEP_LIMIT = 1.5
"""Largest ω · physics_dt [1]: one step of a critically damped implicit PD contracts by 0.5 there (it diverges near
4.6), and Newton holds ANYmal's knees at 1.7; G1's 0.6 kg feet, on their own inertia, tip the robot over at 2.2
and stand at 0.9."""
DEFAULT_PHYSICS_DT = 1.0 / 120.0
"""``env.physics_dt`` of a spec that sets none [s]."""
PHYSICS_STEPS = (DEFAULT_PHYSICS_DT, 0.005, 0.002, 0.001)
"""The physics steps [s] :func:`actuator_tables` tries, largest first, until the gains hold every joint."""
SAG_LIMIT = 0.05
"""A joint held further than this from its target sags (``doctor``'s limit) [rad or m]."""
GRAVITY = 9.81  # [m/s²], along -Z
DEFAULT_DENSITY = 1000.0  # [kg/m³] of a collision shape without an authored mass or density (Newton's default)
FOOT_BAND = 0.01
"""Bodies with a collision point within this of the lowest one carry the weight of a floating base [m]."""
GROUP_RATIO = 1.5
"""Joints whose suggested stiffness lies within this factor (and share an effort limit) share one table."""
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


@dataclass(frozen=True)
class JointGains:
    """The suggested PD of one joint, and the steady error it leaves under the start pose's gravity load."""

    stiffness: float  # [N·m/rad or N/m]
    damping: float  # [N·m·s/rad or N·s/m]
    sag: float  # steady error under the gravity load [rad or m]; inf: it cannot hold it
    limited_by: str  # "" or why the stiffness is below what would hold the load within SAG_ALLOWED


def suggested_gains(
    inertia: float,
    gravity_torque: float,
    effort_limit: float = math.inf,
    physics_dt: float = DEFAULT_PHYSICS_DT,
    gravity_stiffness: float = 0.0,
) -> JointGains:
    """The rule of this module's docstring for one joint. ``inertia`` [kg·m² or kg] > 0; ``gravity_torque`` [N·m or
    N], either sign; ``gravity_stiffness`` [N·m/rad], > 0 where the load grows as the joint gives way."""
    omega = 2 * math.pi * min(TARGET_FREQUENCY, 1.0 / (physics_dt * RATE_FRACTION))
    load = abs(gravity_torque)
    wanted = max(omega**2 * inertia, load / SAG_ALLOWED + max(gravity_stiffness, 0.0))
    caps = {
        "one physics step": inertia * (STEP_LIMIT / physics_dt) ** 2,
        "the effort limit": effort_limit / SAG_ALLOWED,
    }
    limited_by = min(caps, key=caps.__getitem__)
    stiffness = min(wanted, caps[limited_by])
    net = stiffness - max(gravity_stiffness, 0.0)
    sag = math.inf if load > effort_limit or (load > 0 and net <= 0) else (load / net if load else 0.0)
    damping = 2 * DAMPING_RATIO * math.sqrt(stiffness * inertia)
    return JointGains(stiffness, damping, sag, limited_by if stiffness < wanted else "")


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


def actuator_tables(loads: list[JointLoad], physics_dt: float | None = None) -> list[str]:
    """Spec lines: ``[actuators.<group>]`` tables with :func:`suggested_gains` for ``loads``, joints whose stiffness
    lies within ``GROUP_RATIO`` (and that share an effort limit and a joint type) in one table with the stiffest
    one's gains (its lighter joints are then overdamped, never underdamped), and a comment per joint the gains do
    not hold within ``SAG_LIMIT``.

    ``physics_dt`` [s]: the step the gains are for; None: the largest of ``PHYSICS_STEPS`` at which they hold every
    joint within ``SAG_LIMIT`` (a robot on light feet needs a small one), named in a comment when it is not the
    default."""
    held = [dt for dt in PHYSICS_STEPS if all(_gains(load, dt).sag <= SAG_LIMIT for load in loads if load.inertia > 0)]
    step = physics_dt or (held[0] if held else PHYSICS_STEPS[-1])
    gains = {load.name: _gains(load, step) for load in loads if load.inertia > 0}
    inertia = {load.name: load.inertia for load in loads}
    groups: list[list[JointLoad]] = []
    for load in sorted(
        (load for load in loads if load.name in gains),
        key=lambda item: (item.prismatic, item.effort_limit, gains[item.name].stiffness),
    ):
        last = groups[-1][0] if groups else None
        same_kind = last is not None and (last.prismatic, last.effort_limit) == (load.prismatic, load.effort_limit)
        if same_kind and gains[load.name].stiffness <= GROUP_RATIO * gains[last.name].stiffness:
            groups[-1].append(load)
        else:
            groups.append([load])
    order = {load.name: index for index, load in enumerate(loads)}
    groups.sort(key=lambda members: min(order[m.name] for m in members))
    hz = min(TARGET_FREQUENCY, 1 / (step * RATE_FRACTION))
    lines = [
        "",
        "# gains from the robot's masses at the start pose (doctor checks them): stiffness",
        f"# max(({hz:.3g} Hz)²·inertia, gravity torque / {SAG_ALLOWED:g} rad), critically damped, for env.physics_dt "
        f"{step:.3g} s or less",
    ]
    if physics_dt is None and step != DEFAULT_PHYSICS_DT:
        lines.append(
            f"# [env] physics_dt = {step:g}  # needed: at {DEFAULT_PHYSICS_DT:.3g} s (the default) one physics step "
            f"cannot take the stiffness that holds its lightest loaded links (their inertia is small)"
        )
    massless = [load.name for load in loads if load.name not in gains]
    if massless:
        lines.append(f"# no gains for {', '.join(massless)}: they move no authored mass")
    used: set[str] = set()
    for members in groups:
        names = [m.name for m in sorted(members, key=lambda m: order[m.name])]
        stiffness = min(
            max(gains[n].stiffness for n in names),
            min(inertia[n] * (STEP_LIMIT / step) ** 2 for n in names),
        )
        damping = max(2 * DAMPING_RATIO * math.sqrt(stiffness * inertia[n]) for n in names)
        units = ("N/m", "N·s/m", "N") if members[0].prismatic else ("N·m/rad", "N·m·s/rad", "N·m")
        lines += [
            "",
            f"[actuators.{_group_name(names, used)}]",
            "joints = [" + ", ".join(f'"{n}"' for n in names) + "]",
        ]
        lines += [
            f"stiffness = {_round(stiffness)!r}  # {units[0]}",
            f"damping = {_round(damping, up=True)!r}  # {units[1]}",
        ]
        if math.isfinite(members[0].effort_limit):
            lines.append(f"effort_limit = {_round(members[0].effort_limit)!r}  # {units[2]}: the file's")
        for member in sorted(members, key=lambda m: order[m.name]):
            lines += _sag_note(member.name, gains[member.name], member, units[2])
    return lines


def _gains(load: JointLoad, physics_dt: float) -> JointGains:
    return suggested_gains(load.inertia, load.gravity_torque, load.effort_limit, physics_dt, load.gravity_stiffness)


def _sag_note(name: str, gains: JointGains, load: JointLoad, unit: str) -> list[str]:
    """A comment for a joint the suggested gains do not hold within ``SAG_LIMIT`` (``doctor`` would call it
    sagging), or whose effort limit cannot hold its load at all."""
    if math.isinf(gains.sag) and abs(load.gravity_torque) > load.effort_limit:
        return [
            f"# warning: {name}: its effort limit {load.effort_limit:g} {unit} cannot hold the "
            f"{abs(load.gravity_torque):.3g} {unit} gravity load of the start pose: it will sag; a lighter pose"
        ]
    if gains.sag > SAG_LIMIT:
        sags = "cannot hold the start pose" if math.isinf(gains.sag) else f"sags about {gains.sag:.2g}"
        smaller = "; a smaller env.physics_dt allows more" if gains.limited_by == "one physics step" else ""
        return [
            f"# warning: {name}: {sags} under the start pose's gravity load (its stiffness is capped by "
            f"{gains.limited_by}){smaller}"
        ]
    return []


def _round(value: float, up: bool = False) -> float:
    """Three significant figures; rounded up with ``up`` (a damping printed never below critical)."""
    rounded = float(f"{value:.3g}")
    if up and rounded < value:
        rounded = float(f"{rounded + 10 ** (math.floor(math.log10(value)) - 2):.3g}")
    return rounded


def _group_name(names: list[str], used: set[str]) -> str:
    """A table name for joints ``names``: their words but the side and "joint" (``hip_pitch`` for the left and right
    ``*_hip_pitch_joint``, ``HAA_HFE`` for ANYmal's ``LF_HAA``, ``LF_HFE``...), at most three kinds, else the first
    joint's name; unique among ``used`` (which it joins)."""
    kinds = []
    for name in names:
        words = [w for w in re.split(r"[_\W]+", name) if w and w.lower() not in _SIDE_WORDS]
        if words and "_".join(words) not in kinds:
            kinds.append("_".join(words))
    base = "_".join(kinds) if 0 < len(kinds) <= 3 and len(names) > 1 else re.sub(r"[^A-Za-z0-9_-]", "_", names[0])
    name, count = base, 2
    while name in used:
        name, count = f"{base}_{count}", count + 1
    used.add(name)
    return name


_SIDE_WORDS = {"joint", "left", "right", "l", "r", "lf", "rf", "lh", "rh", "fl", "fr", "rl", "rr"}


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
