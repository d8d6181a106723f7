"""Termination terms: ``(env, **params) -> BoolTensor[num_envs]``.

A termination marked ``time_out = true`` in the spec is a truncation: the episode ends but the value of the last
state is bootstrapped, as rsl-rl expects through ``extras["time_outs"]``.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "time_out",
    "joint_pos_out_of_bounds",
    "root_height_below",
    "bad_orientation",
    "illegal_contact",
    "position_command_reached",
    "body_height_out_of_range",
    "joint_vel_out_of_bounds",
]

ALL = slice(None)


def time_out(env) -> torch.Tensor:
    """True where the episode reached its maximum length."""
    return env.episode_length_buf >= env.max_episode_length


def joint_pos_out_of_bounds(env, limit: float, joints=ALL) -> torch.Tensor:
    """True where any selected joint is further than ``limit`` [rad or m] from zero."""
    return torch.any(torch.abs(env.dof_pos[:, joints]) > limit, dim=1)


def root_height_below(env, height: float) -> torch.Tensor:
    """True where the root body is lower than ``height`` [m] above the env origin."""
    return env.root_pos_w[:, 2] < height


def bad_orientation(env, limit_angle: float) -> torch.Tensor:
    """True where the root body tilts more than ``limit_angle`` [rad] from upright."""
    return torch.acos(torch.clamp(-env.projected_gravity_b[:, 2], -1.0, 1.0)) > limit_angle


def illegal_contact(env, bodies, threshold: float = 1.0) -> torch.Tensor:
    """True where any of ``bodies`` touches something with more than ``threshold`` [N] (the base on the ground)."""
    return torch.any(torch.linalg.vector_norm(env.contact_forces_w[:, bodies], dim=2) > threshold, dim=1)


def position_command_reached(env, command: str, radius: float, body: str | None = None) -> torch.Tensor:
    """True where body ``body`` (default the root) is within ``radius`` [m] of the target of command ``command``;
    a mobile robot's goal counts in the plane."""
    if body is None:
        error = env.command(command)[:, :2] - env.root_pos_w[:, :2]
    else:
        error = env.command(command) - env.body_pos_w[:, body]
    return torch.linalg.vector_norm(error, dim=1) < radius


def body_height_out_of_range(env, body: str, minimum: float = -math.inf, maximum: float = math.inf) -> torch.Tensor:
    """True where body ``body``'s frame is not strictly between ``minimum`` and ``maximum`` [m] above the env origin
    (a torso too low or too high: Gymnasium's ``healthy_z_range``)."""
    height = env.body_pos_w[:, body, 2]
    return (height <= minimum) | (height >= maximum)


def joint_vel_out_of_bounds(env, limit: float, joints=ALL) -> torch.Tensor:
    """True where any selected joint moves faster than ``limit`` [rad/s or m/s] (with ``joint_pos_out_of_bounds``:
    Gymnasium Hopper's ``healthy_state_range``)."""
    return torch.any(torch.abs(env.dof_vel[:, joints]) > limit, dim=1)
