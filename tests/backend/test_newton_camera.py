"""Cameras on Newton on the CPU (``backend/newton_camera.py``): a camera 2 m above the cart reads the depth of its top
and of the floor and the cart's shape; a camera on the pole follows the pole as its pose predicts; each env's camera
sees its own env only, though the CPU's envs share one world, spaced closer than the camera sees; a render
restricted to some envs leaves the others' images as they were."""

from __future__ import annotations

import math

import pytest
import torch
from isaac.rl.workbench.backend.base import SEGMENTATION_GROUND
from isaac.rl.workbench.backend.newton_backend import NewtonBackend
from isaac.rl.workbench.envs.backend_request import backend_request
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.utils.quaternions import quat_rotate

SIDE = 31
"""Pixels of each side: odd, so that the centre pixel's ray runs along the view axis."""
CENTRE = SIDE // 2
CAMERA_HEIGHT = 4.1
"""The top camera's height above the floor [m]: 2 m above the cart's top (the cart box spans z 1.9 to 2.1)."""
POLE_MOUNT = (0.3, 0.0, 1.0)
"""Where the pole camera sits in the pole's frame [m]: beside the pole's tip, looking down the pole."""
FOV_DEG = 60.0
MM = 1e-3


def _camera(**keys) -> dict:
    table = {"type": "camera", "width": SIDE, "height": SIDE, "fov_deg": FOV_DEG, "near": 0.05, "far": 10.0}
    return table | {"data_types": ["depth", "rgb", "segmentation"]} | keys


@pytest.fixture(scope="module")
def backend() -> NewtonBackend:
    """Two cart-poles on the ground, 1.5 m apart in the CPU's shared world (closer than the top camera sees: its
    view of the floor is 2 x 4.1 x tan(30 deg) = 4.7 m across)."""
    overrides = {
        "env.num_envs": 2,
        "env.spacing": 1.5,
        "env.ground": True,
        "sensors.top": _camera(pos=[0.0, 0.0, CAMERA_HEIGHT]),  # no rot, no look_at: looks straight down
        "sensors.pole": _camera(body="pole", pos=list(POLE_MOUNT)),  # looks along the pole, down when upright
    }
    spec = load_spec("cartpole", overrides)
    built = NewtonBackend(backend_request(spec, "cpu"))
    assert torch.equal(built.env_origins[1] - built.env_origins[0], torch.tensor([1.5, 0.0, 0.0]))
    return built


def _put(backend: NewtonBackend, env: int, slider: float, hinge: float) -> None:
    """Set env ``env``'s cart position [m] and pole angle [rad]."""
    mask = torch.zeros(2, dtype=torch.bool)
    mask[env] = True
    positions = torch.tensor([[slider, hinge]]).expand(2, 2)
    backend.reset(mask, positions, torch.zeros(2, 2))


def _copies(images: dict) -> dict:
    return {name: {key: image.clone() for key, image in by_type.items()} for name, by_type in images.items()}


def test_the_top_camera_reads_the_carts_top_the_floor_and_the_carts_shape(backend):
    for env in (0, 1):
        _put(backend, env, 0.0, 0.0)
    images = backend.render_cameras()["top"]
    depth, shapes, rgb = images["depth"], images["segmentation"], images["rgb"]
    assert depth.shape == (2, SIDE, SIDE) and depth.dtype == torch.float32
    assert shapes.dtype == torch.int32 and rgb.shape == (2, SIDE, SIDE, 3) and rgb.dtype == torch.uint8
    cart = [label.rsplit("/", 2)[-2] for label in list(backend.model.shape_label)[:3]].index("cart")
    for env in (0, 1):
        assert abs(float(depth[env, CENTRE, CENTRE]) - 2.0) < MM, "the cart's top, 2 m below the camera"
        assert int(shapes[env, CENTRE, CENTRE]) == cart, "the cart's box, the same index in every env"
        assert abs(float(depth[env, 0, 0]) - CAMERA_HEIGHT) < MM, "the floor beyond the cart"
        assert int(shapes[env, 0, 0]) == SEGMENTATION_GROUND
    red, green, blue = rgb[0, CENTRE, CENTRE].tolist()
    assert blue > green > red, "the cart is blue (0.15, 0.45, 0.8)"
    assert rgb[0, 0, 0].tolist() != [red, green, blue]


def test_each_env_sees_its_own_env_only(backend):
    for env in (0, 1):
        _put(backend, env, 0.0, 0.0)
    before = _copies(backend.render_cameras())
    for key, image in before["top"].items():
        assert torch.equal(image[0], image[1]), f"{key}: env 1's robot, 1.5 m away, would show in env 0's view"
    _put(backend, 1, 1.0, 0.0)  # env 1's cart 1 m along +x
    after = backend.render_cameras()["top"]
    for key, image in after.items():
        assert torch.equal(image[0], before["top"][key][0]), f"{key}: env 0 saw env 1's cart move"
    cart_top = (after["depth"] - 2.0).abs() < MM
    columns = [cart_top[env].nonzero()[:, 1].float().mean() for env in (0, 1)]  # image +x is the env's +x
    pixels_per_metre = SIDE / (2 * 2.0 * math.tan(math.radians(FOV_DEG / 2)))  # at the cart's top, 2 m away
    assert cart_top[1].sum() == cart_top[0].sum()
    assert abs(float(columns[1] - columns[0]) - pixels_per_metre) < 1.0, "the cart moved 1 m in env 1's image"


def test_a_camera_on_the_pole_follows_it(backend):
    _put(backend, 0, 0.0, 0.0)
    _put(backend, 1, 0.5, -0.3)  # cart 0.5 m along, pole tilted
    depth = backend.render_cameras()["pole"]["depth"]
    assert abs(float(depth[0, CENTRE, CENTRE]) - 3.0) < MM, "upright: the tip is 1 m above the hinge at 2 m"
    pole = backend.body_names.index("pole")
    pose = backend.body_poses[1, pole]
    mount = pose[:3] + quat_rotate(pose[None, 3:7], torch.tensor([POLE_MOUNT]))[0]
    view_axis = quat_rotate(pose[None, 3:7], torch.tensor([[0.0, 0.0, -1.0]]))[0]
    floor_along_axis = float(mount[2] / -view_axis[2])  # the centre ray meets the floor this far along the axis
    assert abs(floor_along_axis - 3.0) > 0.1, "test setup: the tilted pole's camera must read otherwise"
    assert abs(float(depth[1, CENTRE, CENTRE]) - floor_along_axis) < MM


def test_a_masked_render_leaves_the_other_envs_images(backend):
    for env in (0, 1):
        _put(backend, env, 0.0, 0.0)
    before = _copies(backend.render_cameras())
    for env in (0, 1):
        _put(backend, env, -1.0, 0.0)
    only_env_0 = torch.tensor([True, False])
    after = backend.render_cameras({"top": only_env_0})
    assert not torch.equal(after["top"]["depth"][0], before["top"]["depth"][0]), "env 0 rendered its moved cart"
    for key, image in after["top"].items():
        assert torch.equal(image[1], before["top"][key][1]), f"{key}: env 1 was not to be rendered"
    for key, image in after["pole"].items():
        assert torch.equal(image, before["pole"][key]), f"{key}: the pole camera was not to be rendered"
    with pytest.raises(KeyError, match="no camera 'side'; cameras: top, pole"):
        backend.render_cameras({"side": only_env_0})
