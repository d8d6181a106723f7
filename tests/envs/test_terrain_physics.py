"""A terrain in Newton on the CPU: the height grid is one static heightfield the robot really stands on (a ball
dropped on a stair comes to rest on that stair, a box on flat ground rests on it, with MuJoCo and with
MuJoCo-Warp), each env starts at its origin on its tile, and a task with a ``[terrain]`` table builds and stands on
it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from isaac.rl.workbench.backend import newton_backend
from isaac.rl.workbench.backend.base import BackendRequest, TerrainGround
from isaac.rl.workbench.envs.backend_request import backend_request
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.scene.terrain import TerrainSpec, TileType, generate_terrain
from isaac.rl.workbench.specs.loader import load_spec
from pxr import Gf, Usd, UsdGeom, UsdPhysics

RADIUS = 0.05
"""The ball's radius [m]."""
DROP = 0.3
"""How high above its env's origin the ball starts [m]."""
STEP = 0.1
"""Stair height [m]."""
WIDTH = 0.3
"""Stair width [m]."""


def _ball(path: Path, cube: bool = False) -> Path:
    """A 1 kg free sphere (articulation ``/ball/body``, radius :data:`RADIUS`) :data:`DROP` above the origin; with
    ``cube``, a cube of side 2 x :data:`RADIUS` instead (a box collides with a heightfield through MuJoCo's convex
    path, as a robot's mesh feet do; a sphere has its own)."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.Scene.Define(stage, "/physicsScene")
    UsdGeom.Xform.Define(stage, "/ball")
    body = UsdGeom.Xform.Define(stage, "/ball/body")
    body.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, DROP))
    UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
    UsdPhysics.ArticulationRootAPI.Apply(body.GetPrim())
    mass = UsdPhysics.MassAPI.Apply(body.GetPrim())
    mass.CreateMassAttr(1.0)
    mass.CreateDiagonalInertiaAttr(Gf.Vec3f(0.001, 0.001, 0.001))
    if cube:
        shape = UsdGeom.Cube.Define(stage, "/ball/body/shape")
        shape.CreateSizeAttr(2 * RADIUS)
    else:
        shape = UsdGeom.Sphere.Define(stage, "/ball/body/shape")
        shape.CreateRadiusAttr(RADIUS)
    UsdPhysics.CollisionAPI.Apply(shape.GetPrim())
    stage.Save()
    return path


def _drop(scene: Path, heights: np.ndarray, origins: np.ndarray, cpu_solver: str):
    """The Newton backend of one ``scene`` (a ball or a box) per row of ``origins`` (E, 3) on the height grid
    ``heights`` (0.1 m apart), 20 ms a step."""
    request = BackendRequest(
        scene=scene,
        articulation="/ball/body",
        load_root="/ball",
        joint_names=(),
        num_envs=len(origins),
        spacing=1.0,
        physics_dt=0.005,
        substeps=4,
        terrain=TerrainGround(heights=heights, horizontal_scale=0.1, env_origins=origins),
        cpu_solver=cpu_solver,
    )
    return newton_backend.build(request)


@pytest.mark.parametrize("cpu_solver", ["mujoco", "mujoco_warp"])
def test_a_ball_dropped_on_a_stair_comes_to_rest_on_that_stair(tmp_path, cpu_solver):
    """With MuJoCo's merged world and with MuJoCo-Warp's separate worlds (what a GPU steps), on a stair's tread, on
    the summit and in the pit (the terrain's lowest point, where the heightfield's solid is thinnest)."""
    params = {"step_height": (STEP, STEP), "step_width": (WIDTH, WIDTH)}
    types = (TileType(name="stairs_down", params=params), TileType(name="stairs_up", params=params))
    terrain = generate_terrain(TerrainSpec(rows=1, border=1.0, types=types))
    (x_down, y_down, _), (x_up, y_up, _) = terrain.tile_origins[0]
    edge = x_down - 4.0  # the stairs' low-x edge
    # over the middle of the first tread, of the second, and the two platforms (a summit and a pit)
    points = np.array([[edge + 0.45, y_down], [edge + 0.75, y_down], [x_down, y_down], [x_up, y_up]])
    ground = terrain.height_at(points[:, 0], points[:, 1])
    np.testing.assert_allclose(ground, [STEP, 2 * STEP, 8 * STEP, -8 * STEP], atol=1e-6)
    origins = np.column_stack([points, ground]).astype(np.float32)
    backend = _drop(_ball(tmp_path / "ball.usda"), terrain.heights, origins, cpu_solver)
    np.testing.assert_allclose(backend.env_origins.numpy(), origins)
    np.testing.assert_allclose(backend.root_pose[:, 2].numpy(), ground + DROP, atol=1e-5)
    for _ in range(50):  # 1 s
        backend.step()
    rest = backend.root_pose[:, :3].numpy()
    np.testing.assert_allclose(rest[:, 2], ground + RADIUS, atol=0.003)
    np.testing.assert_allclose(rest[:, :2], points, atol=0.02)  # it landed where it was dropped, and stayed
    assert backend.root_velocity.abs().max() < 0.05


@pytest.mark.parametrize("cpu_solver", ["mujoco", "mujoco_warp"])
def test_a_box_dropped_on_a_flat_terrain_comes_to_rest_on_it(tmp_path, cpu_solver):
    """A flat terrain is a heightfield at its lowest height everywhere: MuJoCo-Warp needs the solid under it
    (``newton_terrain.HFIELD_BASE``) to keep a box's contacts; with Newton's 0.1 mm the boxes kept bouncing."""
    terrain = generate_terrain(TerrainSpec(rows=1, border=1.0, types=(TileType(name="flat", params={}),)))
    origins = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 0.5, 0.0]], dtype=np.float32)
    backend = _drop(_ball(tmp_path / "box.usda", cube=True), terrain.heights, origins, cpu_solver)
    assert backend.solver.use_mujoco_cpu == (cpu_solver == "mujoco")
    for _ in range(50):  # 1 s
        backend.step()
    np.testing.assert_allclose(backend.root_pose[:, 2].numpy(), RADIUS, atol=0.003)
    assert backend.root_velocity.abs().max() < 0.05


@pytest.fixture(scope="module")
def ant_on_terrain():
    overrides = {
        "env.num_envs": 4,
        "terrain.rows": 2,
        "terrain.types.flat.proportion": 1.0,
        "terrain.types.stairs_down.step_height": STEP,
        "terrain.types.stairs_down.platform": 6.0,
    }
    spec = load_spec("ant", overrides)
    return spec, WorkbenchEnv(spec)


def test_each_env_starts_at_its_origin_on_its_tile(ant_on_terrain):
    spec, env = ant_on_terrain
    expected = backend_request(spec, "cpu").terrain.env_origins
    np.testing.assert_array_equal(env.backend.env_origins.numpy(), expected)
    # envs 1 and 3 start on the stairs' summit: a 6 m platform in an 8 m tile leaves 3 stairs of 0.3 m, at any level
    np.testing.assert_allclose(expected[1::2, 2], 3 * STEP, atol=1e-6)
    assert (expected[::2, 2] == 0).all(), "the flat column"
    # envs share one world on the CPU: those of one tile start a quarter tile (2 m) apart
    apart = np.linalg.norm(expected[:, None, :2] - expected[None, :, :2], axis=-1)
    assert apart[~np.eye(4, dtype=bool)].min() >= 2.0 - 1e-5


def test_a_task_with_a_terrain_stands_on_it(ant_on_terrain):
    """Limp (zero efforts) for 1 s, every ant stands over its own ground as it does on the flat plane: the torso
    (a 0.25 m sphere) between resting on the ground and the start pose, on the flat column and on the summit."""
    _, env = ant_on_terrain
    env.reset()
    for _ in range(round(1.0 / env.step_dt)):
        env.step(torch.zeros(env.num_envs, env.num_actions))
    heights = env.root_pos_w[:, 2]  # above each env's origin, on its ground
    assert ((heights > 0.25) & (heights < 0.6)).all(), f"an ant sank into its tile or flew: {heights.tolist()}"
    assert (env.backend.root_pose[1::2, 2] > 3 * STEP + 0.25).all(), "the ants on the summit stand on it"


def test_with_the_gpus_solver_on_the_cpu_the_envs_of_a_tile_start_on_its_start_point_as_on_a_gpu():
    """One world per env (``env.cpu_solver = "mujoco_warp"``, or a GPU): no need to keep the envs of a tile apart,
    and standing them a quarter tile off its centre put them on a stair's edge."""
    overrides = {"env.num_envs": 8, "terrain.rows": 1, "terrain.types": {"flat": {}, "boxes": {}}}
    merged = backend_request(load_spec("ant", overrides), "cpu").terrain.env_origins
    separate = backend_request(load_spec("ant", {**overrides, "env.cpu_solver": "mujoco_warp"}), "cpu").terrain
    on_gpu = backend_request(load_spec("ant", overrides), "cuda").terrain.env_origins
    np.testing.assert_array_equal(separate.env_origins, on_gpu)
    assert len({tuple(o) for o in on_gpu}) == 2, "one start point per tile"
    assert len({tuple(o) for o in merged}) == 8, "in one world every env has its own spot"
