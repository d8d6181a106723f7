"""The policy's observation on the robot, computed as the training env computes it (``terms/observations.py``).

Shapes: N = joints in the policy's order (``joints.names``), A = actions, H = ``history_length``. Every reading is
a :class:`~.driver.RobotState` already mapped into the policy's joint order. The observation is noise-free (the
bundle's terms carry no noise) and concatenates, term by term in ``bundle.observation`` order, each term's last H
values, oldest first.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .bundle import Bundle
from .driver import RobotState
from .observation_terms import check_observation


class MissingStateError(ValueError):
    """The robot's state or the operator's commands lack a value the policy observes (the message names it)."""


def quat_rotate_inverse(quat_xyzw: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Rotate ``vec`` (3,) by the inverse of the unit quaternion ``quat_xyzw`` (4,), (x, y, z, w) order: a world
    vector into the body frame. The same rotation as ``utils.quaternions.quat_rotate_inverse``."""
    q_vec, q_w = quat_xyzw[:3], quat_xyzw[3]
    return vec * (2.0 * q_w**2 - 1.0) - np.cross(q_vec, vec) * q_w * 2.0 + q_vec * np.dot(q_vec, vec) * 2.0


def projected_gravity(quat_xyzw: np.ndarray) -> np.ndarray:
    """Unit gravity direction (0, 0, -1) in the base frame of orientation ``quat_xyzw`` (4,); returns (3,)."""
    quat = np.asarray(quat_xyzw, dtype=np.float64)
    return quat_rotate_inverse(quat / np.linalg.norm(quat), np.array([0.0, 0.0, -1.0]))


class ObservationBuilder:
    """Builds the observation (obs_dim,) float32 from readings, the operator's commands and the last action.

    Args:
        bundle: the deployment bundle; its terms are checked here (:func:`check_observation`).

    Raises:
        BundleError: see :func:`check_observation`.
    """

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.history_length = bundle.history_length
        self._default_pos = np.asarray(bundle.joints["default_pos"], dtype=np.float64)
        self._terms = check_observation(bundle)
        self._sizes = [t.size for t in bundle.observation]
        self._history: list[deque] = []

    @property
    def obs_dim(self) -> int:
        """Length of the observation: the terms' sizes times ``history_length``."""
        return sum(self._sizes) * self.history_length

    def reset(self) -> None:
        """Forget the history: the next reading fills every term's history."""
        self._history = []

    def build(self, state: RobotState, commands: dict, last_action: np.ndarray) -> np.ndarray:
        """The observation (obs_dim,) float32 for ``state`` (policy joint order).

        Args:
            state: the latest reading, N joints in the policy's order.
            commands: the operator's commands, name -> array of the command's size (e.g. base_velocity:
                (vx [m/s], vy [m/s], yaw rate [rad/s]); a position command: the target relative to the base, in
                the base frame [m]).
            last_action: (A,) the previous step's action as the env keeps it: the raw policy output clipped to
                ``action.clip``, before scaling.

        Raises:
            MissingStateError: the state lacks ``base_lin_vel_b`` for ``root_lin_vel_b``, or a command is missing,
                of the wrong size or not finite.
        """
        values = [self._term_value(name, selector, state, commands, last_action) for name, selector in self._terms]
        if not self._history:
            self._history = [deque([v] * self.history_length, maxlen=self.history_length) for v in values]
        else:
            for history, value in zip(self._history, values, strict=True):
                history.append(value)
        return np.concatenate([np.concatenate(list(h)) for h in self._history]).astype(np.float32)

    def _term_value(self, name, selector, state: RobotState, commands: dict, last_action) -> np.ndarray:
        """One term's current value, float64 (size,)."""
        if name == "joint_pos":
            return np.asarray(state.joint_pos, dtype=np.float64)[selector]
        if name == "joint_pos_rel":
            return np.asarray(state.joint_pos, dtype=np.float64)[selector] - self._default_pos[selector]
        if name == "joint_vel":
            return np.asarray(state.joint_vel, dtype=np.float64)[selector]
        if name == "last_action":
            return np.asarray(last_action, dtype=np.float64).reshape(-1)
        if name == "root_lin_vel_b":
            if state.base_lin_vel_b is None:
                raise MissingStateError(
                    "the policy observes root_lin_vel_b, but the robot's state has no base_lin_vel_b: the driver "
                    "needs a state estimator for the base's linear velocity"
                )
            return np.asarray(state.base_lin_vel_b, dtype=np.float64).reshape(3)
        if name == "root_ang_vel_b":
            return np.asarray(state.base_ang_vel_b, dtype=np.float64).reshape(3)
        if name == "projected_gravity_b":
            return projected_gravity(state.base_quat_xyzw)
        return self.command_value(selector, commands)

    def command_value(self, name: str, commands: dict) -> np.ndarray:
        """The operator's command ``name`` (size,) float64 from ``commands``.

        Raises:
            MissingStateError: the command is missing, of the wrong size, or not finite numbers.
        """
        size = int(self.bundle.commands[name].get("size", 3))
        if name not in commands:
            raise MissingStateError(
                f"the policy observes command '{name}' ({size} values), but the operator's commands have only "
                f"{sorted(commands)}"
            )
        try:
            value = np.asarray(commands[name], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise MissingStateError(f"command '{name}' is {commands[name]!r}, expected {size} numbers") from None
        if value.shape != (size,):
            raise MissingStateError(f"command '{name}' has {value.size} values, expected {size}")
        if not np.all(np.isfinite(value)):
            raise MissingStateError(f"command '{name}' is {value.tolist()}, expected {size} finite numbers")
        return value

    def check_commands(self, commands: dict) -> None:
        """Check that ``commands`` gives every command the policy observes, as :meth:`build` reads it.

        Raises:
            MissingStateError: as :meth:`command_value`.
        """
        for name, selector in self._terms:
            if name == "generated_commands":
                self.command_value(selector, commands)
