"""A terrain's height grid as a triangle mesh for display (the browser panel's 3D view, recordings, the Isaac Sim
stage). Pure numpy.

The mesh's vertices are samples of the grid, in the world frame of :mod:`.terrain` (z up, the grid centred on the
origin, metres), each grid cell two triangles, as the physics' heightfield and the height scan's ray cast split it.
A grid whose full mesh would exceed ``max_triangles`` keeps every ``stride``-th sample along x and y (and always the
last), so its vertices still carry the grid's exact heights; edges between kept samples are then straight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .terrain import TerrainSpec, generate_terrain

DISPLAY_MAX_TRIANGLES = 200_000
"""Most triangles of a terrain shown in a view or written to a recording: a 10 x 6-tile terrain of 8 m tiles at
0.1 m (1.04M triangles at full resolution) is drawn at every third sample."""


@dataclass(frozen=True, eq=False)
class TerrainMesh:
    """A terrain as triangles."""

    vertices: np.ndarray
    """Vertex positions x, y, z [m] in the world frame, float32, shape (V, 3)."""
    faces: np.ndarray
    """Vertex indices of each triangle, counter-clockwise seen from above, int32, shape (T, 3)."""
    stride: int
    """Samples of the height grid between neighbouring vertices along x and y (1: every sample)."""


def sample_indices(count: int, stride: int) -> np.ndarray:
    """Every ``stride``-th index of ``count`` samples, the last one always kept: int64, shape (K,)."""
    kept = np.arange(0, count, stride)
    return kept if kept[-1] == count - 1 else np.append(kept, count - 1)


def mesh_stride(shape: tuple[int, int], max_triangles: int | None) -> int:
    """The smallest stride whose mesh of a (NX, NY) grid has at most ``max_triangles`` triangles (1 for None)."""
    nx, ny = shape
    stride = 1
    while max_triangles is not None and stride < max(nx, ny) - 1:
        cells = (len(sample_indices(nx, stride)) - 1) * (len(sample_indices(ny, stride)) - 1)
        if 2 * cells <= max_triangles:
            break
        stride += 1
    return stride


def terrain_mesh(
    heights: np.ndarray, horizontal_scale: float, max_triangles: int | None = DISPLAY_MAX_TRIANGLES
) -> TerrainMesh:
    """The triangle mesh of a height grid.

    Args:
        heights: ground height [m], shape (NX, NY) >= (2, 2), sample [i, j] at ``((i - (NX - 1) / 2) * scale,
            (j - (NY - 1) / 2) * scale)`` (:class:`.terrain.Terrain`'s ``heights``).
        horizontal_scale: distance between neighbouring samples [m], > 0.
        max_triangles: most triangles of the mesh (the grid is decimated to stay under it); None: every sample.

    Returns:
        The mesh: vertex ``a * K_y + b`` is sample ``(ix[a], iy[b])`` of the kept samples, each cell between kept
        samples the triangles ``(i, j), (i+1, j), (i+1, j+1)`` and ``(i, j), (i+1, j+1), (i, j+1)``.
    """
    heights = np.asarray(heights)
    nx, ny = heights.shape
    stride = mesh_stride((nx, ny), max_triangles)
    ix, iy = sample_indices(nx, stride), sample_indices(ny, stride)
    x = (ix - (nx - 1) / 2) * horizontal_scale
    y = (iy - (ny - 1) / 2) * horizontal_scale
    gx, gy = np.meshgrid(x, y, indexing="ij")
    vertices = np.stack([gx, gy, heights[np.ix_(ix, iy)]], axis=-1).reshape(-1, 3).astype(np.float32)
    kx, ky = len(ix), len(iy)
    corner = (np.arange(kx - 1)[:, None] * ky + np.arange(ky - 1)[None, :]).reshape(-1)
    a, b, c, d = corner, corner + ky, corner + ky + 1, corner + 1  # (i, j), (i+1, j), (i+1, j+1), (i, j+1)
    faces = np.stack([a, b, c, a, c, d], axis=1).reshape(-1, 3).astype(np.int32)
    return TerrainMesh(vertices=vertices, faces=faces, stride=stride)


def display_terrain(spec: TerrainSpec) -> TerrainMesh:
    """The display mesh of the terrain ``spec`` generates (at most :data:`DISPLAY_MAX_TRIANGLES` triangles); the
    same object for equal specs while they are among the last :data:`_CACHED` asked for."""
    key = repr(spec)
    if key not in _display_meshes:
        terrain = generate_terrain(spec)
        _display_meshes[key] = terrain_mesh(terrain.heights, terrain.horizontal_scale)
        while len(_display_meshes) > _CACHED:
            _display_meshes.pop(next(iter(_display_meshes)))
    return _display_meshes[key]


_CACHED = 4
_display_meshes: dict[str, TerrainMesh] = {}
