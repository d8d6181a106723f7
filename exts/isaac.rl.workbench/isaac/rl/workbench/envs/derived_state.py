"""What several terms of one env step compute from the same physics state, computed once: the root body's velocities
and gravity in its own frame, its velocity in its heading frame, every body's position from its env's origin.

A value is computed at its first read and kept until :meth:`DerivedState.clear`. The env clears it wherever the state
changes: after the physics step, after the resets, after every state write (``write_dof_state`` outside a reset,
``add_root_velocity``, env origins moved by the terrain curriculum, ``reset_physics``), and after every ``step()``.
These are fixed program points of the step, so under a CUDA graph the capture records each computation where the
eager step makes it and every replay repeats it there: a value computed before a reset is never read after it. A
replayed step runs no Python, so what the cache holds afterwards is whatever the capture left; clearing it after every
``step()`` makes a read between steps compute afresh from the state the replay left.

Shapes: N = num_envs, B = rigid bodies per env.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..backend.base import Backend
from ..utils.quaternions import quat_rotate_inverse, yaw_quat


class DerivedState:
    """The derived quantities of one env's backend state, each computed at most once per state.

    Args:
        backend: the physics whose state they are computed from.
        num_envs: N.
        device: where they live.
    """

    caching = True
    """False: compute at every read (a test compares the two)."""

    def __init__(self, backend: Backend, num_envs: int, device: torch.device):
        self._backend = backend
        self._down = torch.tensor([0.0, 0.0, -1.0], device=device).expand(num_envs, 3)
        self._values: dict[str, torch.Tensor] = {}
        self.version = 0
        """Counts the clears: a value computed at one version describes the state until the version changes (the
        camera images keep their render's version, :mod:`.camera_images`)."""

    def clear(self) -> None:
        """Forget every value: the state has changed, or may have."""
        self._values.clear()
        self.version += 1

    @property
    def root_frame(self) -> torch.Tensor:
        """The root body's linear velocity [m/s], its angular velocity [rad/s] and the unit gravity direction, each
        in the root body's frame, shape (3, N, 3) in this order: one rotation for the three."""
        return self._once("root_frame", self._root_frame)

    @property
    def root_lin_vel_yaw(self) -> torch.Tensor:
        """The root body's linear velocity in its heading frame (world axes turned by its yaw alone) [m/s], (N, 3)."""
        return self._once("root_lin_vel_yaw", self._root_lin_vel_yaw)

    @property
    def body_pos_w(self) -> torch.Tensor:
        """Position of every body relative to its env's origin [m], shape (N, B, 3)."""
        return self._once(
            "body_pos_w", lambda: self._backend.body_poses[..., :3] - self._backend.env_origins.unsqueeze(1)
        )

    def _root_frame(self) -> torch.Tensor:
        velocity = self._backend.root_velocity
        vectors = torch.stack([velocity[:, :3], velocity[:, 3:6], self._down])
        return quat_rotate_inverse(self._backend.root_pose[None, :, 3:7], vectors)

    def _root_lin_vel_yaw(self) -> torch.Tensor:
        return quat_rotate_inverse(yaw_quat(self._backend.root_pose[:, 3:7]), self._backend.root_velocity[:, :3])

    def _once(self, key: str, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        value = self._values.get(key)
        if value is None:
            value = compute()
            if self.caching:
                self._values[key] = value
        return value
