"""A recording of a rollout on a terrain holds the terrain as a static mesh, and each recorded robot stands where it
stood on it (its env's origin on its tile plus its pose); a recording without a terrain holds none. A 4-env ant on
a small terrain, 2 steps of a zero policy through the same rollout ``play --record`` runs, on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.learn.rollout import evaluate
from isaac.rl.workbench.scene.read_recording import read_recording
from isaac.rl.workbench.scene.record import UsdRecorder
from isaac.rl.workbench.scene.terrain import generate_terrain
from isaac.rl.workbench.specs.loader import load_spec
from pxr import Usd, UsdGeom

STEP = 0.1
TERRAIN = {
    "terrain.rows": 2,
    "terrain.types.flat.proportion": 1.0,
    "terrain.types.stairs_down.step_height": STEP,
    "terrain.types.stairs_down.platform": 6.0,
}
TWO_STEPS = {"env.num_envs": 4, "env.episode_seconds": 2 / 60}  # 60 Hz policy


def _record(spec, path):
    env = WorkbenchEnv(spec)
    terrain = generate_terrain(spec.terrain) if spec.terrain is not None else None
    recorder = UsdRecorder(spec.scene, spec.articulation, env.body_paths, 4, 2.0, 60.0, terrain=terrain)
    evaluate(env, lambda obs: torch.zeros(env.num_envs, env.num_actions), 4, recorder)
    recorder.save(path)
    return env, terrain


def test_a_recording_on_a_terrain_holds_it_and_its_robots_stand_on_it(tmp_path):
    spec = load_spec("ant", TWO_STEPS | TERRAIN)
    env, terrain = _record(spec, tmp_path / "rec.usda")
    rec = read_recording(tmp_path / "rec.usda")
    assert rec.num_frames == 2
    stage = Usd.Stage.Open(str(tmp_path / "rec.usda"))
    mesh = stage.GetPrimAtPath("/World/terrain")
    assert mesh.IsA(UsdGeom.Mesh) and not mesh.GetAttribute("points").GetNumTimeSamples(), "one static mesh"
    assert rec.terrain is not None and len(rec.terrain.vertices) == terrain.heights.size
    # the envs stand at their origins on their tiles (two on the stairs' summit, 3 steps up), not side by side
    np.testing.assert_allclose(rec.env_origins, env.backend.env_origins.numpy(), atol=1e-6)
    root = rec.body_paths.index("/ant/torso")
    x, y, z = rec.poses[-1, :, root, :3].T
    above = z - terrain.height_at(x, y)
    assert ((above > 0.2) & (above < 1.0)).all(), f"a torso not above its own ground: {above.tolist()}"
    assert (z[2:] > 3 * STEP + 0.2).all(), "the ants on the summit stand on it"


def test_a_recording_without_a_terrain_holds_none(tmp_path):
    _record(load_spec("ant", TWO_STEPS), tmp_path / "flat.usda")
    stage = Usd.Stage.Open(str(tmp_path / "flat.usda"))
    assert not stage.GetPrimAtPath("/World/terrain")
    assert read_recording(tmp_path / "flat.usda").terrain is None


def test_a_recorder_on_a_terrain_needs_the_origins(tmp_path):
    spec = load_spec("ant", TWO_STEPS | TERRAIN)
    recorder = UsdRecorder(spec.scene, spec.articulation, [], 1, 2.0, 60.0, terrain=generate_terrain(spec.terrain))
    with pytest.raises(ValueError, match="env origins"):
        recorder.add_frame(torch.zeros(1, 0, 7))
