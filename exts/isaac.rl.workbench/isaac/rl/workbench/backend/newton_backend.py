"""Newton physics for ``num_envs`` clones of one USD articulation, with state exposed as zero-copy torch views.

On the CPU every clone goes into one merged MuJoCo (C) world, spaced apart: the fastest configuration measured
for the small env counts a CPU can train. On CUDA each clone is its own world in MuJoCo-Warp and the physics
substeps of one env step run as one captured CUDA graph.

Only the articulation's own prims are loaded from the scene; a floating-base robot (or any robot whose request asks
for ``ground``) gets one ground plane at z = 0, shared by every env, or, where the request has a terrain, one static
heightfield in its place (``newton_terrain.py``), each env's clone at its own origin on it.

Shapes below: N = num_envs, D = number of selected 1-DOF joints, B = bodies per env.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace

import mujoco
import newton
import numpy as np
import torch
import warp as wp

from . import newton_compat, newton_memory, newton_robot, newton_terrain
from .base import Backend, BackendError, BackendRequest
from .newton_actuator_states import ExplicitActuatorStates
from .newton_blowups import SolverRecovery, UnstableEnvCheck
from .newton_contacts import ContactSensing
from .newton_properties import NewtonProperties
from .newton_ray_cast import StaticRayCaster
from .newton_robot import (
    SolverMuJoCoForClones,
    add_explicit_actuators,
    finalize_quietly,
    load_robot,
    override_drives,
    root_is_free,
    set_initial_state,
)
from .warp_start import start_warp

wp.config.log_level = wp.LOG_WARNING  # no greeting, no line per kernel module loaded
start_warp()


CONTACTS_PER_ENV = 128
"""Contact points each env may hold (MuJoCo's ``nconmax`` per world)."""


class NewtonBackend(NewtonProperties, Backend):
    """``num_envs`` copies of an articulation stepped together (the :class:`~.base.Backend` contract).

    Args:
        request: what to build (:class:`~.base.BackendRequest`). On CUDA the clones overlap in separate worlds
            (``spacing`` applies on the CPU's merged world only; ``cpu_solver = "mujoco_warp"`` gives the CPU the GPU's
            separate worlds and solver). Joints with an explicit actuator get Newton
            actuators evaluated every physics step into ``joint_f`` (inside the CUDA graph on the GPU); their
            implicit gains are zeroed. Newton's importer has already turned USD's per-degree gains into per-radian
            ones, so ``joint_overrides`` are set as given.
        phase_done: called with the name of each start-up phase as it ends (start-up timing): "scene" (the robot
            loaded from USD, cloned and finalized), "solver" (MuJoCo's model converted) and, on CUDA, "kernels"
            (the solver's kernel modules loaded by a first physics step).
    """

    def __init__(self, request: BackendRequest, phase_done: Callable[[str], None] = lambda phase: None):
        device, num_envs, spacing = request.device, request.num_envs, request.spacing
        joint_names, self_collisions = list(request.joint_names), request.self_collisions
        self.device = torch.device(device)
        if self.device.type == "cuda" and not wp.is_cuda_available():
            raise BackendError(f"device '{device}' asked for, but warp finds no CUDA device")
        self.num_envs, self.physics_dt, self.substeps = num_envs, request.physics_dt, request.substeps
        self.on_cpu = self.device.type == "cpu"
        merged = self.on_cpu and request.cpu_solver == "mujoco"  # every env in one MuJoCo world
        wp_device = "cpu" if self.on_cpu else f"cuda:{self.device.index or 0}"

        mujoco.set_mju_user_warning(_print_mujoco_warning)
        robot = load_robot(request.scene, request.load_root, request.base, self_collisions)
        self._find_joints(robot, request.articulation, joint_names)
        override_drives(robot, self._dof_index.tolist(), dict(request.joint_overrides))
        models = request.explicit_actuators or [None] * len(joint_names)
        self._explicit_dofs = add_explicit_actuators(robot, self._dof_index.tolist(), self._coords, models)
        set_initial_state(robot, self._coords, request.root_height, list(request.initial_joint_positions))
        world = newton.ModelBuilder()
        newton.solvers.SolverMuJoCo.register_custom_attributes(world)  # geom priorities, below
        if request.terrain is not None:
            xforms = newton_terrain.env_transforms(request.terrain)
        elif merged:
            columns = math.ceil(math.sqrt(num_envs))
            xforms = [
                wp.transform(wp.vec3((i % columns) * spacing, (i // columns) * spacing, 0.0), wp.quat_identity())
                for i in range(num_envs)
            ]
        else:
            xforms = [wp.transform_identity()] * num_envs
        self._xforms, self._on_terrain = xforms, request.terrain is not None
        newton_compat.replicate(world, robot, num_envs, xforms, separate_worlds=not merged)
        ground = self._has_free_root if request.ground is None else request.ground
        if request.terrain is not None:
            ground = True
            newton_terrain.add_terrain(world, request.terrain)  # one heightfield shared by every env
        elif ground:
            world.add_ground_plane()  # one plane shared by every env
        self.model = finalize_quietly(world, wp_device)
        if self.model.shape_count:
            _give_robot_shapes_priority(self.model)
        if request.terrain is not None:
            newton_terrain.narrow_contact_gaps(self.model)
        phase_done("scene")
        self._set_target_modes(request.position_control)
        # contacts with the ground or between the robot's own links; an arm alone, or a robot without a collision
        # shape, needs none
        has_contacts = any(robot.shape_flags) and (ground or self_collisions)
        # a Go2 on its feet makes about 60 contacts with its meshes: room for 128 per env (the CPU's merged world
        # holds every env's); on the GPU each world also gets the constraint rows they need (4 per contact with
        # the pyramidal cone, plus limits): Newton's defaults there (48 contacts, 64 rows) overflow for a Go2
        contacts_per_world = CONTACTS_PER_ENV * (num_envs if merged else 1) if has_contacts else None
        rows_per_world = 4 * CONTACTS_PER_ENV + 64 if has_contacts and not merged else None
        self.solver = SolverMuJoCoForClones(
            self.model,
            use_mujoco_cpu=merged,
            disable_contacts=not has_contacts,
            nconmax=contacts_per_world,
            njmax=rows_per_world,
        )
        phase_done("solver")
        self.state = self.model.state()
        self.control = self.model.control()
        newton.eval_fk(self.model, self.model.joint_q, self.model.joint_qd, self.state)
        self._actuator_states = ExplicitActuatorStates(self.model, self.control, self.dofs_per_env, self.device)
        self._make_views()
        self._unstable_check = UnstableEnvCheck(
            self.state, self._q, self._qd, self.env_origins, self.bodies_per_env, self.root_body, self._has_free_root
        )
        self._solver_recovery = SolverRecovery(self.solver, self.num_envs, self.dofs_per_env, self.device)
        self.graph = None
        self._contact_sensing: ContactSensing | None = None
        self._ray_caster = StaticRayCaster(request.terrain, ground, wp_device)
        self.supports_cuda_graph = not self.on_cpu
        self._inline = self.on_cpu
        if not self.on_cpu:
            # torch and warp share one stream, so their work on the same buffers is ordered
            torch.cuda.set_stream(wp.stream_to_torch(wp.get_stream(wp_device)))
            self.solver.step(self.state, self.state, self.control, None, self.physics_dt)  # load kernels first
            phase_done("kernels")
            with wp.ScopedCapture(device=wp_device) as capture:
                self._simulate()
            self.graph = capture.graph
        self._cameras = None  # made on the stream torch and warp share
        if request.cameras:
            from .newton_camera import NewtonCameras  # Newton's renderer, imported by tasks with cameras only

            self._cameras = NewtonCameras(request, self.model, self.state, robot, xforms, ground, self.env_origins)
        self.reset_all_to_default()

    def _find_joints(self, robot: newton.ModelBuilder, articulation: str, joint_names: list[str]) -> None:
        labels = list(robot.joint_label)
        self.joints_per_env, self.bodies_per_env = robot.joint_count, robot.body_count
        self.coords_per_env, self.dofs_per_env = robot.joint_coord_count, robot.joint_dof_count
        self.body_names = [label.rsplit("/", 1)[-1] for label in robot.body_label]
        self.body_paths = list(robot.body_label)
        coords, dofs = [], []
        for name in joint_names:
            matches = [i for i, label in enumerate(labels) if label.rsplit("/", 1)[-1] == name]
            inside = [i for i in matches if labels[i].startswith(articulation.rstrip("/") + "/")]
            if not matches:
                raise BackendError(f"joint '{name}' of {articulation} was not loaded by Newton; loaded: {labels}")
            j = (inside or matches)[0]
            coords.append(robot.joint_q_start[j])
            dofs.append(robot.joint_qd_start[j])
        self.joint_names = list(joint_names)
        self._coords = coords  # each joint's first coordinate in joint_q, in joint_names order
        self._coord_sel = _as_slice(coords, self.device)
        self._dof_sel = _as_slice(dofs, self.device)
        self._dof_index = torch.tensor(dofs, dtype=torch.long)
        self._has_free_root = root_is_free(robot)
        self.floating_base = self._has_free_root
        full = slice(0, self.coords_per_env)
        self._dofs_are_all_coords = self._coord_sel == full and self._dof_sel == slice(0, self.dofs_per_env)
        self.root_body = robot.joint_child[0] if robot.joint_count else 0

    def _set_target_modes(self, position_control: bool) -> None:
        """Position targets drive the selected joints through the solver's PD (``position_control``); joints with
        an explicit actuator get no solver actuator at all (their effort comes through ``joint_f``)."""
        mode = self.model.joint_target_mode.numpy().reshape(self.num_envs, self.dofs_per_env)
        if position_control:
            mode[:, self._dof_index.numpy()] = int(newton.JointTargetMode.POSITION_VELOCITY)
        mode[:, self._explicit_dofs] = int(newton.JointTargetMode.EFFORT)
        self.model.joint_target_mode.assign(mode.reshape(-1))

    def _make_views(self) -> None:
        n = self.num_envs
        self._q = wp.to_torch(self.state.joint_q).view(n, self.coords_per_env)
        self._qd = wp.to_torch(self.state.joint_qd).view(n, self.dofs_per_env)
        self._f = wp.to_torch(self._actuator_states.effort_commands).view(n, self.dofs_per_env)
        self._target = wp.to_torch(self.control.joint_target_q).view(n, self.coords_per_env)
        self._body_q = wp.to_torch(self.state.body_q).view(n, self.bodies_per_env, 7)
        self._body_qd = wp.to_torch(self.state.body_qd).view(n, self.bodies_per_env, 6)
        self.default_q = wp.to_torch(self.model.joint_q).view(n, self.coords_per_env).clone()
        self.default_qd = torch.zeros_like(self._qd)
        self.env_origins = torch.zeros(n, 3, device=self.device)
        if self.on_cpu or self._on_terrain:
            self.env_origins[:] = torch.tensor([list(x.p) for x in self._xforms], device=self.device)
        self._reset_mask = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._wp_reset_mask = wp.from_torch(self._reset_mask)
        # views that stay valid: the state arrays are never reallocated
        self.default_dof_positions = self.default_q[:, self._coord_sel]
        limits = torch.stack([wp.to_torch(self.model.joint_limit_lower), wp.to_torch(self.model.joint_limit_upper)], 1)
        limits = limits.view(n, self.dofs_per_env, 2)[0, self._dof_index.to(self.device)]
        self.dof_pos_limits = torch.where(limits.abs() >= newton.MAXVAL, limits.sign() * math.inf, limits)
        self.body_poses, self.body_velocities = self._body_q, self._body_qd
        self.root_pose, self.root_velocity = self._body_q[:, self.root_body], self._body_qd[:, self.root_body]

    # -- state (zero-copy where the selection is contiguous; shapes and units: base.Backend) ----------------------
    @property
    def dof_positions(self) -> torch.Tensor:
        return self._q[:, self._coord_sel]

    @property
    def dof_velocities(self) -> torch.Tensor:
        return self._qd[:, self._dof_sel]

    # -- commands -------------------------------------------------------------------------------------------------
    def set_dof_efforts(self, efforts: torch.Tensor) -> None:
        """Joint forces/torques [N or N m] for the next :meth:`step`, shape (N, D)."""
        self._f[:, self._dof_sel] = efforts

    def set_dof_position_targets(self, targets: torch.Tensor) -> None:
        """Joint position targets [rad or m] for the next :meth:`step`, shape (N, D)."""
        self._target[:, self._coord_sel] = targets

    # -- stepping and resets --------------------------------------------------------------------------------------
    def _simulate(self) -> None:
        for _ in range(self.substeps):
            self._actuator_states.apply(self.state, self.control, self.physics_dt)
            sensing = self._contact_sensing
            contacts, observables = (sensing.contacts, sensing.observables) if sensing else (None, None)
            newton_compat.solver_step(self.solver, self.state, self.control, contacts, self.physics_dt, observables)
        if self._contact_sensing is not None:
            self._contact_sensing.update(self.state)

    @property
    def contact_forces(self) -> torch.Tensor:
        """Net contact force on every body [N], shape (N, B, 3), world axes, at the last physics step. Measuring
        starts at the first read (Newton's ``SensorContact`` on the solver's contact forces), so a task that
        reads no contact pays nothing for it."""
        if self._contact_sensing is None:
            self._contact_sensing = ContactSensing(self.model, self.solver, self.num_envs, self.bodies_per_env)
            if self.graph is not None:  # the physics graph now also measures the contacts
                with wp.ScopedCapture(device=self.model.device) as capture:
                    self._simulate()
                self.graph = capture.graph
        return self._contact_sensing.forces

    def step(self) -> None:
        """Advance every env by ``substeps`` physics steps."""
        if self._inline:
            self._simulate()
        else:
            wp.capture_launch(self.graph)

    @contextlib.contextmanager
    def graph_capture(self):
        """Record this backend's warp work into a CUDA graph that torch is capturing (``torch.cuda.graph``).

        Inside, :meth:`step` and resets launch their kernels on torch's capture stream, and warp records its
        conditional nodes (MuJoCo-Warp's solver loop) into torch's graph instead of reading them back on the host.
        """
        stream = wp.stream_from_torch(torch.cuda.current_stream(self.device))
        wp.capture_begin(stream=stream, external=True)
        self._inline = True
        try:
            with wp.ScopedStream(stream, sync_enter=False):
                yield
        finally:
            self._inline = False
            wp.capture_end(stream=stream)

    def reset(self, env_mask, dof_positions=None, dof_velocities=None, root_pose=None, root_velocity=None) -> None:
        """See :meth:`.base.Backend.reset`: DOFs and root not given are set to the scene's default state."""
        mask = env_mask.view(-1, 1)
        if self._dofs_are_all_coords and dof_positions is not None and dof_velocities is not None:
            q, qd = dof_positions, dof_velocities  # fixed base, every joint selected: no copies
        else:
            q = self.default_q.clone()
            qd = self.default_qd.clone()
            if dof_positions is not None:
                q[:, self._coord_sel] = dof_positions
            if dof_velocities is not None:
                qd[:, self._dof_sel] = dof_velocities
        if self._has_free_root:
            if root_pose is not None:
                q[:, :7] = root_pose
                q[:, :3] += self.env_origins
            if root_velocity is not None:
                qd[:, :6] = root_velocity
        self._q.copy_(torch.where(mask, q, self._q))
        self._qd.copy_(torch.where(mask, qd, self._qd))
        self._update_bodies(env_mask)
        self._actuator_states.reset(env_mask)

    def write_dof_state(
        self, env_mask: torch.Tensor, dof_positions: torch.Tensor, dof_velocities: torch.Tensor
    ) -> None:
        """Set joint positions and velocities (N, D) where ``env_mask`` (N,) is True; roots are untouched."""
        mask = env_mask.view(-1, 1)
        self._q[:, self._coord_sel] = torch.where(mask, dof_positions, self._q[:, self._coord_sel])
        self._qd[:, self._dof_sel] = torch.where(mask, dof_velocities, self._qd[:, self._dof_sel])
        self._update_bodies(env_mask)

    def add_root_velocity(self, env_mask: torch.Tensor, delta: torch.Tensor) -> None:
        """Add ``delta`` (N, 6) [m/s, rad/s] to the root velocity of a floating base where ``env_mask`` is set."""
        if self._has_free_root:
            self._qd[:, :6] += torch.where(env_mask.view(-1, 1), delta, torch.zeros_like(delta))

    def move_env_origins(self, env_mask: torch.Tensor, origins: torch.Tensor) -> None:
        """See :meth:`.base.Backend.move_env_origins`: the default root position (the clone's placement plus its
        start offset) moves by as much as the origin."""
        moved = torch.where(env_mask.view(-1, 1), origins, self.env_origins)
        if self._has_free_root:
            self.default_q[:, :3] += moved - self.env_origins
        self.env_origins.copy_(moved)

    def clear_solver_state(self, env_mask: torch.Tensor) -> None:
        """Forget the solver's warm start, applied forces and controls of the envs where ``env_mask`` is True
        (:meth:`.newton_blowups.SolverRecovery.clear`)."""
        self._solver_recovery.clear(self.solver, self.state, env_mask)

    def joint_inertias(self) -> torch.Tensor:
        """The inertia each selected joint's drive moves at the current pose [kg·m² or kg], shape (N, D):
        ``1 / (H⁻¹)ᵢᵢ`` of the joint-space mass matrix H (armature included) from Newton's ``eval_mass_matrix``,
        the other joints (and a floating root) free to move. One synchronising read; for checks, not training."""
        mass_matrix = newton.eval_mass_matrix(self.model, self.state)
        if mass_matrix is None or mass_matrix.shape[0] != self.num_envs:
            raise BackendError(f"expected one articulation per env ({self.num_envs}) for the mass matrix")
        h = wp.to_torch(mass_matrix)[:, : self.dofs_per_env, : self.dofs_per_env].double()
        inverse_diagonal = torch.linalg.inv(h).diagonal(dim1=1, dim2=2)[:, self._dof_index.to(h.device)]
        return (1.0 / inverse_diagonal).float()

    def find_unstable(self, max_joint_speed: float, max_root_speed: float, max_root_distance: float) -> torch.Tensor:
        """See :meth:`.base.Backend.find_unstable`: BoolTensor (N,), one warp kernel
        (:class:`.newton_blowups.UnstableEnvCheck`)."""
        return self._unstable_check(max_joint_speed, max_root_speed, max_root_distance)

    def cast_rays(self, origins: torch.Tensor, directions: torch.Tensor, max_distance: float) -> torch.Tensor:
        """See :meth:`.base.Backend.cast_rays`: one warp kernel (:class:`.newton_ray_cast.StaticRayCaster`)."""
        return self._ray_caster.cast(origins, directions, max_distance)

    def render_cameras(self, env_masks: Mapping[str, torch.Tensor] | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """See :meth:`.base.Backend.render_cameras` (:class:`.newton_camera.NewtonCameras`)."""
        if self._cameras is None:
            if env_masks:
                raise KeyError(f"no camera '{next(iter(env_masks))}'; cameras: none")
            return {}
        return self._cameras.render(env_masks)

    def shared_world_failure(self) -> str | None:
        """On the CPU's shared MuJoCo world: why MuJoCo reset every env at once, or None (always None on CUDA).
        Reads host memory only; never waits for the GPU."""
        return self._solver_recovery.shared_world_failure(self.solver)

    def close(self) -> None:
        """Release the model, the solver, the state, the CUDA graph and every tensor view of them (warp frees their
        memory once nothing else holds it); the backend cannot be used afterwards."""
        vars(self).clear()

    def reset_all_to_default(self) -> None:
        """Put every env in the scene's default state."""
        self.reset(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))

    def _update_bodies(self, env_mask: torch.Tensor) -> None:
        """Recompute body poses of the reset envs from their joint state (forward kinematics)."""
        if self.on_cpu:
            newton.eval_fk(self.model, self.state.joint_q, self.state.joint_qd, self.state)
        else:
            self._reset_mask.copy_(env_mask)
            newton.eval_fk(self.model, self.state.joint_q, self.state.joint_qd, self.state, mask=self._wp_reset_mask)


def _give_robot_shapes_priority(model: newton.Model) -> None:
    """MuJoCo takes the larger friction and contact dimension of two touching geoms unless one has priority: the
    robot's shapes get it, so that their friction (randomised per env) decides against the ground that every env
    shares. A robot shape's contact dimension is raised to the ground's where it is lower, as MuJoCo's larger-of-two
    rule would: an MJCF's frictionless ``condim="1"`` geoms (Gymnasium's Hopper, Humanoid) touch its ``condim="3"``
    floor with friction."""
    robot_shape = model.shape_body.numpy() >= 0
    model.mujoco.geom_priority.assign(robot_shape.astype("int32"))
    condim = model.mujoco.condim.numpy()
    if robot_shape.all() or not robot_shape.any() or condim[robot_shape].min() >= condim[~robot_shape].max():
        return
    condim[robot_shape] = np.maximum(condim[robot_shape], condim[~robot_shape].max())
    model.mujoco.condim.assign(condim)


def _print_mujoco_warning(message: str) -> None:
    """MuJoCo's warnings go to stderr only; its default handler also appends them to MUJOCO_LOG.TXT in the
    current folder, a file the user did not ask for."""
    print(f"MuJoCo warning: {message}", file=sys.stderr, flush=True)


def _as_slice(indices: list[int], device: torch.device) -> slice | torch.Tensor:
    """A slice when the indices are consecutive (views stay zero-copy), else an index tensor on ``device`` (a
    CUDA graph cannot index with a host tensor)."""
    if indices and indices == list(range(indices[0], indices[0] + len(indices))):
        return slice(indices[0], indices[0] + len(indices))
    return torch.tensor(indices, dtype=torch.long, device=device)


# -- the engine, as the registry finds it (base.PhysicsEngine) --------------------------------------------------------
def build(request: BackendRequest, phase_done: Callable[[str], None] = lambda phase: None) -> NewtonBackend:
    """Newton's backend for ``request``."""
    return NewtonBackend(request, phase_done)


def bytes_per_env(request: BackendRequest) -> tuple[float, float]:
    """([bytes] per env, [bytes] fixed) of ``request``'s warp arrays, from builds of 8 and 16 envs."""
    return newton_memory.bytes_per_env(
        lambda n: NewtonBackend(replace(request, num_envs=n, terrain=newton_terrain.with_envs(request.terrain, n)))
    )


def inertia_corrections(request: BackendRequest) -> list[str]:
    """What Newton's detailed mass and inertia validation corrects in the robot ``request`` loads, one message per
    body."""
    return newton_robot.inertia_corrections(request.scene, request.load_root)
