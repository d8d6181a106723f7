"""The workbench env: a task spec's terms over a physics backend, behind rsl-rl's ``VecEnv`` contract.

One :meth:`WorkbenchEnv.step`: action -> ``decimation`` physics steps -> terminations -> rewards -> resets of the
finished envs -> observations. Every per-env quantity stays a device tensor; resets use masks, so a step never
waits for the GPU. Shapes: N = num_envs, D = joints of the articulation (1-DOF), A = num_actions,
B = rigid bodies per env.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from ..backend.base import Backend
from ..specs.loader import TaskSpec, TermSpec
from ..specs.robot_tables import initial_joint_positions, joint_overrides
from ..utils import startup_timer
from . import applied_randomization
from .backend_request import explicit_actuators
from .commands import Commands
from .env_size import check_num_envs
from .episode_stats import EpisodeStats
from .health import HealthCheck
from .observation_history import ObservationHistory
from .pose_watch import PoseWatch
from .term_check import check_terms
from .term_state import TermState


class PhysicsError(RuntimeError):
    """The simulation failed for every env at once; training cannot go on (the message says why and what to try)."""


_backend_factory: Callable[[TaskSpec, str], Backend] | None = None


def use_backend_factory(factory: Callable[[TaskSpec, str], Backend] | None) -> None:
    """Build every env's physics with ``factory(spec, device)`` instead of Newton (the Isaac Sim extension's PhysX
    backend); None: Newton again."""
    global _backend_factory
    _backend_factory = factory


def make_backend(spec: TaskSpec, device: str = "cpu") -> Backend:
    """The physics backend for ``spec``: ``spec.env.num_envs`` clones of its articulation on ``device``.

    Newton is the only backend outside Isaac Sim; it is imported here, on first use, so that loading a spec or a
    checkpoint never pays for warp's start-up. Too many envs for the device are refused first
    (:func:`.env_size.check_num_envs`).
    """
    if _backend_factory is not None:
        return _backend_factory(spec, device)
    from ..backend.newton_backend import NewtonBackend
    from ..backend.newton_memory import bytes_per_env

    def build(num_envs: int, phase_done: Callable[[str], None] = lambda phase: None) -> NewtonBackend:
        return NewtonBackend(
            load_root=spec.robot_prim,
            scene=spec.scene,
            articulation=spec.articulation,
            joint_names=spec.joint_names,
            num_envs=num_envs,
            spacing=spec.env.spacing,
            physics_dt=spec.env.physics_dt,
            substeps=spec.env.decimation,
            device=device,
            position_control=spec.actions.type == "joint_position",
            joint_overrides=joint_overrides(spec.actuators, spec.joint_names, solver_only=True),
            explicit_actuators=explicit_actuators(spec.actuators, spec.joint_names),
            base=spec.robot.base,
            root_height=spec.robot.root_height,
            initial_joint_positions=initial_joint_positions(spec.robot, spec.joint_names),
            self_collisions=spec.robot.self_collisions,
            phase_done=phase_done,
        )

    check_num_envs(spec.env.num_envs, device, lambda: bytes_per_env(build))
    return build(spec.env.num_envs, startup_timer.mark)


class WorkbenchEnv(TermState, VecEnv):
    """Vectorised env built from a :class:`TaskSpec`.

    Args:
        spec: the validated task spec (``spec.env.num_envs`` clones are built).
        device: "cpu" or "cuda[:i]"; the physics and every tensor live there.
        backend: a physics backend to use instead of :func:`make_backend` (tests, Isaac Sim).
        cuda_graph: on CUDA, capture the whole step as one CUDA graph after a few eager steps.
        health_check: check every env after every step (``envs/health.py``); off only to measure its cost.

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
        self._action_joints = self._joint_ids(spec.actions.joints)
        # Newton applies joint efforts as given; the USD drive's max force bounds them here.
        self._effort_limits = torch.tensor(spec.effort_limits, device=dev)[self._action_joints]
        self.num_actions = len(spec.actions.joints)
        self.actions = torch.zeros(n, self.num_actions, device=dev)
        self.prev_actions = torch.zeros_like(self.actions)
        self.dof_effort = torch.zeros(n, len(spec.joint_names), device=dev)
        self._all_effort_limits = torch.tensor(spec.effort_limits, device=dev)
        self._env_ids = torch.arange(n, device=dev)
        low, high = spec.actions.delay_steps
        self._action_history = torch.zeros(high + 1, n, self.num_actions, device=dev) if high > 0 else None
        self._action_delay = torch.zeros(n, dtype=torch.long, device=dev)
        self._targets = backend.default_dof_positions.clone()
        self.episode_length_buf = torch.zeros(n, dtype=torch.long, device=dev)
        self.terminated = torch.zeros(n, dtype=torch.bool, device=dev)
        self.time_outs = torch.zeros(n, dtype=torch.bool, device=dev)
        self.commands = Commands(spec.commands, n, dev, [p.rsplit("/", 1)[-1] for p in backend.body_paths])
        self.reward_terms = list(spec.rewards.values())
        self.metric_terms = list(spec.metrics.values())
        self._params = {id(t): self._resolve_params(t) for group in spec.observations.values() for t in group}
        for term in [*self.reward_terms, *spec.terminations.values(), *spec.events.values(), *self.metric_terms]:
            self._params[id(term)] = self._resolve_params(term)
        self.applied_randomization: dict[str, dict[str, float]] = {}
        """Physics property -> ``{"envs": count, "values": {body, joint or "every shape": {min, mean, max}}}``: what
        the start-up events drew, for the columns they changed (written to the run folder's randomization.json)."""
        self._randomized = applied_randomization.RandomizedParams(n, dev)
        self._starting = True
        everywhere = torch.ones(n, dtype=torch.bool, device=dev)
        for term in (t for t in spec.events.values() if t.mode == "startup"):
            self._startup_event = term.name
            self._call(term, everywhere)
        self._starting = False
        self.randomized_params = self._randomized.values
        self.randomized_param_names = self._randomized.names
        if spec.actions.type == "joint_position":  # the solver's PD gains, after start-up randomisation
            self._stiffness = backend.get_property("dof_stiffness")
            self._damping = backend.get_property("dof_damping")
        self._reset_events = [t for t in spec.events.values() if t.mode == "reset"]
        self._interval_events = [t for t in spec.events.values() if t.mode == "interval"]
        self._event_timers = torch.zeros(n, len(self._interval_events), device=dev)
        self._termination_terms = [t for t in spec.terminations.values() if not t.time_out]
        self._time_out_terms = [t for t in spec.terminations.values() if t.time_out]
        self._reward_scales = torch.tensor([t.weight * self.step_dt for t in self.reward_terms], device=dev)
        self.floating_base = backend.floating_base
        metrics = {t.name: t.reduce for t in self.metric_terms}
        self._stats = EpisodeStats(n, [t.name for t in self.reward_terms], dev, self.floating_base, metrics)
        self._health = HealthCheck(backend, spec.env.physics_dt, spec.env.spacing) if health_check else None
        self.unstable = torch.zeros(n, dtype=torch.bool, device=dev)
        self._derived: dict[str, torch.Tensor] = {}
        self._contact_time = None
        self._down = torch.tensor([0.0, 0.0, -1.0], device=dev).expand(n, 3)
        self._reset_pos = torch.zeros(n, len(spec.joint_names), device=dev)
        self._reset_vel = torch.zeros_like(self._reset_pos)
        self._resetting = False
        self._histories: dict[str, ObservationHistory] = {}
        self._restart_history = torch.zeros(n, dtype=torch.bool, device=dev)  # envs whose history starts afresh
        self._reset(torch.ones(n, dtype=torch.bool, device=dev))
        for i, term in enumerate(self._interval_events):
            self._sample_event_timer(i, term, torch.ones(n, dtype=torch.bool, device=dev))
        check_terms(self)  # every term once, before the env's own use of them: errors name the spec key
        self._obs = self._compute_observations()
        self._graph = None
        self._pose_watch: PoseWatch | None = None
        self._use_graph = cuda_graph and self.device.type == "cuda" and backend.supports_cuda_graph
        self._eager_steps = 0

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

    def physics_property(self, name: str) -> torch.Tensor:
        """A copy of physics property ``name`` of every env (``backend.base.Backend.get_property``)."""
        return self.backend.get_property(name)

    def set_physics_property(
        self, name: str, env_mask: torch.Tensor, values: torch.Tensor, bounds: tuple | None = None
    ) -> None:
        """Write physics property ``name`` where ``env_mask`` is True and record what was applied (see
        :attr:`applied_randomization`). Only while the env is built (``mode = "startup"`` events).

        ``bounds``: (low, high), each shaped like ``values``: what the draw gives at the two ends of its range;
        with them the draw is observable as ``randomized_params``."""
        if not self._starting:
            raise RuntimeError(
                f"physics property '{name}' can only be randomised when the env is built: give the event "
                'mode = "startup"'
            )
        before = self.backend.get_property(name)
        self.backend.set_property(name, env_mask, values)
        after = self.backend.get_property(name)
        labels = {"body": self.body_names, "dof": self.spec.joint_names}.get(name.split("_", 1)[0])
        self.applied_randomization[name] = applied_randomization.summarize(before, after, env_mask, labels)
        if bounds is not None:
            self._randomized.add(self._startup_event, name, after, *bounds, labels)

    def add_root_velocity(self, env_mask: torch.Tensor, delta: torch.Tensor) -> None:
        """Add ``delta`` (N, 6) to the root velocity of the envs where ``env_mask`` is True."""
        self.backend.add_root_velocity(env_mask, delta)

    # -- VecEnv ---------------------------------------------------------------------------------------------------
    def get_observations(self) -> TensorDict:
        """The current observation groups, each (N, dim)."""
        return self._obs

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Apply actions (N, A); return observations, rewards (N,), dones (N,) and extras (``time_outs``, ``log``).

        On CUDA the whole step (terms, resets and physics) is captured once as a CUDA graph after a few eager
        warm-up steps, then replayed: the returned tensors are then the graph's static buffers, overwritten by
        the next step (rsl-rl copies what it keeps).
        """
        self._stats.count_step()
        if not self._use_graph or self._graph is None and self._eager_steps < 3:
            self._eager_steps += 1
            result = self._step(actions)
        else:
            if self._graph is None:
                self._capture(actions)
            self._static_actions.copy_(actions)
            self._graph.replay()
            # fresh tensors: rsl-rl keeps the observation it acted on until after the next step
            obs, rewards, dones, extras = self._static_out
            self._obs = obs.clone()
            result = self._obs, rewards.clone(), dones.clone(), {"time_outs": extras["time_outs"].clone(), "log": {}}
        if self._pose_watch is not None:
            self._pose_watch.record()
        return result

    def watch_poses(self, num_envs: int, capacity: int) -> PoseWatch:
        """From now on keep the body poses of the first ``num_envs`` envs at every step (on the device, no sync);
        read them with the returned watch's :meth:`~.pose_watch.PoseWatch.pop`. A live 3D view uses this."""
        self._pose_watch = PoseWatch(self.backend.body_poses, self.backend.env_origins, num_envs, capacity)
        return self._pose_watch

    def _capture(self, actions: torch.Tensor) -> None:
        startup_timer.mark("eager steps")
        self._static_actions = actions.clone()
        self._graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize(self.device)
        # An env of an earlier run (a panel trains many in one process) may wait in a reference cycle for the garbage
        # collector; freeing its CUDA graph during this capture would break the capture. Collect now, and not during.
        gc.collect()
        gc.disable()
        try:
            with torch.cuda.graph(self._graph, capture_error_mode="thread_local"), self.backend.graph_capture():
                self._static_out = self._step(self._static_actions)
        finally:
            gc.enable()
        startup_timer.mark("env graph")

    def _step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        self.prev_actions.copy_(self.actions)
        clip = self.spec.actions.clip
        self.actions.copy_(actions if clip is None else torch.clamp(actions, -clip, clip))
        self._apply_actions()
        self.backend.step()
        failure = self.backend.shared_world_failure()
        if failure is not None:
            raise PhysicsError(
                f"{failure}: on the CPU every env shares one MuJoCo world, so one blow-up resets them all; "
                f"lower env.physics_dt ({self.spec.env.physics_dt:g} s) or actions.scale ({self.spec.actions.scale:g}),"
                " check the drive gains, or train with --device cuda (one world per env)"
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
            self._stats.add_metrics(torch.stack([self._call(t).float() for t in self.metric_terms], 1))
        dones = self.terminated | self.time_outs
        self._stats.end_episodes(dones, self.episode_length_buf)
        if self._health is not None:
            self.backend.clear_solver_state(self.unstable)
        self._reset(dones)
        self._run_interval_events()
        self.commands.advance(self, self.step_dt)
        self._obs = self._compute_observations()
        extras = {"time_outs": self.time_outs.clone(), "log": {}}
        return self._obs, rewards, dones.long(), extras

    def reset(self) -> TensorDict:
        """Reset every env; return the observations."""
        self._reset(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        self._obs = self._compute_observations()
        return self._obs

    # -- internals ------------------------------------------------------------------------------------------------
    def _joint_ids(self, names: list[str]) -> slice | torch.Tensor:
        """Columns of the named joints: a slice when they are consecutive (a view, no gather kernel)."""
        ids = [self.spec.joint_names.index(n) for n in names]
        if ids == list(range(ids[0], ids[0] + len(ids))):
            return slice(ids[0], ids[0] + len(ids))
        return torch.tensor(ids, dtype=torch.long, device=self.device)

    def _resolve_params(self, term: TermSpec) -> dict:
        params = dict(term.params)
        if "joints" in params:
            params["joints"] = self._joint_ids(params["joints"])
        if "body" in params:
            params["body"] = self.body_names.index(params["body"])
        if "bodies" in params:
            params["bodies"] = torch.tensor(
                [self.body_names.index(b) for b in params["bodies"]], dtype=torch.long, device=self.device
            )
        return params

    def _call(self, term: TermSpec, *args) -> torch.Tensor:
        return term.func(self, *args, **self._params[id(term)])

    def _apply_actions(self) -> None:
        actions = self.actions
        if self._action_history is not None:  # the physics gets each env's action of `delay` steps ago
            self._action_history.copy_(torch.roll(self._action_history, 1, dims=0))
            self._action_history[0] = actions
            actions = self._action_history[self._action_delay, self._env_ids]
        command = actions * self.spec.actions.scale
        ids = self._action_joints
        if self.spec.actions.type == "joint_effort":
            self.dof_effort[:, ids] = torch.clamp(command, -self._effort_limits, self._effort_limits)
            self.backend.set_dof_efforts(self.dof_effort)
        else:
            self._targets[:, ids] = self.default_dof_pos[:, ids] + command
            self.backend.set_dof_position_targets(self._targets)
            # what the solver's PD will apply at this state: the joint efforts that torque penalties read
            effort = self._stiffness * (self._targets - self.dof_pos) - self._damping * self.dof_vel
            self.dof_effort.copy_(torch.clamp(effort, -self._all_effort_limits, self._all_effort_limits))

    def _compute_terminations(self) -> None:
        """One stacked reduction per kind, few kernels (the step is launch-bound on the GPU)."""
        ended = [self._call(t) for t in self._termination_terms]
        timed = [self._call(t) for t in self._time_out_terms] or [self.episode_length_buf >= self.max_episode_length]
        terminated = torch.stack(ended).any(dim=0) if ended else torch.zeros_like(self.terminated)
        if self._health is not None:
            terminated = terminated | self.unstable
        self.terminated.copy_(terminated)
        self.time_outs.copy_(torch.stack(timed).any(dim=0) & ~terminated)

    def _compute_rewards(self) -> torch.Tensor:
        """Weighted terms (N, T), each times the step duration, nothing for an unstable env; returns their sum (N,)."""
        values = torch.stack([self._call(t) for t in self.reward_terms], dim=1) * self._reward_scales
        if self._health is not None:
            values = values.masked_fill(self.unstable.unsqueeze(1), 0.0)
        rewards = values.sum(dim=1)
        self._stats.add_step(rewards, values, self.unstable, self.root_lin_vel_w[:, 0])
        return rewards

    def set_reward_weight(self, name: str, weight: float) -> None:
        """Change the weight of reward term ``name`` from the next step on (0 switches it off); the step, CUDA graph
        included, reads the weights from a device tensor, so nothing is rebuilt."""
        index = next((i for i, term in enumerate(self.reward_terms) if term.name == name), None)
        if index is None:
            raise KeyError(f"no reward term '{name}'; terms: {', '.join(t.name for t in self.reward_terms)}")
        self._reward_scales[index] = float(weight) * self.step_dt

    def spread_episode_starts(self) -> None:
        """Set every env's episode length counter at random in [0, max_episode_length), as rsl-rl's
        ``init_at_random_ep_len`` does, so episodes end (and are reported) every iteration rather than all at once;
        the episodes running now are left out of the statistics."""
        self.episode_length_buf.random_(0, int(self.max_episode_length))
        self._stats.mark_partial()

    @property
    def metric_names(self) -> list[str]:
        """The spec's metrics (``[metrics.<name>]``), K of them, in the column order of :attr:`episode_metrics`."""
        return [t.name for t in self.metric_terms]

    @property
    def episode_metrics(self) -> torch.Tensor:
        """Each env's metrics for the episode that ended at the last step, shape (N, K); valid where that step's
        ``dones`` is set (each metric reduced as its ``reduce`` says)."""
        return self._stats.ended_metrics

    def pop_episode_stats(self) -> dict[str, float]:
        """Statistics of the episodes that ended since the last call (one device sync); see
        :meth:`.episode_stats.EpisodeStats.pop` for the keys."""
        return self._stats.pop()

    def _reset(self, mask: torch.Tensor) -> None:
        self._reset_pos.copy_(self.default_dof_pos)
        self._reset_vel.zero_()
        self._resetting = True
        for term in self._reset_events:
            self._call(term, mask)
        self._resetting = False
        self.backend.reset(mask, self._reset_pos, self._reset_vel)
        self._derived.clear()
        self.commands.draw(self, mask)
        if self._contact_time is not None:
            self._contact_time.reset(mask)
        self._restart_history |= mask
        keep = (~mask).unsqueeze(1).float()
        self.episode_length_buf.masked_fill_(mask, 0)
        self.actions.mul_(keep)
        self.prev_actions.mul_(keep)
        if self._action_history is not None:
            self._action_history.mul_(keep)
            low, high = self.spec.actions.delay_steps
            delay = torch.randint(low, high + 1, (self.num_envs,), device=self.device)
            self._action_delay.copy_(torch.where(mask, delay, self._action_delay))
        self._stats.clear(mask)

    def _sample_event_timer(self, i: int, term: TermSpec, mask: torch.Tensor) -> None:
        low, high = term.interval_s
        fresh = torch.rand(self.num_envs, device=self.device) * (high - low) + low
        self._event_timers[:, i] = torch.where(mask, fresh, self._event_timers[:, i])

    def _run_interval_events(self) -> None:
        for i, term in enumerate(self._interval_events):
            self._event_timers[:, i] -= self.step_dt
            due = self._event_timers[:, i] <= 0.0
            self._call(term, due)
            self._sample_event_timer(i, term, due)

    def _observe(self, term: TermSpec) -> torch.Tensor:
        value = self._call(term).reshape(self.num_envs, -1)
        if term.noise is None:
            return value
        low, high = term.noise
        return value + torch.rand_like(value) * (high - low) + low

    def _compute_observations(self) -> TensorDict:
        """Each group's terms concatenated; a group with ``history_length`` H > 1 gives each term's last H values
        (:class:`~.observation_history.ObservationHistory`), restarted for the envs reset since the last call."""
        groups = {}
        for name, terms in self.spec.observations.items():
            values = [self._observe(t) for t in terms]
            frame = torch.cat(values, dim=1)
            history_length = self.spec.observation_history.get(name, 1)
            if history_length > 1 and name not in self._histories:
                sizes = [v.shape[1] for v in values]
                self._histories[name] = ObservationHistory(history_length, sizes, self.num_envs, self.device)
            groups[name] = self._histories[name].push(frame, self._restart_history) if history_length > 1 else frame
        self._restart_history.zero_()
        return TensorDict(groups, batch_size=[self.num_envs], device=self.device)
