"""``play --record`` of a task with a camera writes the recorded envs' camera frames beside the USD animation: one
PNG per env and frame for each data type, as many frames as the animation has, the depth in millimetres matching
what ``env.camera`` gave at that frame (and the floor 4.1 m below the camera), ``frames.json`` saying what the files
hold, and the command's output naming the folder. A task without cameras writes no frames folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.scene import record_frames
from isaac.rl.workbench.workbench import Workbench
from PIL import Image
from pxr import Usd

SIDE = 15
CENTRE = SIDE // 2
HEIGHT = 4.1  # [m] the camera above the env's origin, looking down at the cart
SHORT = {"env.num_envs": 2, "env.episode_seconds": 0.3, "ppo.max_iterations": 1, "ppo.num_steps_per_env": 4}
CAMERA = {
    "type": "camera",
    "width": SIDE,
    "height": SIDE,
    "pos": [0.0, 0.0, HEIGHT],
    "data_types": ["depth", "rgb", "segmentation"],
}


def _trained(run_dir: Path, overrides: dict) -> Path:
    """A one-iteration run of cartpole with ``overrides``."""
    wb = Workbench.new("cartpole", {**SHORT, "env.ground": True, **overrides}, run_dir)
    wb.build()
    wb.train_step()
    wb.finish()
    return run_dir


@pytest.fixture(scope="module")
def camera_run(tmp_path_factory) -> Path:
    return _trained(tmp_path_factory.mktemp("camera") / "run", {"sensors.top": CAMERA})


@pytest.fixture
def seen_depth(monkeypatch) -> list[np.ndarray]:
    """The depth (N, H, W) [m] ``env.camera("top")`` gave at each recorded frame."""
    seen = []
    add = record_frames.CameraFrames.add

    def spy(self, images):
        seen.append(images["top"]["depth"].cpu().numpy().copy())
        add(self, images)

    monkeypatch.setattr(record_frames.CameraFrames, "add", spy)
    return seen


def test_play_record_writes_each_envs_camera_frames_beside_the_animation(camera_run, tmp_path, capsys, seen_depth):
    out = tmp_path / "rollout.usda"
    assert main(["play", str(camera_run), "--episodes", "2", "--record", str(out)]) == 0
    frames = tmp_path / "rollout_frames"
    lines = capsys.readouterr().out.splitlines()
    assert f"camera frames: {frames} (PNG per env and frame; depth in millimetres, 16-bit)" in lines, lines
    count = int(Usd.Stage.Open(str(out)).GetEndTimeCode()) + 1
    assert count == len(seen_depth) > 1, "a frame of images per frame of the animation"
    for data_type, mode in (("depth", "I;16"), ("rgb", "RGB"), ("segmentation", "RGB")):
        for env in (0, 1):
            files = sorted((frames / "top" / data_type / f"env{env}").glob("*.png"))
            assert [f.name for f in files] == [f"frame_{k:05d}.png" for k in range(count)], (data_type, env)
            with Image.open(files[0]) as first:
                assert (first.mode, first.size) == (mode, (SIDE, SIDE))
    for k in (0, count - 1):
        for env in (0, 1):
            with Image.open(frames / "top" / "depth" / f"env{env}" / f"frame_{k:05d}.png") as png:
                millimetres = np.array(png)
            assert abs(millimetres[CENTRE, CENTRE] / 1000.0 - seen_depth[k][env, CENTRE, CENTRE]) <= 0.0005
            assert abs(millimetres[0, 0] / 1000.0 - HEIGHT) <= 0.0015, "the floor, 4.1 m down"
    description = json.loads((frames / "frames.json").read_text())
    assert description["frames"] == count and description["envs"] == 2 and description["fps"] == pytest.approx(60)
    assert description["cameras"]["top"] == {
        "width": SIDE,
        "height": SIDE,
        "near_m": 0.05,
        "far_m": 10.0,
        "data_types": ["depth", "rgb", "segmentation"],
    }
    assert "millimetres" in description["depth"]


def test_a_task_without_cameras_records_no_frames(tmp_path, capsys):
    run = _trained(tmp_path / "run", {})
    out = tmp_path / "rollout.usda"
    assert main(["play", str(run), "--episodes", "2", "--record", str(out)]) == 0
    assert out.is_file() and not (tmp_path / "rollout_frames").exists()
    assert "camera frames" not in capsys.readouterr().out
