"""The simulator as a robot: a :class:`~..deploy.driver.RobotDriver` over one env of the task, in the robot's motor
order, so that the robot runtime (:mod:`..deploy.runtime`) drives the simulation exactly as it drives hardware.

Each :meth:`SimDriver.write_command` applies the command as the robot's motors would (the env's
:meth:`~..envs.workbench_env.WorkbenchEnv.set_motor_command`, :mod:`..envs.motor_command`) and advances the
simulation by one control period (``decimation`` physics steps); :meth:`SimDriver.read_state` reads what the robot's
sensors give:

- ``joint_position`` tasks: ``q`` are the solver's position targets, ``kp``, ``kd`` its PD gains (written only when
  they change, e.g. when the safety layer's stop latches), ``tau + kd * dq`` a joint effort. With the trained gains,
  no feed-forward and no latency, a step is the training env's step for the action ``(q - offset) / scale``: the
  runtime then reproduces ``play`` (tests/sim2real prove it to 1e-4 rad).
- ``joint_effort`` tasks: the effort ``tau + kp (q - pos) + kd (dq - vel)``, computed at the start of the period
  and held over its physics steps; with ``kp = kd = 0`` (the runtime's running command) it is the trained
  ``scale * action``.

Start-up randomisation of the gains (``randomize_actuator_gains``) acts as the motors' error: the commanded gains
are multiplied by what it drew relative to the trained gains. Joints with an explicit actuator model
(``[actuators]`` ``model = "pd"`` or ``"dc_motor"``) keep their model's gains; only their targets follow ``q``.

The env never resets itself: terminations and time-outs are removed (a fall stays a fall), action delays of the spec
are off (latency is ``action_latency_steps``), and commands are never redrawn (:meth:`SimDriver.set_command` fixes
them). Shapes: M motors (``motor_names``), D joints in the policy's order (``spec.joint_names``), M = D.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..deploy.driver import JointCommand, RobotState
from ..deploy_manifest import actor_groups, trained_gains
from ..envs.motor_command import MotorCommand
from ..specs.loader import load_spec, spec_from_table
from ..specs.overrides import apply_overrides
from ..specs.schema import TaskSpec
from ..tool_env import tool_env

NEVER_S = 1.0e9
"""[s] the episode length the simulated robot runs with: it never times out."""
STATE_NOISE_KEYS = ("joint_pos", "joint_vel", "ang_vel")
"""What ``state_noise`` may perturb: joint positions [rad], joint velocities [rad/s], the gyroscope [rad/s]."""


def robot_spec(task: str | Path | TaskSpec, overrides: dict | None = None) -> TaskSpec:
    """``task`` (a name, a spec file or a loaded spec, plus ``overrides``) as the simulated robot runs it: one env,
    no terminations and no time-out, no action delay, commands never redrawn and without heading steering; only
    the observation groups the deployed policy reads (a critic's or a teacher's privileged terms may need what a
    fixed world no longer draws)."""
    spec = task if isinstance(task, TaskSpec) else load_spec(task, overrides)
    raw = copy.deepcopy(spec.raw)
    if isinstance(task, TaskSpec) and overrides:
        apply_overrides(raw, overrides)
    groups = actor_groups(spec)
    raw["observations"] = {group: raw["observations"][group] for group in groups}
    raw["ppo"] = {"obs_groups": {"actor": groups, "critic": groups}}
    raw["env"]["num_envs"] = 1
    raw["env"]["episode_seconds"] = NEVER_S
    raw["terminations"] = {}
    raw.setdefault("actions", {})["delay_steps"] = [0, 0]
    for table in raw.get("commands", {}).values():
        table["resample_s"] = [math.inf, math.inf]
        table.get("ranges", {}).pop("heading", None)
    return spec_from_table(raw, spec.source)


class SimDriver:
    """One simulated robot of a task, driven like the real one.

    Args:
        task: a task name, spec file or loaded :class:`TaskSpec` (a run folder's ``spec.toml`` works too).
        overrides: dotted spec keys to set first (``{"events": {}}`` turns domain randomisation off).
        device: where the simulation runs ("cpu" or "cuda[:i]").
        seed: torch's seed before the env is built (start-up randomisation, reset events, the first command
            draw) and the state noise's seed; default the spec's ``seed``, as a run of the spec seeds its env.
        motor_order: the robot's joint names in motor order; default the spec's ``[deploy] motor_order``, else the
            policy's joint order.
        obs_latency_steps: each reading is this many control periods old.
        action_latency_steps: each command reaches the motors this many control periods after it was written (until
            then the first command acts).
        state_noise: half-widths of uniform noise on the readings: ``joint_pos`` [rad], ``joint_vel`` [rad/s],
            ``ang_vel`` [rad/s] (the gyroscope).

    Attributes:
        motor_names: (M,) the joints in motor order.
        spec: the spec as simulated (see :func:`robot_spec`).
        env: the env (one robot); ``env.spec.joint_names`` is the policy's joint order.
        control_dt: [s] one control period (``physics_dt * decimation``).
        steps: control periods simulated so far.
    """

    def __init__(
        self,
        task: str | Path | TaskSpec,
        overrides: dict | None = None,
        device: str = "cpu",
        seed: int | None = None,
        motor_order: list[str] | None = None,
        obs_latency_steps: int = 0,
        action_latency_steps: int = 0,
        state_noise: dict[str, float] | None = None,
    ):
        self.spec = robot_spec(task, overrides)
        seed = self.spec.seed if seed is None else seed
        names = list(self.spec.joint_names)
        self.motor_names = list(motor_order or self.spec.deploy.motor_order or names)
        if sorted(self.motor_names) != sorted(names):
            raise ValueError(f"motor_order {self.motor_names} must name each joint of the task once: {names}")
        noise = dict(state_noise or {})
        unknown = sorted(set(noise) - set(STATE_NOISE_KEYS))
        if unknown:
            raise ValueError(f"state_noise: unknown key(s) {unknown}; expected some of {', '.join(STATE_NOISE_KEYS)}")
        if min(obs_latency_steps, action_latency_steps) < 0:
            raise ValueError(f"latencies are >= 0 control periods, got {obs_latency_steps} and {action_latency_steps}")
        self._noise = noise
        self._rng = np.random.default_rng(seed)
        self.env = tool_env(self.spec, 1, device, seed)
        self._gain_error = self._motor_gain_error() if self.spec.actions.type == "joint_position" else None
        self._joint_of_motor = np.array([names.index(m) for m in self.motor_names])
        self._motor_of_joint = np.array([self.motor_names.index(n) for n in names])
        self.control_dt = self.spec.env.step_dt
        self.steps = 0
        self._fresh = True
        self._readings: deque[RobotState] = deque([self._measure()], maxlen=obs_latency_steps + 1)
        self._commands: deque[dict[str, torch.Tensor]] = deque(maxlen=action_latency_steps + 1)
        self._action_ids = torch.tensor([names.index(j) for j in self.spec.actions.joints])
        self._offset = self.env.default_dof_pos[0, self._action_ids].clone()
        self._metric_sums = torch.zeros(len(self.env.metric_names), dtype=torch.float64)
        self._metric_last = torch.zeros_like(self._metric_sums)
        self._min_root_height = math.inf

    # -- RobotDriver ----------------------------------------------------------------------------------------------
    def read_state(self) -> RobotState:
        """The latest reading (``obs_latency_steps`` periods old), in motor order; ``fresh`` is True for the first
        read after each :meth:`write_command` (and the first read of all)."""
        self._check_open()
        fresh, self._fresh = self._fresh, False
        return replace(self._readings[0], fresh=fresh)

    def write_command(self, command: JointCommand) -> None:
        """Apply ``command`` (motor order), its gains and torque times the spec's ``deploy.motor_strength`` (what its
        motors deliver), and advance the simulation by one control period."""
        self._check_open()
        env, m = self.env, len(self.motor_names)
        arrays = {}
        for key in ("q", "dq", "kp", "kd", "tau"):
            value = np.asarray(getattr(command, key), dtype=np.float64)
            if value.shape != (m,):
                raise ValueError(f"JointCommand.{key} has shape {value.shape}, expected ({m},) for {self.motor_names}")
            arrays[key] = torch.tensor(value[self._motor_of_joint], dtype=torch.float32, device=env.device)[None]
        for key in ("kp", "kd", "tau"):  # what the spec's motors deliver of it
            arrays[key] = arrays[key] * self.spec.deploy.motor_strength
        self._commands.append(arrays)
        acting = self._commands[0]
        kp, kd = acting["kp"], acting["kd"]
        if self._gain_error is not None:  # the motors' error: what start-up randomisation drew for the gains
            kp, kd = kp * self._gain_error[0], kd * self._gain_error[1]
        env.set_motor_command(MotorCommand(q=acting["q"], dq=acting["dq"], kp=kp, kd=kd, tau=acting["tau"]))
        env.step(self._equivalent_action(acting))
        self.steps += 1
        values = env.metric_values()[0].cpu().double()
        self._metric_sums += values
        self._metric_last = values
        if env.floating_base:
            self._min_root_height = min(self._min_root_height, float(env.root_pos_w[0, 2]))
        self._readings.append(self._measure())
        self._fresh = True

    def close(self) -> None:
        """Release the simulation (idempotent)."""
        self.env = None

    def __enter__(self) -> SimDriver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the simulated world --------------------------------------------------------------------------------------
    def set_command(self, name: str, values) -> None:
        """Fix the env's command ``name`` (the task's ``[commands.<name>]``) to ``values`` (3,), e.g. base_velocity
        (vx [m/s], vy [m/s], yaw rate [rad/s]); rewards and metrics compare the robot with it from now on."""
        self._check_open()
        commands = self.env.commands.values
        if name not in commands:
            raise KeyError(f"the task has no command '{name}'; commands: {', '.join(commands) or 'none'}")
        commands[name][:] = torch.as_tensor(np.asarray(values, dtype=np.float32), device=self.env.device)

    def metrics(self) -> dict[str, float]:
        """What was measured since the start: ``steps``, ``seconds``, ``metric/<name>`` for each of the spec's
        ``[metrics]`` (its mean over the steps for ``reduce = "mean"``, its last value for ``"final"``), and for a
        floating base ``min_root_height`` [m] (a fall shows as a low base)."""
        out: dict[str, float] = {"steps": self.steps, "seconds": self.steps * self.control_dt}
        terms = self.spec.metrics.values() if self.env is not None else []
        for i, term in enumerate(terms):
            value = self._metric_sums[i] / max(1, self.steps) if term.reduce == "mean" else self._metric_last[i]
            out[f"metric/{term.name}"] = float(value)
        if math.isfinite(self._min_root_height):
            out["min_root_height"] = self._min_root_height
        return out

    # -- internals ------------------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.env is None:
            raise RuntimeError("this SimDriver is closed")

    def _motor_gain_error(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(D,) each of the solver's PD gains after start-up randomisation over the trained gain (1 where the trained
        gain is 0): stiffness, then damping."""
        env = self.env
        stiffness, damping = (torch.tensor(g, device=env.device) for g in trained_gains(self.spec))
        kp_error = torch.where(stiffness > 0, env.physics_property("dof_stiffness") / stiffness.clamp(min=1e-12), 1.0)
        kd_error = torch.where(damping > 0, env.physics_property("dof_damping") / damping.clamp(min=1e-12), 1.0)
        return kp_error, kd_error

    def _equivalent_action(self, command: dict[str, torch.Tensor]) -> torch.Tensor:
        """The action (1, A) the command stands for (what rewards on actions read): ``(q - offset) / scale`` for
        position targets, ``tau / scale`` for efforts."""
        scale = torch.tensor(self.spec.actions.joint_scales(), device=self.env.device)
        if self.spec.actions.type == "joint_position":
            return (command["q"][:, self._action_ids] - self._offset) / scale
        return command["tau"][:, self._action_ids] / scale

    def _measure(self) -> RobotState:
        """What the robot's sensors read now, in motor order, with ``state_noise``."""
        env = self.env
        order = self._joint_of_motor
        pos = env.dof_pos[0].double().cpu().numpy()[order]
        vel = env.dof_vel[0].double().cpu().numpy()[order]
        effort = env.dof_effort[0].double().cpu().numpy()[order]
        if env.floating_base:
            quat = env.root_quat_w[0].double().cpu().numpy()
            ang_vel = env.root_ang_vel_b[0].double().cpu().numpy()
            lin_vel = env.root_lin_vel_b[0].double().cpu().numpy()
        else:
            quat, ang_vel, lin_vel = np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3), np.zeros(3)
        pos, vel, ang_vel = (
            value + self._rng.uniform(-self._noise[key], self._noise[key], value.shape) if key in self._noise else value
            for key, value in (("joint_pos", pos), ("joint_vel", vel), ("ang_vel", ang_vel))
        )
        return RobotState(
            joint_pos=pos,
            joint_vel=vel,
            base_quat_xyzw=quat,
            base_ang_vel_b=ang_vel,
            base_lin_vel_b=lin_vel,
            joint_effort=effort,
            stamp=self.steps * self.control_dt,
        )
