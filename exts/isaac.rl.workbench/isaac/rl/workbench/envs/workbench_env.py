"""The workbench env: a task spec's terms over a physics backend, behind rsl-rl's ``VecEnv`` contract.

One :meth:`WorkbenchEnv.step`: action -> ``decimation`` physics steps -> terminations -> rewards -> resets of the
finished envs -> observations. Every per-env quantity stays a device tensor; resets use masks, so a step never
waits for the GPU. Shapes: N = num_envs, D = joints of the articulation (1-DOF), A = num_actions,
B = rigid bodies per env.

Tools above the env (a simulated robot, a sweep, a log replay, a benchmark) use its public methods only: its physics
(:class:`~.physics_access.PhysicsAccess`: raw stepping, joint commands in place of actions, physics properties, a
redraw of the start-up events), live edits of its ranges (:class:`~.live_ranges.LiveRanges`), its episode reports and
reward weights (:class:`~.episode_reports.EpisodeReports`) and
:meth:`WorkbenchEnv.set_action_delay_range`,
:meth:`WorkbenchEnv.set_observation_noise_scale`, :meth:`WorkbenchEnv.metric_values`,
:meth:`WorkbenchEnv.sharing_physics`.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from ..backend.base import Backend
from ..backend.registry import load_engine
from ..specs.schema import TaskSpec, TermSpec
from ..specs.symmetry_maps import symmetry_augmentation
from ..utils import startup_timer
from .action_mapping import ActionMapping
from .backend_request import backend_request
from .camera_images import CameraImages
from .commands import Commands
from .derived_state import DerivedState
from .env_size import check_num_envs
from .episode_reports import EpisodeReports
from .episode_stats import EpisodeStats
from .graphed_step import GraphedStep, StepResult
from .health import HealthCheck
from .interval_events import IntervalEvents
from .live_ranges import LiveRanges
from .motor_command import MotorCommand, MotorDrive
from .observation_groups import ObservationGroups
from .physics_access import PhysicsAccess
from .physics_properties import PhysicsProperties
from .pose_watch import PoseWatch
from .term_check import check_terms
from .term_state import TermState
from .terrain_curriculum import terrain_curriculum


class PhysicsError(RuntimeError):
    """The simulation failed for every env at once; training cannot go on (the message says why and what to try)."""


def make_backend(spec: TaskSpec, device: str = "cpu") -> Backend:
    """The physics backend for ``spec``: ``spec.env.num_envs`` clones of its articulation on ``device``, built by the
    engine ``spec.env.physics`` names (``backend/registry.py``).

    The engine is imported here, on first use, so that loading a spec or a checkpoint never pays for its start-up.
    An engine whose libraries are absent is refused first, then too many envs for the device
    (:func:`.env_size.check_num_envs`, with the engine's own measure of its memory where it has one).
    """
    engine = load_engine(spec.env.physics)
    request = backend_request(spec, device)
    measure = engine.bytes_per_env
    check_num_envs(spec.env.num_envs, device, None if measure is None else lambda: measure(request))
    return engine.build(request, startup_timer.mark)


class WorkbenchEnv(TermState, PhysicsAccess, LiveRanges, EpisodeReports, VecEnv):
    """Vectorised env built from a :class:`TaskSpec`.

    Args:
        spec: the validated task spec (``spec.env.num_envs`` clones are built).
        device: "cpu" or "cuda[:i]"; the physics and every tensor live there.
        backend: a physics backend to use instead of :func:`make_backend` (tests, Isaac Sim).
        cuda_graph: on CUDA, capture the whole step as one CUDA graph after a few eager steps.
        health_check: check every env after every step (``envs/health.py``); off only to measure its cost.
        eval_envs: the last ``eval_envs`` of the ``spec.env.num_envs`` envs are evaluation envs: their episodes are
            counted apart (:meth:`pop_eval_stats`), not in :meth:`pop_episode_stats`.

    Attributes a term may read (besides the properties below):
        num_envs (int): N.
        device (torch.device): where every tensor lives.
        step_dt (float): duration of one env step, ``physics_dt * decimation`` [s].
        max_episode_length (int): episode length in env steps.
        episode_length_buf (LongTensor (N,)): env steps since each env's episode began.
        actions (Tensor (N, A)): this step's actions after clipping, before scaling.
        prev_actions (Tensor (N, A)): the previous step's actions.
        dof_effort (Tensor (N, D)): the joint efforts commanded this step [N or N·m]; under position control, what
            the solver's PD applies when the targets are set (clamped to the effort limits).
        terminated (BoolTensor (N,)): envs whose episode ended this step by a termination term or a blow-up (not a
            time-out).
        unstable (BoolTensor (N,)): envs whose simulation blew up this step (see ``envs/health.py``); they are
            terminated, earn no reward for the step, and are reset alone.
        time_outs (BoolTensor (N,)): envs whose episode ended this step by a time-out (truncation).
        floating_base (bool): True for a robot whose root moves freely (6-DOF root), False for a fixed base.
        randomized_params (Tensor (N, K)): each start-up draw of a physics property, normalised to [-1, 1] over
            the range it was drawn from; ``randomized_param_names`` names the K columns.
        spec (TaskSpec): the task spec, e.g. ``spec.joint_names``.
    """

    def __init__(
        self,
        spec: TaskSpec,
        device: str = "cpu",
        backend: Backend | None = None,
        cuda_graph: bool = True,
        health_check: bool = True,
        eval_envs: int = 0,
    ):
        self.spec = spec
        self.cfg = spec.raw
        self.device = torch.device(device)
        self.num_envs = spec.env.num_envs
        self.step_dt = spec.env.step_dt
        self.max_episode_length = spec.env.max_episode_length
        backend = backend if backend is not None else make_backend(spec, device)
        self.backend: Backend = backend
        n, dev = self.num_envs, self.device
        self.num_actions = len(spec.actions.joints)
        self._all_effort_limits = torch.tensor(spec.effort_limits, device=dev)
        joints = self._joint_ids(spec.actions.joints)
        self._action_mapping = ActionMapping(spec, backend, joints, self._all_effort_limits, dev)
        self.actions = self._action_mapping.actions
        self.prev_actions = self._action_mapping.prev_actions
        self.dof_effort = self._action_mapping.dof_effort
        self.episode_length_buf = torch.zeros(n, dtype=torch.long, device=dev)
        self.terminated = torch.zeros(n, dtype=torch.bool, device=dev)
        self.time_outs = torch.zeros(n, dtype=torch.bool, device=dev)
        self.commands = Commands(spec.commands, n, dev, [p.rsplit("/", 1)[-1] for p in backend.body_paths])
        self.reward_terms = list(spec.rewards.values())
        self.metric_terms = list(spec.metrics.values())
        self._params = {id(t): self.resolve_params(t.params) for group in spec.observations.values() for t in group}
        for term in [*self.reward_terms, *spec.terminations.values(), *spec.events.values(), *self.metric_terms]:
            self._params[id(term)] = self.resolve_params(term.params)
        self._properties = PhysicsProperties(backend, n, dev, self._property_labels)
        self.applied_randomization: dict[str, dict[str, float]] = self._properties.applied
        """Physics property -> ``{"envs": count, "values": {body, joint or "every shape": {min, mean, max}}}``: what
        the start-up events drew, for the columns they changed (written to the run folder's randomization.json)."""
        everywhere = torch.ones(n, dtype=torch.bool, device=dev)
        self._startup_events = [t for t in spec.events.values() if t.mode == "startup"]
        self._startup_edits: dict[str, dict] = {}  # live edits of start-up events' params (envs/live_ranges.py)
        self._redraw_pending: torch.Tensor | None = None  # (N,) envs that draw them again at their next reset
        for term in self._startup_events:
            self._properties.event = term.name
            self._call(term, everywhere)
        self._properties.event = None
        self.randomized_params = self._properties.randomized.values
        self.randomized_param_names = self._properties.randomized.names
        self._stiffness = self._damping = None
        self._follow_gains()  # the solver's PD gains, after start-up randomisation
        self._motor_drive: MotorDrive | None = None
        self._motor_command: MotorCommand | None = None
        self._reset_events = [t for t in spec.events.values() if t.mode == "reset"]
        self._termination_terms = [t for t in spec.terminations.values() if not t.time_out]
        self._time_out_terms = [t for t in spec.terminations.values() if t.time_out]
        self._reward_scales = torch.tensor([t.weight * self.step_dt for t in self.reward_terms], device=dev)
        self.floating_base = backend.floating_base
        metrics = {t.name: t.reduce for t in self.metric_terms}
        self._fired: torch.Tensor | None = None  # (M, N): where each termination term fired at the last step
        ending = [t.name for t in self._termination_terms]
        terms = [t.name for t in self.reward_terms]
        self._stats = EpisodeStats(n, terms, dev, self.floating_base, metrics, ending, eval_envs)
        self._health = HealthCheck(backend, spec.env.physics_dt, spec.env.spacing) if health_check else None
        self.unstable = torch.zeros(n, dtype=torch.bool, device=dev)
        self._derived = DerivedState(backend, n, dev)
        self._cameras = CameraImages(backend, spec.sensors, self._derived, self.step_dt, n, dev)
        self._contact_time = None
        self._reset_pos = torch.zeros(n, len(spec.joint_names), device=dev)
        self._reset_vel = torch.zeros_like(self._reset_pos)
        self._resetting = False
        self._observations = ObservationGroups(
            spec.observations, spec.observation_history, n, dev, self._call, spec.source
        )
        self._restart_history = torch.zeros(n, dtype=torch.bool, device=dev)  # envs whose history starts afresh
        self._terrain_curriculum = terrain_curriculum(spec, backend, self.commands.values, eval_envs)  # or None
        self._reset(torch.ones(n, dtype=torch.bool, device=dev))
        interval = [t for t in spec.events.values() if t.mode == "interval"]
        self._interval_events = IntervalEvents(interval, n, dev, self._call)  # their first timers drawn here
        check_terms(self)  # every term once, before the env's own use of them: errors name the spec key
        self._obs = self._compute_observations()
        self._pose_watch: PoseWatch | None = None
        use_graph = cuda_graph and self.device.type == "cuda" and backend.supports_cuda_graph
        self._graphed_step = GraphedStep(self._step, self.device, backend.graph_capture, use_graph)

    # -- writers the event terms use ------------------------------------------------------------------------------
    def write_dof_state(
        self, env_mask: torch.Tensor, positions: torch.Tensor, velocities: torch.Tensor, joints=slice(None)
    ) -> None:
        """Set positions and velocities (N, len(joints)) of the selected joints where ``env_mask`` is True.

        During a reset this writes into the state the reset envs start from (the defaults, until a reset event
        changes them), and the backend is written once after every reset event has run.
        """
        if self._resetting:
            self._reset_pos[:, joints] = positions
            self._reset_vel[:, joints] = velocities
            return
        pos, vel = self.dof_pos.clone(), self.dof_vel.clone()
        pos[:, joints] = positions
        vel[:, joints] = velocities
        self.backend.write_dof_state(env_mask, pos, vel)
        self._derived.clear()

    def set_physics_property(
        self, name: str, env_mask: torch.Tensor, values: torch.Tensor, bounds: tuple | None = None
    ) -> None:
        """Write physics property ``name`` (shaped as :meth:`physics_property`) where ``env_mask`` is True and record
        what was applied (see :attr:`applied_randomization`). Only in start-up events (``mode = "startup"``).

        ``bounds``: (low, high), each shaped like ``values``: what the draw gives at the two ends of its range;
        with them the draw is observable as ``randomized_params``."""
        if self._properties.event is None:
            raise RuntimeError(
                f"physics property '{name}' can only be randomised when the env is built: give the event "
                'mode = "startup"'
            )
        self._properties.write_drawn(name, env_mask, values, bounds)

    def add_root_velocity(self, env_mask: torch.Tensor, delta: torch.Tensor) -> None:
        """Add ``delta`` (N, 6) to the root velocity of the envs where ``env_mask`` is True."""
        self.backend.add_root_velocity(env_mask, delta)
        self._derived.clear()

    def symmetry_augmentation(self):
        """rsl-rl's mirror function of ``[ppo.algorithm.symmetry]`` (``specs/symmetry_maps.py``), None without one."""
        shapes = {group: tuple(values.shape[1:]) for group, values in self._obs.items()}
        return symmetry_augmentation(self.spec, self.default_dof_pos[0].tolist(), shapes)

    # -- what tools above the env use, besides its physics (PhysicsAccess) -----------------------------------------
    @property
    def action_delay_range(self) -> tuple[int, int]:
        """(low, high) [env steps]: each env's action delay is drawn in this range when it resets."""
        return self._action_mapping.delay_range

    def set_action_delay_range(self, low: int, high: int) -> None:
        """Draw each env's action delay in [``low``, ``high``] env steps from its next reset on, within the delays
        the env was built for (0 to the high end of the spec's ``actions.delay_steps``)."""
        self._action_mapping.set_delay_range(low, high)

    def set_observation_noise_scale(self, group: str, scale: float) -> None:
        """From the next observation on, the noise of every noisy term of observation group ``group`` is the spec's
        range times ``scale`` (1: as the spec says)."""
        self._observations.set_noise_scale(group, scale)

    def sharing_physics(self, cuda_graph: bool = True, health_check: bool = True) -> WorkbenchEnv:
        """Another env of this spec over this env's physics (one simulation, stepped by whichever env steps; its
        start-up events and first reset run on it again): a benchmark compares two ways of stepping on one
        simulation."""
        return WorkbenchEnv(
            self.spec, str(self.device), backend=self.backend, cuda_graph=cuda_graph, health_check=health_check
        )

    # -- VecEnv ---------------------------------------------------------------------------------------------------
    def get_observations(self) -> TensorDict:
        """The current observation groups, each (N, dim)."""
        return self._obs

    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply actions (N, A); return observations, rewards (N,), dones (N,) and extras (``time_outs``, ``log``).

        On CUDA the whole step (terms, resets and physics) is captured once as a CUDA graph after a few eager
        warm-up steps, then replayed (:class:`~.graphed_step.GraphedStep`).
        """
        self._stats.count_step()
        result = self._graphed_step(actions)
        self._derived.clear()  # a replayed step changed the state without running the Python that clears it
        self._cameras.keep_step_end_images()
        self._obs = result[0]
        self._redraw_at_reset(result[2])  # a live edit of a start-up event: the envs that reset draw again
        if self._pose_watch is not None:
            self._pose_watch.record()
        return result

    def watch_poses(self, num_envs: int, capacity: int) -> PoseWatch:
        """From now on keep the body poses of the first ``num_envs`` envs at every step (on the device, no sync);
        read them with the returned watch's :meth:`~.pose_watch.PoseWatch.pop`. A live 3D view uses this."""
        self._pose_watch = PoseWatch(self.backend.body_poses, self.backend.env_origins, num_envs, capacity)
        return self._pose_watch

    def _step(self, actions: torch.Tensor) -> StepResult:
        self._action_mapping.take(actions)
        self._apply_actions()
        self.step_physics()
        self._cameras.advance()
        failure = self.physics_failure()
        if failure is not None:
            raise PhysicsError(
                f"{failure}: on the CPU every env shares one MuJoCo world, so one blow-up resets them all; "
                f"lower env.physics_dt ({self.spec.env.physics_dt:g} s) or actions.scale "
                f"({self.spec.actions.scale_text()}), check the drive gains, or train with --device cuda (one world "
                "per env)"
            )
        self._derived.clear()
        if self._contact_time is not None:
            self._contact_time.update(self.backend.contact_forces, self.step_dt)
        self.episode_length_buf += 1
        if self._health is not None:
            self.unstable.copy_(self._health.unstable())
        self._compute_terminations()
        rewards = self._compute_rewards()
        if self.metric_terms:
            self._stats.add_metrics(self.metric_values())
        dones = self.terminated | self.time_outs
        self._stats.end_episodes(dones, self.episode_length_buf, self._fired)
        if self._terrain_curriculum is not None:  # new tiles for the ended episodes, before their resets
            self._terrain_curriculum.update(dones & ~self.unstable, self.root_pos_w)
            self._derived.clear()  # env origins moved
        if self._health is not None:
            self.backend.clear_solver_state(self.unstable)
        self.commands.advance(self, self.step_dt)  # before the resets: a command drawn at one starts its full interval
        self._reset(dones)
        self._interval_events.advance(self.step_dt)
        self._obs = self._compute_observations()
        extras = {"time_outs": self.time_outs.clone(), "log": {}}
        self._cameras.end_step()
        return self._obs, rewards, dones.long(), extras

    def reset(self) -> TensorDict:
        """Reset every env; return the observations."""
        everywhere = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        self._reset(everywhere)
        self._redraw_at_reset(everywhere)
        self._obs = self._compute_observations()
        return self._obs

    # -- internals ------------------------------------------------------------------------------------------------
    def _joint_ids(self, names: list[str]) -> slice | torch.Tensor:
        """Columns of the named joints: a slice when they are consecutive (a view, no gather kernel)."""
        ids = [self.spec.joint_names.index(n) for n in names]
        if ids == list(range(ids[0], ids[0] + len(ids))):
            return slice(ids[0], ids[0] + len(ids))
        return torch.tensor(ids, dtype=torch.long, device=self.device)

    def resolve_params(self, params: dict) -> dict:
        """A term's ``params`` as the env calls the term: ``joints`` (names) -> their columns (a slice when
        consecutive, else a LongTensor), ``bodies`` -> a LongTensor of body rows, ``body`` -> a body row."""
        params = dict(params)
        if "joints" in params:
            params["joints"] = self._joint_ids(params["joints"])
        if "body" in params:
            params["body"] = self.body_names.index(params["body"])
        if "bodies" in params:
            params["bodies"] = torch.tensor(
                [self.body_names.index(b) for b in params["bodies"]], dtype=torch.long, device=self.device
            )
        return params

    def call_term(self, term: TermSpec) -> torch.Tensor:
        """``term`` (one of ``spec``'s observation, reward, termination or metric terms) at the current state, called
        as the env calls it (its params resolved by :meth:`resolve_params`)."""
        return self._call(term)

    def _call(self, term: TermSpec, *args) -> torch.Tensor:
        return term.func(self, *args, **self._params[id(term)])

    def _apply_actions(self) -> None:
        if self._motor_command is not None:
            self.dof_effort.copy_(self._motor_drive.apply(self._motor_command, self.dof_pos, self.dof_vel))
        else:
            self._action_mapping.apply(self._stiffness, self._damping)

    def _compute_terminations(self) -> None:
        """One stacked reduction per kind, few kernels (the step is launch-bound on the GPU)."""
        ended = [self._call(t) for t in self._termination_terms]
        timed = [self._call(t) for t in self._time_out_terms] or [self.episode_length_buf >= self.max_episode_length]
        self._fired = torch.stack(ended) if ended else None
        terminated = self._fired.any(dim=0) if ended else torch.zeros_like(self.terminated)
        if self._health is not None:
            terminated = terminated | self.unstable
        self.terminated.copy_(terminated)
        self.time_outs.copy_(torch.stack(timed).any(dim=0) & ~terminated)

    def _compute_rewards(self) -> torch.Tensor:
        """Weighted terms (N, T), each times the step duration, nothing for an unstable env; returns their sum (N,),
        clipped at 0 from below with ``env.only_positive_rewards``."""
        values = torch.stack([self._call(t) for t in self.reward_terms], dim=1) * self._reward_scales
        if self._health is not None:
            values = values.masked_fill(self.unstable.unsqueeze(1), 0.0)
        rewards = values.sum(dim=1)
        if self.spec.env.only_positive_rewards:
            rewards = rewards.clamp(min=0.0)
        self._stats.add_step(rewards, values, self.unstable, self.root_lin_vel_w[:, 0])
        return rewards

    def _reset(self, mask: torch.Tensor) -> None:
        self._reset_pos.copy_(self.default_dof_pos)
        self._reset_vel.zero_()
        self._resetting = True
        for term in self._reset_events:
            self._call(term, mask)
        self._resetting = False
        self.backend.reset(mask, self._reset_pos, self._reset_vel)
        self._derived.clear()
        self._cameras.restart(mask)
        self.commands.draw(self, mask)
        if self._contact_time is not None:
            self._contact_time.reset(mask)
        self._restart_history |= mask
        self.episode_length_buf.masked_fill_(mask, 0)
        self._action_mapping.reset(mask)
        self._stats.clear(mask)

    def _compute_observations(self) -> TensorDict:
        """The observation groups (:class:`~.observation_groups.ObservationGroups`), their histories restarted for
        the envs reset since the last call."""
        observations = self._observations.compute(self._restart_history)
        self._restart_history.zero_()
        return observations
