"""The robot driver interface: read the robot's state, write a joint command, in the robot's motor order.

A driver is anything with ``motor_names``, ``read_state()``, ``write_command(cmd)`` and ``close()``: the simulator
in-process (``sim2real.sim_driver``), a Unitree Go2 over DDS (``deploy.unitree_go2``), or a fake in a test.
All arrays are float64 numpy arrays in the driver's motor order (``motor_names``), SI units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class RobotState:
    """One reading of the robot, M motors.

    Attributes:
        joint_pos: (M,) joint positions [rad].
        joint_vel: (M,) joint velocities [rad/s].
        base_quat_xyzw: (4,) orientation of the base in the world (IMU), unit quaternion in (x, y, z, w) order;
            (0, 0, 0, 1) for a fixed-base robot.
        base_ang_vel_b: (3,) angular velocity of the base in its own frame (gyroscope) [rad/s].
        base_lin_vel_b: (3,) linear velocity of the base in its own frame [m/s], from a state estimator; None when
            the robot does not provide one (a policy that observes it then cannot run).
        joint_effort: (M,) measured joint torques [N m], None when not measured.
        stamp: the driver's time of the reading [s]; ``fresh`` is False when no new reading arrived since the last
            ``read_state`` (the runtime counts that as a missed deadline).
    """

    joint_pos: np.ndarray
    joint_vel: np.ndarray
    base_quat_xyzw: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 0.0, 1.0]))
    base_ang_vel_b: np.ndarray = field(default_factory=lambda: np.zeros(3))
    base_lin_vel_b: np.ndarray | None = None
    joint_effort: np.ndarray | None = None
    stamp: float = 0.0
    fresh: bool = True


@dataclass
class JointCommand:
    """A command for M motors, as a Unitree low-level command carries it: the motor applies
    ``tau + kp * (q - joint_pos) + kd * (dq - joint_vel)``.

    Attributes:
        q: (M,) position targets [rad].
        dq: (M,) velocity targets [rad/s].
        kp: (M,) position gains [N m/rad].
        kd: (M,) velocity gains [N m s/rad].
        tau: (M,) feed-forward torques [N m].
    """

    q: np.ndarray
    dq: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    tau: np.ndarray

    @classmethod
    def zeros(cls, num_motors: int) -> JointCommand:
        """A command that applies no torque: every gain and target 0."""
        return cls(*(np.zeros(num_motors) for _ in range(5)))


class RobotDriver(Protocol):
    """What the runtime needs of a robot."""

    motor_names: list[str]
    """The robot's joint names in motor order (M,)."""

    def read_state(self) -> RobotState:
        """The latest reading; returns at once (``fresh`` False when nothing new arrived)."""
        ...

    def write_command(self, command: JointCommand) -> None:
        """Send one command to every motor; returns at once."""
        ...

    def close(self) -> None:
        """Release the robot's connection (idempotent)."""
        ...
