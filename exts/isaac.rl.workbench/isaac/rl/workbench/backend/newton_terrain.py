"""A terrain's height grid as one static Newton heightfield (``newton.Heightfield``, MuJoCo's ``hfield``), shared by
every env and every world, and where each env's clone goes on it."""

from __future__ import annotations

from dataclasses import replace

import newton
import numpy as np
import warp as wp

from .base import TerrainGround

CONTACT_GAP = 0.02
"""How far apart [m] a shape and the terrain start making contact points (MuJoCo's geom ``gap``, Newton's
``ShapeConfig.gap``; Newton's default is 0.1 m). MuJoCo's heightfield collision makes up to 50 points per shape
pair, one per grid prism a shape comes within this gap of: with 0.1 m a standing Go2 made about 760 (its meshes all
within 10 cm of the ground), which overflow the contact budget of a GPU world (CONTACTS_PER_ENV); with 0.02 m it
makes 55 to 90 (10 Go2s standing on the first row: 88 to 90 each), within the 128. A foot at 2 m/s moves 1 cm in
a 5 ms physics step."""


HFIELD_BASE = 0.5
"""Depth [m] of the solid under the heightfield's lowest point (MuJoCo's hfield ``size[3]``). MuJoCo collides shapes
with the prisms between the grid's surface and this base; Newton's default of 0.1 mm leaves the prisms at the
lowest height (a flat terrain, the deepest pit) paper-thin, and MuJoCo-Warp then loses the contacts of feet
that sink a few millimetres: Go2s standing still on a flat heightfield rocked at 0.23 rad/s and knelt on their
calves (0.035 rad/s, as on the plane, with this base; MuJoCo-Warp on the CPU, ``env.cpu_solver``)."""


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
    cfg = newton.ModelBuilder.ShapeConfig(gap=CONTACT_GAP)
    return world.add_shape_heightfield(
        heightfield=field, cfg=cfg, label="terrain", custom_attributes={"mujoco:hfield_base": HFIELD_BASE}
    )


def narrow_contact_gaps(model: newton.Model) -> None:
    """Give every shape of ``model`` the contact gap :data:`CONTACT_GAP` (the pair's gap is the larger of its two
    shapes'); call it after ``finalize``, before the solver converts the model."""
    model.shape_gap.fill_(CONTACT_GAP)


def env_transforms(terrain: TerrainGround) -> list[wp.transform]:
    """Each env's clone placed at its origin on the terrain, unrotated: (N,) transforms."""
    return [wp.transform(wp.vec3(*map(float, origin)), wp.quat_identity()) for origin in terrain.env_origins]


def with_envs(terrain: TerrainGround | None, num_envs: int) -> TerrainGround | None:
    """``terrain`` for ``num_envs`` clones: its env origins repeated or cut to as many (for a size measurement, where
    the envs start does not matter)."""
    if terrain is None:
        return None
    return replace(terrain, env_origins=np.resize(terrain.env_origins, (num_envs, 3)))
