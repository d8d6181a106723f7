"""Terms for the blow-up tests: an event that makes the physics of chosen envs explode, and an observation that
turns NaN after a while (a broken custom term)."""

from __future__ import annotations

import torch


def spin_first_envs(env, env_mask: torch.Tensor, count: int = 2, velocity: float = 1.0e4) -> None:
    """Where ``env_mask`` is set, give the first ``count`` envs joint velocities of ``velocity`` [rad/s or m/s],
    far beyond anything the physics can integrate: those envs blow up on their next step."""
    chosen = torch.zeros_like(env_mask)
    chosen[:count] = True
    env.write_dof_state(env_mask & chosen, env.dof_pos, torch.full_like(env.dof_vel, velocity))


def joint_pos_nan_late(env, after_steps: int = 40) -> torch.Tensor:
    """Joint positions, but NaN in every env whose episode is older than ``after_steps`` steps, shape (N, D)."""
    late = (env.episode_length_buf > after_steps).unsqueeze(1)
    return torch.where(late, torch.nan, env.dof_pos)


def joint_pos_nan_after_calls(env, calls: int = 50) -> torch.Tensor:
    """Joint positions until this term has been called ``calls`` times in this process, then NaN, shape (N, D)."""
    joint_pos_nan_after_calls.count = getattr(joint_pos_nan_after_calls, "count", 0) + 1
    if joint_pos_nan_after_calls.count > calls:
        return torch.full_like(env.dof_pos, torch.nan)
    return env.dof_pos.clone()
