"""The browser panel's 3D view on a terrain: the spec's terrain is one mesh in place of the ground grid, the robots
at rest stand at their envs' start points on it, and the poses of a run are drawn at each frame's env origins; a
task without a terrain shows the grid and no mesh. A viser server on a free loopback port, no browser."""

from __future__ import annotations

import numpy as np
import pytest
import viser
from isaac.rl.workbench.envs.backend_request import terrain_ground
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.frontends.panel_state import PoseFrames
from isaac.rl.workbench.frontends.web.scene_view import SceneView
from isaac.rl.workbench.scene.terrain_mesh import display_terrain

from ...conftest import free_port

TERRAIN_SPEC = """extends = "ant"
name = "ant_on_stairs"

[env]
num_envs = 4

[terrain]
rows = 2
border = 1.0

[terrain.types.flat]

[terrain.types.stairs_down]
step_height = 0.1
"""


@pytest.fixture
def view(tmp_path):
    model = PanelModel(runs_dir=tmp_path / "runs")
    server = viser.ViserServer(host="127.0.0.1", port=free_port(), verbose=False)
    scene_view = SceneView(server, model)
    try:
        yield model, scene_view
    finally:
        scene_view.close()
        server.stop()
        model.close()


def test_a_terrain_task_shows_its_terrain_with_the_robots_on_it(view, tmp_path):
    model, scene_view = view
    (tmp_path / "ant_on_stairs.toml").write_text(TERRAIN_SPEC)
    assert model.open_spec(tmp_path / "ant_on_stairs.toml"), model.field_errors
    scene_view.show_spec()
    spec = model.spec()
    mesh = display_terrain(spec.terrain)
    handle = scene_view.terrain_handle
    assert handle is not None and handle.visible
    np.testing.assert_array_equal(handle.vertices, mesh.vertices)
    np.testing.assert_array_equal(handle.faces, mesh.faces)
    assert not scene_view._grid.visible, "the terrain replaces the ground grid"
    starts = terrain_ground(spec.terrain, 4, spec.env.spacing, "cpu").env_origins
    np.testing.assert_allclose(scene_view._offsets, starts[: model.view_envs])

    # a training block: env-relative poses, each frame's origins (env 1 moved to another tile at the second frame)
    poses = np.zeros((2, 4, len(model.articulation.bodies), 7), dtype=np.float32)
    poses[..., 2], poses[..., 6] = 0.5, 1.0
    origins = np.repeat(starts[None], 2, axis=0).astype(np.float32)
    origins[1, 1] = [1.0, 2.0, 0.3]
    bodies = list(model.articulation.bodies)
    scene_view.show_frames(PoseFrames(poses, 0.05, bodies, "training", origins=origins, terrain=mesh))
    assert scene_view.terrain_handle is handle, "the same terrain is sent once"
    scene_view._draw(scene_view._poses[1])
    drawn = scene_view._handles[0].batched_positions
    np.testing.assert_allclose(drawn[1], [1.0, 2.0, 0.8], atol=1e-6)
    np.testing.assert_allclose(drawn[0], starts[0] + [0.0, 0.0, 0.5], atol=1e-6)


def test_a_task_without_terrain_shows_the_grid_and_no_mesh(view):
    model, scene_view = view
    assert model.open_spec("cartpole")
    scene_view.show_spec()
    assert scene_view.terrain_handle is None and scene_view._grid.visible
    assert scene_view._offsets[:, 0].tolist() == [0.0] * model.view_envs, "side by side along +Y, as before"
