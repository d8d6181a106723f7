"""The browser panel's Cameras section: the pictures a run hands the panel appear as PNG image elements, one per
camera and data type, the envs in a grid as wide as the panel, magnified by a whole factor with their pixels kept,
replaced in place as new ones arrive, and gone when the run shows none; a task without cameras has no section.
Then, in a real headless Chromium, a cart-pole with a camera trains and the page shows its depth picture at its size
(the screenshot docs/panel.md shows)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import viser
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.frontends.panel_state import CameraPictures, RunState
from isaac.rl.workbench.frontends.web.camera_view import DISPLAY_WIDTH, GAP, CameraView, tiled
from PIL import Image

from ...conftest import free_port
from .test_browser_panel import ARTIFACTS, _browser_or_fail, _page, _shut, _until

DEPTH = "front depth: white 0.05 m, black 10 m"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def view(tmp_path):
    model = PanelModel(runs_dir=tmp_path / "runs")
    server = viser.ViserServer(host="127.0.0.1", port=free_port(), verbose=False)
    try:
        yield model, CameraView(server, model)
    finally:
        server.stop()
        model.close()


def _pictures(value: int) -> CameraPictures:
    """Two envs' 16 x 16 pictures: depth grey ``value``, rgb black with env 1's pixel (3, 5) red."""
    grey = np.full((2, 16, 16, 3), value, dtype=np.uint8)
    rgb = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    rgb[1, 3, 5] = (255, 0, 0)
    return CameraPictures({DEPTH: grey, "front rgb": rgb}, "training")


def _sent(handle) -> np.ndarray:
    """The pixels an image element sends to the page (its PNG decoded)."""
    assert handle.format == "png"
    return np.array(Image.open(io.BytesIO(handle._data)).convert("RGB"))


def test_a_runs_pictures_appear_magnified_and_are_replaced_in_place(view):
    model, cameras = view
    model.run.cameras = _pictures(100)
    cameras.refresh()
    assert list(cameras.images) == [DEPTH, "front rgb"] and cameras.folder is not None
    factor = DISPLAY_WIDTH // (2 * 16 + GAP)
    depth, rgb = (_sent(cameras.images[caption]) for caption in (DEPTH, "front rgb"))
    assert depth.shape == (16 * factor, (2 * 16 + GAP) * factor, 3), "two envs side by side, magnified"
    assert (depth[:, : 16 * factor] == 100).all() and (depth[:, 16 * factor : 18 * factor] == 255).all()
    red = (rgb == (255, 0, 0)).all(axis=-1)
    rows, columns = np.nonzero(red)
    assert (rows.min(), rows.max()) == (3 * factor, 4 * factor - 1), "pixels kept (PNG, nearest)"
    assert (columns.min(), columns.max()) == ((18 + 5) * factor, (18 + 6) * factor - 1), "env 1 on the right"
    handle = cameras.images[DEPTH]
    model.run.cameras = _pictures(200)
    cameras.refresh()
    assert cameras.images[DEPTH] is handle and (_sent(handle)[:, : 16 * factor] == 200).all(), "same element"


def test_no_pictures_no_section(view):
    model, cameras = view
    cameras.refresh()
    assert cameras.folder is None and cameras.images == {}, "a task without cameras: nothing"
    model.run.cameras = _pictures(100)
    cameras.refresh()
    model.run = RunState()  # a new run: none until its cameras are read
    cameras.refresh()
    assert cameras.folder is None and cameras.images == {}


def test_wide_pictures_take_rows_of_as_many_envs_as_fit():
    envs = np.zeros((4, 32, 128, 3), dtype=np.uint8)
    envs[3] = 7
    grid = tiled(envs)
    assert grid.shape == (2 * 32 + GAP, 2 * 128 + GAP, 3), "two rows of two, not magnified"
    assert (grid[32 + GAP :, 128 + GAP :] == 7).all(), "env 3 bottom right"
    assert (grid[32:34] == 255).all(), "a white gap between the rows"


@pytest.mark.slow
def test_a_camera_cartpole_trains_with_its_pictures_in_a_real_browser(tmp_path):
    sync_playwright = _browser_or_fail()
    from isaac.rl.workbench.frontends.web.app import serve

    ARTIFACTS.mkdir(exist_ok=True)
    app, url = serve(None, port=0, runs_dir=tmp_path / "runs", block=False)
    model = app.model
    camera = {
        "type": "camera",
        "body": "cart",
        "pos": [0.0, -1.2, 0.5],  # beside the cart (2 m above the ground), looking at it and its 1 m pole
        "look_at": [0.0, 0.0, 0.4],
        "width": 64,
        "height": 48,
        "data_types": ["depth", "rgb", "segmentation"],
    }
    try:
        with _page(sync_playwright, url, "panel_camera_failure.png") as page:
            page.get_by_text("Software WebGL rendering detected").wait_for(timeout=10000)
            page.locator(".mantine-Notification-closeButton").first.click()
            assert model.open_spec("cartpole")
            for key, value in {"env.num_envs": 16, "env.ground": True, "sensors.front": camera}.items():
                assert model.set_field(key, value), model.field_errors
            assert model.set_field("ppo.max_iterations", 30)
            assert model.train()
            image = page.get_by_text(DEPTH).locator("xpath=..").locator("img")
            image.wait_for(timeout=120000)
            size = _until(
                lambda: image.evaluate("(el) => el.complete && [el.naturalWidth, el.naturalHeight]"), 20, "the image"
            )
            assert size == [4 * (64 + GAP) - GAP, 48], "4 envs side by side, 64 x 48 each"
            time.sleep(1.0)  # a few more pictures
            page.get_by_text("Cameras", exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "panel_camera.png"))
    finally:
        _shut(app)
