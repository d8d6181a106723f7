"""The height functions of the terrain's tile types: one square tile of a height grid each, from its difficulty's
parameters. Pure numpy; :mod:`.terrain` lays the tiles out.

A tile is ``cells`` x ``cells`` height samples, ``scale`` metres apart, indexed ``[i, j]`` along x then y from the
tile's corner; sample (0, 0) lies on the tile's edge, and the sample one past the last belongs to the next tile. Every
tile type keeps its edge at height 0, so that neighbouring tiles and the flat border meet. "Up" and "down" are what a
robot does that starts at the tile's centre and walks out: on ``stairs_up`` it climbs (the centre is a pit), on
``stairs_down`` it descends (the centre is a summit). Heights are in metres, float64, before the generator rounds
them to the vertical scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

TileParams = Mapping[str, float]
"""A tile type's parameters at one difficulty: name -> value, units as in :data:`TILE_PARAMETERS`."""

TILE_PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "flat": {},
    "random_rough": {"amplitude": (0.02, 0.10), "noise_spacing": (0.2, 0.2)},
    "slope_up": {"slope_deg": (0.0, 20.0), "platform": (2.0, 2.0)},
    "slope_down": {"slope_deg": (0.0, 20.0), "platform": (2.0, 2.0)},
    "stairs_up": {"step_height": (0.05, 0.20), "step_width": (0.3, 0.3), "platform": (3.0, 3.0)},
    "stairs_down": {"step_height": (0.05, 0.20), "step_width": (0.3, 0.3), "platform": (3.0, 3.0)},
    "boxes": {
        "box_height": (0.05, 0.20),
        "box_size_min": (0.5, 0.5),
        "box_size_max": (2.0, 2.0),
        "count": (20.0, 20.0),
        "platform": (2.0, 2.0),
    },
    "stepping_stones": {
        "stone_size": (1.5, 0.5),
        "gap": (0.05, 0.3),
        "pit_depth": (1.0, 1.0),
        "platform": (2.0, 2.0),
    },
}
"""Each tile type's parameters with their defaults as (easiest, hardest): the value at difficulty d in [0, 1] is
``easiest + d * (hardest - easiest)``. Units:

- ``amplitude`` [m]: random_rough's heights are uniform in [-amplitude, amplitude], drawn every ``noise_spacing``
  [m] and linearly interpolated between.
- ``slope_deg`` [degrees]: the slope's angle, from the tile's edge to its flat central ``platform`` (side [m]).
- ``step_height`` [m], ``step_width`` [m]: each stair's rise and tread, from the edge to the central ``platform``.
- ``box_height`` [m]: the height of ``count`` boxes of sides uniform in [``box_size_min``, ``box_size_max``] [m],
  at uniform positions, outside the central ``platform``.
- ``stone_size`` [m], ``gap`` [m]: square stones at height 0 in a grid, ``gap`` apart, over pits ``pit_depth`` [m]
  deep, around a central ``platform`` at height 0.

Lengths are rounded to whole cells of the horizontal scale (a gap > 0 to at least one cell)."""

TILE_TYPES = tuple(TILE_PARAMETERS)
"""The tile type names, in the order of :data:`TILE_PARAMETERS`."""

POSITIVE_PARAMETERS = frozenset({"noise_spacing", "step_width", "box_size_min", "box_size_max", "stone_size"})
"""Parameters that must be > 0; every other one must be >= 0."""

MAX_SLOPE_DEG = 60.0
"""Steepest ``slope_deg`` accepted [degrees]."""


def edge_cells(cells: int) -> np.ndarray:
    """How many cells each sample of a tile lies in from the tile's nearest edge, shape (cells, cells), int: 0 on
    the edge, ``cells // 2`` at the centre."""
    along = np.minimum(np.arange(cells), cells - np.arange(cells))
    return np.minimum(along[:, None], along[None, :])


def _cells(length: float, scale: float) -> int:
    """``length`` [m] in whole cells of ``scale`` [m], at least 0."""
    return max(0, round(length / scale))


def _top(cells: int, platform: float, scale: float) -> int:
    """Cells from the edge to the central platform of side ``platform`` [m] (at least 0)."""
    return max(0, (cells - _cells(platform, scale)) // 2)


def flat(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """Height 0 everywhere."""
    return np.zeros((cells, cells))


def random_rough(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """Uniform noise in [-amplitude, amplitude] drawn on a coarse grid ``noise_spacing`` apart, linearly
    interpolated onto the tile's samples (so it stays within the amplitude); the edge is left rough."""
    spacing = max(p["noise_spacing"], scale)
    coarse_count = math.ceil(cells * scale / spacing) + 1
    coarse = rng.uniform(-p["amplitude"], p["amplitude"], size=(coarse_count, coarse_count))
    coarse_at = np.arange(coarse_count) * spacing
    fine_at = np.arange(cells) * scale
    along_x = np.stack([np.interp(fine_at, coarse_at, column) for column in coarse.T], axis=1)  # (cells, coarse)
    return np.stack([np.interp(fine_at, coarse_at, row) for row in along_x], axis=0)


def _slope(cells: int, scale: float, p: TileParams, sign: float) -> np.ndarray:
    rise_per_cell = math.tan(math.radians(p["slope_deg"])) * scale
    return sign * rise_per_cell * np.minimum(edge_cells(cells), _top(cells, p["platform"], scale))


def slope_up(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """A pyramid pit: from the flat central platform the ground rises at ``slope_deg`` to the tile's edge."""
    return _slope(cells, scale, p, -1.0)


def slope_down(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """A pyramid: from the flat central platform (the summit) the ground falls at ``slope_deg`` to the edge."""
    return _slope(cells, scale, p, 1.0)


def stair_steps(cells: int, scale: float, p: TileParams) -> np.ndarray:
    """Which stair each sample stands on, shape (cells, cells), int: 0 at the tile's edge, one more every
    ``step_width`` inwards, the platform on the last."""
    width = max(1, _cells(p["step_width"], scale))
    last = _top(cells, p["platform"], scale) // width
    return np.minimum(edge_cells(cells) // width, last)


def stairs_up(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """Pyramid stairs down into a pit: stair k from the edge is ``k * step_height`` below it; the robot starts on
    the pit's floor and climbs out."""
    return -p["step_height"] * stair_steps(cells, scale, p)


def stairs_down(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """Pyramid stairs up to a summit: stair k from the edge is ``k * step_height`` above it; the robot starts on
    the summit and climbs down."""
    return p["step_height"] * stair_steps(cells, scale, p)


def boxes(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """``count`` boxes ``box_height`` tall (overlaps merge), none on the central platform."""
    heights = np.zeros((cells, cells))
    low = max(1, _cells(p["box_size_min"], scale))
    high = max(low, _cells(p["box_size_max"], scale))
    for _ in range(round(p["count"])):
        size_x, size_y = rng.integers(low, high + 1, size=2)
        x, y = rng.integers(0, cells, size=2)
        heights[x : x + size_x, y : y + size_y] = p["box_height"]
    heights[edge_cells(cells) >= _top(cells, p["platform"], scale)] = 0.0
    return heights


def stepping_stones(cells: int, scale: float, p: TileParams, rng: np.random.Generator) -> np.ndarray:
    """Square stones ``stone_size`` wide at height 0, ``gap`` apart in a grid from the tile's corner, over pits
    ``pit_depth`` deep; the central platform is solid at height 0."""
    stone = max(1, _cells(p["stone_size"], scale))
    gap = max(1, _cells(p["gap"], scale)) if p["gap"] > 0 else 0
    index = np.arange(cells) % (stone + gap) < stone
    heights = np.where(index[:, None] & index[None, :], 0.0, -p["pit_depth"])
    heights[edge_cells(cells) >= _top(cells, p["platform"], scale)] = 0.0
    return heights


TILE_FUNCTIONS: dict[str, Callable[[int, float, TileParams, np.random.Generator], np.ndarray]] = {
    "flat": flat,
    "random_rough": random_rough,
    "slope_up": slope_up,
    "slope_down": slope_down,
    "stairs_up": stairs_up,
    "stairs_down": stairs_down,
    "boxes": boxes,
    "stepping_stones": stepping_stones,
}
"""Tile type name -> its height function ``(cells, scale [m], parameters, rng) -> heights (cells, cells) [m]``."""
