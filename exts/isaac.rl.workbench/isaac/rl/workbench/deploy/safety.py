"""The safety layer between the policy and the motors: what the action becomes, and when the robot stops.

Shapes: N = joints in the policy's order (``joints.names``), A = actions (``action.joints``, a subset of the N).
Each control step, :meth:`SafetyLayer.command` turns the policy's raw action (A,) and the latest reading (policy
joint order) into a :class:`~.driver.JointCommand` (N,) in the policy's joint order:

1. the state monitor checks the reading and latches the safe stop on a joint beyond its position limit by more than
   ``pos_limit_margin``, a joint faster than its velocity limit, a base tilted past ``max_tilt_rad``, a non-finite
   reading (joints or IMU) or action, or ``max_consecutive_misses`` missed deadlines in a row (:meth:`note_deadline`);
2. the action is clipped to ``action.clip`` (as in training) and to ``safety.action_clip``;
3. it becomes a target: ``offset + scale * action`` [rad] (joint_position) or a torque ``scale * action`` [N m]
   (joint_effort);
4. soft start: over ``soft_start_s`` the target blends linearly from the pose measured at start (a torque: from 0)
   to the policy's, with weight :meth:`soft_start_scale`;
5. a first-order low-pass at ``lowpass_hz``, then a rate limit of ``action_rate_limit`` x control_dt per step;
6. position targets are clipped into ``joint_pos_limits``; torques into ``joints.effort_limit``.

Once latched the stop holds until :meth:`reset`, and its command is always finite (:meth:`SafetyLayer.stop_command`):
"hold" keeps the last finite position read of each joint when it latched (clipped into ``joint_pos_limits``, as
ros2_control clamps a position command) with ``hold_kp``/``hold_kd``; a joint with no finite reading since the start
is damped instead (kp 0, its default position as the finite placeholder target). "damp" applies kp 0, kd ``hold_kd``
and no torque to every joint (Unitree's damping mode). An empty ``hold_kp``/``hold_kd`` means the trained gains.
Joints the action does not drive hold their default position with the trained gains. :func:`command_problem` is the
last check of a command before a driver: shapes, finite values, gains >= 0.
"""

from __future__ import annotations

import math

import numpy as np

from .bundle import Bundle
from .driver import JointCommand, RobotState
from .observations import projected_gravity


class SafetyLayer:
    """Clips, scales, ramps, filters and rate-limits the policy's action, and latches a safe stop.

    Attributes:
        latched: True once the safe stop has latched (until :meth:`reset`).
        reason: why it latched (names the joint, the limit and the value), then "; " and :attr:`stop`; None while
            running.
        latch_step: the command index (0 = first after reset) at which it latched, None while running.
        stop: what the stop does, once its first command is made: "safe stop: hold the last finite pose ...",
            naming the joints damped for want of a finite reading, or "safe stop: damp ..."; None before.
        damped: (N,) bool, the joints the stop gives no position gain (all of them for "damp"); None before.
    """

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.dt = float(bundle.control_dt)
        self.names = list(bundle.joints["names"])
        limits = bundle.safety
        self.action_type = bundle.action["type"]
        self.action_ids = np.array([self.names.index(j) for j in bundle.action["joints"]], dtype=np.int64)
        num_actions = len(self.action_ids)
        self.scale = np.broadcast_to(np.asarray(bundle.action["scale"], dtype=np.float64), (num_actions,)).copy()
        self.offset = np.asarray(bundle.action["offset"], dtype=np.float64)
        self.train_clip = bundle.action.get("clip")
        self.default_pos = np.asarray(bundle.joints["default_pos"], dtype=np.float64)
        self.stiffness = np.asarray(bundle.joints["stiffness"], dtype=np.float64)
        self.damping = np.asarray(bundle.joints["damping"], dtype=np.float64)
        self.effort_limit = np.asarray(bundle.joints["effort_limit"], dtype=np.float64)
        self.pos_limits = np.asarray(limits.joint_pos_limits, dtype=np.float64).reshape(len(self.names), 2)
        self.vel_limits = np.asarray(limits.joint_vel_limits, dtype=np.float64)
        self.hold_kp = np.asarray(limits.hold_kp, dtype=np.float64) if limits.hold_kp else self.stiffness.copy()
        self.hold_kd = np.asarray(limits.hold_kd, dtype=np.float64) if limits.hold_kd else self.damping.copy()
        self.limits = limits
        if limits.lowpass_hz:
            self._lowpass_alpha = 1.0 - math.exp(-2.0 * math.pi * limits.lowpass_hz * self.dt)
        else:
            self._lowpass_alpha = 1.0
        self.reset()

    def reset(self) -> None:
        """Unlatch the stop and start again: soft start from the next reading, no filter or rate-limit memory."""
        self.latched = False
        self.reason: str | None = None
        self.latch_step: int | None = None
        self._step = 0
        self._misses = 0
        self.stop: str | None = None
        self.damped: np.ndarray | None = None
        self._last_pos = self.default_pos.copy()  # (N,) the last finite position read of each joint
        self._read = np.zeros(len(self.names), dtype=bool)  # (N,) whether a finite position was read since reset
        self._stop: JointCommand | None = None  # the stop's command, fixed at its first use
        self._start: np.ndarray | None = None  # (A,) the pose (or zero torque) the soft start blends from
        self._previous: np.ndarray | None = None  # (A,) the last target written (filter and rate-limit memory)

    def soft_start_scale(self, step: int) -> float:
        """The soft start's weight of the policy's target at command ``step`` (0 = first): step x control_dt /
        ``soft_start_s``, within [0, 1]; 1 when there is no soft start."""
        if self.limits.soft_start_s <= 0:
            return 1.0
        return min(1.0, step * self.dt / self.limits.soft_start_s)

    @property
    def commands_made(self) -> int:
        """Commands made by :meth:`command` since :meth:`reset`."""
        return self._step

    def latch(self, reason: str, state: RobotState | None = None, step: int | None = None) -> None:
        """Latch the safe stop for ``reason`` (the first reason is kept); ``state``, when given, is the last reading
        (its finite positions join the pose to hold); ``step`` the command index it latched at (default: the next
        command's). The pose is fixed by the stop's first command."""
        if state is not None:
            self._remember(state)
        if self.latched:
            return
        self.latched, self.reason, self.latch_step = True, reason, self._step if step is None else step

    def note_deadline(self, missed: bool) -> None:
        """Record whether this control period missed its deadline (overran, or no fresh state); latches the stop at
        ``max_consecutive_misses`` misses in a row."""
        self._misses = self._misses + 1 if missed else 0
        if missed and self._misses >= self.limits.max_consecutive_misses:
            self.latch(
                f"{self._misses} missed control deadlines in a row (max_consecutive_misses "
                f"{self.limits.max_consecutive_misses}, period {self.dt * 1e3:.3g} ms)"
            )

    def check(self, state: RobotState) -> bool:
        """Run the state monitor on ``state`` (policy joint order); latch on a violation. Returns :attr:`latched`."""
        self._remember(state)
        if not self.latched:
            reason = self._violation(state)
            if reason is not None:
                self.latch(reason, state)
        return self.latched

    def command(self, action: np.ndarray | None, state: RobotState) -> JointCommand:
        """The command (N,) in the policy's joint order for the raw ``action`` (A,) and the reading ``state``.

        ``action`` may be None only when the stop has latched (the policy need not run then).
        """
        self.check(state)
        if not self.latched and not np.all(np.isfinite(action)):
            self.latch(f"the policy returned a non-finite action {np.asarray(action).tolist()}", state)
        if self.latched:
            command = self.stop_command()
        else:
            command = self._running_command(np.asarray(action, dtype=np.float64).reshape(-1), state)
        self._step += 1
        return command

    def _remember(self, state: RobotState) -> None:
        """Keep the finite positions of ``state`` (N,) as each joint's last finite position."""
        pos = np.asarray(state.joint_pos, dtype=np.float64).reshape(-1)
        if pos.shape == self._last_pos.shape:
            finite = np.isfinite(pos)
            self._last_pos[finite] = pos[finite]
            self._read |= finite

    def _violation(self, state: RobotState) -> str | None:
        """The first limit ``state`` breaks, as a sentence naming the joint, the limit and the value; else None."""
        pos = np.asarray(state.joint_pos, dtype=np.float64)
        vel = np.asarray(state.joint_vel, dtype=np.float64)
        margin = self.limits.pos_limit_margin
        for i, name in enumerate(self.names):
            low, high = self.pos_limits[i]
            if not (math.isfinite(pos[i]) and math.isfinite(vel[i])):
                return f"joint '{name}' reads a non-finite value (position {pos[i]}, velocity {vel[i]})"
            if pos[i] < low - margin or pos[i] > high + margin:
                return (
                    f"joint '{name}' at {pos[i]:.4g} rad is beyond its position limits [{low:.4g}, {high:.4g}] "
                    f"by more than pos_limit_margin {margin:.4g} rad"
                )
            if abs(vel[i]) > self.vel_limits[i]:
                return f"joint '{name}' moves at {vel[i]:.4g} rad/s, beyond its velocity limit {self.vel_limits[i]:.4g}"
        imu = {"orientation": state.base_quat_xyzw, "angular velocity": state.base_ang_vel_b}
        if state.base_lin_vel_b is not None:
            imu["linear velocity"] = state.base_lin_vel_b
        for what, value in imu.items():
            value = np.asarray(value, dtype=np.float64)
            if not np.all(np.isfinite(value)) or (what == "orientation" and not np.any(value)):
                expected = "a finite, non-zero quaternion" if what == "orientation" else "finite values"
                return f"the base's {what} reads {value.tolist()}, expected {expected}"
        if self.limits.max_tilt_rad is not None:
            tilt = base_tilt(state.base_quat_xyzw)
            if not tilt <= self.limits.max_tilt_rad:
                return f"base tilt {tilt:.4g} rad is beyond max_tilt_rad {self.limits.max_tilt_rad:.4g}"
        return None

    def _running_command(self, action: np.ndarray, state: RobotState) -> JointCommand:
        """Steps 2-6 of the module docstring for the action joints; the others hold their default pose."""
        for clip in (self.train_clip, self.limits.action_clip):
            if clip is not None:
                action = np.clip(action, -clip, clip)
        ids = self.action_ids
        if self.action_type == "joint_position":
            desired = self.offset + self.scale * action
            start = np.asarray(state.joint_pos, dtype=np.float64)[ids]
        else:
            desired = self.scale * action
            start = np.zeros(len(ids))
        if self._start is None:
            self._start, self._previous = start.copy(), start.copy()
        ramp = self.soft_start_scale(self._step)
        target = self._start + ramp * (desired - self._start)
        target = self._previous + self._lowpass_alpha * (target - self._previous)
        if self.limits.action_rate_limit is not None:
            step = self.limits.action_rate_limit * self.dt
            target = np.clip(target, self._previous - step, self._previous + step)
        n = len(self.names)
        q, kp, kd = self.default_pos.copy(), self.stiffness.copy(), self.damping.copy()
        tau = np.zeros(n)
        if self.action_type == "joint_position":
            target = np.clip(target, self.pos_limits[ids, 0], self.pos_limits[ids, 1])
            q[ids] = target
        else:
            target = np.clip(target, -self.effort_limit[ids], self.effort_limit[ids])
            q[ids], kp[ids], kd[ids], tau[ids] = np.asarray(state.joint_pos, dtype=np.float64)[ids], 0.0, 0.0, target
        self._previous = target
        return JointCommand(q=q, dq=np.zeros(n), kp=kp, kd=kd, tau=tau)

    def stop_command(self) -> JointCommand:
        """The latched stop's command (N,), finite, the same from its first use until :meth:`reset`.

        "hold": each joint's last finite position (clipped into its position limits) with ``hold_kp``, ``hold_kd``;
        a joint never read finite since the start is damped (kp 0, target its default position). "damp": kp 0 and
        kd ``hold_kd`` for every joint. No velocity target, no torque.
        """
        if self._stop is None:
            n = len(self.names)
            hold = self.limits.safe_stop == "hold"
            self.damped = ~self._read if hold else np.ones(n, dtype=bool)
            q = np.clip(self._last_pos, self.pos_limits[:, 0], self.pos_limits[:, 1])
            kp = np.where(self.damped, 0.0, self.hold_kp)
            self._stop = JointCommand(q=q, dq=np.zeros(n), kp=kp, kd=self.hold_kd.copy(), tau=np.zeros(n))
            if not hold:
                self.stop = "safe stop: damp (kp 0, kd hold_kd, no torque)"
            else:
                self.stop = "safe stop: hold the last finite pose (hold_kp, hold_kd)"
                if self.damped.any():
                    unread = ", ".join(name for name, d in zip(self.names, self.damped, strict=True) if d)
                    self.stop += f"; damp (kp 0) {unread}: no finite reading since the start"
            self.reason = f"{self.reason}; {self.stop}"
        stop = self._stop
        return JointCommand(
            q=stop.q.copy(), dq=stop.dq.copy(), kp=stop.kp.copy(), kd=stop.kd.copy(), tau=stop.tau.copy()
        )


def command_problem(command: JointCommand, names: list[str]) -> str | None:
    """What makes ``command`` unfit to send to motors ``names`` (M,): an array not of shape (M,), a value that is
    not finite, or a negative gain; None when it is fit."""
    for key in ("q", "dq", "kp", "kd", "tau"):
        try:
            value = np.asarray(getattr(command, key), dtype=np.float64)
        except (TypeError, ValueError):
            return f"its {key} is not numbers"
        if value.shape != (len(names),):
            return f"its {key} has shape {value.shape}, expected ({len(names)},)"
        bad = ~np.isfinite(value) | ((value < 0) if key in ("kp", "kd") else False)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return f"its {key} for joint '{names[i]}' is {value[i]}"
    return None


def base_tilt(quat_xyzw: np.ndarray) -> float:
    """Angle [rad] between the base's z axis and the world's z axis for orientation ``quat_xyzw`` (4,)."""
    return float(np.arccos(np.clip(-projected_gravity(quat_xyzw)[2], -1.0, 1.0)))
