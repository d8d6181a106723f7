"""The Kit layer on a terrain, against the FAKE omni/carb/isaacsim modules of ``fakes/`` (not Kit; the real Isaac Sim
stage is untested): Clone writes the spec's terrain once as a USD file under the runs folder and references it at
``/World/terrain`` of the stage, with no ground plane over it; a spec without a terrain leaves no terrain prim."""

from __future__ import annotations

import asyncio

from isaac.rl.workbench.scene.terrain_usd import terrain_file_name
from pxr import UsdGeom

from .fakes import fake_kit, install

TERRAIN_SPEC = """extends = "ant"
name = "ant_on_stairs"

[env]
num_envs = 2

[terrain]
rows = 1
border = 1.0

[terrain.types.stairs_down]
step_height = 0.1
"""


def test_clone_references_the_terrain_file_and_shows_poses_on_it(monkeypatch, tmp_path):
    install(monkeypatch)
    from isaac.rl.workbench.frontends.kit.window import WorkbenchWindow

    (tmp_path / "ant_on_stairs.toml").write_text(TERRAIN_SPEC)
    settings = {
        "physics": "",
        "runs_dir": str(tmp_path / "runs"),
        "device": "cpu",
        "view_envs": 2,
        "task": str(tmp_path / "ant_on_stairs.toml"),
    }

    async def body():
        window = WorkbenchWindow("RL Workbench", settings)
        try:
            assert window.model.spec().terrain is not None, window.model.messages
            window.clone()
            stage = fake_kit.USD.stage
            terrain = stage.GetPrimAtPath("/World/terrain")
            file = tmp_path / "runs" / "terrains" / terrain_file_name(window.model.spec().terrain)
            (reference,) = terrain.GetMetadata("references").prependedItems
            assert reference.assetPath == str(file) and file.is_file()
            assert terrain.IsA(UsdGeom.Mesh) and len(terrain.GetAttribute("points").Get()) > 0, "the mesh composes"
            assert not stage.GetPrimAtPath("/World/ground"), "no ground plane over the terrain's pits"

            assert window.model.open_spec("cartpole")
            window.clone()
            assert not stage.GetPrimAtPath("/World/terrain"), "a spec without a terrain leaves none"
        finally:
            window.destroy()

    asyncio.run(body())
