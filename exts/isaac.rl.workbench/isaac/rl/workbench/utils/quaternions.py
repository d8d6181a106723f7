"""Quaternion math on batched torch tensors; quaternions are unit, in (x, y, z, w) order (Newton's and warp's)."""

from __future__ import annotations

import torch


def quat_rotate_inverse(quat_xyzw: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate vectors (N, 3) by the inverse of unit quaternions (N, 4) in (x, y, z, w) order; returns (N, 3).

    For a body orientation ``q``, this takes a world-frame vector into the body frame.
    """
    q_vec, q_w = quat_xyzw[:, :3], quat_xyzw[:, 3:4]
    a = vec * (2.0 * q_w**2 - 1.0)
    b = torch.cross(q_vec, vec, dim=-1) * q_w * 2.0
    c = q_vec * torch.sum(q_vec * vec, dim=-1, keepdim=True) * 2.0
    return a - b + c
