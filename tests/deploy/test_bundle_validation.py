"""deploy.json is checked in full when the bundle loads: every number, type, name and list length, before the runtime
sends its first command. The main test walks every number of a valid bundle, not a hand-made list of keys."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import fields

import numpy as np
import pytest
from isaac.rl.workbench.deploy.bundle import BundleError, SafetyLimits, bundle_from_dict, load_bundle
from isaac.rl.workbench.deploy.runtime import Runtime

from .synthetic_bundle import RecordingDriver, bundle_dict

COMMANDS = {"base_velocity": [0.5, 0.0, 0.1]}
FULL = bundle_dict(
    **{"safety.action_clip": 4.0, "safety.action_rate_limit": 100.0, "safety.lowpass_hz": 200.0}
)  # the synthetic bundle with every optional number of 'safety' set too

NEGATIVE = -10.0
"""The negative each number is set to (-10 for an integer)."""
NEGATIVE_ALLOWED = {
    "safety.joint_pos_limits[*][0]": "a lower position limit",
    "action.offset[*]": "the action's offset, a target position",
    "action.scale": "a negative scale flips the action's sign, as the spec allows",
    "commands.base_velocity.ranges.*[0]": "the lower end of a command's range",
}
"""Keys (``*`` for an index or a name) where a negative number is legal, and why. Everywhere else it is refused:
counts, periods, gains, limits, margins and times are positive, an upper limit or range end below its lower one is
refused, and a default pose of -10 rad lies outside the joint's position limits."""


def number_leaves(value, path: tuple = ()) -> list[tuple]:
    """The paths (keys and list indices) of every number (not bool) under ``value``."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in number_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in number_leaves(item, (*path, i))]
    return [path] if isinstance(value, int | float) and not isinstance(value, bool) else []


def dotted(path: tuple) -> str:
    """('safety', 'joint_pos_limits', 3, 0) -> 'safety.joint_pos_limits[3][0]'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def key_pattern(path: tuple) -> str:
    """The key of ``path`` with a joint's index and a range's component as ``*``; the index into a [low, high] pair
    (a position limit's, a range's) stays: the keys of :data:`NEGATIVE_ALLOWED`."""
    text = ""
    for i, part in enumerate(path):
        in_pair = isinstance(path[i - 1], int) or path[0] == "commands"
        if isinstance(part, int):
            text += f"[{part}]" if in_pair else "[*]"
        elif path[0] == "commands" and i == 3:
            text += ".*"
        else:
            text += f".{part}" if text else part
    return text


LEAVES = number_leaves(FULL)


def with_value(path: tuple, value) -> dict:
    data = json.loads(json.dumps(FULL))
    table = data
    for part in path[:-1]:
        table = table[part]
    table[path[-1]] = value
    return data


@pytest.fixture(scope="module")
def models(exported_bundle, tmp_path_factory):
    """A folder holding the synthetic bundle's policy.onnx and policy.pt, for manifests written beside them."""
    folder = tmp_path_factory.mktemp("models")
    for name in ("policy.onnx", "policy.pt"):
        shutil.copy(exported_bundle.root / name, folder / name)
    return folder


def deploy(manifest) -> tuple[RecordingDriver, BundleError | None]:
    """Load the bundle ``manifest`` and run it for 5 steps on a recording driver; the driver and the BundleError."""
    driver = RecordingDriver()
    try:
        Runtime(manifest).run(driver, 0.1, COMMANDS, realtime=False)
    except BundleError as error:
        return driver, error
    return driver, None


def test_the_walk_finds_every_number_of_deploy_json():
    keys = {key_pattern(path) for path in LEAVES}
    numeric = [f.name for f in fields(SafetyLimits) if f.name != "safe_stop"]
    for name in numeric:
        assert any(key.startswith(f"safety.{name}") for key in keys), name
    for key in ("control_dt", "policy.obs_dim", "policy.num_actions", "observation.history_length", "action.clip"):
        assert key in keys
    for key in ("default_pos", "stiffness", "damping", "effort_limit"):
        assert f"joints.{key}[*]" in keys
    assert set(NEGATIVE_ALLOWED) <= keys
    assert len(LEAVES) == 55


@pytest.mark.parametrize("path", LEAVES, ids=dotted)
@pytest.mark.parametrize(
    ("bad", "shown"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("negative", "-10"), ("1", '"1"'), (True, "true")],
    ids=["nan", "infinity", "negative", "string", "bool"],
)
def test_every_number_refuses_nan_infinity_a_string_a_bool_and_a_negative_where_illegal(models, path, bad, shown):
    key = dotted(path)
    original = FULL
    for part in path:
        original = original[part]
    if bad == "negative":
        bad = int(NEGATIVE) if isinstance(original, int) else NEGATIVE
    text = json.dumps(with_value(path, math.nan if bad == "NaN" else math.inf if bad == "Infinity" else bad))
    assert ("NaN" in text) == (shown == "NaN") and ("Infinity" in text) == (shown == "Infinity")  # JSON's tokens
    tag = shown.strip('"')
    manifest = models / f"{key}={tag}.json"
    manifest.write_text(text)
    driver, error = deploy(manifest)
    if shown == "-10" and key_pattern(path) in NEGATIVE_ALLOWED:
        assert error is None, error
        assert len(driver.commands) == 5
        assert all(np.isfinite(getattr(c, f)).all() for c in driver.commands for f in ("q", "dq", "kp", "kd", "tau"))
        return
    assert error is not None, f"{key} = {bad} was accepted"
    message = str(error)
    assert error.key == key and f"'{key}'" in message and str(manifest) in message, message
    assert shown in message and "\n" not in message
    assert driver.commands == []  # refused before the first command


def test_the_same_values_in_a_dict_are_refused_by_bundle_from_dict():
    assert bundle_from_dict(FULL).safety.lowpass_hz == 200.0
    for path in LEAVES:
        for value in (math.nan, "1", True):
            with pytest.raises(BundleError) as caught:
                bundle_from_dict(with_value(path, value))
            assert caught.value.key == dotted(path)


def test_null_and_infinity_in_a_dict_mean_no_limit_where_a_limit_may_be_absent():
    """Strict JSON writes no limit as null; a loaded Bundle holds it as inf, so its to_dict() loads again."""
    data = bundle_dict(
        **{
            "joints.effort_limit": [None, math.inf, 30.0],
            "safety.joint_vel_limits": [None, math.inf, 10.0],
            "safety.joint_pos_limits": [[None, None], [-math.inf, math.inf], [-1.0, 1.0]],
        }
    )
    bundle = bundle_from_dict(data)
    assert bundle.joints["effort_limit"] == [math.inf, math.inf, 30.0]
    assert bundle.safety.joint_pos_limits[0] == [-math.inf, math.inf]
    assert bundle_from_dict(bundle.to_dict()).to_dict() == bundle.to_dict()
    with pytest.raises(BundleError) as caught:  # a lower limit of +inf is no limit but an error
        bundle_from_dict(bundle_dict(**{"safety.joint_pos_limits": [[math.inf, None], [-2.0, 0.5], [-1.0, 1.0]]}))
    assert caught.value.key == "safety.joint_pos_limits[0][0]"


@pytest.mark.parametrize(
    ("key", "names", "duplicate"),
    [
        ("joints.names", ["hip", "knee", "hip"], "joints.names[2]"),
        ("joints.motor_order", ["knee", "knee", "hip"], "joints.motor_order[1]"),
        ("action.joints", ["hip", "hip"], "action.joints[1]"),
    ],
)
def test_duplicate_joint_names_are_refused(models, key, names, duplicate):
    manifest = models / f"duplicate_{key}.json"
    manifest.write_text(json.dumps(bundle_dict(**{key: names})))
    driver, error = deploy(manifest)
    assert error is not None and error.key == duplicate and "not already in the list" in str(error), error
    assert driver.commands == []


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"joints.names": "hip"}, "joints.names", "a non-empty list of joint names"),
        ({"joints.stiffness": [20.0, 25.0]}, "joints.stiffness", "a list of 3 numbers"),
        ({"safety": [1, 2]}, "safety", "a table with keys"),
        ({"safety.hold_kp": [1.0]}, "safety.hold_kp", "a list of 3 numbers"),
        (
            {"safety.joint_pos_limits": [[-1.0, 1.0], [-2.0], [-1.0, 1.0]]},
            "safety.joint_pos_limits[1]",
            "[lower, upper]",
        ),
        ({"safety.safe_stop": "freeze"}, "safety.safe_stop", '"hold" or "damp"'),
        ({"action.clp": 1.0}, "action.clp", "unknown key"),
        ({"action.joints": ["hip", "elbow"]}, "action.joints[1]", "one of joints.names"),
        ({"policy.obs_dim": 17.0}, "policy.obs_dim", "an integer >= 1"),
        ({"policy.obs_dim": 18}, "policy.obs_dim", "the observation terms' sizes"),
        ({"policy.onnx": 3}, "policy.onnx", "a model file name"),
        ({"commands.base_velocity.ranges.lin_vel_x": [1.0]}, "commands.base_velocity.ranges.lin_vel_x", "[min, max]"),
        ({"observation.terms": []}, "observation.terms", "a non-empty list"),
        ({"joints.default_pos": [0.1, 0.9, 0.0]}, "joints.default_pos[1]", "within safety.joint_pos_limits[1]"),
    ],
)
def test_malformed_types_and_shapes_are_refused_with_the_key(change, key, words):
    with pytest.raises(BundleError) as caught:
        bundle_from_dict(bundle_dict(**change), "b/deploy.json")
    assert caught.value.key == key and str(caught.value).startswith("b/deploy.json: "), caught.value
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"format": 1, "format": 2}', "key 'format' appears twice"),
        ("[1, 2]", "expected a JSON object"),
        ("{", "not readable JSON"),
        (b"\xff\xfe\x00garbage", "not readable JSON"),
    ],
)
def test_unreadable_or_odd_json_is_one_line(tmp_path, text, words):
    manifest = tmp_path / "deploy.json"
    manifest.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BundleError) as caught:
        load_bundle(tmp_path)
    assert words in str(caught.value) and str(manifest) in str(caught.value) and "\n" not in str(caught.value)


def test_the_checks_know_every_safety_field_the_bundle_has():
    """deploy.json's checks list the safety keys apart from the dataclass (they cannot import it): a field added to
    one and not the other would be refused on export or silently ignored on load."""
    from dataclasses import fields

    from isaac.rl.workbench.deploy.bundle import SafetyLimits
    from isaac.rl.workbench.deploy.bundle_checks import SAFETY_KEYS

    assert tuple(SAFETY_KEYS) == tuple(f.name for f in fields(SafetyLimits))
