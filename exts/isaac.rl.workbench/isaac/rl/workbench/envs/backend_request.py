"""What the physics backend is asked to build for a task spec (:class:`~..backend.base.BackendRequest`): the spec's
scene, joints, env layout, timing, drives, motor models and start state as plain data."""

from __future__ import annotations

import math

from ..backend.base import BackendRequest, CameraRequest, ExplicitActuator, TerrainGround
from ..scene.terrain import TerrainSpec, env_origins, env_start_tiles, generate_terrain
from ..specs.robot_tables import initial_joint_positions, joint_overrides
from ..specs.schema import ActuatorSpec, CameraSpec, TaskSpec
from ..specs.sensor_table import camera_quat_xyzw


def backend_request(spec: TaskSpec, device: str) -> BackendRequest:
    """``spec.env.num_envs`` clones of the spec's articulation on ``device`` ("cpu" or "cuda[:i]"), set up as its
    ``[env]``, ``[actions]``, ``[actuators]``, ``[robot]``, ``[terrain]`` and ``[sensors]`` tables say."""
    names = spec.joint_names
    return BackendRequest(
        scene=spec.scene,
        articulation=spec.articulation,
        load_root=spec.robot_prim,
        joint_names=tuple(names),
        num_envs=spec.env.num_envs,
        spacing=spec.env.spacing,
        physics_dt=spec.env.physics_dt,
        substeps=spec.env.decimation,
        device=device,
        position_control=spec.actions.type == "joint_position",
        joint_overrides={k: tuple(v) for k, v in joint_overrides(spec.actuators, names, solver_only=True).items()},
        explicit_actuators=tuple(explicit_actuators(spec.actuators, names)),
        base=spec.robot.base,
        root_height=spec.robot.root_height,
        initial_joint_positions=tuple(initial_joint_positions(spec.robot, names)),
        self_collisions=spec.robot.self_collisions,
        ground=spec.env.ground,
        terrain=terrain_ground(spec.terrain, spec.env.num_envs, spec.env.spacing, device, spec.env.cpu_solver),
        cameras=tuple(camera_request(name, camera) for name, camera in spec.sensors.items()),
        cpu_solver=spec.env.cpu_solver,
    )


def camera_request(name: str, camera: CameraSpec) -> CameraRequest:
    """The camera ``[sensors.<name>]`` as the backend renders it: its body by name (the backend finds its row), its
    pose in that body's frame (or the env's) with the orientation as a quaternion (x, y, z, w), its field of view in
    radians."""
    return CameraRequest(
        name=name,
        body=camera.body,
        pos=tuple(camera.pos),
        quat=camera_quat_xyzw(camera),
        width=camera.width,
        height=camera.height,
        fov=math.radians(camera.fov_deg),
        near=camera.near,
        far=camera.far,
        data_types=tuple(camera.data_types),
        samples_per_pixel=camera.samples_per_pixel,
    )


def terrain_ground(
    terrain: TerrainSpec | None, num_envs: int, spacing: float, device: str, cpu_solver: str = "mujoco"
) -> TerrainGround | None:
    """The height grid of ``terrain`` (None: none) and each env's start on it: spread over the columns and the
    start levels; where the envs share one world (the CPU's MuJoCo, ``cpu_solver``), the envs of one tile
    ``spacing`` metres apart on it, or a quarter of a tile where ``spacing`` is more."""
    if terrain is None:
        return None
    generated = generate_terrain(terrain)
    levels, columns = env_start_tiles(terrain, num_envs)
    return TerrainGround(
        heights=generated.heights,
        horizontal_scale=generated.horizontal_scale,
        env_origins=env_origins(generated, levels, columns, terrain_spread(terrain, spacing, device, cpu_solver)),
    )


def terrain_spread(terrain: TerrainSpec, spacing: float, device: str, cpu_solver: str = "mujoco") -> float:
    """How far apart the envs of one tile start [m] (:func:`~..scene.terrain.env_origins`' ``spread``): where the
    envs share one world (the CPU with ``cpu_solver`` "mujoco"), ``spacing`` or a quarter of a tile where it is
    more; 0 where each env is a world of its own (a GPU, or the CPU with "mujoco_warp"): all on the tile's start."""
    return min(spacing, terrain.tile_size / 4) if device == "cpu" and cpu_solver == "mujoco" else 0.0


def explicit_actuators(actuators: dict[str, ActuatorSpec], joint_names: list[str]) -> list[ExplicitActuator | None]:
    """Each joint's explicit motor model (``model = "pd"`` or ``"dc_motor"``) in ``joint_names`` order, None where
    the solver's implicit drive acts."""
    out: list[ExplicitActuator | None] = [None] * len(joint_names)
    for group in actuators.values():
        if group.model == "implicit":
            continue
        model = ExplicitActuator(
            stiffness=float(group.stiffness),
            damping=float(group.damping),
            effort_limit=math.inf if group.effort_limit is None else group.effort_limit,
            saturation_effort=group.saturation_effort,
            velocity_limit=group.velocity_limit if group.model == "dc_motor" else math.inf,
            delay_steps=group.delay_steps,
        )
        for joint in group.joints:
            out[joint_names.index(joint)] = model
    return out
