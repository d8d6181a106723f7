"""The policy's observation on the robot, computed as the training env computes it (``envs/terms/observations.py``).

Shapes: N = joints in the policy's order (``joints.names``), A = actions, H = ``history_length``. Every reading is
a :class:`~.driver.RobotState` already mapped into the policy's joint order. The observation is noise-free (the
bundle's terms carry no noise) and concatenates, term by term in ``bundle.observation`` order, each term's last H
values, oldest first.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .bundle import Bundle, BundleError
from .driver import RobotState

SUPPORTED_TERMS = (
    "joint_pos",
    "joint_pos_rel",
    "joint_vel",
    "last_action",
    "root_lin_vel_b",
    "root_ang_vel_b",
    "projected_gravity_b",
    "generated_commands",
)
"""Observation terms the robot runtime can compute."""


class MissingStateError(ValueError):
    """The robot's state or the operator's commands lack a value the policy observes (the message names it)."""


def quat_rotate_inverse(quat_xyzw: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Rotate ``vec`` (3,) by the inverse of the unit quaternion ``quat_xyzw`` (4,), (x, y, z, w) order: a world
    vector into the body frame. The same formula as ``utils.quaternions.quat_rotate_inverse``."""
    q_vec, q_w = quat_xyzw[:3], quat_xyzw[3]
    return vec * (2.0 * q_w**2 - 1.0) - np.cross(q_vec, vec) * q_w * 2.0 + q_vec * np.dot(q_vec, vec) * 2.0


def projected_gravity(quat_xyzw: np.ndarray) -> np.ndarray:
    """Unit gravity direction (0, 0, -1) in the base frame of orientation ``quat_xyzw`` (4,); returns (3,)."""
    quat = np.asarray(quat_xyzw, dtype=np.float64)
    return quat_rotate_inverse(quat / np.linalg.norm(quat), np.array([0.0, 0.0, -1.0]))


class ObservationBuilder:
    """Builds the observation (obs_dim,) float32 from readings, the operator's commands and the last action.

    Args:
        bundle: the deployment bundle; its terms are checked here.

    Raises:
        BundleError: a term the runtime cannot compute (the message lists the supported ones), a ``joints``
            parameter naming an unknown joint, a command missing from ``commands``, or a size that does not match.
    """

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.history_length = bundle.history_length
        names = list(bundle.joints["names"])
        self._default_pos = np.asarray(bundle.joints["default_pos"], dtype=np.float64)
        self._terms: list[tuple[str, np.ndarray | str | None]] = []
        for i, term in enumerate(bundle.observation):
            where = f"deploy.json: 'observation.terms[{i}]'"
            if term.name not in SUPPORTED_TERMS:
                raise BundleError(
                    f"{where} is '{term.name}', which the robot runtime cannot compute; "
                    f"supported terms: {', '.join(SUPPORTED_TERMS)}"
                )
            selector: np.ndarray | str | None = None
            if term.name.startswith("joint_"):
                joints = term.params.get("joints", names)
                unknown = [j for j in joints if j not in names]
                if unknown:
                    raise BundleError(f"{where} ({term.name}) names unknown joints {unknown}; joints: {names}")
                selector = np.array([names.index(j) for j in joints], dtype=np.int64)
                expected = len(joints)
            elif term.name == "last_action":
                expected = int(bundle.policy["num_actions"])
            elif term.name == "generated_commands":
                selector = term.params.get("command")
                if selector not in bundle.commands:
                    raise BundleError(
                        f"{where} (generated_commands) reads command {selector!r}, which 'commands' lacks "
                        f"(commands: {sorted(bundle.commands)})"
                    )
                expected = int(bundle.commands[selector].get("size", 3))
            else:
                expected = 3
            if term.size != expected:
                raise BundleError(f"{where} ({term.name}) has size {term.size}, expected {expected}")
            self._terms.append((term.name, selector))
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
            MissingStateError: the state lacks ``base_lin_vel_b`` for ``root_lin_vel_b``, or a command is missing
                or of the wrong size.
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
        size = int(self.bundle.commands[selector].get("size", 3))
        if selector not in commands:
            raise MissingStateError(
                f"the policy observes command '{selector}' ({size} values), but the operator's commands have only "
                f"{sorted(commands)}"
            )
        value = np.asarray(commands[selector], dtype=np.float64).reshape(-1)
        if value.shape != (size,):
            raise MissingStateError(f"command '{selector}' has {value.size} values, expected {size}")
        return value
