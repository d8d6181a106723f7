"""Camera images as pictures a person looks at, made on the images' device: depth in grey (white at the camera's
near, black at its far), segmentation ids in colours, colour as it is; a few envs' pictures for a panel are brought to
the host in one copy.

Shapes: K envs, H x W pixels. The images are those of ``env.camera(name)``: ``depth`` (N, H, W) float32 [m],
``rgb`` (N, H, W, 3) uint8, ``segmentation`` (N, H, W) int32 (-2 the ground, -1 nothing, k >= 0 the env's shape k).
"""

from __future__ import annotations

import math

import numpy as np
import torch

SEGMENTATION_PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (219, 219, 141),
    (158, 218, 229),
)
"""RGB of shape k: ``SEGMENTATION_PALETTE[k % 18]`` (matplotlib's tab20 without its greys)."""
GROUND_COLOR = (127, 127, 127)
"""RGB of segmentation id -2, the ground."""
NOTHING_COLOR = (0, 0, 0)
"""RGB of segmentation id -1, nothing within ``far``."""


def depth_grey(depth: torch.Tensor, near: float, far: float) -> torch.Tensor:
    """Depth (..., H, W) [m] as grey levels (..., H, W) uint8: 255 at ``near``, 0 at ``far``, linear between
    (a level is (far - near) / 255 m)."""
    level = (far - depth.float()) / (far - near) * 255.0
    return level.round().clamp(0, 255).to(torch.uint8)


def depth_from_grey(level: np.ndarray | float, near: float, far: float) -> np.ndarray | float:
    """The depth [m] a grey level of :func:`depth_grey` stands for (within half a level)."""
    return far - np.asarray(level, dtype=np.float64) / 255.0 * (far - near)


def segmentation_colors(ids: torch.Tensor) -> torch.Tensor:
    """Segmentation ids (..., H, W) int as colours (..., H, W, 3) uint8: :data:`GROUND_COLOR` for -2,
    :data:`NOTHING_COLOR` for -1, :data:`SEGMENTATION_PALETTE` for the shapes."""
    table = torch.tensor((GROUND_COLOR, NOTHING_COLOR, *SEGMENTATION_PALETTE), dtype=torch.uint8, device=ids.device)
    shapes = len(SEGMENTATION_PALETTE)
    index = torch.where(ids < 0, (ids.long() + 2).clamp(min=0), ids.long() % shapes + 2)
    return table[index]


def picture(data_type: str, image: torch.Tensor, near: float, far: float) -> torch.Tensor:
    """One data type's images (K, H, W[, 3]) as RGB pictures (K, H, W, 3) uint8."""
    if data_type == "depth":
        return depth_grey(image, near, far).unsqueeze(-1).expand(*image.shape, 3)
    if data_type == "segmentation":
        return segmentation_colors(image)
    return image.to(torch.uint8)


def picture_label(camera: str, data_type: str, near: float, far: float) -> str:
    """The caption of a camera's pictures of one data type: ``"front depth: white 0.05 m, black 10 m"``."""
    if data_type == "depth":
        return f"{camera} depth: white {near:g} m, black {far:g} m"
    if data_type == "segmentation":
        return f"{camera} segmentation: a colour per shape, grey the ground"
    return f"{camera} {data_type}"


def env_pictures(
    cameras: dict[str, dict[str, torch.Tensor]],
    ranges: dict[str, tuple[float, float]],
    count: int,
    max_side: int = 128,
) -> dict[str, np.ndarray]:
    """The first ``count`` envs' pictures of each camera and data type as host arrays (K, H', W', 3) uint8 keyed by
    :func:`picture_label`. A picture larger than ``max_side`` pixels on a side keeps every s-th pixel (s the smallest
    integer that brings it within). Made on the images' device; one copy to the host for all of them.

    Args:
        cameras: camera name -> its images by data type (``env.camera(name)``), N >= 1 envs.
        ranges: camera name -> (near, far) [m].
        count: K, how many envs (at most N).
        max_side: the largest side of one env's picture [pixels].
    """
    pictures: dict[str, torch.Tensor] = {}
    for name, images in cameras.items():
        near, far = ranges[name]
        for data_type, image in images.items():
            step = max(1, math.ceil(max(image.shape[1:3]) / max_side))
            pictures[picture_label(name, data_type, near, far)] = picture(
                data_type, image[:count, ::step, ::step], near, far
            )
    if not pictures:
        return {}
    flat = torch.cat([p.reshape(-1) for p in pictures.values()]).cpu().numpy()
    out, start = {}, 0
    for label, p in pictures.items():
        out[label] = flat[start : start + p.numel()].reshape(p.shape)
        start += p.numel()
    return out
