"""Rays cast against the scene's static ground: a terrain's height grid, or the ground plane at z = 0, as one warp
triangle mesh (``wp.Mesh``, built on first use) queried by ``wp.mesh_query_ray`` in one kernel launch, with no host
sync, so a cast runs inside a captured CUDA graph. The robots' own shapes are never hit.

Shapes: N = num_envs, R = rays per env. Positions are world positions [m].
"""

from __future__ import annotations

import numpy as np
import torch
import warp as wp

from .base import TerrainGround

PLANE_HALF_SIZE = 1.0e4
"""Half the side of the square that stands for the ground plane [m]: rays that start further out miss it."""


@wp.kernel(enable_backward=False)
def _cast_kernel(
    mesh: wp.uint64,
    origins: wp.array(dtype=wp.vec3),
    directions: wp.array(dtype=wp.vec3),
    max_distance: float,
    distances: wp.array(dtype=float),
):
    ray = wp.tid()
    query = wp.mesh_query_ray(mesh, origins[ray], wp.normalize(directions[ray]), max_distance)
    if query.result:
        distances[ray] = query.t
    else:
        distances[ray] = max_distance


def ground_triangles(terrain: TerrainGround | None) -> tuple[np.ndarray, np.ndarray]:
    """The static ground as triangles: (vertices (V, 3) float32 [m], triangle vertex indices (T * 3,) int32).

    A terrain's (NX, NY) samples become its vertices, centred on the world's origin as ``TerrainGround.heights``
    says, each grid cell two triangles; without one, the ground plane is a square :data:`PLANE_HALF_SIZE` either
    side of the origin at z = 0."""
    if terrain is None:
        h = PLANE_HALF_SIZE
        vertices = np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]], dtype=np.float32)
        return vertices, np.array([0, 1, 2, 0, 2, 3], dtype=np.int32)
    nx, ny = terrain.heights.shape
    scale = terrain.horizontal_scale
    x = (np.arange(nx) - (nx - 1) / 2) * scale
    y = (np.arange(ny) - (ny - 1) / 2) * scale
    gx, gy = np.meshgrid(x, y, indexing="ij")  # (NX, NY), vertex i * NY + j
    vertices = np.stack([gx, gy, terrain.heights], axis=-1).reshape(-1, 3).astype(np.float32)
    corner = (np.arange(nx - 1)[:, None] * ny + np.arange(ny - 1)[None, :]).reshape(-1)  # each cell's (i, j)
    a, b, c, d = corner, corner + ny, corner + ny + 1, corner + 1  # (i, j), (i+1, j), (i+1, j+1), (i, j+1)
    indices = np.stack([a, b, c, a, c, d], axis=1).reshape(-1).astype(np.int32)
    return vertices, indices


class StaticRayCaster:
    """Ray casts against the static ground of one backend.

    Args:
        terrain: the request's height grid, or None for the ground plane.
        has_ground: whether there is any ground (False: every ray misses).
        device: the warp device the physics lives on ("cpu" or "cuda:i").
    """

    def __init__(self, terrain: TerrainGround | None, has_ground: bool, device: str):
        self._terrain, self._has_ground, self._device = terrain, has_ground, device
        self._mesh: wp.Mesh | None = None

    def cast(self, origins: torch.Tensor, directions: torch.Tensor, max_distance: float) -> torch.Tensor:
        """Distance [m] along each ray to the first ground it meets, ``max_distance`` where it meets none within
        that distance, shape (N, R).

        Args:
            origins: where each ray starts, world positions [m], (N, R, 3), on the physics device.
            directions: each ray's direction (normalised here), (N, R, 3) or broadcastable to it.
            max_distance: how far a ray reaches [m], > 0.
        """
        origins = origins.float().contiguous()
        directions = directions.float().expand_as(origins).contiguous()
        distances = torch.empty(origins.shape[:-1], dtype=torch.float32, device=origins.device)
        if not self._has_ground:
            return distances.fill_(max_distance)
        if self._mesh is None:
            vertices, indices = ground_triangles(self._terrain)
            points = wp.array(vertices, dtype=wp.vec3, device=self._device)
            self._mesh = wp.Mesh(points=points, indices=wp.array(indices, dtype=wp.int32, device=self._device))
        wp.launch(
            _cast_kernel,
            dim=distances.numel(),
            inputs=[
                self._mesh.id,
                wp.from_torch(origins.view(-1, 3), dtype=wp.vec3),
                wp.from_torch(directions.view(-1, 3), dtype=wp.vec3),
                float(max_distance),
            ],
            outputs=[wp.from_torch(distances.view(-1))],
            device=self._device,
        )
        return distances
