"""The height scan: the ground's height on a grid of points around a body, relative to the body, as Isaac Lab's
``RayCaster`` with a ``GridPatternCfg`` (attached to the body's position and yaw only) and its ``height_scan`` term
read it. Rays are cast straight down from :data:`RAY_START` above each grid point against the static ground (the
terrain or the ground plane, never a robot) through ``env.cast_rays``.
"""

from __future__ import annotations

import functools
import math

import torch

from ..utils.quaternions import yaw_angle

RAY_START = 20.0
"""How far above the body the rays start [m]: above any ground the body can stand over."""
MAX_DISTANCE = 1000.0
"""How far down a ray reaches [m]; a ray that meets no ground reads the body this far above it (then clipped)."""
MAX_RAYS = 100_000
"""The most rays per env a scan may have."""


def height_scan(
    env, body: str, size=(1.6, 1.0), resolution: float = 0.1, offset: float = 0.5, clip: float = 1.0
) -> torch.Tensor:
    """Height of body ``body`` above the ground at each point of a grid under it, minus ``offset`` [m], clipped to
    [-``clip``, ``clip``], shape (num_envs, num_rays): the grid is ``size`` = [length along x, width along y] [m],
    points every ``resolution`` [m] (centred on the body, turned with its heading only, x fastest, so 1.6 x 1.0 at
    0.1 gives 17 x 11 = 187 rays); each ray is cast straight down onto the terrain (or the ground plane). On flat
    ground every value is the body's height minus ``offset``; ground higher ahead reads lower ahead. Isaac Lab's
    Go2 rough task: ``offset = 0.5``, ``clip = 1``, noise [-0.1, 0.1]."""
    grid = scan_grid(_size(size), _positive("resolution", resolution), str(env.device))
    offset = _finite("offset", offset)
    clip = _positive("clip", clip)
    position = env.body_pos_w[:, body]  # (N, 3), relative to the env origin
    yaw = yaw_angle(env.body_quat_w[:, body]).unsqueeze(1)  # (N, 1)
    cos, sin = torch.cos(yaw), torch.sin(yaw)
    gx, gy = grid[:, 0], grid[:, 1]  # (R,)
    origins = torch.stack(
        [cos * gx - sin * gy, sin * gx + cos * gy, torch.full_like(cos * gx, RAY_START)], dim=2
    ) + position.unsqueeze(1)  # (N, R, 3)
    hit_z = origins[..., 2] - env.cast_rays(origins, straight_down(str(env.device)), MAX_DISTANCE)  # (N, R), env frame
    return (position[:, 2:3] - hit_z - offset).clamp(-clip, clip)


@functools.lru_cache(maxsize=8)
def straight_down(device: str) -> torch.Tensor:
    """The unit vector (0, 0, -1) on ``device``, made once: a copy from the host is not allowed while the env step
    is captured in a CUDA graph."""
    return torch.tensor([0.0, 0.0, -1.0], device=device)


@functools.lru_cache(maxsize=32)
def scan_grid(size: tuple[float, float], resolution: float, device: str) -> torch.Tensor:
    """The scan's points relative to the body in its heading frame [m], shape (R, 2): ``floor(size / resolution) +
    1`` points along each axis, ``resolution`` apart, centred on 0; x varies fastest."""
    counts = [math.floor(extent / resolution + 1e-6) + 1 for extent in size]
    if counts[0] * counts[1] > MAX_RAYS:
        raise ValueError(
            f"resolution: {resolution:g} m over size [{size[0]:g}, {size[1]:g}] gives {counts[0] * counts[1]} rays, "
            f"expected at most {MAX_RAYS}"
        )
    x, y = ((torch.arange(n, dtype=torch.float32) - (n - 1) / 2) * resolution for n in counts)
    grid_y, grid_x = torch.meshgrid(y, x, indexing="ij")
    return torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(device)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _finite(name: str, value) -> float:
    if not _is_number(value):
        raise ValueError(f"{name}: expected a number [m], got {value!r}")
    return float(value)


def _positive(name: str, value) -> float:
    if not _is_number(value) or value <= 0:
        raise ValueError(f"{name}: expected a number > 0 [m], got {value!r}")
    return float(value)


def _size(size) -> tuple[float, float]:
    if not isinstance(size, list | tuple) or len(size) != 2 or not all(_is_number(s) and s >= 0 for s in size):
        raise ValueError(f"size: expected [length along x, width along y], two numbers >= 0 [m], got {size!r}")
    return float(size[0]), float(size[1])
