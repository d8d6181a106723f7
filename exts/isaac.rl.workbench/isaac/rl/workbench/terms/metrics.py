"""Metric terms: ``(env, **params) -> Tensor[num_envs]``, what a user reads of a trained policy.

A ``[metrics.<name>]`` table names one of these or any reward or termination term (a termination's True counts 1),
and ``reduce``: ``final`` (the value on an episode's last step, before the env resets: a success flag, the final
error) or ``mean`` (over the episode's steps: a tracking error). Training and evaluation report the average over
the episodes that ended as ``metric/<name>``.
"""

from __future__ import annotations

import torch

__all__ = ["lin_vel_xy_command_error", "ang_vel_z_command_error", "no_contact"]


def lin_vel_xy_command_error(env, command: str) -> torch.Tensor:
    """Planar velocity tracking error [m/s]: ``‖v_xy - command_xy‖`` in the root's heading frame."""
    return torch.linalg.vector_norm(env.command(command)[:, :2] - env.root_lin_vel_yaw[:, :2], dim=1)


def ang_vel_z_command_error(env, command: str) -> torch.Tensor:
    """Yaw rate tracking error [rad/s]."""
    return torch.abs(env.command(command)[:, 2] - env.root_velocity_w[:, 5])


def no_contact(env, bodies, threshold: float = 1.0) -> torch.Tensor:
    """1 where none of ``bodies`` touches anything with more than ``threshold`` [N], else 0."""
    force = torch.linalg.vector_norm(env.contact_forces_w[:, bodies], dim=2)
    return (~torch.any(force > threshold, dim=1)).float()
