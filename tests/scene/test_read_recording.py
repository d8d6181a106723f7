"""scene.read_recording on recordings written by UsdRecorder: poses, envs, bodies, fps and scene round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from isaac.rl.workbench.scene.read_recording import read_recording
from isaac.rl.workbench.scene.record import UsdRecorder
from pxr import Gf, Usd, UsdGeom

from .test_record import _body_root_scene_y_up, _pose, _scene

NUM_ENVS, NUM_FRAMES, SPACING, FPS = 2, 3, 3.0, 30.0
# the recorder is given arm before base and a body outside the root; the file keeps the scene's order of the two
BODIES = ["/robot/arm", "/elsewhere/prop", "/robot/base"]


def _write(scene: Path, out: Path, root: str, bodies: list[str], num_frames: int = NUM_FRAMES) -> Path:
    recorder = UsdRecorder(scene, root, bodies, NUM_ENVS, SPACING, FPS)
    for frame in range(num_frames):
        poses = [[_pose(env, body, frame) for body in range(len(bodies))] for env in range(NUM_ENVS)]
        recorder.add_frame(torch.tensor(poses, dtype=torch.float64))
    return recorder.save(out)


def _expected(env: int, body: int, frame: int, offset_axis: int) -> np.ndarray:
    """The pose given to the recorder plus the env's offset: what the recording shows in world coordinates."""
    pose = np.array(_pose(env, body, frame))
    pose[offset_axis] += env * SPACING
    return pose


@pytest.mark.parametrize("suffix", ["usda", "usdc"])
def test_poses_round_trip_as_world_poses(tmp_path: Path, suffix: str) -> None:
    scene = _scene(tmp_path / "scene.usda")
    out = _write(scene, tmp_path / "out" / f"rollout.{suffix}", "/robot", BODIES)
    recording = read_recording(out)

    assert recording.file == out
    assert recording.scene == scene.resolve() and recording.articulation_root == "/robot"
    assert recording.body_paths == ["/robot/base", "/robot/arm"]
    assert recording.fps == FPS and recording.num_frames == NUM_FRAMES
    assert recording.seconds == pytest.approx(NUM_FRAMES / FPS)
    assert recording.poses.shape == (NUM_FRAMES, NUM_ENVS, 2, 7) and recording.poses.dtype == np.float32
    np.testing.assert_allclose(recording.env_origins, [[0.0, 0.0, 0.0], [0.0, SPACING, 0.0]])  # +Y on a Z-up stage

    for frame in range(NUM_FRAMES):
        for env in range(NUM_ENVS):
            for b, path in enumerate(recording.body_paths):
                expected = _expected(env, BODIES.index(path), frame, offset_axis=1)
                np.testing.assert_allclose(recording.poses[frame, env, b], expected, atol=1e-6)

    # the same poses as USD itself composes for the animated prim
    stage = Usd.Stage.Open(str(out))
    world = UsdGeom.Xformable(stage.GetPrimAtPath("/World/env_1/arm")).ComputeLocalToWorldTransform(Usd.TimeCode(2))
    x, y, z, qx, qy, qz, qw = recording.poses[2, 1, 1].tolist()
    np.testing.assert_allclose(world.ExtractTranslation(), (x, y, z), atol=1e-6)
    quat = world.ExtractRotationQuat()
    assert abs(quat.GetReal() * qw + Gf.Dot(quat.GetImaginary(), Gf.Vec3d(qx, qy, qz))) == pytest.approx(1, abs=1e-6)


def test_articulation_root_that_is_a_body_on_a_y_up_stage(tmp_path: Path) -> None:
    scene = tmp_path / "scene.usda"
    _body_root_scene_y_up(scene)

    recording = read_recording(_write(scene, tmp_path / "rollout.usda", "/base", ["/base", "/base/arm"]))
    assert recording.articulation_root == "/base" and recording.body_paths == ["/base", "/base/arm"]
    np.testing.assert_allclose(recording.env_origins[1], [SPACING, 0.0, 0.0])  # +X on a Y-up stage
    for env in range(NUM_ENVS):
        for body in range(2):
            expected = _expected(env, body, NUM_FRAMES - 1, offset_axis=0)
            np.testing.assert_allclose(recording.poses[-1, env, body], expected, atol=1e-6)


def test_a_rewritten_recording_reads_anew(tmp_path: Path) -> None:
    scene = _scene(tmp_path / "scene.usda")
    out = tmp_path / "rollout.usda"
    held = Usd.Stage.Open(str(_write(scene, out, "/robot", BODIES)))  # keeps the first version's layer loaded
    assert read_recording(out).num_frames == NUM_FRAMES
    _write(scene, out, "/robot", BODIES, num_frames=NUM_FRAMES + 2)
    assert read_recording(out).num_frames == NUM_FRAMES + 2
    assert held.GetPseudoRoot().IsValid()


def test_files_that_are_not_recordings_are_rejected_by_name(tmp_path: Path) -> None:
    scene = _scene(tmp_path / "scene.usda")
    with pytest.raises(ValueError, match=r"scene\.usda: no /World/env_0; expected a recording written by UsdRecorder"):
        read_recording(scene)
    with pytest.raises(ValueError, match=r"missing\.usda: cannot open the recording: no such file"):
        read_recording(tmp_path / "missing.usda")
    garbage = tmp_path / "garbage.usda"
    garbage.write_text("not usd at all\n")
    with pytest.raises(ValueError, match=r"garbage\.usda: cannot open the recording as USD"):
        read_recording(garbage)

    # env_0 and its body ops are there, but hold one value each instead of time samples
    still = tmp_path / "still.usda"
    stage = Usd.Stage.CreateNew(str(still))
    env = stage.DefinePrim("/World/env_0", "Xform")
    env.GetReferences().AddReference(str(scene), "/robot")
    arm = UsdGeom.Xformable(stage.OverridePrim("/World/env_0/arm"))
    translate = arm.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble, "recorded")
    orient = arm.AddOrientOp(UsdGeom.XformOp.PrecisionFloat, "recorded")
    arm.SetXformOpOrder([translate, orient], resetXformStack=True)
    translate.Set(Gf.Vec3d(1.0, 2.0, 3.0))
    orient.Set(Gf.Quatf(1.0))
    stage.GetRootLayer().Save()
    with pytest.raises(ValueError, match=r"still\.usda: /World/env_0/arm has no time samples"):
        read_recording(still)
