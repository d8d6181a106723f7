"""The shipped camera tasks: cartpole_depth and cartpole_rgb see the cart and its pole where the joint state puts
them (the newer of their two stacked frames), point_nav_depth sees its obstacles around the disc, and cartpole_depth
trains 2 iterations through the train command, then exports an ONNX policy that takes the image, within 1e-5 of the
training policy."""

from __future__ import annotations

import json
import math

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.frontends import cli
from isaac.rl.workbench.specs.loader import load_spec

pytestmark = pytest.mark.slow

CART_DISTANCE = 4.0 - 0.15
"""[m] from the side camera (4 m from the rail) to the cart's near face (the cart is 0.3 m deep)."""
PIXELS_PER_M = 128 / (2 * CART_DISTANCE * 4 * math.tan(math.radians(10.0)))
"""Horizontal pixels per metre at the cart: 128 pixels, a 20 degree vertical field of view, 4:1 pixels."""


def _seen_columns(image: torch.Tensor) -> torch.Tensor:
    """Mean column of what is nearer than the background in each env's image, below the rail's row: the cart."""
    below = image[:, 0, 27:, :]  # (N, rows, W): the cart's rows under the rail (a line across the whole image)
    near = below < 0.9
    columns = torch.arange(below.shape[-1], dtype=torch.float32)
    return (near.float() * columns).sum(dim=(1, 2)) / near.float().sum(dim=(1, 2))


@pytest.mark.parametrize("task", ["cartpole_depth", "cartpole_rgb"])
def test_the_side_camera_sees_the_cart_where_its_joint_puts_it(task):
    env = WorkbenchEnv(load_spec(task, {"env.num_envs": 2}))
    cart = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])  # env 0: 1 m along the rail, env 1: -1 m, poles upright
    env.reset_physics(torch.ones(2, dtype=torch.bool), cart, torch.zeros(2, 2))
    image = env.step(torch.zeros(2, 1))[0]["image"]  # one step at rest (1/60 s): the cart stays
    channels = 1 if task == "cartpole_depth" else 3
    assert image.shape == (2, 2 * channels, 32, 128) and image.dtype == torch.float32  # two frames stacked
    image = image[:, channels:]  # the newer frame
    if task == "cartpole_rgb":  # colour: the cart is where the image is not black
        image = 1.0 - (image.sum(dim=1, keepdim=True) > 0.05).float()
    else:  # nearness: 0 for the background
        image = 1.0 - image
    columns = _seen_columns(image)
    # the camera looks at the rail from +y: +x along the rail is to the image's left
    expected = 63.5 - PIXELS_PER_M * cart[:, 0]
    assert torch.allclose(columns, expected, atol=2.0), (columns, expected)


def test_four_rays_a_pixel_see_the_upright_pole_that_one_ray_misses():
    """The 4 cm pole is about a pixel wide: upright over the rail's centre it falls between two pixels' centre rays."""
    seen = {}
    for samples in (1, 4):
        env = WorkbenchEnv(load_spec("cartpole_depth", {"env.num_envs": 1, "sensors.side.samples_per_pixel": samples}))
        env.reset_physics(torch.ones(1, dtype=torch.bool), torch.zeros(1, 2), torch.zeros(1, 2))
        env.step(torch.zeros(1, 1))
        pole_rows = env.camera("side")["depth"][0, 4:20]  # above the cart: the pole or the background
        seen[samples] = int((pole_rows < 5.0).any(dim=1).sum())
    assert seen == {1: 0, 4: 16}, seen


def test_point_nav_depth_sees_its_obstacles_around_the_disc():
    env = WorkbenchEnv(load_spec("point_nav_depth", {"env.num_envs": 2}))
    env.reset()
    image = env.get_observations()["image"]
    assert image.shape == (2, 1, 32, 32)
    centre = image[:, 0, 15:17, 15:17]  # the disc under the camera
    assert (centre < 0.7).all(), "the disc itself, 2 m below the camera"
    obstacles = (image[:, 0] < 0.9).float().sum(dim=(1, 2)) - (image[:, 0, 13:19, 13:19] < 0.9).float().sum(dim=(1, 2))
    assert (obstacles >= 4 * 8).all(), "four obstacles, each several pixels, around the disc"


def test_cartpole_depth_trains_and_exports_an_onnx_policy_that_reads_the_image(tmp_path, capsys):
    run = tmp_path / "run"
    train = ["train", "cartpole_depth", "--num-envs", "4", "--max-iterations", "2", "--eval-episodes", "1"]
    assert cli.main([*train, "--run-dir", str(run)]) == 0
    assert cli.main(["export", str(run)]) == 0
    parity = json.loads((run / "export" / "parity.json").read_text())
    assert parity["image_inputs"] == {"image": [2, 32, 128]}
    assert parity["num_observations"] > 0 and parity["max_abs_diff_onnx"] <= 1e-5, parity
