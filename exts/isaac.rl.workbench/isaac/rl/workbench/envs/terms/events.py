"""Event terms: ``(env, env_mask, **params) -> None``; they write new state for the envs where ``env_mask`` is True.

Events take a boolean mask of shape (num_envs,) rather than a list of ids so that the env step never waits for
the GPU to say how many envs reset: values are drawn for every env and written where the mask is set.
``mode = "reset"`` events run when an env resets (initial-state randomisation); ``mode = "interval"`` events run
every ``interval_s`` seconds of each env's episode (pushes).
"""

from __future__ import annotations

import torch

__all__ = ["reset_joints_uniform", "push_root"]

ALL = slice(None)


def _uniform(low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.rand_like(like) * (high - low) + low


def reset_joints_uniform(
    env, env_mask: torch.Tensor, position_range=(0.0, 0.0), velocity_range=(0.0, 0.0), joints=ALL
) -> None:
    """Set the selected joints to default + U(position_range) [rad or m] and velocity U(velocity_range).

    Joints not selected keep the state they have, so several of these events can randomise different joints
    with different ranges.
    """
    pos = env.default_dof_pos[:, joints]
    pos = pos + _uniform(*position_range, pos)
    vel = _uniform(*velocity_range, pos)
    env.write_dof_state(env_mask, pos, vel, joints)


def push_root(env, env_mask: torch.Tensor, velocity: float) -> None:
    """Add a random horizontal velocity of up to ``velocity`` [m/s] to the root body."""
    delta = torch.zeros(env.num_envs, 6, device=env.device)
    delta[:, :2] = _uniform(-velocity, velocity, delta[:, :2])
    env.add_root_velocity(env_mask, delta)
