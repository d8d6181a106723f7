"""Reward terms for legged robots on rough ground and for humanoids: ``(env, **params) -> Tensor[num_envs]``, as
Isaac Lab's locomotion velocity tasks (and legged_gym, for ``feet_stumble``) define them.

A body is in contact when its net contact force exceeds :data:`CONTACT_FORCE`, as for ``env.contact_time``.
"""

from __future__ import annotations

import math

import torch

from .height_scan import MAX_DISTANCE, RAY_START, straight_down

__all__ = [
    "feet_air_time_biped",
    "feet_slide",
    "feet_stumble",
    "joint_pos_limits",
    "joint_deviation_l1",
    "base_height_l2",
]

ALL = slice(None)
CONTACT_FORCE = 1.0
"""[N] above which a body counts as touching something."""


def feet_air_time_biped(env, command: str, bodies, threshold: float) -> torch.Tensor:
    """While exactly one of ``bodies`` (a biped's two feet) touches the ground, the shorter of the feet's times in
    their current phase (the stance foot's contact time, the swing foot's air time) [s], capped at ``threshold``
    [s]; 0 in double support or flight, and while the velocity command ``command`` is near zero (planar norm below
    0.1 m/s), as Isaac Lab's ``feet_air_time_positive_biped``."""
    timers = env.contact_time
    contact_time = timers.contact_time[:, bodies]
    in_contact = contact_time > 0.0
    in_phase = torch.where(in_contact, contact_time, timers.air_time[:, bodies])
    single_stance = torch.sum(in_contact, dim=1) == 1
    reward = torch.where(single_stance, torch.min(in_phase, dim=1).values, 0.0).clamp(max=threshold)
    return reward * (torch.linalg.vector_norm(env.command(command)[:, :2], dim=1) > 0.1)


def feet_slide(env, bodies) -> torch.Tensor:
    """Sum over ``bodies`` of the planar speed [m/s] of each one touching the ground (a foot sliding), as Isaac
    Lab's ``feet_slide``."""
    touching = torch.linalg.vector_norm(env.contact_forces_w[:, bodies], dim=2) > CONTACT_FORCE
    speed = torch.linalg.vector_norm(env.body_lin_vel_w[:, bodies, :2], dim=2)
    return torch.sum(speed * touching, dim=1)


def feet_stumble(env, bodies, ratio: float = 5.0) -> torch.Tensor:
    """1 where any of ``bodies`` is pushed sideways harder than ``ratio`` times its vertical contact force (a foot
    hitting a stair's riser), else 0, as legged_gym's ``feet_stumble``."""
    ratio = _positive("ratio", ratio)
    force = env.contact_forces_w[:, bodies]
    horizontal = torch.linalg.vector_norm(force[..., :2], dim=2)
    return torch.any(horizontal > ratio * torch.abs(force[..., 2]), dim=1).float()


def joint_pos_limits(env, joints=ALL, soft_ratio: float = 0.9) -> torch.Tensor:
    """Sum over the selected joints of how far each is outside its soft limits [rad or m]: the joint's position
    limits (``env.dof_pos_limits``) narrowed about their middle to ``soft_ratio`` of their width, as Isaac Lab's
    ``joint_pos_limits`` with ``soft_joint_pos_limit_factor``. A joint without a limit on a side adds nothing there."""
    soft_ratio = _positive("soft_ratio", soft_ratio)
    if soft_ratio > 1.0:
        raise ValueError(f"soft_ratio: expected a number in (0, 1], got {soft_ratio!r}")
    limits = env.dof_pos_limits[joints]  # (J, 2)
    lower, upper = limits[:, 0], limits[:, 1]
    bounded = torch.isfinite(lower) & torch.isfinite(upper)
    middle = torch.where(bounded, (lower + upper) / 2, 0.0)
    half = torch.where(bounded, (upper - lower) / 2 * soft_ratio, 0.0)
    soft_lower = torch.where(bounded, middle - half, lower)
    soft_upper = torch.where(bounded, middle + half, upper)
    position = env.dof_pos[:, joints]
    below = (soft_lower - position).clamp(min=0.0)
    above = (position - soft_upper).clamp(min=0.0)
    return torch.sum(below + above, dim=1)


def joint_deviation_l1(env, joints=ALL) -> torch.Tensor:
    """Sum of absolute joint positions relative to the default pose [rad or m], as Isaac Lab's
    ``joint_deviation_l1``: keeps the joints a gait does not need (a humanoid's hips' yaw and roll, arms, waist) near
    their default."""
    return torch.sum(torch.abs(env.dof_pos[:, joints] - env.default_dof_pos[:, joints]), dim=1)


def base_height_l2(env, target: float, body: str | None = None) -> torch.Tensor:
    """Squared difference of the height of body ``body`` (default the root) above the ground straight under it and
    ``target`` [m^2], as Isaac Lab's ``base_height_l2`` on rough ground: one ray cast down onto the terrain (or the
    ground plane) gives the ground's height; where it meets none, the env origin's height counts."""
    position = env.root_pos_w if body is None else env.body_pos_w[:, body]  # (N, 3), env frame
    origins = position.unsqueeze(1).clone()  # (N, 1, 3); built on the device (no host copy inside a CUDA graph)
    origins[..., 2] += RAY_START
    distance = env.cast_rays(origins, straight_down(str(position.device)), MAX_DISTANCE)[:, 0]
    height = torch.where(distance < MAX_DISTANCE, distance - RAY_START, position[:, 2])
    return torch.square(height - target)


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    return float(value)
