"""Image observations on the CPU: the camera terms' shapes, dtypes and normalisation, their group's channels
concatenated in order; a camera rendered once per step at its first read, and, with an update period, only on the
steps it is due and at an episode's start; a group that mixes images with vectors, holds images of two sizes or keeps
a history of images is refused naming the group and its terms; noise on an image term is added to every pixel."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.envs.observation_groups import ObservationGroups
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError, TermSpec
from isaac.rl.workbench.terms.camera_observations import camera_depth, camera_rgb

SIDE = 15
CENTRE = SIDE // 2
NEAR, FAR = 0.05, 10.0
CAMERA = {"type": "camera", "width": SIDE, "height": SIDE, "near": NEAR, "far": FAR}
ALL_TYPES = {"data_types": ["depth", "rgb", "segmentation"]}
PERIOD_STEPS = 3


@pytest.fixture(scope="module")
def env() -> WorkbenchEnv:
    """Two cart-poles on the ground, each seen from 2 m above its cart's top (``top``, every step, observed) and
    from its pole (``slow``, every third step, read by the tests only); each cart starts at rest under its top camera,
    the poles fall freely, no episode ends."""
    step_dt = 2 / 120
    overrides = {
        "env.num_envs": 2,
        "env.ground": True,
        "sensors.top": CAMERA | ALL_TYPES | {"pos": [0.0, 0.0, 4.1]},
        "sensors.slow": CAMERA
        | ALL_TYPES
        | {"body": "pole", "pos": [0.3, 0.0, 1.0], "update_period_s": (PERIOD_STEPS - 0.5) * step_dt},
        "observations.image.terms": [
            {"func": "camera_depth", "params": {"sensor": "top"}},
            {"func": "camera_rgb", "params": {"sensor": "top"}},
            {"func": "camera_segmentation", "params": {"sensor": "top"}},
        ],
        "events.reset_cart.params.position_range": [0.0, 0.0],  # the cart starts under the top camera, at rest
        "events.reset_cart.params.velocity_range": [0.0, 0.0],
        "terminations.pole_fell.params.limit": 3.0,
        "terminations.cart_out_of_bounds.params.limit": 3.0,
    }
    return WorkbenchEnv(load_spec("cartpole", overrides))


@pytest.fixture
def renders(env, monkeypatch) -> list[tuple[str, list[bool]]]:
    """Each render the env asks of its backend: (camera, the envs rendered)."""
    calls = []
    render = env.backend.render_cameras

    def counted(env_masks=None):
        calls.extend((name, mask.tolist()) for name, mask in env_masks.items())
        return render(env_masks)

    monkeypatch.setattr(env.backend, "render_cameras", counted)
    return calls


def test_the_image_group_holds_depth_rgb_and_segmentation_channels(env):
    env.reset()
    image = env.get_observations()["image"]
    assert image.shape == (2, 5, SIDE, SIDE) and image.dtype == torch.float32
    raw = env.camera("top")
    depth, rgb, shapes = image[:, 0], image[:, 1:4], image[:, 4]
    assert torch.allclose(depth, (raw["depth"] - NEAR) / (FAR - NEAR)), "normalised: 0 at near, 1 at far"
    assert abs(float(depth[0, 0, 0]) - (4.1 - NEAR) / (FAR - NEAR)) < 1e-3 / (FAR - NEAR), "the floor, 4.1 m down"
    assert torch.equal(rgb, raw["rgb"].permute(0, 3, 1, 2).float() / 255.0) and rgb.min() >= 0 and rgb.max() <= 1
    assert camera_rgb(env, "top").is_contiguous(), "channels first in memory, as a CNN reads them"
    assert torch.equal(shapes, raw["segmentation"].float())
    assert shapes[0, 0, 0] == -2.0, "the ground"
    assert shapes[0, CENTRE, CENTRE] == float(env.body_names.index("cart")), "the cart's box (one shape per body)"


def test_depth_clipped_and_in_metres(env):
    env.reset()
    clipped = camera_depth(env, "top", clip=3.0)
    metres = camera_depth(env, "top", clip=3.0, normalize=False)
    assert clipped.shape == (2, 1, SIDE, SIDE)
    assert float(metres[0, 0, 0, 0]) == 3.0 and float(clipped[0, 0, 0, 0]) == 1.0, "the floor, beyond the clip"
    assert abs(float(metres[0, 0, CENTRE, CENTRE]) - 2.0) < 1e-3, "the cart's top, 2 m down"
    assert abs(float(clipped[0, 0, CENTRE, CENTRE]) - (2.0 - NEAR) / (3.0 - NEAR)) < 1e-3
    nearness = camera_depth(env, "top", clip=3.0, invert=True)
    assert torch.allclose(nearness, 1.0 - clipped), "inverted: 1 at near, 0 at the clip (the floor beyond it reads 0)"
    with pytest.raises(ValueError, match=r"clip: expected a distance \[m\] beyond the camera's near \(0.05 m\)"):
        camera_depth(env, "top", clip=0.01)
    with pytest.raises(KeyError, match="no camera 'back' in \\[sensors\\]; cameras: top, slow"):
        env.camera("back")


def test_dropout_blanks_the_share_of_pixels_asked_for(env):
    env.reset()
    torch.manual_seed(0)
    clean = camera_depth(env, "top", clip=3.0, normalize=False)
    holes = camera_depth(env, "top", clip=3.0, normalize=False, dropout=0.25)
    changed = holes != clean
    assert (holes[changed] == 3.0).all(), "a dropped pixel reads the clip distance: no return"
    blanked = ((holes == 3.0) & (clean < 3.0)).float().sum() / (clean < 3.0).float().sum()
    assert abs(float(blanked) - 0.25) < 0.1, "about a quarter of the pixels that saw something"
    rgb = camera_rgb(env, "top", dropout=0.25)
    black = (rgb.sum(dim=1) == 0) & (camera_rgb(env, "top").sum(dim=1) > 0)  # (N, H, W): all three channels
    assert abs(float(black.float().sum() / (camera_rgb(env, "top").sum(dim=1) > 0).float().sum()) - 0.25) < 0.1
    with pytest.raises(ValueError, match=r"dropout: expected a share of pixels in \[0, 1\), got 1.0"):
        camera_depth(env, "top", dropout=1.0)


def test_a_camera_renders_once_per_step_at_its_first_read(env, renders):
    actions = torch.zeros(2, 1)
    for _ in range(4):
        env.step(actions)
        env.camera("top")  # after the step: the images its observations rendered
        env.camera("top")
    assert renders == [("top", [True, True])] * 4, "the image group's three terms and the reads share one render"


def test_a_camera_with_a_period_renders_when_due_and_at_an_episode_start(env, renders):
    actions = torch.zeros(2, 1)
    env.reset()
    images = [env.camera("slow")["depth"].clone()]  # the episode's start: rendered
    for _ in range(2 * PERIOD_STEPS):
        env.step(actions)
        images.append(env.camera("slow")["depth"].clone())
    changed = [not torch.equal(a, b) for a, b in zip(images, images[1:], strict=False)]
    assert changed == [False, False, True] * 2, "a new image every third step; the last one in between"
    env.reset()
    assert not torch.equal(env.camera("slow")["depth"], images[-1]), "an episode's start renders at once"
    slow = [envs for name, envs in renders if name == "slow"]
    assert slow == [[True, True]] * 4, "rendered at the start, at steps 3 and 6, at the restart"


def _term(name: str, noise=None) -> TermSpec:
    return TermSpec(name=name, func_name=name, func=lambda env: None, noise=noise)


def _groups(values: dict[str, torch.Tensor], groups: dict[str, list[str]], history: dict | None = None):
    terms = {name: _term(name) for name in values}
    specs = {group: [terms[name] for name in names] for group, names in groups.items()}
    by_id = {id(term): values[name] for name, term in terms.items()}
    call = lambda term: by_id[id(term)]  # noqa: E731
    return ObservationGroups(specs, history or {}, 2, torch.device("cpu"), call, Path("task.toml"))


IMAGES = {"depth": torch.rand(2, 1, 4, 6), "rgb": torch.rand(2, 3, 4, 6), "small": torch.rand(2, 1, 2, 3)}


def test_image_terms_concatenate_along_channels_beside_a_vector_group():
    values = IMAGES | {"joint_pos": torch.rand(2, 3)}
    out = _groups(values, {"policy": ["joint_pos"], "image": ["depth", "rgb"]}).compute(torch.zeros(2, dtype=bool))
    assert out["policy"].shape == (2, 3) and out["image"].shape == (2, 4, 4, 6)
    assert torch.equal(out["image"], torch.cat([IMAGES["depth"], IMAGES["rgb"]], dim=1))


@pytest.mark.parametrize(
    ("group", "history", "key", "expected"),
    [
        (["depth", "joint_pos"], 1, "observations.image", "mixes images (N, C, H, W) with vectors: depth (1, 4, 6), "),
        (["depth", "small"], 1, "observations.image", "holds images of different sizes: depth (1, 4, 6), small"),
    ],
)
def test_a_group_of_images_that_cannot_be_one_tensor_is_refused(group, history, key, expected):
    groups = _groups(IMAGES | {"joint_pos": torch.rand(2, 3)}, {"image": group}, {"image": history})
    with pytest.raises(SpecError) as caught:
        groups.compute(torch.zeros(2, dtype=bool))
    assert caught.value.key == key
    assert str(caught.value).startswith(f"task.toml: key '{key}': the group ") and expected in str(caught.value)


def test_an_image_group_with_a_history_stacks_each_terms_last_frames_oldest_first():
    frames = [{"depth": torch.rand(2, 1, 4, 6), "rgb": torch.rand(2, 3, 4, 6)} for _ in range(3)]
    current = {name: image.clone() for name, image in frames[0].items()}  # what the terms return, changed in place
    groups = _groups(current, {"image": ["depth", "rgb"]}, {"image": 2})
    first = groups.compute(torch.ones(2, dtype=bool))["image"]  # an episode starts: its first frame, twice
    assert first.shape == (2, 2 * 4, 4, 6)
    assert torch.equal(first[:, 0:1], frames[0]["depth"]) and torch.equal(first[:, 1:2], frames[0]["depth"])
    for step in (1, 2):
        for name, image in frames[step].items():
            current[name].copy_(image)
        stacked = groups.compute(torch.zeros(2, dtype=bool))["image"]
    # depth at t-1 and t, then rgb's three channels at t-1 and at t
    expected = [frames[1]["depth"], frames[2]["depth"], frames[1]["rgb"], frames[2]["rgb"]]
    assert torch.equal(stacked, torch.cat(expected, dim=1))


def test_noise_on_an_image_term_is_added_to_every_pixel():
    term = _term("depth", noise=(-0.1, 0.1))
    groups = ObservationGroups(
        {"image": [term]}, {}, 2, torch.device("cpu"), lambda t: IMAGES["depth"], Path("task.toml")
    )
    noisy = groups.compute(torch.zeros(2, dtype=bool))["image"]
    difference = noisy - IMAGES["depth"]
    assert noisy.shape == (2, 1, 4, 6)
    assert difference.abs().max() <= 0.1 and (difference != 0).all() and difference.std() > 0.02
