"""The terrain generator: every tile type builds at every level with the heights it claims, read as a ray cast
straight down reads them (:meth:`Terrain.height_at`); difficulty grows with the row; a seed gives one terrain; envs
start on tiles, spread over the columns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from isaac.rl.workbench.scene.terrain import (
    TerrainSpec,
    TileType,
    env_origins,
    env_start_tiles,
    generate_terrain,
)
from isaac.rl.workbench.scene.terrain_tiles import TILE_TYPES

SCALE = 0.1
TILE = 8.0
STEP_WIDTH = 0.3


def _terrain(*types: TileType, rows: int = 3, seed: int = 0, columns: int | None = None):
    spec = TerrainSpec(rows=rows, border=1.0, types=types, seed=seed, columns=columns, horizontal_scale=SCALE)
    return generate_terrain(spec)


def _one(name: str, rows: int = 3, **params: tuple[float, float]):
    """A terrain of one column of tile type ``name``."""
    return _terrain(TileType(name=name, params=params), rows=rows)


def _edge_x(terrain, row: int) -> float:
    """World x of the tile's low-x edge, on row ``row``."""
    return float(terrain.tile_origins[row, 0, 0]) - TILE / 2


def test_every_type_builds_at_every_level_with_a_grid_of_the_stated_size():
    terrain = _terrain(*(TileType(name=name) for name in TILE_TYPES), rows=4)
    cells = round(TILE / SCALE)
    assert terrain.heights.shape == (4 * cells + 2 * 10 + 1, len(TILE_TYPES) * cells + 2 * 10 + 1)
    assert terrain.heights.dtype == np.float32 and np.isfinite(terrain.heights).all()
    assert terrain.column_types == TILE_TYPES
    assert terrain.tile_origins.shape == (4, len(TILE_TYPES), 3)
    np.testing.assert_allclose(terrain.difficulty, [0, 1 / 3, 2 / 3, 1])
    # the flat border and every tile's edge stay at 0: neighbouring tiles meet
    assert not terrain.heights[:10].any() and not terrain.heights[:, -10:].any()
    # a tile's origin stands on the ground under it
    x, y, z = terrain.tile_origins.reshape(-1, 3).T
    assert (terrain.height_at(x, y) <= z + 1e-6).all()


def test_flat_is_zero_everywhere():
    terrain = _one("flat")
    assert not terrain.heights.any()
    assert terrain.height_at(3.3, -1.7) == 0.0


@pytest.mark.parametrize(("name", "sign"), [("stairs_up", -1.0), ("stairs_down", 1.0)])
@pytest.mark.parametrize("row", [0, 1, 2])
def test_a_ray_straight_down_over_a_stair_edge_reads_the_step(name, sign, row):
    terrain = _one(name, step_height=(0.05, 0.25), step_width=(STEP_WIDTH, STEP_WIDTH))
    step = [0.05, 0.15, 0.25][row]
    edge = _edge_x(terrain, row)
    y = float(terrain.tile_origins[row, 0, 1])
    # half a step before and after the first stair edge (one step in from the tile's edge), then the second
    before, after = terrain.height_at([edge + 0.5 * STEP_WIDTH, edge + 1.5 * STEP_WIDTH], y)
    assert before == pytest.approx(0.0, abs=1e-6)
    assert after == pytest.approx(sign * step, abs=1e-6)
    assert terrain.height_at(edge + 2.5 * STEP_WIDTH, y) == pytest.approx(sign * 2 * step, abs=1e-6)
    # the robot starts on the central platform, 8 steps from the edge (3 m platform in an 8 m tile, 0.3 m steps)
    steps_to_platform = int((TILE - 3.0) / 2 // STEP_WIDTH)
    assert terrain.tile_origins[row, 0, 2] == pytest.approx(sign * steps_to_platform * step, abs=1e-6)
    assert terrain.tile_params[row][0]["step_height"] == pytest.approx(step)


@pytest.mark.parametrize(("name", "sign"), [("slope_up", -1.0), ("slope_down", 1.0)])
@pytest.mark.parametrize("row", [0, 1, 2])
def test_a_slope_rises_at_its_angle(name, sign, row):
    terrain = _one(name, slope_deg=(5.0, 25.0))
    angle = [5.0, 15.0, 25.0][row]
    edge = _edge_x(terrain, row)
    y = float(terrain.tile_origins[row, 0, 1])
    x = edge + np.array([0.5, 1.5, 2.5])
    z = terrain.height_at(x, y)
    rise = np.diff(z) / np.diff(x)
    # heights are multiples of the 5 mm vertical scale: the rise over 1 m is off by at most 5 mm
    np.testing.assert_allclose(rise, sign * math.tan(math.radians(angle)), atol=0.005 + 1e-6)
    centre = terrain.tile_origins[row, 0]
    assert centre[2] == pytest.approx(sign * math.tan(math.radians(angle)) * (TILE - 2.0) / 2, abs=0.0025)


@pytest.mark.parametrize("row", [0, 1, 2])
def test_boxes_have_their_height_and_leave_the_platform_clear(row):
    terrain = _one("boxes", box_height=(0.05, 0.25))
    height = [0.05, 0.15, 0.25][row]
    tile = _tile(terrain, row)
    assert _levels(tile) == [0.0, round(height, 4)]
    assert terrain.tile_origins[row, 0, 2] == 0.0


@pytest.mark.parametrize("row", [0, 1, 2])
def test_stepping_stones_stand_at_zero_over_pits_at_their_depth(row):
    terrain = _one("stepping_stones", pit_depth=(0.5, 0.5))
    tile = _tile(terrain, row)
    assert _levels(tile) == [-0.5, 0.0]
    assert terrain.tile_origins[row, 0, 2] == 0.0


def test_stepping_stones_shrink_and_their_gaps_widen_with_the_level():
    terrain = _one("stepping_stones", rows=3)
    pits = [float((_tile(terrain, row) < 0).mean()) for row in range(3)]
    assert pits[0] < pits[1] < pits[2], pits


@pytest.mark.parametrize("row", [0, 1, 2])
def test_random_rough_stays_within_its_amplitude(row):
    terrain = _one("random_rough", amplitude=(0.02, 0.10))
    amplitude = [0.02, 0.06, 0.10][row]
    tile = _tile(terrain, row)
    assert np.abs(tile).max() <= amplitude + 0.0025 + 1e-6
    assert np.abs(tile).max() > amplitude / 2, "noise that never comes near its amplitude"


@pytest.mark.parametrize("name", ["random_rough", "slope_up", "stairs_down", "boxes"])
def test_each_type_grows_harder_with_the_row(name):
    """Its heights spread wider on every row (stepping stones: by their pits, above)."""
    terrain = _one(name, rows=4)
    spread = [float(np.ptp(_tile(terrain, row))) for row in range(4)]
    assert spread == sorted(spread) and spread[-1] > spread[0], spread


def test_the_same_seed_gives_the_same_terrain_and_another_seed_another():
    types = (TileType(name="random_rough"), TileType(name="boxes"))
    first, again, other = (_terrain(*types, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(first.heights, again.heights)
    np.testing.assert_array_equal(first.tile_origins, again.tile_origins)
    assert not np.array_equal(first.heights, other.heights)


def test_columns_are_shared_out_by_proportion():
    terrain = _terrain(TileType(name="flat", proportion=1.0), TileType(name="stairs_up", proportion=3.0), columns=8)
    assert terrain.column_types == ("flat",) * 2 + ("stairs_up",) * 6


def test_envs_spread_over_the_columns_start_on_the_levels_allowed():
    spec = TerrainSpec(rows=4, border=1.0, types=(TileType(name="flat"), TileType(name="boxes")), max_start_level=1)
    levels, columns = env_start_tiles(spec, 10)
    assert columns.tolist() == [0, 1] * 5  # interleaved: any consecutive envs cover both types
    assert set(levels.tolist()) <= {0, 1}
    terrain = generate_terrain(spec)
    origins = env_origins(terrain, levels, columns)
    np.testing.assert_array_equal(origins, terrain.tile_origins[levels, columns])


def test_envs_sharing_a_tile_in_one_world_start_apart_on_it():
    spec = TerrainSpec(rows=1, border=1.0, types=(TileType(name="flat"),))
    terrain = generate_terrain(spec)
    levels, columns = np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int64)
    origins = env_origins(terrain, levels, columns, spread=2.0)
    distances = np.linalg.norm(origins[:, None, :2] - origins[None, :, :2], axis=-1)
    assert distances[~np.eye(5, dtype=bool)].min() >= 2.0 - 1e-6
    centre = terrain.tile_origins[0, 0, :2]
    assert np.abs(origins[:, :2] - centre).max() <= TILE / 2, "an env started off its tile"


def _tile(terrain, row: int, col: int = 0) -> np.ndarray:
    """The heights of tile (row, col), its samples only."""
    cells = round(TILE / SCALE)
    x0, y0 = terrain.origin
    x, y = terrain.tile_origins[row, col, :2]
    i = round((x - TILE / 2 - x0) / SCALE)
    j = round((y - TILE / 2 - y0) / SCALE)
    return terrain.heights[i : i + cells, j : j + cells]


def _levels(heights: np.ndarray) -> list[float]:
    """The distinct heights [m], to 0.1 mm, ascending."""
    return np.unique(np.round(heights.astype(float), 4)).tolist()
