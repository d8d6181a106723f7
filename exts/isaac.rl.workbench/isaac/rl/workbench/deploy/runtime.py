"""The robot runtime: read state -> observation -> policy -> safety layer -> write command, every ``control_dt``.

Shapes: M motors in the robot's motor order (``joints.motor_order``), N = M joints in the policy's order
(``joints.names``), A actions. Drivers speak motor order; observations, policy and safety layer speak policy order.
Every command reaches the driver through :meth:`Runtime.write`, which sends only a finite command with gains >= 0 and
otherwise latches the safe stop and sends the stop's command instead.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .bundle import Bundle, BundleError, load_bundle
from .driver import JointCommand, RobotDriver, RobotState
from .observations import ObservationBuilder
from .policy import load_policy
from .robot_log import RobotLog
from .safety import SafetyLayer, command_problem

Commands = dict | Callable[[float], dict]
"""The operator's commands: name -> array of the command's size, or a function of the run's time [s] giving them."""


class JointOrder:
    """Maps joint arrays between the policy's order ``names`` (N,) and the robot's ``motor_order`` (M,), by name."""

    def __init__(self, names: list[str], motor_order: list[str]):
        if sorted(names) != sorted(motor_order):
            raise BundleError(f"motor order {list(motor_order)} does not name the policy's joints {list(names)}")
        self.names, self.motor_order = list(names), list(motor_order)
        self.motor_of_joint = np.array([self.motor_order.index(n) for n in names], dtype=np.int64)
        """(N,) the motor index of each policy joint."""
        self.joint_of_motor = np.array([self.names.index(m) for m in motor_order], dtype=np.int64)
        """(M,) the policy joint index of each motor."""

    def state_to_policy(self, state: RobotState) -> RobotState:
        """``state`` with its joint arrays reordered from motor order into the policy's order."""
        effort = None if state.joint_effort is None else np.asarray(state.joint_effort)[self.motor_of_joint]
        pos, vel = np.asarray(state.joint_pos), np.asarray(state.joint_vel)
        return replace(
            state, joint_pos=pos[self.motor_of_joint], joint_vel=vel[self.motor_of_joint], joint_effort=effort
        )

    def command_to_motors(self, command: JointCommand) -> JointCommand:
        """``command`` (policy order) reordered into motor order."""
        ids = self.joint_of_motor
        return JointCommand(
            q=command.q[ids], dq=command.dq[ids], kp=command.kp[ids], kd=command.kd[ids], tau=command.tau[ids]
        )


@dataclass
class RunReport:
    """What :meth:`Runtime.run` did.

    Attributes:
        steps: control steps run.
        missed_deadlines: periods that overran or got no fresh state.
        latched: whether the safe stop latched; latch_reason, latch_step: why and at which step (None if not).
        compute_median_us, compute_p99_us: time of :meth:`Runtime.command_for` (observation, policy, safety layer)
            per step [us]; the driver's read and write are not in it.
        log: the per-step log arrays (:mod:`.robot_log` keys) when asked for, else None.
        log_path: the ``.npz`` written, or None.
    """

    steps: int
    missed_deadlines: int
    latched: bool
    latch_reason: str | None
    latch_step: int | None
    compute_median_us: float
    compute_p99_us: float
    log: dict | None = None
    log_path: Path | None = None


class Runtime:
    """Observation, policy and safety layer of one bundle, and the control loop that drives a robot with them.

    Args:
        bundle_or_path: a loaded :class:`Bundle`, or its folder / ``deploy.json``.
        backend: "onnxruntime" or "torchscript".
        threads: CPU threads for one inference (see :func:`.policy.load_policy`).
    """

    def __init__(self, bundle_or_path: Bundle | Path | str, backend: str = "onnxruntime", threads: int | None = 1):
        self.bundle = bundle_or_path if isinstance(bundle_or_path, Bundle) else load_bundle(bundle_or_path)
        self.policy = load_policy(self.bundle, backend, threads)
        self.observations = ObservationBuilder(self.bundle)
        self.safety = SafetyLayer(self.bundle)
        self.order = JointOrder(self.bundle.joints["names"], self.bundle.joints["motor_order"])
        self._clip = self.bundle.action.get("clip")
        self.reset()

    @property
    def stopped(self) -> bool:
        """True once the safe stop has latched (until :meth:`reset`)."""
        return self.safety.latched

    def reset(self) -> None:
        """Start afresh: no last action, empty observation history, safety layer unlatched with a new soft start, a
        recurrent policy's hidden state zeroed."""
        self.last_action = np.zeros(int(self.bundle.policy["num_actions"]))
        self.observations.reset()
        self.safety.reset()
        if hasattr(self.policy, "reset"):  # a recurrent policy starts from a zero hidden state
            self.policy.reset()

    def step(self, observation: np.ndarray) -> np.ndarray:
        """The policy's raw action (A,) float32 for one observation (obs_dim,)."""
        return self.policy(observation)

    def command_for(self, state: RobotState, commands: dict) -> tuple[JointCommand, bool]:
        """One control step without timing: ``state`` (motor order) and the operator's ``commands`` -> the command
        (motor order) and whether the safe stop is latched. The policy does not run once stopped."""
        policy_state = self.order.state_to_policy(state)
        action = None
        if not self.safety.check(policy_state):
            obs = self.observations.build(policy_state, commands, self.last_action)
            action = self.step(obs)
            clipped = action if self._clip is None else np.clip(action, -self._clip, self._clip)
            self.last_action = clipped.astype(np.float64)
        command = self.safety.command(action, policy_state)
        return self.order.command_to_motors(command), self.safety.latched

    def write(self, driver: RobotDriver, command: JointCommand) -> JointCommand:
        """Send ``command`` (motor order) to ``driver``: the one way a command leaves the runtime. A command that is
        not M finite values per field with gains >= 0 is never sent: the safe stop latches (naming the joint and the
        field) and the stop's command, always finite, is sent instead. Returns the command sent."""
        problem = command_problem(command, self.order.motor_order)
        if problem is not None:
            self.safety.latch(f"a command was not sent: {problem}", step=max(self.safety.commands_made - 1, 0))
            command = self.order.command_to_motors(self.safety.stop_command())
        driver.write_command(command)
        return command

    def run(
        self,
        driver: RobotDriver,
        seconds: float,
        commands: Commands,
        realtime: bool = True,
        log_path: Path | str | None = None,
        on_step: Callable[[int, RobotState, JointCommand], None] | None = None,
        keep_log: bool = False,
    ) -> RunReport:
        """Drive ``driver`` for ``seconds`` from a fresh start (:meth:`reset`).

        With ``realtime`` each step starts on an absolute grid ``start + k x control_dt`` (``time.perf_counter``;
        no drift); a step that overruns its period skips to the next grid point and counts as missed, as does a
        reading with ``fresh`` False. ``max_consecutive_misses`` in a row latch the safe stop, whose command is then
        written until the time is up. Without ``realtime`` round(seconds / control_dt) steps run back to back (a
        simulator stepped in lockstep by its driver). ``on_step(step, state, command)`` is called after each write.
        If the loop is interrupted (an exception, Ctrl-C), the stop latches and its command is written once. Every
        command goes through :meth:`write`.

        Raises:
            BundleError: ``driver.motor_names`` differ from the bundle's ``joints.motor_order``.
            MissingStateError: ``commands`` (a dict) lacks a command the policy observes, or it is not finite
                numbers of its size; raised before any command is sent.
        """
        if list(driver.motor_names) != self.order.motor_order:
            raise BundleError(
                f"the driver's motors {list(driver.motor_names)} are not the bundle's joints.motor_order "
                f"{self.order.motor_order}"
            )
        if not callable(commands):
            self.observations.check_commands(commands)
        self.reset()
        dt = self.bundle.control_dt
        log = RobotLog(self.order.motor_order, dt) if (log_path is not None or keep_log) else None
        compute_s: list[float] = []
        missed = steps = 0
        overran = False
        tick, end_tick = 0, max(1, round(seconds / dt))
        start = time.perf_counter()
        state = None
        try:
            while tick < end_tick:
                began = time.perf_counter()
                state = driver.read_state()
                miss = overran or not state.fresh
                missed += miss
                self.safety.note_deadline(miss)
                t_command = tick * dt
                operator = commands(t_command) if callable(commands) else commands
                computing = time.perf_counter()
                command, _ = self.command_for(state, operator)
                compute_s.append(time.perf_counter() - computing)
                command = self.write(driver, command)
                if log is not None:
                    log.append(began - start if realtime else t_command, state, command)
                if on_step is not None:
                    on_step(steps, state, command)
                steps += 1
                if not realtime:
                    tick += 1
                    continue
                next_tick = max(tick + 1, math.ceil((time.perf_counter() - start) / dt))
                overran = next_tick > tick + 1
                tick = next_tick
                if tick < end_tick:
                    _sleep_until(start + tick * dt)
        except BaseException as exc:
            self.safety.latch(f"the control loop stopped on {type(exc).__name__}: {exc}")
            if state is not None:
                with contextlib.suppress(Exception):
                    self.safety.check(self.order.state_to_policy(state))  # its finite positions join the hold
            with contextlib.suppress(Exception):
                self.write(driver, self.order.command_to_motors(self.safety.stop_command()))
            raise
        times_us = np.array(compute_s) * 1e6
        arrays = log.arrays() if log is not None else None
        written = log.write(log_path) if log is not None and log_path is not None else None
        return RunReport(
            steps=steps,
            missed_deadlines=int(missed),
            latched=self.safety.latched,
            latch_reason=self.safety.reason,
            latch_step=self.safety.latch_step,
            compute_median_us=float(np.median(times_us)) if steps else math.nan,
            compute_p99_us=float(np.percentile(times_us, 99)) if steps else math.nan,
            log=arrays if keep_log else None,
            log_path=written,
        )


def _sleep_until(deadline: float) -> None:
    """Sleep until ``time.perf_counter()`` reaches ``deadline``: ``time.sleep`` for all but the last ~0.5 ms, then
    a short spin (sleep overshoots by up to a scheduler tick)."""
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return
        if remaining > 5e-4:
            time.sleep(remaining - 5e-4)
