"""The terrain as a triangle mesh and as USD: its vertices carry the height grid's heights (a vertex on a stair's
second tread is two steps up), a large grid is decimated under the triangle budget to samples of the grid, the
full mesh is the one the height scan casts rays against, and the terrain file holds the mesh a stage references."""

from __future__ import annotations

import numpy as np
import pytest
from isaac.rl.workbench.backend.base import TerrainGround
from isaac.rl.workbench.backend.newton_ray_cast import ground_triangles
from isaac.rl.workbench.scene.terrain import TerrainSpec, TileType, generate_terrain
from isaac.rl.workbench.scene.terrain_mesh import DISPLAY_MAX_TRIANGLES, terrain_mesh
from isaac.rl.workbench.scene.terrain_usd import read_terrain_mesh, terrain_file_name, write_terrain_usd
from pxr import Sdf, Usd, UsdGeom

STEP, WIDTH = 0.1, 0.3


def _stairs():
    params = {"step_height": (STEP, STEP), "step_width": (WIDTH, WIDTH)}
    return generate_terrain(TerrainSpec(rows=1, border=1.0, types=(TileType(name="stairs_down", params=params),)))


def _height_of_vertex_at(mesh, x: float, y: float) -> float:
    near = np.linalg.norm(mesh.vertices[:, :2] - np.array([x, y]), axis=1)
    assert near.min() < 1e-4, f"no vertex at ({x}, {y})"
    return float(mesh.vertices[near.argmin(), 2])


def test_a_vertex_on_the_second_tread_is_two_steps_up():
    terrain = _stairs()
    mesh = terrain_mesh(terrain.heights, terrain.horizontal_scale, max_triangles=None)
    x, y, _ = terrain.tile_origins[0, 0]
    edge = float(x) - 4.0  # the tile's low-x edge: the stairs go up from it to the summit
    assert _height_of_vertex_at(mesh, edge - 0.5, float(y)) == pytest.approx(0.0)  # the border
    assert _height_of_vertex_at(mesh, edge + 0.4, float(y)) == pytest.approx(STEP)  # first tread
    assert _height_of_vertex_at(mesh, edge + 0.7, float(y)) == pytest.approx(2 * STEP)  # second tread
    nx, ny = terrain.heights.shape
    assert mesh.vertices.shape == (nx * ny, 3) and mesh.faces.shape == (2 * (nx - 1) * (ny - 1), 3)
    # counter-clockwise seen from above: every triangle's normal points up
    a, b, c = (mesh.vertices[mesh.faces[:, k]] for k in range(3))
    assert (np.cross(b - a, c - a)[:, 2] > 0).all()


def test_the_full_mesh_is_the_one_the_height_scan_casts_rays_against():
    terrain = _stairs()
    mesh = terrain_mesh(terrain.heights, terrain.horizontal_scale, max_triangles=None)
    ground = TerrainGround(
        heights=terrain.heights, horizontal_scale=terrain.horizontal_scale, env_origins=np.zeros((1, 3))
    )
    vertices, indices = ground_triangles(ground)
    np.testing.assert_allclose(mesh.vertices, vertices, atol=1e-6)
    np.testing.assert_array_equal(mesh.faces.ravel(), indices)


def test_a_large_grid_is_decimated_under_the_budget_to_samples_of_the_grid():
    heights = np.random.default_rng(0).uniform(-0.1, 0.1, size=(901, 581)).astype(np.float32)  # a 10 x 6 terrain
    mesh = terrain_mesh(heights, 0.1)
    assert len(mesh.faces) <= DISPLAY_MAX_TRIANGLES and mesh.stride == 3
    # each vertex is a grid sample with its exact height, the grid's corners and far edges included
    i = np.rint(mesh.vertices[:, 0] / 0.1 + 450).astype(int)
    j = np.rint(mesh.vertices[:, 1] / 0.1 + 290).astype(int)
    np.testing.assert_array_equal(mesh.vertices[:, 2], heights[i, j])
    assert i.max() == 900 and j.max() == 580 and i.min() == 0 and j.min() == 0
    assert mesh.faces.max() == len(mesh.vertices) - 1


def test_the_terrain_file_holds_the_mesh_as_its_default_prim(tmp_path):
    terrain = _stairs()
    spec = TerrainSpec(rows=1, border=1.0)
    assert terrain_file_name(spec) == terrain_file_name(TerrainSpec(rows=1, border=1.0))
    assert terrain_file_name(spec) != terrain_file_name(TerrainSpec(rows=1, border=1.0, seed=1))
    path = write_terrain_usd(terrain, tmp_path / terrain_file_name(spec))
    stage = Usd.Stage.Open(str(path))
    prim = stage.GetDefaultPrim()
    assert prim.GetPath() == Sdf.Path("/terrain") and prim.IsA(UsdGeom.Mesh)
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    written = read_terrain_mesh(Sdf.Layer.FindOrOpen(str(path)), "/terrain")
    expected = terrain_mesh(terrain.heights, terrain.horizontal_scale)
    np.testing.assert_allclose(written.vertices, expected.vertices)
    np.testing.assert_array_equal(written.faces, expected.faces)
