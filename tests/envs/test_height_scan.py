"""The height scan on Newton on the CPU: rays cast down onto the terrain's triangles (or the ground plane) read the
ground's heights, and the ``height_scan`` term of an ant standing on a slope, on stairs and on flat ground reads
what the terrain generator made there."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from isaac.rl.workbench.backend.base import TerrainGround
from isaac.rl.workbench.backend.newton_ray_cast import StaticRayCaster
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.scene.terrain import generate_terrain
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError
from isaac.rl.workbench.terms.height_scan import scan_grid

SLOPE_DEG = 15.0
STEP = 0.1
"""Stair height [m]."""
OFFSET = 0.5
"""The scan's offset [m]."""
ABOVE = 0.75
"""How high above the ground the ant's torso is placed [m]."""
DOWN = torch.tensor([0.0, 0.0, -1.0])


def _scan_spec(overrides: dict, **params):
    scan = {"func": "height_scan", "params": {"body": "torso", "clip": 10.0, **params}}
    return load_spec("ant", {"observations.scan.terms": [scan], **overrides})


def test_a_ray_straight_down_over_a_stair_edge_reads_the_step():
    heights = np.zeros((7, 3), dtype=np.float32)  # x from -0.3 to 0.3, a 0.2 m step up between x = 0 and 0.1
    heights[4:] = 0.2
    terrain = TerrainGround(heights=heights, horizontal_scale=0.1, env_origins=np.zeros((1, 3), np.float32))
    caster = StaticRayCaster(terrain, True, "cpu")
    origins = torch.tensor([[[-0.02, 0.03, 1.0], [0.12, -0.04, 1.0], [0.05, 0.0, 1.0], [2.0, 0.0, 1.0]]])
    distances = caster.cast(origins, DOWN, 5.0)
    assert torch.allclose(1.0 - distances, torch.tensor([[0.0, 0.2, 0.1, -4.0]]), atol=1e-5), (
        "before the edge, on the step, half-way up the one-cell ramp between samples, off the grid (a miss)"
    )
    slanted = caster.cast(torch.tensor([[[-0.2, 0.0, 0.1]]]), torch.tensor([2.0, 0.0, -2.0]), 5.0)
    assert math.isclose(float(slanted), 0.1 * math.sqrt(2), rel_tol=1e-5), "any direction, any length"


def test_without_a_terrain_rays_meet_the_ground_plane_or_nothing():
    origins = torch.tensor([[[0.0, 0.0, 0.7], [-250.0, 40.0, 1.5]], [[3.0, 3.0, 2.0], [0.0, 0.0, -1.0]]])
    plane = StaticRayCaster(None, True, "cpu").cast(origins, DOWN, 100.0)
    assert torch.allclose(plane, torch.tensor([[0.7, 1.5], [2.0, 100.0]]), atol=1e-5), "below the plane: a miss"
    assert (StaticRayCaster(None, False, "cpu").cast(origins, DOWN, 100.0) == 100.0).all(), "no ground at all"


@pytest.fixture(scope="module")
def ant_on_slope_and_stairs():
    """Two ants: env 0 on a slope_up tile (a pit whose sides rise at SLOPE_DEG), env 1 on a stairs_up tile."""
    overrides = {
        "env.num_envs": 2,
        "terrain.rows": 1,
        "terrain.types.slope_up.slope_deg": SLOPE_DEG,
        "terrain.types.stairs_up.step_height": STEP,
    }
    spec = _scan_spec(overrides, offset=OFFSET)
    return WorkbenchEnv(spec), generate_terrain(spec.terrain)


def _place(env, index: int, x: float, y: float, yaw: float, ground) -> tuple[np.ndarray, float]:
    """Env ``index``'s torso at (x, y) [m] of its env frame, :data:`ABOVE` its ground, turned by ``yaw`` [rad];
    returns the env's scan and the torso's height in the env frame [m]."""
    origin = env.backend.env_origins[index].numpy()
    z = float(ground(origin[0] + x, origin[1] + y)) - origin[2] + ABOVE
    pose = torch.zeros(env.num_envs, 7)
    pose[:, 6] = 1.0
    pose[index] = torch.tensor([x, y, z, 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    mask = torch.arange(env.num_envs) == index
    env.reset_physics(mask, env.default_dof_pos, torch.zeros_like(env.default_dof_pos), pose)
    return env.call_term(env.spec.observations["scan"][0])[index].numpy(), z


def _expected(env, index: int, x: float, y: float, yaw: float, z: float, ground) -> np.ndarray:
    """What the scan should read: the torso's height above the terrain's bilinear heights under the grid, minus the
    offset."""
    grid = scan_grid((1.6, 1.0), 0.1, "cpu").numpy().astype(float)
    cos, sin = math.cos(yaw), math.sin(yaw)
    origin = env.backend.env_origins[index].numpy()
    wx = origin[0] + x + cos * grid[:, 0] - sin * grid[:, 1]
    wy = origin[1] + y + sin * grid[:, 0] + cos * grid[:, 1]
    return z - (ground(wx, wy) - origin[2]) - OFFSET


def _gradient(scan: np.ndarray) -> tuple[float, float]:
    """The scan's slope along the body's x and y [m/m], by least squares over the 17 x 11 grid."""
    grid = scan_grid((1.6, 1.0), 0.1, "cpu").numpy().astype(float)
    design = np.column_stack([grid, np.ones(len(grid))])
    (gx, gy, _), *_ = np.linalg.lstsq(design, scan.astype(float), rcond=None)
    return gx, gy


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2])
def test_the_scan_of_an_ant_on_a_slope_matches_the_slope(ant_on_slope_and_stairs, yaw):
    """2.5 m out from the pit's centre along +x the ground rises at 15 degrees towards +x: facing +x the scan falls
    by tan(15 degrees) per metre ahead; turned to face +y, it falls to its right (body -y is world +x)."""
    env, terrain = ant_on_slope_and_stairs
    scan, z = _place(env, 0, 2.5, 0.0, yaw, terrain.height_at)
    assert scan.shape == (187,)
    np.testing.assert_allclose(scan, _expected(env, 0, 2.5, 0.0, yaw, z, terrain.height_at), atol=5e-3)
    gx, gy = _gradient(scan)
    rise = math.tan(math.radians(SLOPE_DEG))
    expected = (-rise, 0.0) if yaw == 0.0 else (0.0, rise)
    np.testing.assert_allclose([gx, gy], expected, atol=0.01)
    assert abs(scan[93] - (ABOVE - OFFSET)) < 5e-3, "the middle ray: right under the torso"


def test_over_stair_edges_the_scan_reads_each_step(ant_on_slope_and_stairs):
    """Over the pit's rim: the grid's x runs from the bottom platform up four stairs."""
    env, terrain = ant_on_slope_and_stairs
    x, y = 2.05, 0.05  # rays fall between grid samples
    scan, z = _place(env, 1, x, y, 0.0, terrain.height_at)
    np.testing.assert_allclose(scan, _expected(env, 1, x, y, 0.0, z, terrain.height_at), atol=1e-4)
    middle_row = scan.reshape(11, 17)[5]
    levels = np.unique(np.round(middle_row, 3))
    on_treads = levels[np.isclose((levels - levels.max()) / STEP, np.round((levels - levels.max()) / STEP))]
    assert len(on_treads) >= 4 and np.allclose(np.diff(on_treads), STEP, atol=1e-3), middle_row


def test_on_flat_ground_every_ray_reads_the_body_height_minus_offset():
    """The ant on the ground plane: at its start, and after falling limp for 0.5 s (tilted: the rays ignore the
    tilt), every ray reads the torso's height minus the offset."""
    env = WorkbenchEnv(_scan_spec({"env.num_envs": 2}, offset=OFFSET, size=[1.0, 0.6], resolution=0.2))
    for _ in range(2):
        scan = env.get_observations()["scan"]
        assert scan.shape == (2, 6 * 4)
        torso_height = env.body_pos_w[:, 0, 2:3]
        assert torch.allclose(scan, (torso_height - OFFSET).expand(2, 24), atol=1e-5)
        for _ in range(round(0.5 / env.step_dt)):
            env.step(torch.zeros(env.num_envs, env.num_actions))
    assert (env.projected_gravity_b[:, 2] > -0.9999).all(), "the ant tilted"


def test_a_bad_param_stops_the_build_in_one_line_naming_the_term_and_param():
    with pytest.raises(SpecError) as caught:
        WorkbenchEnv(_scan_spec({"env.num_envs": 1}, resolution=-0.1))
    message = str(caught.value)
    assert "\n" not in message
    assert "key 'observations.scan.terms[0]'" in message
    assert "resolution: expected a number > 0 [m], got -0.1" in message
