"""Reward terms: ``(env, **params) -> Tensor[num_envs]``, named ``<quantity>_<kernel>``.

The env multiplies each term by its weight and by the env step duration (seconds), as Isaac Lab does, so a
weight is a rate per second and returns do not change with the control frequency.
"""

from __future__ import annotations

import torch

__all__ = [
    "is_alive",
    "is_terminated",
    "joint_pos_l2",
    "joint_pos_target_l2",
    "joint_vel_l1",
    "joint_vel_l2",
    "joint_effort_l2",
    "action_l2",
    "action_rate_l2",
    "lin_vel_x_w",
    "upright",
    "joint_power_l1",
]

ALL = slice(None)


def is_alive(env) -> torch.Tensor:
    """1 for every env that did not terminate this step (time-outs count as alive)."""
    return (~env.terminated).float()


def is_terminated(env) -> torch.Tensor:
    """1 for every env that terminated this step, excluding time-outs (use with a negative weight)."""
    return env.terminated.float()


def joint_pos_l2(env, joints=ALL) -> torch.Tensor:
    """Sum of squared joint positions relative to the default pose [rad^2 or m^2]."""
    return torch.sum(torch.square(env.dof_pos[:, joints] - env.default_dof_pos[:, joints]), dim=1)


def joint_pos_target_l2(env, target: float, joints=ALL) -> torch.Tensor:
    """Sum of squared distances of the joint positions to ``target`` [rad^2 or m^2]."""
    return torch.sum(torch.square(env.dof_pos[:, joints] - target), dim=1)


def joint_vel_l1(env, joints=ALL) -> torch.Tensor:
    """Sum of absolute joint velocities [rad/s or m/s]."""
    return torch.sum(torch.abs(env.dof_vel[:, joints]), dim=1)


def joint_vel_l2(env, joints=ALL) -> torch.Tensor:
    """Sum of squared joint velocities."""
    return torch.sum(torch.square(env.dof_vel[:, joints]), dim=1)


def joint_effort_l2(env, joints=ALL) -> torch.Tensor:
    """Sum of squared commanded joint efforts [N^2 or (N m)^2]."""
    return torch.sum(torch.square(env.dof_effort[:, joints]), dim=1)


def joint_power_l1(env, joints=ALL) -> torch.Tensor:
    """Mechanical power, sum of |effort * velocity| over the joints [W]."""
    return torch.sum(torch.abs(env.dof_effort[:, joints] * env.dof_vel[:, joints]), dim=1)


def action_l2(env) -> torch.Tensor:
    """Sum of squared actions (policy outputs before scaling)."""
    return torch.sum(torch.square(env.actions), dim=1)


def action_rate_l2(env) -> torch.Tensor:
    """Sum of squared changes of the action since the previous step."""
    return torch.sum(torch.square(env.actions - env.prev_actions), dim=1)


def lin_vel_x_w(env) -> torch.Tensor:
    """Velocity of the root body along the world x axis [m/s]."""
    return env.root_lin_vel_w[:, 0]


def upright(env) -> torch.Tensor:
    """Cosine of the root body's tilt: 1 when its z axis points up, -1 upside down."""
    return -env.projected_gravity_b[:, 2]
