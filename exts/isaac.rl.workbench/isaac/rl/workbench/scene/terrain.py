"""A terrain of tiles as one height grid: rows of increasing difficulty (levels) along x, columns of tile types along
y, inside a flat border; where each tile's robot starts, and where each env starts. Pure numpy.

The layout follows Isaac Lab's terrain generator (tiles ``tile_size`` metres square, ``border``, ``rows`` levels,
``columns`` shared out among the tile types by their proportions, a ``horizontal_scale`` grid whose heights are
multiples of ``vertical_scale``). Row r has difficulty ``r / (rows - 1)`` (0 for a single row): each tile type's
parameters go from their easiest value on the first row to their hardest on the last (:mod:`.terrain_tiles`).

World frame: z up, the grid centred on the origin; ``heights[i, j]`` is the ground's height at
``x = x0 + i * horizontal_scale``, ``y = y0 + j * horizontal_scale``, and the surface is linear between samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .terrain_tiles import TILE_FUNCTIONS, TILE_PARAMETERS

ORIGIN_PATCH = 1.0
"""Side of the square around a start point whose highest ground gives the start's height [m]: a robot never starts
inside a bump."""


@dataclass(frozen=True, kw_only=True)
class TileType:
    """One tile type of a terrain and how many of its columns it gets."""

    name: str
    """One of :data:`.terrain_tiles.TILE_TYPES`."""
    proportion: float = 1.0
    """Its share of the columns, >= 0 (shares are normalised over the types)."""
    params: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Parameter -> (easiest, hardest), for the first and the last row; those left out take
    :data:`.terrain_tiles.TILE_PARAMETERS`' defaults."""


def default_tile_types() -> tuple[TileType, ...]:
    """Every tile type once, with its default parameters."""
    return tuple(TileType(name=name) for name in TILE_PARAMETERS)


@dataclass(frozen=True, kw_only=True)
class TerrainSpec:
    """What terrain to generate. Units: metres."""

    tile_size: float = 8.0
    """Side of each square tile [m], a whole number of ``horizontal_scale`` cells."""
    border: float = 5.0
    """Width of the flat border at height 0 around the tiles [m], a whole number of cells."""
    rows: int = 5
    """Number of difficulty levels, tiles along x, >= 1."""
    columns: int | None = None
    """Number of tiles along y, >= 1, shared out among the types by proportion; None: one column per type."""
    horizontal_scale: float = 0.1
    """Distance between neighbouring height samples [m], > 0."""
    vertical_scale: float = 0.005
    """Every height is a multiple of it [m], > 0."""
    types: tuple[TileType, ...] = field(default_factory=default_tile_types)
    """The tile types, at least one."""
    seed: int = 0
    """Seed of the random tiles (rough, boxes) and of where the envs start; the same seed gives the same terrain."""
    max_start_level: int | None = None
    """Highest level (row) an env starts on, 0 <= it < rows; None: every level."""

    @property
    def num_columns(self) -> int:
        return len(self.types) if self.columns is None else self.columns


@dataclass(frozen=True, eq=False)
class Terrain:
    """A generated terrain: the height grid and its tiles."""

    heights: np.ndarray
    """Ground height [m], float32, shape (NX, NY): sample [i, j] at ``(x0 + i * horizontal_scale, y0 + j *
    horizontal_scale)``; NX = rows * tile cells + 2 * border cells + 1, NY likewise with the columns."""
    horizontal_scale: float
    """[m] between samples."""
    tile_size: float
    """Side of each square tile [m]."""
    tile_origins: np.ndarray
    """Where a robot starts on each tile, float32, shape (rows, columns, 3) [m]: the tile's centre at the highest
    ground within :data:`ORIGIN_PATCH` of it."""
    column_types: tuple[str, ...]
    """Tile type of each column, (columns,)."""
    difficulty: np.ndarray
    """Difficulty of each row (level) in [0, 1], float64, shape (rows,)."""
    tile_params: tuple[tuple[dict[str, float], ...], ...]
    """Parameters each tile was built with, [row][column]: name -> value (units as in
    :data:`.terrain_tiles.TILE_PARAMETERS`)."""

    @property
    def origin(self) -> tuple[float, float]:
        """(x0, y0): world position of sample [0, 0] [m]; the grid is centred on the world's origin."""
        nx, ny = self.heights.shape
        return -(nx - 1) * self.horizontal_scale / 2, -(ny - 1) * self.horizontal_scale / 2

    @property
    def size(self) -> tuple[float, float]:
        """(length along x, width along y) of the grid [m]."""
        nx, ny = self.heights.shape
        return (nx - 1) * self.horizontal_scale, (ny - 1) * self.horizontal_scale

    def height_at(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """The ground's height under world points (x, y) [m] (what a ray cast straight down meets), bilinear between
        samples; points off the grid read its edge. Shapes broadcast; float64 result."""
        x0, y0 = self.origin
        nx, ny = self.heights.shape
        fx = np.clip((np.asarray(x, dtype=float) - x0) / self.horizontal_scale, 0, nx - 1)
        fy = np.clip((np.asarray(y, dtype=float) - y0) / self.horizontal_scale, 0, ny - 1)
        i = np.minimum(np.floor(fx).astype(int), nx - 2)
        j = np.minimum(np.floor(fy).astype(int), ny - 2)
        tx, ty = fx - i, fy - j
        h = self.heights.astype(float)
        low = h[i, j] * (1 - tx) + h[i + 1, j] * tx
        high = h[i, j + 1] * (1 - tx) + h[i + 1, j + 1] * tx
        return low * (1 - ty) + high * ty

    def highest_near(self, x: float, y: float, side: float = ORIGIN_PATCH) -> float:
        """The highest sample within the square of ``side`` [m] centred on (x, y) [m]."""
        x0, y0 = self.origin
        half = side / 2 / self.horizontal_scale
        i, j = (x - x0) / self.horizontal_scale, (y - y0) / self.horizontal_scale
        nx, ny = self.heights.shape
        rows = slice(max(0, int(np.ceil(i - half))), min(nx, int(np.floor(i + half)) + 1))
        cols = slice(max(0, int(np.ceil(j - half))), min(ny, int(np.floor(j + half)) + 1))
        return float(self.heights[rows, cols].max())


def column_types(spec: TerrainSpec) -> tuple[str, ...]:
    """The tile type of each column: column j takes the type whose share of the cumulative proportions holds the
    column's middle, ``(j + 0.5) / columns``."""
    shares = np.cumsum([t.proportion for t in spec.types], dtype=float)
    shares /= shares[-1]
    middles = (np.arange(spec.num_columns) + 0.5) / spec.num_columns
    return tuple(spec.types[int(np.searchsorted(shares, m, side="right"))].name for m in middles)


def level_difficulty(rows: int) -> np.ndarray:
    """Difficulty of each of ``rows`` levels, shape (rows,): evenly from 0 to 1 (0 for a single row)."""
    return np.linspace(0.0, 1.0, rows) if rows > 1 else np.zeros(1)


def tile_parameters(tile: TileType, difficulty: float) -> dict[str, float]:
    """``tile``'s parameters at ``difficulty`` in [0, 1], defaults filled in."""
    ranges = {**TILE_PARAMETERS[tile.name], **tile.params}
    return {name: easy + difficulty * (hard - easy) for name, (easy, hard) in ranges.items()}


def generate_terrain(spec: TerrainSpec) -> Terrain:
    """The height grid of ``spec``'s tiles, each tile's start point, type and parameters. Deterministic: each tile
    draws from its own generator, seeded with ``(spec.seed, row, column)``."""
    scale = spec.horizontal_scale
    cells = round(spec.tile_size / scale)
    border = round(spec.border / scale)
    types = column_types(spec)
    by_name = {t.name: t for t in spec.types}
    difficulty = level_difficulty(spec.rows)
    nx, ny = spec.rows * cells + 2 * border + 1, spec.num_columns * cells + 2 * border + 1
    raw = np.zeros((nx, ny))
    params = []
    for row in range(spec.rows):
        row_params = []
        for col, name in enumerate(types):
            p = tile_parameters(by_name[name], float(difficulty[row]))
            rng = np.random.default_rng([spec.seed, row, col])
            i, j = border + row * cells, border + col * cells
            raw[i : i + cells, j : j + cells] = TILE_FUNCTIONS[name](cells, scale, p, rng)
            row_params.append(p)
        params.append(tuple(row_params))
    heights = (np.round(raw / spec.vertical_scale) * spec.vertical_scale).astype(np.float32)
    terrain = Terrain(
        heights=heights,
        horizontal_scale=scale,
        tile_size=cells * scale,
        tile_origins=np.zeros((spec.rows, spec.num_columns, 3), dtype=np.float32),
        column_types=types,
        difficulty=difficulty,
        tile_params=tuple(params),
    )
    x0, y0 = terrain.origin
    for row in range(spec.rows):
        for col in range(spec.num_columns):
            x = x0 + (border + row * cells + cells / 2) * scale
            y = y0 + (border + col * cells + cells / 2) * scale
            terrain.tile_origins[row, col] = (x, y, terrain.highest_near(x, y))
    return terrain


def env_start_tiles(spec: TerrainSpec, num_envs: int) -> tuple[np.ndarray, np.ndarray]:
    """Which tile each env starts on: env i on column ``i % columns``, so that any run of consecutive envs (the
    first k envs an evaluation takes, the evaluation envs appended after the training envs) covers every tile type,
    on a level drawn uniformly from 0 to ``max_start_level`` (seeded by ``spec.seed``). Isaac Lab gives each column
    a block of consecutive envs instead, which puts the first envs all on the first type.

    Returns:
        (levels, columns), each int64 of shape (num_envs,).
    """
    columns = np.arange(num_envs) % spec.num_columns
    top = spec.rows - 1 if spec.max_start_level is None else spec.max_start_level
    levels = np.random.default_rng([spec.seed, num_envs]).integers(0, top + 1, size=num_envs)
    return levels.astype(np.int64), columns.astype(np.int64)


def env_origins(terrain: Terrain, levels: np.ndarray, columns: np.ndarray, spread: float = 0.0) -> np.ndarray:
    """Each env's start point [m], float32, shape (N, 3), on tiles ``(levels[i], columns[i])``.

    Args:
        spread: 0 puts every env of a tile on its origin (envs that never touch: one world each); > 0 puts the
            k-th env of a column (in env order, whatever its level) at the k-th nearest point to its tile's centre
            of a square grid ``spread`` metres apart within the tile (envs sharing one world must not start inside
            each other, also after a curriculum moves them to other levels of their column), on the highest ground
            within :data:`ORIGIN_PATCH` of it. More envs of a column than grid points start again at the centre.
    """
    origins = terrain.tile_origins[levels, columns].copy()
    if spread <= 0:
        return origins
    tile = terrain.tile_size
    reach = math.ceil(tile / 2 / spread) - 1  # grid points strictly inside the tile
    grid = [(a * spread, b * spread) for a in range(-reach, reach + 1) for b in range(-reach, reach + 1)]
    grid.sort(key=lambda ab: (ab[0] ** 2 + ab[1] ** 2, ab))
    seen: dict[int, int] = {}
    for env, key in enumerate(columns.tolist()):
        k = seen.get(key, 0)
        seen[key] = k + 1
        dx, dy = grid[k % len(grid)]
        x, y = float(origins[env, 0]) + dx, float(origins[env, 1]) + dy
        origins[env] = (x, y, terrain.highest_near(x, y))
    return origins
