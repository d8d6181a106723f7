"""System identification: fit the simulator's joint friction, damping, armature, masses, actuator gain and command
latency to joint data recorded on the robot, by replaying the recorded commands in many envs at once, each with its
own parameter values.

One replay: every env starts from the log's first joint state and gets the log's commands open loop, one control
step (``spec.env.step_dt``) at a time, stepping the env's physics alone (no rewards, terminations or resets);
each env's cost is the mean squared joint position error [rad² or m²] plus ``velocity_weight²`` times the
mean squared velocity error. The search is the cross-entropy method in log space: each iteration replays N candidates
drawn from a normal distribution over the log of the parameters and refits it to the best 15 % (the elite).

Parameters (:data:`PARAMETERS`): ``joint_friction``, ``joint_damping`` and ``armature`` take one value per joint
group (each ``--joints`` pattern is a group; default one group of the action joints); ``mass_scale``,
``actuator_gain`` and ``latency`` one value for the robot. ``latency`` [s] delays every recorded command: the
replay applies, at time t, the command recorded at t - latency, linearly interpolated between the two control steps
around it (a whole number of steps reproduces a bus that is that many periods late exactly).
Shapes: N envs, T control steps, D joints (the spec's), P parameters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..specs.loader import TaskSpec
from ..tool_env import tool_env
from .robot_data import JointLog, command_median, joints_matching, task_log
from .sysid_search import CrossEntropySearch

PARAMETERS = {
    "joint_friction": "friction loss of the group's joints [N·m or N]",
    "joint_damping": "passive viscous damping of the group's joints [N·m·s/rad or N·s/m]",
    "armature": "reflected rotor inertia added to the group's joints [kg·m² or kg]",
    "mass_scale": "factor on every body's mass and inertia (one value)",
    "actuator_gain": "factor on what the actuators apply: the effort commands, or the PD gains and feed-forward "
    "(one value)",
    "latency": "time from a command to the motors [s] (one value)",
}
"""The parameters :func:`identify` fits, with their units."""
JOINT_PROPERTY = {"joint_friction": "dof_friction", "joint_damping": "dof_viscous_friction", "armature": "dof_armature"}
"""Per-joint parameter -> the env's physics property it sets."""


class SysidError(ValueError):
    """A fit that cannot run as asked: an unknown parameter, bad bounds, a log without the commands the task needs,
    a simulation that blew up. The message says what was expected."""


@dataclass(frozen=True)
class Parameter:
    """One fitted quantity: a per-joint parameter of one joint group, or a robot-wide factor."""

    name: str
    """A key of :data:`PARAMETERS`."""
    label: str
    """``name[group]`` for a per-joint parameter, ``name`` for a robot-wide one."""
    joints: tuple[str, ...]
    """The joints it sets; empty for a robot-wide factor."""
    columns: tuple[int, ...]
    """Those joints' columns in ``spec.joint_names``."""
    nominal: float
    """The spec's value (mean over the group's joints; 1 for a factor)."""
    low: float
    """Search bounds, > 0 (sampled in log space)."""
    high: float


@dataclass
class SysidSettings:
    """How to fit; see :func:`identify`."""

    params: list[str]
    """Keys of :data:`PARAMETERS` to fit."""
    num_envs: int = 1024
    """Candidates replayed in parallel per iteration, >= 8."""
    iterations: int = 30
    """Cross-entropy iterations (one replay each, plus one final replay)."""
    joint_groups: list[str] | None = None
    """Full-match regular expressions, one per joint group; None: one group of the action joints."""
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Parameter name (every group) or label (one group) -> (low, high), both > 0. Default ``latency`` bounds:
    [1/100, 4] control periods."""
    velocity_weight: float = 0.05
    """Weight of the velocity error against the position error [s]."""
    elite_fraction: float = 0.15
    """Share of each iteration's candidates the distribution is refitted to."""
    seed: int = 0
    fixed_base: bool = False
    """Replay with the root fixed (a robot recorded on a stand)."""


@dataclass
class SysidResult:
    """What a fit found. Trajectories are (T, D) in ``joint_names`` order; RMS errors are of joint positions."""

    parameters: list[Parameter]
    fitted: np.ndarray
    """(P,) the fitted values."""
    spread: np.ndarray
    """(P,) standard deviation of the final elite set."""
    rms_before: float
    """RMS joint position error with the spec's values [rad or m]."""
    rms_after: float
    rms_before_per_joint: np.ndarray
    rms_after_per_joint: np.ndarray
    history: list[dict]
    t: np.ndarray
    joint_names: list[str]
    recorded: np.ndarray
    simulated_nominal: np.ndarray
    simulated_fitted: np.ndarray
    stiffness: np.ndarray
    """(D,) PD stiffness the replay used at gain 1 (the log's where it has them, else the spec's)."""
    damping: np.ndarray
    gains_from_log: bool
    num_envs: int
    iterations: int
    build_seconds: float
    fit_seconds: float

    def value(self, name: str) -> float | None:
        """The fitted value of a robot-wide parameter, or None when it was not fitted."""
        return next((float(v) for p, v in zip(self.parameters, self.fitted, strict=True) if p.label == name), None)

    def to_dict(self) -> dict:
        """Everything as JSON-ready values (sysid.json)."""
        return {
            "parameters": {
                p.label: {
                    "fitted": float(v),
                    "spread": float(s),
                    "nominal": p.nominal,
                    "bounds": [p.low, p.high],
                    "joints": list(p.joints),
                    "meaning": PARAMETERS[p.name],
                }
                for p, v, s in zip(self.parameters, self.fitted, self.spread, strict=True)
            },
            "rms_joint_pos_error": {"before": self.rms_before, "after": self.rms_after},
            "rms_joint_pos_error_per_joint": {
                name: {"before": float(b), "after": float(a)}
                for name, b, a in zip(
                    self.joint_names, self.rms_before_per_joint, self.rms_after_per_joint, strict=True
                )
            },
            "history": self.history,
            "num_envs": self.num_envs,
            "iterations": self.iterations,
            "control_steps": len(self.t),
            "duration_s": float(self.t[-1]),
            "build_seconds": self.build_seconds,
            "fit_seconds": self.fit_seconds,
        }


class LogReplay:
    """The spec's robot in ``num_envs`` envs replaying ``log`` open loop, each env with its own parameter values.

    Args:
        spec: the task spec; its env count is replaced by ``num_envs``.
        log: the log on the spec's control grid, columns in ``spec.joint_names`` order (``robot_data.task_log``).
        num_envs: N.
        device: "cpu" or "cuda[:i]".
        velocity_weight: [s], see :func:`identify`.
    """

    def __init__(self, spec: TaskSpec, log: JointLog, num_envs: int, device: str, velocity_weight: float):
        self.num_envs, self.velocity_weight, self.steps = num_envs, velocity_weight, len(log.t)
        self.step_dt = spec.env.step_dt
        self.env = tool_env(spec, num_envs, device, physics_only=True)
        self.device = self.env.device
        self.position_control = spec.actions.type == "joint_position"
        props = ["dof_friction", "dof_viscous_friction", "dof_armature", "body_mass", "dof_stiffness", "dof_damping"]
        self.nominal = {name: self.env.physics_property(name) for name in props}
        self.gains_from_log = self.position_control and "cmd_kp" in log.commands
        self.stiffness = command_median(log, "cmd_kp" if self.gains_from_log else "", self._row("dof_stiffness"))
        self.damping = command_median(log, "cmd_kd" if self.gains_from_log else "", self._row("dof_damping"))
        explicit = [
            spec.joint_names.index(j) for g in spec.actuators.values() if g.model != "implicit" for j in g.joints
        ]
        self.stiffness[explicit], self.damping[explicit] = 0.0, 0.0  # their PD is not the solver's: left as built
        held = {key: np.nan_to_num(value) for key, value in log.commands.items()}
        zero = np.zeros_like(log.joint_pos)
        efforts = held.get("cmd_tau", zero)
        targets = zero
        if self.position_control:
            efforts = efforts + self.damping * held.get("cmd_dq", zero)  # the PD's target velocity, as an effort
            default = self.env.default_dof_pos[0].cpu().numpy()
            targets = np.where(np.isnan(log.commands["cmd_q"]), default, log.commands["cmd_q"])
        tensor = lambda array: torch.as_tensor(array, dtype=torch.float32, device=self.device)  # noqa: E731
        self.pos, self.vel, self.targets, self.efforts = map(tensor, (log.joint_pos, log.joint_vel, targets, efforts))
        self.effort_limits = tensor(np.asarray(spec.effort_limits))
        self.speed_limit = 10.0 * float(np.nanmax(np.abs(log.joint_vel))) + 10.0
        self._reset()
        self.joint_inertia = self.env.joint_inertias()[0].cpu().numpy()
        self.torque_scale = self._torque_scale(log)

    def _row(self, prop: str) -> np.ndarray:
        return self.nominal[prop][0].cpu().numpy().astype(np.float64)

    def _torque_scale(self, log: JointLog) -> np.ndarray:
        """(D,) the torque that moves each joint as recorded [N·m or N]: the 95th percentile of the commanded
        effort (or PD effort) plus the joint's inertia times its acceleration."""
        applied = self.efforts.cpu().numpy()
        if self.position_control:
            applied = (
                applied + self.stiffness * (self.targets.cpu().numpy() - log.joint_pos) - self.damping * log.joint_vel
            )
        accel = np.gradient(log.joint_vel, log.t, axis=0)
        return np.percentile(np.abs(applied), 95, axis=0) + self.joint_inertia * np.percentile(
            np.abs(accel), 95, axis=0
        )

    def _reset(self) -> None:
        everywhere = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        self.env.reset_physics(everywhere, self.pos[0].expand(self.num_envs, -1), self.vel[0].expand(self.num_envs, -1))

    def _apply(self, parameters: list[Parameter], values: torch.Tensor) -> torch.Tensor:
        """Write each env's values (N, P) into the physics (NaN: the spec's); returns the effort factor (N, 1)."""
        everywhere = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        factor = {"mass_scale": torch.ones(self.num_envs, 1, device=self.device)}
        factor["actuator_gain"] = factor["mass_scale"].clone()
        latency = torch.zeros(self.num_envs, 1, device=self.device)
        tables = {JOINT_PROPERTY[p.name]: None for p in parameters if p.name in JOINT_PROPERTY}
        for prop in tables:
            tables[prop] = self.nominal[prop].clone()
        for i, p in enumerate(parameters):
            column = values[:, i : i + 1]
            if p.name in JOINT_PROPERTY:
                table, cols = tables[JOINT_PROPERTY[p.name]], list(p.columns)
                table[:, cols] = torch.where(torch.isnan(column), table[:, cols], column)
            elif p.name == "latency":
                latency = torch.where(torch.isnan(column), 0.0, column)
            else:
                factor[p.name] = torch.where(torch.isnan(column), 1.0, column)
        for prop, table in tables.items():
            self.env.write_physics_property(prop, everywhere, table)
        if any(p.name == "mass_scale" for p in parameters):
            self.env.write_physics_property("body_mass", everywhere, self.nominal["body_mass"] * factor["mass_scale"])
        if self.position_control and (self.gains_from_log or any(p.name == "actuator_gain" for p in parameters)):
            gain = factor["actuator_gain"]
            for prop, nominal in (("dof_stiffness", self.stiffness), ("dof_damping", self.damping)):
                self.env.write_physics_property(prop, everywhere, torch.as_tensor(nominal, device=self.device) * gain)
        return factor["actuator_gain"], latency / self.step_dt

    def run(self, parameters: list[Parameter], values: torch.Tensor, keep_rows: tuple[int, ...] = ()):
        """Replay with each env's parameter values (N, P), NaN for the spec's own. Returns the cost (N,) (inf where
        the simulation blew up), the RMS position error (N,) and per joint (N, D), and the simulated positions
        (len(keep_rows), T, D) of the envs ``keep_rows``."""
        gain, delay = self._apply(parameters, values.to(self.device, torch.float32))
        late = delay.floor()
        late_index, weight = late.long().squeeze(1), delay - late  # (N,) whole control periods, (N, 1) fraction
        self._reset()
        n, env = self.num_envs, self.env
        squared_pos = torch.zeros(n, self.pos.shape[1], device=self.device)
        squared_vel = torch.zeros_like(squared_pos)
        failed = torch.zeros(n, 1, dtype=torch.bool, device=self.device)
        kept = torch.zeros(len(keep_rows), self.steps, self.pos.shape[1], device=self.device)
        kept[:, 0] = self.pos[0]
        for k in range(self.steps - 1):
            efforts = torch.where(failed, 0.0, gain * self._delayed(self.efforts, k, late_index, weight))
            if self.position_control:
                targets = self._delayed(self.targets, k, late_index, weight)
                env.set_joint_position_targets(torch.where(failed, self.pos[k], targets))
                env.set_joint_efforts(efforts)
            else:
                env.set_joint_efforts(torch.clamp(efforts, -self.effort_limits, self.effort_limits))
            env.step_physics()
            q, qd = env.dof_pos, env.dof_vel
            bad = ~(torch.isfinite(q).all(1, keepdim=True) & (qd.abs() <= self.speed_limit).all(1, keepdim=True))
            failed |= bad
            if bool(bad.any()):  # put them back on the record, so that they cannot upset the shared world
                env.write_dof_state(bad.squeeze(1), self.pos[k + 1].expand(n, -1), self.vel[k + 1].expand(n, -1))
                q, qd = env.dof_pos, env.dof_vel
            squared_pos += torch.where(failed, 0.0, (q - self.pos[k + 1]) ** 2)
            squared_vel += torch.where(failed, 0.0, (qd - self.vel[k + 1]) ** 2)
            kept[:, k + 1] = q[list(keep_rows)]
        failure = env.physics_failure()
        if failure is not None:
            raise SysidError(
                f"{failure} during the replay: narrow the parameter bounds (--bounds) or use --device cuda"
            )
        mean_pos = squared_pos / self.steps
        cost = mean_pos.mean(1) + self.velocity_weight**2 * (squared_vel / self.steps).mean(1)
        cost = torch.where(failed.squeeze(1), math.inf, cost)
        return cost, mean_pos.mean(1).sqrt(), mean_pos.sqrt(), kept

    @staticmethod
    def _delayed(series: torch.Tensor, k: int, late: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """(N, D): the commands ``series`` (T, D) as they reach the motors at step ``k`` in each env, ``late`` (N,)
        whole steps plus ``weight`` (N, 1) of a step after they were recorded (the first command before the log)."""
        newer = series[(k - late).clamp(min=0)]
        older = series[(k - late - 1).clamp(min=0)]
        return newer + weight * (older - newer)


def joint_groups(settings: SysidSettings, spec: TaskSpec) -> list[tuple[str, list[str]]]:
    """(label, joints) of each joint group; checks every name in ``settings`` before anything is built.

    Raises:
        SysidError: an unknown parameter or bound name, bounds not 0 < low < high, a joint in two groups.
        RobotDataError: a ``--joints`` pattern that matches no joint.
    """
    unknown = [name for name in settings.params if name not in PARAMETERS]
    if unknown or not settings.params:
        raise SysidError(f"unknown parameter(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(PARAMETERS)}")
    if settings.joint_groups:
        groups = list(zip(settings.joint_groups, joints_matching(settings.joint_groups, spec.joint_names), strict=True))
    else:
        groups = [(spec.actions.joints[0] if len(spec.actions.joints) == 1 else "actions", spec.actions.joints)]
    owner: dict[str, str] = {}
    for label, joints in groups:
        for joint in joints:
            if owner.setdefault(joint, label) != label:
                raise SysidError(f"joint '{joint}' is in two --joints groups: '{owner[joint]}' and '{label}'")
    labels = {name for name in settings.params} | {
        f"{name}[{label}]" for name in settings.params if name in JOINT_PROPERTY for label, _ in groups
    }
    for key, (low, high) in settings.bounds.items():
        if key not in labels:
            raise SysidError(f"--bounds {key}: not a fitted parameter; fitted: {', '.join(sorted(labels))}")
        if not 0 < low < high:
            raise SysidError(f"--bounds {key}={low}:{high}: expected 0 < low < high (sampled in log space)")
    return groups


def define_parameters(settings: SysidSettings, spec: TaskSpec, replay: LogReplay) -> list[Parameter]:
    """The fitted quantities with their bounds: the ``--bounds`` given, else around the spec's value (a factor:
    [0.5, 2]; a value v > 0: [v/4, 4 v]; zero: from 1/1000 of a scale the log sets up to it: half the torque
    that moves the joint for friction, that torque over the joint's speed for damping, twice the joint's inertia
    for armature; latency: [1/100, 4] control periods)."""
    out = []
    for name in dict.fromkeys(settings.params):
        if name == "latency":
            period = spec.env.step_dt
            out.append(Parameter(name, name, (), (), 0.0, *settings.bounds.get(name, (period / 100, 4 * period))))
            continue
        if name not in JOINT_PROPERTY:
            out.append(Parameter(name, name, (), (), 1.0, *settings.bounds.get(name, (0.5, 2.0))))
            continue
        for label, joints in joint_groups(settings, spec):
            cols = [spec.joint_names.index(j) for j in joints]
            nominal = float(replay.nominal[JOINT_PROPERTY[name]][0, cols].mean())
            torque = max(float(replay.torque_scale[cols].max()), 1e-6)
            speed = max(float(np.percentile(np.abs(replay.vel[:, cols].cpu().numpy()), 95)), 1e-3)
            inertia = float(replay.joint_inertia[cols].mean())
            scale = {"joint_friction": 0.5 * torque, "joint_damping": torque / speed, "armature": 2.0 * inertia}[name]
            low, high = (nominal / 4, 4 * nominal) if nominal > 0 else (scale * 1e-3, scale)
            low, high = settings.bounds.get(f"{name}[{label}]", settings.bounds.get(name, (low, high)))
            out.append(Parameter(name, f"{name}[{label}]", tuple(joints), tuple(cols), nominal, low, high))
    return out


def identify(
    spec: TaskSpec,
    log: JointLog,
    settings: SysidSettings,
    device: str = "cpu",
    progress: Callable[[str], None] = lambda line: None,
) -> SysidResult:
    """Fit ``settings.params`` to ``log`` (as read, on any clock); see the module docstring. Each iteration replays
    the mean (row 0), the spec's values (row 1, first iteration) or the best candidate so far (row 1, later) and
    N - 2 candidates. The result is the better of the final mean and the best candidate.

    Raises:
        RobotDataError: joints missing, too few samples, no commands of the kind the task's actions are.
        SysidError: see :func:`define_parameters`; fewer than 8 envs; a simulation that blew up.
    """
    if settings.num_envs < 8:
        raise SysidError(f"--num-envs {settings.num_envs}: at least 8 candidates are needed per iteration")
    if settings.fixed_base:
        spec = replace(spec, robot=replace(spec.robot, base="fixed"))
    joint_groups(settings, spec)
    position_control = spec.actions.type == "joint_position"
    log = task_log(log, spec.joint_names, spec.env.step_dt, "cmd_q" if position_control else "cmd_tau")
    explicit = [name for name, group in spec.actuators.items() if group.model != "implicit"]
    if position_control and explicit and "actuator_gain" in settings.params:
        raise SysidError(
            f"actuator group(s) {', '.join(explicit)} compute their PD effort themselves (model pd or dc_motor), so "
            "the replay cannot scale their gains (actuator_gain); fit it with model = implicit"
        )
    started = time.perf_counter()
    replay = LogReplay(spec, log, settings.num_envs, device, settings.velocity_weight)
    parameters = define_parameters(settings, spec, replay)
    built = time.perf_counter()
    bounds = [(p.low, p.high) for p in parameters]
    search = CrossEntropySearch(bounds, settings.num_envs, settings.elite_fraction, settings.seed, replay.device)
    history: list[dict] = []
    for iteration in range(settings.iterations + 1):
        rows = search.rows()
        values = search.values(rows)
        if iteration == 0:
            values[1] = math.nan  # the spec's own values
        cost, rms, rms_joint, kept = replay.run(parameters, values, keep_rows=(0, 1))
        if iteration == 0:
            before = (float(rms[1]), rms_joint[1].cpu().numpy(), kept[1].cpu().numpy())
            cost[1] = math.inf
        elite = search.update(rows, cost, final=iteration == settings.iterations)
        if iteration == settings.iterations:
            pick = 0 if float(cost[0]) <= float(cost[1]) else 1
            spread = search.values(rows[elite]).std(0).cpu().numpy()
            after = (
                values[pick].cpu().numpy(),
                float(rms[pick]),
                rms_joint[pick].cpu().numpy(),
                kept[pick].cpu().numpy(),
            )
            break
        means = {p.label: float(v) for p, v in zip(parameters, search.values(search.mean[None])[0], strict=True)}
        best_rms = float(rms[torch.argmin(cost)])
        history.append({"iteration": iteration + 1, "best_rms": best_rms, "mean_rms": float(rms[0]), "means": means})
        shown = " ".join(f"{k} {v:.4g}" for k, v in means.items())
        progress(
            f"it {iteration + 1:3d}/{settings.iterations} | best rms {best_rms:.4g} | rms of the mean "
            f"{float(rms[0]):.4g} | mean: {shown}"
        )
    fitted, rms_after, rms_after_joint, simulated = after
    return SysidResult(
        parameters=parameters,
        fitted=fitted.astype(np.float64),
        spread=spread.astype(np.float64),
        rms_before=before[0],
        rms_after=rms_after,
        rms_before_per_joint=before[1],
        rms_after_per_joint=rms_after_joint,
        history=history,
        t=log.t,
        joint_names=list(spec.joint_names),
        recorded=log.joint_pos,
        simulated_nominal=before[2],
        simulated_fitted=simulated,
        stiffness=replay.stiffness,
        damping=replay.damping,
        gains_from_log=replay.gains_from_log,
        num_envs=settings.num_envs,
        iterations=settings.iterations,
        build_seconds=built - started,
        fit_seconds=time.perf_counter() - built,
    )
