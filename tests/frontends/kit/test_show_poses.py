"""The Kit layer shows a Newton run's poses on the stage, against the FAKE omni/carb/isaacsim modules of ``fakes/``
(a real usd-core stage, not Kit): after Clone, ``show_poses`` puts every body of the shown envs at its env origin
plus its pose, the Go2's nested legs included (each placed from its parent's new pose), on the first call (USD
cannot add a transform op inside a change block) and on later ones."""

from __future__ import annotations

import asyncio

import numpy as np
from pxr import Usd, UsdGeom

from ...conftest import robot_or_fail
from .fakes import fake_kit, install

SPEC = """extends = "go2_flat"
name = "go2_shown"

[env]
num_envs = 2
"""


def test_show_poses_puts_every_body_where_its_pose_says_nested_or_not(monkeypatch, tmp_path):
    robot_or_fail("go2")
    install(monkeypatch)
    from isaac.rl.workbench.frontends.kit import isaacsim_adapter
    from isaac.rl.workbench.frontends.kit.window import WorkbenchWindow

    (tmp_path / "go2_shown.toml").write_text(SPEC)
    settings = {"physics": "", "runs_dir": str(tmp_path / "runs"), "device": "cpu", "view_envs": 2}
    settings["task"] = str(tmp_path / "go2_shown.toml")

    async def body():
        window = WorkbenchWindow("RL Workbench", settings)
        try:
            window.clone()
            grid, stage = window.grid, fake_kit.USD.stage
            robot = stage.GetPrimAtPath(grid.robot_paths[0])
            bodies = [str(p.GetPath())[len(grid.robot_paths[0]) :] for p in Usd.PrimRange(robot)]
            bodies = [b for b in bodies if b.rsplit("/", 1)[-1] in ("base", "FL_hip", "FL_thigh", "FL_calf", "RR_foot")]
            bodies = [b for b in bodies if not b.endswith("base/base")]  # the base's visual, not a body
            scene_paths = [grid.load_root.rstrip("/") + path for path in bodies]
            assert len(scene_paths) == 5, bodies
            rng = np.random.default_rng(0)
            for call in range(2):  # the first call authors the transform ops, the second only sets them
                poses = np.zeros((2, len(scene_paths), 7))
                poses[..., :3] = rng.uniform(-1.0, 1.0, (2, len(scene_paths), 3))
                quats = rng.normal(size=(2, len(scene_paths), 4))
                poses[..., 3:] = quats / np.linalg.norm(quats, axis=-1, keepdims=True)
                origins = np.array([[3.0, -2.0, 0.5], [-4.0, 1.0, 0.0]])
                isaacsim_adapter.show_poses(grid, scene_paths, poses, origins)
                cache = UsdGeom.XformCache()
                for env in range(2):
                    for k, path in enumerate(scene_paths):
                        world = cache.GetLocalToWorldTransform(stage.GetPrimAtPath(grid.stage_path(env, path)))
                        where = np.array(world.ExtractTranslation())
                        np.testing.assert_allclose(where, poses[env, k, :3] + origins[env], atol=1e-6, err_msg=path)
                        x, y, z, w = poses[env, k, 3:]
                        q = world.ExtractRotationQuat()
                        turned = np.array([*q.GetImaginary(), q.GetReal()])
                        assert abs(abs(float(np.dot(turned, [x, y, z, w]))) - 1.0) < 1e-6, (call, env, path)
        finally:
            window.destroy()

    asyncio.run(body())
