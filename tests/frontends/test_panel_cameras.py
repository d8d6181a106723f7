"""The panel model shows what the watched envs' cameras see: training and playing a cart-pole with a camera above
it hands the panel the watched envs' pictures of each data type, whose grey levels map back to the
depth ``env.camera`` gave (the floor 4.1 m below the camera); a task without cameras shows none."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
from isaac.rl.workbench.frontends import panel_jobs
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.scene.camera_pictures import depth_from_grey

SIDE = 15
HEIGHT = 4.1  # [m] the camera above each env's origin, looking down
NEAR, FAR = 0.05, 10.0
VIEW_ENVS = 2
SHORT = {"env.num_envs": 3, "ppo.max_iterations": 2, "ppo.num_steps_per_env": 4, "env.ground": True}
CAMERA = {
    "type": "camera",
    "width": SIDE,
    "height": SIDE,
    "near": NEAR,
    "far": FAR,
    "pos": [0.0, 0.0, HEIGHT],
    "data_types": ["depth", "rgb", "segmentation"],
}
DEPTH = f"top depth: white {NEAR:g} m, black {FAR:g} m"
CAPTIONS = [DEPTH, "top rgb", "top segmentation: a colour per shape, grey the ground"]


def _trained(tmp_path, monkeypatch, overrides: dict) -> SimpleNamespace:
    """A short cart-pole run trained through a panel showing ``VIEW_ENVS`` envs, then played until its first camera
    pictures: every ``run.cameras`` the panel was handed (``shown``) and the depth (K, H, W) [m] each was made from
    (``depth``)."""
    seen = SimpleNamespace(shown=[], depth=[])
    pictures = panel_jobs.env_pictures

    def spy(cameras, ranges, count, *args):
        seen.depth.append(cameras["top"]["depth"][:count].cpu().numpy().copy())
        return pictures(cameras, ranges, count, *args)

    monkeypatch.setattr(panel_jobs, "env_pictures", spy)
    model = PanelModel(runs_dir=tmp_path / "runs", view_envs=VIEW_ENVS)
    model.add_listener(lambda what, m: what == "cameras" and seen.shown.append((m.run.status, m.run.cameras)))
    try:
        assert model.open_spec("cartpole")
        for key, value in {**SHORT, **overrides}.items():
            assert model.set_field(key, value), model.field_errors
        assert model.train() and model.wait(300) and model.run.status == "finished", model.messages
        seen.trained = len(seen.shown)
        assert model.play()
        deadline = time.monotonic() + 60
        while model.run.play.get("steps", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        model.stop()
        assert model.wait(30), model.messages
    finally:
        model.close()
    return seen


@pytest.mark.slow
def test_training_and_play_show_the_watched_envs_camera_pictures(tmp_path, monkeypatch):
    seen = _trained(tmp_path, monkeypatch, {"sensors.top": CAMERA})
    assert seen.trained >= 1, "pictures while training"
    assert [status for status, _ in seen.shown[: seen.trained]] == ["training"] * seen.trained
    assert [pictures.source for _, pictures in seen.shown] == ["training"] * seen.trained + ["play"] * (
        len(seen.shown) - seen.trained
    )
    assert len(seen.shown) > seen.trained, "pictures while playing"
    for (_, pictures), depth in zip(seen.shown, seen.depth, strict=True):
        assert list(pictures.pictures) == CAPTIONS
        for envs in pictures.pictures.values():
            assert envs.shape == (VIEW_ENVS, SIDE, SIDE, 3) and envs.dtype == np.uint8
        grey = pictures.pictures[DEPTH]
        assert (grey[..., 0] == grey[..., 2]).all(), "depth in grey"
        for env in range(VIEW_ENVS):
            tile = grey[env, ..., 0]
            half_level = (FAR - NEAR) / 255 / 2 + 1e-6
            assert np.abs(depth_from_grey(tile, NEAR, FAR) - depth[env]).max() <= half_level, "maps back to depth"
            assert abs(depth_from_grey(tile[0, 0], NEAR, FAR) - HEIGHT) <= half_level + 1e-3, "the floor, 4.1 m"
            assert depth[env][SIDE // 2, SIDE // 2] < HEIGHT - 0.5, "the cart-pole under the camera, nearer"


@pytest.mark.slow
def test_a_task_without_cameras_shows_no_pictures(tmp_path, monkeypatch):
    seen = _trained(tmp_path, monkeypatch, {})
    assert seen.shown == [] and seen.depth == []
