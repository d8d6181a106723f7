"""The per-env health check: after every physics step, which envs hold a simulation that has blown up.

An env is unstable when any of its joint or root state is not finite, or beyond what one physics step can
plausibly produce for this robot:

- a joint turns faster than one revolution per physics step (``2 pi / physics_dt`` rad/s; the same number in m/s
  bounds prismatic joints, far above any real actuator);
- the root moves faster than the robot's own size per physics step (``size / physics_dt`` m/s), or turns faster
  than one revolution per step;
- the root is more than 1000 robot sizes (plus the env spacing) from its env's origin.

The robot's size is twice the largest distance of a body from the root in the scene's default pose, at least 1 m.
The env terminates an unstable env as a failure (not a success, not a time-out), gives it no reward for that step,
counts it, and resets it alone. The backend runs the check as one kernel over every env, with no host sync.
"""

from __future__ import annotations

import math

import torch

from ..backend.base import Backend

REVOLUTIONS_PER_STEP = 1.0
"""Joint and root rotation bound: revolutions per physics step."""
SIZES_PER_STEP = 1.0
"""Root speed bound: robot sizes per physics step."""
SIZES_FROM_ORIGIN = 1000.0
"""Root distance bound: robot sizes from the env origin (plus the spacing)."""


class HealthCheck:
    """Bounds for one env's state, derived from the scene; :meth:`unstable` gives the envs beyond them.

    Args:
        backend: the env's physics, in its default state (the robot's size is measured from it).
        physics_dt: physics time step [s].
        spacing: distance between env clones [m].
    """

    def __init__(self, backend: Backend, physics_dt: float, spacing: float):
        self.backend = backend
        poses = backend.body_poses[0, :, :3] - backend.root_pose[0, :3]
        # twice the largest body distance from the root in the default pose, at least 1 m
        self.robot_size = max(1.0, 2.0 * float(poses.norm(dim=-1).max())) if poses.numel() else 1.0
        self.max_joint_speed = 2.0 * math.pi * REVOLUTIONS_PER_STEP / physics_dt  # [rad/s], or [m/s] for sliders
        self.max_root_speed = self.robot_size * SIZES_PER_STEP / physics_dt  # [m/s]
        self.max_root_distance = self.robot_size * SIZES_FROM_ORIGIN + spacing  # [m]

    def unstable(self) -> torch.Tensor:
        """Envs whose state is not finite or beyond the bounds, BoolTensor (N,) (one fused kernel in the backend)."""
        return self.backend.find_unstable(self.max_joint_speed, self.max_root_speed, self.max_root_distance)
