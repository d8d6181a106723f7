"""Quaternion math on batched torch tensors; quaternions are unit, in (x, y, z, w) order (Newton's and warp's)."""

from __future__ import annotations

import torch


def quat_rotate(quat_xyzw: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate vectors (..., 3) by unit quaternions (..., 4) in (x, y, z, w) order; returns (..., 3).

    For a body orientation ``q``, this takes a body-frame vector into the world frame.
    """
    return _rotate(quat_xyzw, vec, 1.0)


def quat_rotate_inverse(quat_xyzw: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate vectors (..., 3) by the inverse of unit quaternions (..., 4) in (x, y, z, w) order; returns (..., 3).

    For a body orientation ``q``, this takes a world-frame vector into the body frame.
    """
    return _rotate(quat_xyzw, vec, -1.0)


def _rotate(quat_xyzw: torch.Tensor, vec: torch.Tensor, sign: float) -> torch.Tensor:
    """``sign`` 1: by the quaternion; -1: by its conjugate (the inverse rotation)."""
    q_vec, q_w = quat_xyzw[..., :3], quat_xyzw[..., 3:4]
    a = vec * (2.0 * q_w**2 - 1.0)
    b = torch.cross(q_vec, vec, dim=-1) * q_w * 2.0
    c = q_vec * torch.sum(q_vec * vec, dim=-1, keepdim=True) * 2.0
    return a + sign * b + c


def yaw_angle(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """The heading [rad] of orientations (..., 4), in (-pi, pi]: the rotation about world z; returns (...)."""
    x, y, z, w = quat_xyzw.unbind(-1)
    return torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def yaw_quat(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """The heading part of orientations (..., 4): the rotation about world z alone, (x, y, z, w) order."""
    yaw = yaw_angle(quat_xyzw)
    zero = torch.zeros_like(yaw)
    return torch.stack([zero, zero, torch.sin(yaw / 2), torch.cos(yaw / 2)], dim=-1)
