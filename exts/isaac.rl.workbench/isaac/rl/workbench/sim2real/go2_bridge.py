"""The simulated Go2 on the Go2's own DDS topics: one robot of a task on Newton physics that answers
``rt/lowcmd`` with ``rt/lowstate`` as the robot does (as ``unitree_mujoco`` does for MuJoCo), so that the robot
runtime with :class:`~..deploy.unitree_go2.Go2DdsDriver` runs unchanged against the simulation or the robot.

Every physics step (the task's ``physics_dt``, 200 Hz for go2_flat) the bridge:

1. takes the newest ``LowCmd_``, if one arrived; one whose CRC is wrong is dropped and counted, as the robot drops it;
   without a new command the last one keeps acting (as the motors keep their last command);
2. applies each motor's command ``tau + kp (q - q_m) + kd (dq - dq_m)`` the way the training env's actuator does
   (as :mod:`.sim_driver` does): for ``joint_position`` tasks ``kp``, ``kd`` become the solver's implicit PD gains
   (written when they change) with target ``q``, and ``tau + kd dq`` a joint effort, so the PD is evaluated inside
   every physics step exactly as in training when the gains are the trained ones; for ``joint_effort`` tasks the
   law is evaluated explicitly at each physics step and clamped to the effort limits. A motor in mode 0 is off
   (no torque); ``q`` = ``POS_STOP_F`` or ``dq`` = ``VEL_STOP_F`` switch its position or velocity term off;
3. steps the physics once and publishes ``LowState_`` (motors in Unitree's order, IMU quaternion (w, x, y, z),
   gyroscope and accelerometer in the base frame, ``tick`` in ms of simulated time, ``tau_est``) and
   ``SportModeState_`` (``velocity`` and ``position`` of the base in the world frame, as Unitree's state estimator
   gives them; the driver reads the velocity as the base's linear velocity).

Until the first command arrives the physics holds the start pose (a robot on its stand) while states are published.
The bridge never resets the robot (a fall stays a fall): restart it for a fresh one. It steps the task's env's physics
alone (:func:`~..tool_env.tool_env` with ``physics_only``: no terms run per step).

Timing: the steps run on a fixed grid of ``physics_dt`` of wall-clock time (:mod:`.fixed_rate`), not in lockstep with
the controller, like the robot. A step that ends late makes the next ones start at once, up to ``max_lag_s`` (20 ms:
at most one control period's steps in a burst under one command); further behind, the lost time is given up rather
than fast-forwarded under a stale command. So when the CPU cannot keep up, simulated time runs slower than the wall
clock: the controller gets fewer states per period, and none during a stall, which the runtime counts as missed
deadlines (latching its stop after ``max_consecutive_misses``), as for a robot whose state stream stalls.
:class:`BridgeReport` says how far behind real time it ran.
Domain randomisation and the task's events are not applied: the bridge is the nominal robot.

Run: ``python -m isaac.rl.workbench.sim2real.go2_bridge go2_flat --interface lo --domain-id 1`` (or
``isaac-rl-workbench go2-bridge``); SIGTERM or Ctrl-C stop it cleanly.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..deploy.unitree_go2 import (
    GO2_MOTOR_NAMES,
    MOTOR_MODE_SERVO,
    TOPIC_LOWCMD,
    TOPIC_LOWSTATE,
    TOPIC_SPORTMODESTATE,
    DdsLink,
    latest,
)
from ..envs.backend_request import explicit_actuators
from ..specs.schema import TaskSpec
from ..tool_env import tool_env
from .fixed_rate import LoopTiming, run_at_fixed_rate
from .go2_bridge_args import add_bridge_arguments
from .sim_driver import robot_spec

GRAVITY = 9.81
"""[m/s^2] the accelerometer's reading at rest (the specific force, up)."""


@dataclass
class BridgeReport:
    """How a :meth:`Go2Bridge.serve` went.

    Attributes:
        physics_steps: physics steps simulated; sim_seconds: their simulated time [s].
        realtime_factor: simulated time over the wall time since the first physics step (1.0: real time; below 1:
            the CPU could not keep up).
        commands: valid ``LowCmd_`` received; bad_crc: commands dropped for a wrong CRC; states: ``LowState_`` sent.
        loop: how the fixed-rate loop kept its grid (:class:`~.fixed_rate.LoopTiming`).
    """

    physics_steps: int
    sim_seconds: float
    realtime_factor: float
    commands: int
    bad_crc: int
    states: int
    loop: LoopTiming

    def summary(self) -> str:
        loop = self.loop
        return (
            f"{self.physics_steps} physics steps, {self.sim_seconds:.2f} s simulated in {loop.wall_seconds:.2f} s "
            f"(real-time factor {self.realtime_factor:.3f}); step {loop.step_median_ms:.2f} ms median, "
            f"{loop.step_p99_ms:.2f} ms p99; {loop.late_steps} late, max lag {loop.max_lag_ms:.1f} ms, "
            f"{loop.resyncs} resyncs; {self.commands} commands ({self.bad_crc} bad CRC), {self.states} states"
        )


class Go2Bridge:
    """One simulated robot of ``task`` serving the Go2's DDS topics.

    Args:
        task: a task name, spec file or loaded :class:`TaskSpec` whose robot has the Go2's joints.
        overrides: dotted spec keys to set first.
        interface: the network interface of the DDS traffic ("lo": this machine only).
        domain_id: the DDS domain (1 by default, as unitree_mujoco; a real Go2 uses 0).
        device: where the physics runs.
        motor_names: the robot's joints in motor order (the Go2's by default).

    Raises:
        ValueError: the task's robot lacks one of ``motor_names``.
        MissingExtraError: the ``go2`` extra is missing.
    """

    def __init__(
        self,
        task: str | Path | TaskSpec,
        overrides: dict | None = None,
        interface: str = "lo",
        domain_id: int = 1,
        device: str = "cpu",
        motor_names: list[str] | None = None,
    ):
        self.spec = robot_spec(task, {**(overrides or {}), "env.decimation": 1})
        self.motor_names = list(motor_names or GO2_MOTOR_NAMES)
        missing = [m for m in self.motor_names if m not in self.spec.joint_names]
        if missing:
            raise ValueError(
                f"task '{self.spec.name}' has no joints {missing} (its joints: {', '.join(self.spec.joint_names)}); "
                f"the bridge serves a robot with the joints {self.motor_names}"
            )
        self.link = DdsLink(domain_id, interface)
        sdk = self.link.sdk
        self._crc = sdk.crc
        self._cmd_reader = self.link.reader(TOPIC_LOWCMD, sdk.LowCmd_)
        self._state_writer = self.link.writer(TOPIC_LOWSTATE, sdk.LowState_)
        self._velocity_writer = self.link.writer(TOPIC_SPORTMODESTATE, sdk.SportModeState_)
        self._state_msg, self._velocity_msg = sdk.new_lowstate(), sdk.new_sportmodestate()
        self._state_msg.head[0], self._state_msg.head[1], self._state_msg.level_flag = 0xFE, 0xEF, 0xFF

        self.env = tool_env(self.spec, 1, device, physics_only=True)
        self.physics_dt = self.spec.env.physics_dt
        self._columns = torch.tensor([self.spec.joint_names.index(m) for m in self.motor_names])
        self._position_control = self.spec.actions.type == "joint_position"
        explicit = explicit_actuators(self.spec.actuators, self.spec.joint_names)
        self._solver_gains = torch.tensor([model is None for model in explicit])  # False: the model keeps its gains
        self._effort_limits = torch.tensor(self.spec.effort_limits, dtype=torch.float32)
        self._kp = self.env.physics_property("dof_stiffness")[0].cpu()
        self._kd = self.env.physics_property("dof_damping")[0].cpu()
        self._command: dict[str, torch.Tensor] | None = None  # q, dq, kp, kd, tau (D,) in the sim's joint order
        self._everywhere = torch.ones(1, dtype=torch.bool, device=self.env.device)
        self._last_lin_vel_w = (0.0, 0.0, 0.0)
        self._motor_columns = self._columns.tolist()
        self.steps = 0
        self.commands = self.bad_crc = self.states = 0
        self._physics_started_at: float | None = None  # when the first physics step of this serve() began
        self.publish_state()

    # -- one physics step -----------------------------------------------------------------------------------------
    def step(self) -> None:
        """Take the newest command, apply it, advance the physics one ``physics_dt`` (held until a first command
        arrives) and publish the state."""
        msg = latest(self._cmd_reader)
        if msg is not None:
            if self._crc.Crc(msg) != msg.crc:
                self.bad_crc += 1
            else:
                self.commands += 1
                self._command = self._decode(msg)
                if self._position_control:
                    self._apply_position_command()
        if self._command is not None:
            if not self._position_control:
                self._apply_effort_command()
            if self._physics_started_at is None:
                self._physics_started_at = time.perf_counter()
            self.env.step_physics()
            self.steps += 1
        self.publish_state()

    def _decode(self, msg) -> dict[str, torch.Tensor]:
        """The motor commands (mode, q, dq, kp, kd, tau), with stop values and disabled motors turned into zero
        gains, as (D,) tensors in the sim's joint order (joints that are no motor: no torque)."""
        motors = msg.motor_cmd[: len(self.motor_names)]
        values = np.array([[m.mode, m.q, m.dq, m.kp, m.kd, m.tau] for m in motors], dtype=np.float64)
        on = values[:, 0] == MOTOR_MODE_SERVO
        holds_pos, holds_vel = np.abs(values[:, 1]) < 1.0e9, np.abs(values[:, 2]) < 1.0e4
        columns = {
            "q": np.where(holds_pos, values[:, 1], 0.0),
            "dq": np.where(holds_vel, values[:, 2], 0.0),
            "kp": np.where(on & holds_pos, values[:, 3], 0.0),
            "kd": np.where(on & holds_vel, values[:, 4], 0.0),
            "tau": np.where(on, values[:, 5], 0.0),
        }
        out = {}
        for key, column in columns.items():
            full = torch.zeros(len(self.spec.joint_names))
            full[self._columns] = torch.tensor(column, dtype=torch.float32)
            out[key] = full
        return out

    def _apply_position_command(self) -> None:
        """The solver's PD: gains (where the solver's drive acts), targets ``q``, effort ``tau + kd dq``."""
        c = self._command
        kp = torch.where(self._solver_gains, c["kp"], self._kp)
        kd = torch.where(self._solver_gains, c["kd"], self._kd)
        env, device = self.env, self.env.device
        if not torch.equal(kp, self._kp):
            env.write_physics_property("dof_stiffness", self._everywhere, kp[None].to(device))
            self._kp = kp
        if not torch.equal(kd, self._kd):
            env.write_physics_property("dof_damping", self._everywhere, kd[None].to(device))
            self._kd = kd
        position = env.dof_pos[0].cpu()
        targets = torch.where(c["kp"] > 0, c["q"], position)
        env.set_joint_position_targets(targets[None].to(device))
        feedforward = torch.clamp(c["tau"] + c["kd"] * c["dq"], -self._effort_limits, self._effort_limits)
        env.set_joint_efforts(feedforward[None].to(device))

    def _apply_effort_command(self) -> None:
        """The motor law evaluated at this physics step's state, clamped to the effort limits."""
        c = self._command
        pos, vel = self.env.dof_pos[0].cpu(), self.env.dof_vel[0].cpu()
        effort = c["tau"] + c["kp"] * (c["q"] - pos) + c["kd"] * (c["dq"] - vel)
        effort = torch.clamp(effort, -self._effort_limits, self._effort_limits)
        self.env.set_joint_efforts(effort[None].to(self.env.device))

    def _motor_torques(self, pos: list[float], vel: list[float]) -> list[float]:
        """The torque each joint's motor applies at this state (D,), clamped to the effort limits: ``tau_est``."""
        if self._command is None:
            return [0.0] * len(pos)
        c = self._command
        effort = c["tau"] + c["kp"] * (c["q"] - torch.tensor(pos)) + c["kd"] * (c["dq"] - torch.tensor(vel))
        return torch.clamp(effort, -self._effort_limits, self._effort_limits).tolist()

    # -- what the robot's sensors report --------------------------------------------------------------------------
    def publish_state(self) -> None:
        """Publish ``LowState_`` and ``SportModeState_`` for the current physics state. The state's ``crc`` is left
        0: the robot's readers (Unitree's examples, this driver) do not check it, and computing it in Python costs
        a third of a physics step."""
        env = self.env
        pos = env.dof_pos[0].tolist()
        vel = env.dof_vel[0].tolist()
        torque = self._motor_torques(pos, vel)
        x, y, z = env.root_pos_w[0].tolist()  # from the env's origin
        qx, qy, qz, qw = env.root_quat_w[0].tolist()
        vx, vy, vz, wx, wy, wz = env.root_velocity_w[0].tolist()
        norm = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
        quat = (qx / norm, qy / norm, qz / norm, qw / norm)
        lin_vel_w = (vx, vy, vz)
        if self.steps:
            last = self._last_lin_vel_w
            accel_w = tuple((v - u) / self.physics_dt for v, u in zip(lin_vel_w, last, strict=True))
        else:
            accel_w = (0.0, 0.0, 0.0)
        self._last_lin_vel_w = lin_vel_w
        imu = self._state_msg.imu_state
        imu.quaternion = [quat[3], quat[0], quat[1], quat[2]]
        imu.gyroscope = _into_base(quat, (wx, wy, wz))
        imu.accelerometer = _into_base(quat, (accel_w[0], accel_w[1], accel_w[2] + GRAVITY))
        imu.rpy = _roll_pitch_yaw(quat)
        msg = self._state_msg
        for i, column in enumerate(self._motor_columns):
            motor = msg.motor_state[i]
            motor.mode, motor.q, motor.dq, motor.tau_est = MOTOR_MODE_SERVO, pos[column], vel[column], torque[column]
        sim_time = self.steps * self.physics_dt
        msg.tick = int(round(sim_time * 1000.0)) & 0xFFFFFFFF
        self._state_writer.write(msg)
        self.states += 1
        sport = self._velocity_msg
        sport.stamp.sec, sport.stamp.nanosec = int(sim_time), int(round((sim_time % 1.0) * 1e9)) % 1_000_000_000
        sport.imu_state = imu
        sport.position = [x, y, z]
        sport.velocity = list(lin_vel_w)
        sport.yaw_speed = wz
        sport.body_height = z
        self._velocity_writer.write(sport)

    # -- the real-time loop ---------------------------------------------------------------------------------------
    def serve(
        self,
        seconds: float | None = None,
        stop: threading.Event | None = None,
        report_every_s: float | None = None,
        max_lag_s: float = 0.02,
        out=print,
    ) -> BridgeReport:
        """Step at real time on a fixed grid of ``physics_dt`` (:func:`~.fixed_rate.run_at_fixed_rate`) until
        ``seconds`` of wall time pass or ``stop`` is set; ``out(line)`` gets a progress line every
        ``report_every_s`` seconds. Returns the :class:`BridgeReport` of this call."""
        before = (self.steps, self.commands, self.bad_crc, self.states)
        self._physics_started_at = None

        def report(loop: LoopTiming) -> BridgeReport:
            physics_steps = self.steps - before[0]
            sim_seconds = physics_steps * self.physics_dt
            simulating = time.perf_counter() - (self._physics_started_at or math.inf)
            return BridgeReport(
                physics_steps=physics_steps,
                sim_seconds=sim_seconds,
                realtime_factor=sim_seconds / simulating if simulating > 0 else math.nan,
                commands=self.commands - before[1],
                bad_crc=self.bad_crc - before[2],
                states=self.states - before[3],
                loop=loop,
            )

        loop = run_at_fixed_rate(
            self.step,
            self.physics_dt,
            seconds,
            stop,
            max_lag_s,
            progress=lambda timing: out(f"go2-bridge: {report(timing).summary()}"),
            progress_every_s=report_every_s,
        )
        return report(loop)

    def close(self) -> None:
        """Leave the DDS domain (idempotent)."""
        self.link.close()


def _into_base(quat_xyzw: tuple, vec_w: tuple) -> list[float]:
    """``vec_w`` (3,) in world axes expressed in the frame of orientation ``quat_xyzw`` (x, y, z, w); plain floats
    (a few microseconds, where numpy's small-array calls cost tens)."""
    x, y, z, w = quat_xyzw
    a, b, c = vec_w
    s = 2.0 * w * w - 1.0
    d = 2.0 * (x * a + y * b + z * c)
    cross = (y * c - z * b, z * a - x * c, x * b - y * a)
    return [a * s - 2.0 * w * cross[0] + x * d, b * s - 2.0 * w * cross[1] + y * d, c * s - 2.0 * w * cross[2] + z * d]


def _roll_pitch_yaw(quat_xyzw: tuple) -> list[float]:
    x, y, z, w = quat_xyzw
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return [roll, pitch, yaw]


def serve_until_stopped(
    task: str | Path,
    overrides: dict | None = None,
    interface: str = "lo",
    domain_id: int = 1,
    seconds: float | None = None,
    device: str = "cpu",
    report_every_s: float | None = 10.0,
    out=print,
) -> BridgeReport:
    """Build the bridge and serve until ``seconds`` pass or SIGTERM / SIGINT arrives (then stop cleanly: leave the
    DDS domain, restore the signal handlers). ``out(line)`` gets the "ready" line once the first state is
    published, progress lines and the final report."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        bridge = Go2Bridge(task, overrides, interface, domain_id, device)
        try:
            out(
                f"go2-bridge: ready: {bridge.spec.name} on {interface}, DDS domain {domain_id}, "
                f"physics {1.0 / bridge.physics_dt:g} Hz"
            )
            report = bridge.serve(seconds, stop, report_every_s, out=out)
        finally:
            bridge.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out(f"go2-bridge: stopped: {report.summary()}")
    out(f"go2-bridge: report {json.dumps(asdict(report))}")
    return report


def serve_from_args(args: argparse.Namespace) -> int:
    """Serve the bridge with parsed ``args`` (:func:`.go2_bridge_args.add_bridge_arguments`) until it stops; 0."""
    from ..specs.overrides import parse_overrides

    serve_until_stopped(
        args.task,
        parse_overrides(args.set),
        args.interface,
        args.domain_id,
        args.seconds,
        args.device,
        out=lambda line: print(line, flush=True),
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m isaac.rl.workbench.sim2real.go2_bridge SPEC_OR_TASK [--interface lo] [--domain-id 1]
    [--seconds S] [--device cpu] [--set KEY=VALUE ...]``; the same as ``isaac-rl-workbench go2-bridge``."""
    parser = argparse.ArgumentParser(prog="go2_bridge", description=__doc__.split("\n\n")[0])
    add_bridge_arguments(parser)
    return serve_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
