"""Newton physics for ``num_envs`` clones of one USD articulation, with state exposed as zero-copy torch views.

On the CPU every clone goes into one merged MuJoCo (C) world, spaced apart: the fastest configuration measured
for the small env counts a CPU can train. On CUDA each clone is its own world in MuJoCo-Warp and the physics
substeps of one env step run as one captured CUDA graph.

Only the articulation's own prims are loaded from the scene; a floating-base robot gets one ground plane at z = 0,
shared by every env.

Shapes below: N = num_envs, D = number of selected 1-DOF joints, B = bodies per env.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable
from pathlib import Path

import mujoco
import newton
import torch
import warp as wp

from .base import Backend, BackendError, ExplicitActuator
from .newton_contacts import ContactSensing
from .newton_properties import NewtonProperties
from .newton_robot import (
    SolverMuJoCoForClones,
    add_explicit_actuators,
    finalize_quietly,
    load_robot,
    override_drives,
    root_is_free,
    set_initial_state,
)

wp.config.log_level = wp.LOG_WARNING  # no greeting, no line per kernel module loaded


CONTACTS_PER_ENV = 128
"""Contact points each env may hold (MuJoCo's ``nconmax`` per world)."""


class NewtonBackend(NewtonProperties, Backend):
    """``num_envs`` copies of an articulation stepped together (the :class:`~.base.Backend` contract).

    Args:
        scene: USD file holding the articulation.
        articulation: prim path of the articulation root.
        joint_names: names of the 1-DOF joints to expose, in the column order of the DOF tensors.
        num_envs: number of clones.
        spacing: distance between clones on the CPU's merged world [m] (on CUDA clones overlap in separate worlds).
        physics_dt: physics time step [s].
        substeps: physics steps per :meth:`step` call (the env's decimation).
        device: "cpu" or "cuda[:i]".
        position_control: drive the joints to position targets (True) or by efforts (False).
        joint_overrides: per-joint drive values that replace the scene's, keyed ``stiffness`` [N·m/rad or N/m],
            ``damping`` [N·m·s/rad or N·s/m], ``effort_limit`` [N·m or N], ``velocity_limit`` [rad/s or m/s],
            ``armature`` [kg·m² or kg], ``friction`` [N·m or N]; each a list in ``joint_names`` order, NaN to keep
            the scene's value. Newton's importer has already turned USD's per-degree gains into per-radian ones,
            so these are set as given.
        base: "floating" (a free root; a root the scene welds to the world is released), "fixed", or None (as
            the scene authors it).
        root_height: a floating root's height at reset [m]; None keeps the scene's.
        initial_joint_positions: each joint's position at reset [rad or m] in ``joint_names`` order, NaN to keep
            the scene's.
        self_collisions: whether the robot's links collide with each other.
        load_root: the prim loaded from the scene (the articulation root, or an ancestor that also holds its
            joints); default the articulation root.
        explicit_actuators: each joint's motor model in ``joint_names`` order, None where the solver's implicit
            drive acts. Those joints get Newton actuators evaluated every physics step into ``joint_f`` (inside
            the CUDA graph on the GPU); their implicit gains are zeroed.
        phase_done: called with the name of each start-up phase as it ends (start-up timing): "scene" (the robot
            loaded from USD, cloned and finalized), "solver" (MuJoCo's model converted) and, on CUDA, "kernels"
            (the solver's kernel modules loaded by a first physics step).
    """

    def __init__(
        self,
        scene: Path,
        articulation: str,
        joint_names: list[str],
        num_envs: int,
        spacing: float,
        physics_dt: float,
        substeps: int,
        device: str = "cpu",
        position_control: bool = False,
        joint_overrides: dict[str, list[float]] | None = None,
        base: str | None = None,
        root_height: float | None = None,
        initial_joint_positions: list[float] | None = None,
        self_collisions: bool = False,
        load_root: str | None = None,
        explicit_actuators: list[ExplicitActuator | None] | None = None,
        phase_done: Callable[[str], None] = lambda phase: None,
    ):
        self.device = torch.device(device)
        if self.device.type == "cuda" and not wp.is_cuda_available():
            raise BackendError(f"device '{device}' asked for, but warp finds no CUDA device")
        self.num_envs, self.physics_dt, self.substeps = num_envs, physics_dt, substeps
        self.on_cpu = self.device.type == "cpu"
        wp_device = "cpu" if self.on_cpu else f"cuda:{self.device.index or 0}"

        mujoco.set_mju_user_warning(_print_mujoco_warning)
        robot = load_robot(scene, load_root or articulation, base, self_collisions)
        self._find_joints(robot, articulation, joint_names)
        override_drives(robot, self._dof_index.tolist(), joint_overrides or {})
        models = explicit_actuators or [None] * len(joint_names)
        self._explicit_dofs = add_explicit_actuators(robot, self._dof_index.tolist(), self._coords, models)
        set_initial_state(robot, self._coords, root_height, initial_joint_positions)
        world = newton.ModelBuilder()
        newton.solvers.SolverMuJoCo.register_custom_attributes(world)  # geom priorities, below
        if self.on_cpu:
            columns = math.ceil(math.sqrt(num_envs))
            xforms = [
                wp.transform(wp.vec3((i % columns) * spacing, (i // columns) * spacing, 0.0), wp.quat_identity())
                for i in range(num_envs)
            ]
        else:
            xforms = [wp.transform_identity()] * num_envs
        self._xforms = xforms
        world.replicate(robot, num_envs, separate_worlds=not self.on_cpu, xforms=xforms)
        if self._has_free_root:
            world.add_ground_plane()  # one plane shared by every env
        self.model = finalize_quietly(world, wp_device)
        # MuJoCo takes the larger friction of two touching geoms unless one has priority: the robot's shapes get
        # it, so that their friction (randomised per env) decides against the ground that every env shares
        robot_shape = self.model.shape_body.numpy() >= 0
        self.model.mujoco.geom_priority.assign(robot_shape.astype("int32"))
        phase_done("scene")
        self._set_target_modes(position_control)
        # contacts with the ground (a floating base) or between the robot's own links; an arm alone needs none
        has_contacts = any(robot.shape_flags) and (self._has_free_root or self_collisions)
        # a Go2 on its feet makes about 60 contacts with its meshes: room for 128 per env (the CPU's merged world
        # holds every env's); on the GPU each world also gets the constraint rows they need (4 per contact with
        # the pyramidal cone, plus limits): Newton's defaults there (48 contacts, 64 rows) overflow for a Go2
        contacts_per_world = CONTACTS_PER_ENV * (num_envs if self.on_cpu else 1) if has_contacts else None
        rows_per_world = 4 * CONTACTS_PER_ENV + 64 if has_contacts and not self.on_cpu else None
        self.solver = SolverMuJoCoForClones(
            self.model,
            use_mujoco_cpu=self.on_cpu,
            disable_contacts=not has_contacts,
            nconmax=contacts_per_world,
            njmax=rows_per_world,
        )
        phase_done("solver")
        self.state = self.model.state()
        self.control = self.model.control()
        newton.eval_fk(self.model, self.model.joint_q, self.model.joint_qd, self.state)
        self._make_actuator_states()
        self._make_views()
        self._make_solver_reset_buffers()
        self.graph = None
        self._contact_sensing: ContactSensing | None = None
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

    def _make_actuator_states(self) -> None:
        """Newton's actuators with their two states each (read, then written; the written one is copied back after
        each physics step, so a captured graph always reads the same buffers), each actuator's env per entry, and
        the effort commands that ``joint_f`` starts every physics step from (actuators add theirs to it)."""
        self._actuators = []
        for actuator in self.model.actuators:
            env_of = torch.tensor(actuator.indices.numpy().astype("int64") // self.dofs_per_env, device=self.device)
            mask = torch.zeros(actuator.num_actuators, dtype=torch.bool, device=self.device)
            self._actuators.append((actuator, actuator.state(), actuator.state(), env_of, mask, wp.from_torch(mask)))
        self._effort_commands = wp.clone(self.control.joint_f) if self._actuators else self.control.joint_f

    def _make_views(self) -> None:
        n = self.num_envs
        self._q = wp.to_torch(self.state.joint_q).view(n, self.coords_per_env)
        self._qd = wp.to_torch(self.state.joint_qd).view(n, self.dofs_per_env)
        self._f = wp.to_torch(self._effort_commands).view(n, self.dofs_per_env)
        self._target = wp.to_torch(self.control.joint_target_q).view(n, self.coords_per_env)
        self._body_q = wp.to_torch(self.state.body_q).view(n, self.bodies_per_env, 7)
        self._body_qd = wp.to_torch(self.state.body_qd).view(n, self.bodies_per_env, 6)
        self.default_q = wp.to_torch(self.model.joint_q).view(n, self.coords_per_env).clone()
        self.default_qd = torch.zeros_like(self._qd)
        self.env_origins = torch.zeros(n, 3, device=self.device)
        if self.on_cpu:
            self.env_origins[:] = torch.tensor([[x.p[0], x.p[1], 0.0] for x in self._xforms], device=self.device)
        self._reset_mask = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._wp_reset_mask = wp.from_torch(self._reset_mask)
        self._unstable = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._wp_unstable = wp.from_torch(self._unstable)
        self._wp_q = wp.from_torch(self._q)
        self._wp_qd = wp.from_torch(self._qd)
        self._wp_env_origins = wp.from_torch(self.env_origins, dtype=wp.vec3)
        # views that stay valid: the state arrays are never reallocated
        self.default_dof_positions = self.default_q[:, self._coord_sel]
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
            if self._actuators:
                self._apply_actuators()
            sensing = self._contact_sensing
            contacts, observables = (sensing.contacts, sensing.observables) if sensing else (None, None)
            self.solver.step(self.state, self.state, self.control, contacts, self.physics_dt, observables=observables)
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

    def _apply_actuators(self) -> None:
        """``joint_f`` = the effort commands plus every explicit actuator's effort for this physics step."""
        wp.copy(self.control.joint_f, self._effort_commands)
        for actuator, current, following, *_ in self._actuators:
            actuator.step(self.state, self.control, current, following, dt=self.physics_dt)
            if current is not None:
                current.assign(following)

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
        self._reset_actuators(env_mask)

    def _reset_actuators(self, env_mask: torch.Tensor) -> None:
        """Empty the delay buffers of the reset envs' actuators: a new episode acts on its own first targets."""
        for _, current, following, env_of, mask, wp_mask in self._actuators:
            if current is not None:
                mask.copy_(env_mask[env_of])
                current.reset(wp_mask)
                following.reset(wp_mask)

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

    def clear_solver_state(self, env_mask: torch.Tensor) -> None:
        """Forget the solver's warm start, applied forces and controls of the envs where ``env_mask`` is True.

        After a blow-up these buffers still hold NaN or huge values and would poison the env's next steps even from
        a fresh joint state. On CUDA one masked kernel (Newton's ``SolverMuJoCo.reset`` with no joint state) clears
        the selected worlds; on the CPU's shared MuJoCo world the rows of the selected envs' DOFs are zeroed.
        """
        if not self.on_cpu:
            self._solver_reset_mask[: self.num_envs].copy_(env_mask)
            self.solver.reset(self.state, world_mask=self._wp_solver_reset_mask, flags=0)
            return
        if not bool(env_mask.any()):
            return
        data = self.solver.mj_data
        rows = env_mask.nonzero().flatten().tolist()
        for buffer in (data.qacc_warmstart, data.qfrc_applied):
            buffer.reshape(self.num_envs, -1)[rows] = 0.0

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
        """Envs whose joint state is not finite, a joint moves faster than ``max_joint_speed`` [rad/s or m/s], or the
        root moves faster than ``max_root_speed`` [m/s] (linear; angular against ``max_joint_speed`` [rad/s]) or
        lies more than ``max_root_distance`` [m] from the env origin; BoolTensor (N,), one warp kernel."""
        wp.launch(
            _find_unstable_kernel,
            dim=self.num_envs,
            inputs=[
                self._wp_q,
                self._wp_qd,
                self.state.body_q,
                self.state.body_qd,
                self._wp_env_origins,
                self.bodies_per_env,
                self.root_body,
                6 if self._has_free_root else 0,
                max_joint_speed,
                max_root_speed,
                max_root_distance,
            ],
            outputs=[self._wp_unstable],
            device=self.model.device,
        )
        return self._unstable

    def shared_world_failure(self) -> str | None:
        """On the CPU's shared MuJoCo world: why MuJoCo reset every env at once (after a NaN or a value over 1e10
        in one env's positions, velocities or accelerations), or None. Always None on CUDA, where each env is its
        own world. Reads host memory only; never waits for the GPU."""
        if not self.on_cpu:
            return None
        counts = [self.solver.mj_data.warning[int(w)].number for w in _MUJOCO_RESET_WARNINGS]
        if sum(counts) == 0:
            return None
        names = [w.name.removeprefix("mjWARN_BAD") for w, c in zip(_MUJOCO_RESET_WARNINGS, counts, strict=True) if c]
        return f"MuJoCo found bad {'/'.join(names)} values and reset all {self.num_envs} envs of the shared world"

    def _make_solver_reset_buffers(self) -> None:
        """The world mask (N + 1,) that :meth:`clear_solver_state` hands Newton on CUDA (the last entry is the
        global world, never reset); on the CPU, a check that MuJoCo's DOFs are laid out env by env."""
        if self.on_cpu:
            nv = self.solver.mj_model.nv
            if nv != self.num_envs * self.dofs_per_env:
                raise BackendError(f"MuJoCo has {nv} DOFs for {self.num_envs} envs of {self.dofs_per_env}")
            return
        self._solver_reset_mask = torch.zeros(self.num_envs + 1, dtype=torch.bool, device=self.device)
        self._wp_solver_reset_mask = wp.from_torch(self._solver_reset_mask)

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


@wp.kernel
def _find_unstable_kernel(
    joint_q: wp.array2d[float],
    joint_qd: wp.array2d[float],
    body_q: wp.array[wp.transform],
    body_qd: wp.array[wp.spatial_vector],
    env_origins: wp.array[wp.vec3],
    bodies_per_env: int,
    root_body: int,
    first_joint_dof: int,
    max_joint_speed: float,
    max_root_speed: float,
    max_root_distance: float,
    unstable: wp.array[bool],
):
    """One thread per env: see :meth:`NewtonBackend.find_unstable` (NaN fails every comparison: unstable)."""
    env = wp.tid()
    bad = int(0)  # noqa: UP018 (warp: a variable the loops may change, not a constant)
    for i in range(joint_q.shape[1]):
        if not wp.isfinite(joint_q[env, i]):
            bad = 1
    for i in range(first_joint_dof, joint_qd.shape[1]):
        if not (wp.abs(joint_qd[env, i]) <= max_joint_speed):
            bad = 1
    root = env * bodies_per_env + root_body
    if not (wp.length(wp.transform_get_translation(body_q[root]) - env_origins[env]) <= max_root_distance):
        bad = 1
    v = body_qd[root]  # linear [m/s], then angular [rad/s]
    if not (wp.length(wp.vec3(v[0], v[1], v[2])) <= max_root_speed):
        bad = 1
    if not (wp.length(wp.vec3(v[3], v[4], v[5])) <= max_joint_speed):
        bad = 1
    unstable[env] = bad != 0


def _print_mujoco_warning(message: str) -> None:
    """MuJoCo's warnings go to stderr only; its default handler also appends them to MUJOCO_LOG.TXT in the
    current folder, a file the user did not ask for."""
    print(f"MuJoCo warning: {message}", file=sys.stderr, flush=True)


_MUJOCO_RESET_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
    mujoco.mjtWarning.mjWARN_BADQACC,
)


def _as_slice(indices: list[int], device: torch.device) -> slice | torch.Tensor:
    """A slice when the indices are consecutive (views stay zero-copy), else an index tensor on ``device`` (a
    CUDA graph cannot index with a host tensor)."""
    if indices and indices == list(range(indices[0], indices[0] + len(indices))):
        return slice(indices[0], indices[0] + len(indices))
    return torch.tensor(indices, dtype=torch.long, device=device)
