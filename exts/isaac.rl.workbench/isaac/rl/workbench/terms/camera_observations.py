"""Image observation terms: a camera's images (``[sensors.<name>]``, read through ``env.camera``) as float tensors of
shape (num_envs, C, H, W), channels first, as rsl-rl's CNN models take them. A group of these terms concatenates
their channels (all of one height and width); it holds no vector terms."""

from __future__ import annotations

import math

import torch

__all__ = ["camera_depth", "camera_rgb", "camera_segmentation"]


def camera_depth(
    env, sensor: str, clip: float | None = None, normalize: bool = True, dropout: float = 0.0, invert: bool = False
) -> torch.Tensor:
    """Camera ``sensor``'s depth, the distance along its view axis, shape (num_envs, 1, H, W): clipped to [near,
    ``clip``] [m] (``clip`` default and at most the camera's ``far``), then with ``normalize`` mapped to [0, 1] (0 at
    ``near``, 1 at ``clip``), else in metres. ``dropout``: the share of pixels, drawn anew every step, that read
    ``clip`` (no return), as a real depth sensor's holes (augmentation; 0: none). ``invert`` (with ``normalize``):
    nearness instead, 1 at ``near`` and 0 at ``clip``, so that empty background reads 0 and what is seen stands out
    (a CNN learns thin things, such as a cart-pole's pole, far faster from it). Needs ``"depth"`` in the camera's
    ``data_types``."""
    camera = env.spec.sensors[sensor]
    top = camera.far if clip is None else _clip(clip, camera.near, camera.far)
    depth = env.camera(sensor)["depth"].clamp(max=top)  # >= near already
    if _share(dropout) > 0.0:
        depth = torch.where(torch.rand_like(depth) < dropout, top, depth)
    if normalize:
        depth = (depth - camera.near) / (top - camera.near)
        if invert:
            depth = 1.0 - depth
    return depth.unsqueeze(1)


def camera_rgb(env, sensor: str, dropout: float = 0.0) -> torch.Tensor:
    """Camera ``sensor``'s colour, shape (num_envs, 3, H, W): red, green, blue in [0, 1] (the 8-bit sRGB values
    / 255). ``dropout``: the share of pixels, drawn anew every step, that read black (augmentation; 0: none). Needs
    ``"rgb"`` in the camera's ``data_types``."""
    rgb = env.camera(sensor)["rgb"].permute(0, 3, 1, 2)
    rgb = rgb.to(torch.float32, memory_format=torch.contiguous_format) / 255.0
    if _share(dropout) > 0.0:
        dropped = torch.rand_like(rgb[:, :1]) < dropout  # (N, 1, H, W): a pixel's three channels together
        rgb = rgb.masked_fill(dropped, 0.0)
    return rgb


def camera_segmentation(env, sensor: str) -> torch.Tensor:
    """Camera ``sensor``'s segmentation, shape (num_envs, 1, H, W), float: the index within its env of the shape
    each pixel sees (the same in every env for the same shape of the robot), -2 for the ground, -1 for nothing
    within ``far``. Needs ``"segmentation"`` in the camera's ``data_types``."""
    return env.camera(sensor)["segmentation"].unsqueeze(1).float()


DATA_TYPE_READ = {camera_depth: "depth", camera_rgb: "rgb", camera_segmentation: "segmentation"}
"""The camera data type each term reads (the spec check asks the camera to render it)."""


def _share(dropout) -> float:
    if not isinstance(dropout, int | float) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout: expected a share of pixels in [0, 1), got {dropout!r}")
    return float(dropout)


def _clip(clip, near: float, far: float) -> float:
    if not isinstance(clip, int | float) or isinstance(clip, bool) or not math.isfinite(clip) or not near < clip:
        raise ValueError(f"clip: expected a distance [m] beyond the camera's near ({near:g} m), got {clip!r}")
    return min(float(clip), far)
