"""A terrain's height grid as one static Newton heightfield (``newton.Heightfield``, MuJoCo's ``hfield``), shared by
every env and every world, and where each env's clone goes on it."""

from __future__ import annotations

from dataclasses import replace

import newton
import numpy as np
import warp as wp

from .base import TerrainGround


def add_terrain(world: newton.ModelBuilder, terrain: TerrainGround) -> int:
    """Add ``terrain``'s heights to ``world`` as one static heightfield shape centred on the origin, colliding with
    everything; returns its shape index. Add it outside any env's world (after the clones), like a ground plane.

    Newton's heightfield is indexed [row, column] = [y, x]: the (NX, NY) grid goes in transposed. A grid of one
    height gets a range of 1 mm above it (a heightfield needs one), its samples all at the bottom.
    """
    heights = np.ascontiguousarray(terrain.heights.T, dtype=np.float32)  # (NY, NX)
    rows, cols = heights.shape
    low, high = float(heights.min()), float(heights.max())
    field = newton.Heightfield(
        data=heights,
        nrow=rows,
        ncol=cols,
        hx=(cols - 1) * terrain.horizontal_scale / 2,
        hy=(rows - 1) * terrain.horizontal_scale / 2,
        min_z=low,
        max_z=max(high, low + 1e-3),
    )
    return world.add_shape_heightfield(heightfield=field, label="terrain")


def env_transforms(terrain: TerrainGround) -> list[wp.transform]:
    """Each env's clone placed at its origin on the terrain, unrotated: (N,) transforms."""
    return [wp.transform(wp.vec3(*map(float, origin)), wp.quat_identity()) for origin in terrain.env_origins]


def with_envs(terrain: TerrainGround | None, num_envs: int) -> TerrainGround | None:
    """``terrain`` for ``num_envs`` clones: its env origins repeated or cut to as many (for a size measurement, where
    the envs start does not matter)."""
    if terrain is None:
        return None
    return replace(terrain, env_origins=np.resize(terrain.env_origins, (num_envs, 3)))
