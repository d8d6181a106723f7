"""Quaternion math on batched torch tensors; quaternions are unit, in (x, y, z, w) order (Newton's and warp's)."""

from __future__ import annotations

import torch


def quat_rotate(quat_xyzw: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate vectors (..., 3) by unit quaternions (..., 4) in (x, y, z, w) order; returns (..., 3). The two have as
    many dimensions, and their sizes broadcast: quaternions (1, N, 4) turn vectors (K, N, 3), K per orientation.

    For a body orientation ``q``, this takes a body-frame vector into the world frame.
    """
    return _rotate(quat_xyzw, vec, 1.0)


def quat_rotate_inverse(quat_xyzw: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Rotate vectors (..., 3) by the inverse of unit quaternions (..., 4) in (x, y, z, w) order, broadcast as in
    :func:`quat_rotate`; returns (..., 3).

    For a body orientation ``q``, this takes a world-frame vector into the body frame.
    """
    return _rotate(quat_xyzw, vec, -1.0)


def _rotate(quat_xyzw: torch.Tensor, vec: torch.Tensor, sign: float) -> torch.Tensor:
    """``v + 2 (u x (u x v) + sign w (u x v))`` for ``q = (u, w)``: ``sign`` 1 rotates by the quaternion, -1 by its
    conjugate (the inverse rotation). Four kernels."""
    u, w = quat_xyzw[..., :3], quat_xyzw[..., 3:4]
    u_v = torch.linalg.cross(u, vec)
    turn = torch.addcmul(torch.linalg.cross(u, u_v), w, u_v, value=sign)
    return torch.add(vec, turn, alpha=2.0)


def yaw_angle(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """The heading [rad] of orientations (..., 4), in (-pi, pi]: the rotation about world z; returns (...)."""
    x, y, z, w = quat_xyzw.unbind(-1)
    return torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def yaw_quat(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """The heading part of orientations (..., 4): the rotation about world z alone, (x, y, z, w) order."""
    half = yaw_angle(quat_xyzw) * 0.5
    zero = torch.zeros_like(half)
    return torch.stack([zero, zero, torch.sin(half), torch.cos(half)], dim=-1)
