"""``[sensors.<name>]``: a camera's keys reach the backend's request (its body, its pose with the orientation a
look-at point or a quaternion gives, its field of view in radians); a bad value is one line naming the key, the value
and what was expected; a term's ``sensor`` must name a camera that renders what the term reads; ``spec --help-keys``
lists the keys."""

from __future__ import annotations

import math

import pytest
import torch
from isaac.rl.workbench.envs.backend_request import backend_request
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec
from isaac.rl.workbench.utils.quaternions import quat_rotate

FRONT = {"type": "camera", "body": "pole", "pos": [0.0, -2.0, 1.0], "look_at": [0.0, 0.0, 1.0]}


def _view_axes(quat_xyzw) -> tuple[list[float], list[float]]:
    """Where the camera looks (its -Z) and its image's up (its +Y), in its mount's frame."""
    quat = torch.tensor([quat_xyzw])
    forward = quat_rotate(quat, torch.tensor([[0.0, 0.0, -1.0]]))[0]
    up = quat_rotate(quat, torch.tensor([[0.0, 1.0, 0.0]]))[0]
    return forward.tolist(), up.tolist()


def test_a_camera_reaches_the_backend_request_and_survives_the_run_folder(tmp_path):
    spec = load_spec("cartpole", {"sensors.front": FRONT | {"width": 32, "fov_deg": 90.0}})
    camera = spec.sensors["front"]
    assert (camera.width, camera.height, camera.data_types, camera.update_period_s) == (32, 64, ["depth"], 0.0)
    (request,) = backend_request(spec, "cpu").cameras
    assert (request.name, request.body, request.pos, request.width) == ("front", "pole", (0.0, -2.0, 1.0), 32)
    assert math.isclose(request.fov, math.pi / 2)
    forward, up = _view_axes(request.quat)
    assert forward == pytest.approx([0.0, 1.0, 0.0], abs=1e-6), "towards look_at, along +y"
    assert up == pytest.approx([0.0, 0.0, 1.0], abs=1e-6), "upright about the frame's +z"
    save_spec(spec, tmp_path / "spec.toml")
    assert load_spec(tmp_path / "spec.toml").sensors == spec.sensors


@pytest.mark.parametrize(
    ("keys", "forward", "up"),
    [
        ({"pos": [0.0, 0.0, 3.0], "look_at": [0.0, 0.0, 0.0]}, [0, 0, -1], [1, 0, 0]),  # straight down: +x is up
        ({"rot": [0.0, 1.0, 0.0, 0.0]}, [0, 0, 1], [0, -1, 0]),  # [w, x, y, z]: half a turn about x
        ({}, [0, 0, -1], [0, 1, 0]),  # neither: the identity
    ],
)
def test_the_orientation_from_look_at_or_rot(keys, forward, up):
    spec = load_spec("cartpole", {"sensors.down": {"type": "camera"} | keys})
    got_forward, got_up = _view_axes(backend_request(spec, "cpu").cameras[0].quat)
    assert got_forward == pytest.approx(forward, abs=1e-6) and got_up == pytest.approx(up, abs=1e-6)


@pytest.mark.parametrize(
    ("keys", "key", "expected"),
    [
        ({"type": "lidar"}, "sensors.front.type", "expected one of camera, got 'lidar'"),
        ({"lens": "wide"}, "sensors.front.lens", "unknown key; expected one of"),
        ({"body": "wheel"}, "sensors.front.body", "got 'wheel'; its bodies: rail, cart, pole"),
        ({"body": "(cart|pole)"}, "sensors.front.body", "it matches cart, pole"),
        ({"rot": [1.0, 0.0, 0.0, 0.0]}, "sensors.front.rot", "give look_at or rot, not both"),
        ({"look_at": [0.0, -2.0, 1.0]}, "sensors.front.look_at", "expected a point other than pos"),
        ({"pos": [0.0, 1.0]}, "sensors.front.pos", "expected 3 numbers, got [0.0, 1.0]"),
        ({"width": 0}, "sensors.front.width", "expected pixels from 1 to 4096, got 0"),
        ({"samples_per_pixel": 0}, "sensors.front.samples_per_pixel", "expected rays per pixel from 1 to 16, got 0"),
        ({"height": 1.5}, "sensors.front.height", "expected int, got 1.5"),
        ({"fov_deg": 180.0}, "sensors.front.fov_deg", "expected degrees in (0, 180), got 180.0"),
        ({"near": 0.0}, "sensors.front.near", "must be > 0, got 0.0"),
        ({"near": 2.0, "far": 2.0}, "sensors.front.far", "expected more than near (2.0 m), got 2.0"),
        ({"data_types": ["depth", "normals"]}, "sensors.front.data_types", "got 'normals'"),
        ({"data_types": []}, "sensors.front.data_types", "expected at least one of depth, rgb, segmentation"),
        ({"update_period_s": -0.1}, "sensors.front.update_period_s", "must be >= 0.0, got -0.1"),
    ],
)
def test_a_bad_camera_key_is_named(keys, key, expected):
    with pytest.raises(SpecError) as caught:
        load_spec("cartpole", {"sensors.front": FRONT | keys})
    assert caught.value.key == key
    assert f"key '{key}'" in str(caught.value) and expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_camera_without_a_type_is_refused():
    with pytest.raises(SpecError, match=r"key 'sensors.front.type': missing") as caught:
        load_spec("cartpole", {"sensors.front": {"pos": [0.0, 0.0, 1.0]}})
    assert caught.value.key == "sensors.front.type"


def test_cameras_render_on_newton_only():
    with pytest.raises(SpecError, match=r'key \'env.physics\': \[sensors\] render on env.physics = "newton" only'):
        load_spec("cartpole", {"env.physics": "physx", "sensors.front": FRONT})


@pytest.mark.parametrize(
    ("term", "key", "expected"),
    [
        (
            {"func": "camera_depth", "params": {"sensor": "back"}},
            "observations.image.terms[0].params.sensor",
            "no sensor 'back' in [sensors]; sensors: front",
        ),
        (
            {"func": "camera_rgb", "params": {"sensor": "front"}},
            "observations.image.terms[0].params.sensor",
            "camera_rgb reads the camera's 'rgb': add it to sensors.front.data_types",
        ),
    ],
)
def test_a_term_names_a_camera_that_renders_what_it_reads(term, key, expected):
    with pytest.raises(SpecError) as caught:
        load_spec("cartpole", {"sensors.front": FRONT, "observations.image.terms": [term]})
    assert caught.value.key == key and expected in str(caught.value)


def test_a_reward_of_your_own_naming_an_unknown_sensor_is_refused_too(write_spec, tmp_path):
    (tmp_path / "my_terms.py").write_text(
        "def seen(env, sensor):\n    return env.camera(sensor)['depth'].mean((1, 2))\n"
    )
    camera = '[sensors.front]\ntype = "camera"\n'
    reward = '[rewards.seen]\nfunc = "my_terms:seen"\nparams = { sensor = "back" }\n'
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(append=camera + reward))
    assert caught.value.key == "rewards.seen.params.sensor"
    assert "no sensor 'back' in [sensors]; sensors: front" in str(caught.value)


def test_help_keys_list_the_camera_keys_with_their_units(capsys):
    assert main(["spec", "--help-keys"]) == 0
    out = capsys.readouterr().out
    assert "sensors.<name>.width (default 64)\n    Image width [pixels]" in out
    assert "sensors.<name>.near (default 0.05)\n    Nearest depth [m], > 0" in out
    assert "sensors.<name>.data_types (default ['depth'])" in out
    assert "sensors.<name>.update_period_s (default 0.0)" in out


def test_train_with_a_bad_camera_exits_2_naming_the_key_and_writes_nothing(write_spec, tmp_path, capsys):
    path = write_spec(append='[sensors.front]\ntype = "camera"\nnear = 1.0\nfar = 0.5\n')
    assert main(["train", str(path), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "key 'sensors.front.far': expected more than near (1.0 m), got 0.5" in err[0]
    assert not (tmp_path / "run").exists()
