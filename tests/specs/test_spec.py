"""Task spec loading: the cartpole spec resolves, and every kind of bad input fails at load with a clear message."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec
from isaac.rl.workbench.specs.overrides import parse_overrides


def test_cartpole_spec_resolves():
    spec = load_spec("cartpole")
    assert spec.articulation == "/cartpole"
    assert spec.joint_names == ["slider", "hinge"]
    assert spec.actions.joints == ["slider"]
    assert spec.env.max_episode_length == 300
    assert spec.rewards["pole_pos"].params == {"joints": ["hinge"], "target": 0.0}
    assert spec.terminations["time_out"].time_out and not spec.terminations["pole_fell"].time_out
    assert spec.ppo["algorithm"]["class_name"] == "PPO" and spec.ppo["num_steps_per_env"] == 16


def test_overrides_and_saved_spec_round_trip(tmp_path):
    spec = load_spec("cartpole", {"env.num_envs": 8, "ppo.max_iterations": 3})
    assert spec.env.num_envs == 8 and spec.ppo["max_iterations"] == 3
    save_spec(spec, tmp_path / "spec.toml")
    saved = tomllib.loads((tmp_path / "spec.toml").read_text())
    assert not Path(saved["scene"]).is_absolute() and saved["scene_fallback"] == str(spec.scene)
    assert (tmp_path / saved["scene"]).resolve() == spec.scene
    again = load_spec(tmp_path / "spec.toml")
    assert again.raw == spec.raw


def test_user_term_from_module_next_to_the_spec(write_spec, tmp_path):
    (tmp_path / "my_terms.py").write_text("def cart_far(env, distance: float = 1.0):\n    return env.dof_pos[:, 0]\n")
    spec = load_spec(write_spec(append='[rewards.far]\nfunc = "my_terms:cart_far"\nweight = -0.1\n'))
    assert spec.rewards["far"].func.__name__ == "cart_far"


def expect_error(path, *fragments):
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(
    ("replace", "append", "fragments"),
    [
        ({'name = "cartpole"': 'name = "cartpole"\ncolour = 3'}, "", ["'colour'", "unknown key"]),
        ({}, "colour = 3\n", ["'ppo.critic.colour'", "hidden_dims"]),
        ({"decimation = 2": "decimation = 2\nsubsteps = 4"}, "", ["'env.substeps'", "unknown key"]),
        (
            {'func = "is_alive"': 'func = "is_alvie"'},
            "",
            ["rewards.alive.func", "unknown reward term 'is_alvie'", "is_alive"],
        ),
        ({'joints = ["hinge"], target': 'joints = ["hnige"], target'}, "", ["'hnige'", "slider, hinge"]),
        ({'joints = ["slider"]\nscale': 'joints = ["wheel"]\nscale'}, "", ["actions.joints", "'wheel'"]),
        ({"num_envs = 64": "num_envs = 0"}, "", ["env.num_envs", ">= 1", "0"]),
        ({"physics_dt = 0.008333333333333333": "physics_dt = -0.01"}, "", ["env.physics_dt", "> 0"]),
        ({"decimation = 2": 'decimation = 2\ncpu_solver = "warp"'}, "", ["env.cpu_solver", "'mujoco_warp'", "'warp'"]),
        ({"episode_seconds = 5.0": 'episode_seconds = "long"'}, "", ["env.episode_seconds", "expected float"]),
        ({'type = "joint_effort"': 'type = "joint_velocity"'}, "", ["actions.type", "joint_effort"]),
        ({'type = "joint_effort"': 'type = "joint_position"'}, "", ["actions.type", "stiffness > 0", "slider"]),
        ({"target = 0.0 }": "target = 0.0, power = 2 }"}, "", ["params.power", "takes no parameter"]),
        (
            {'params = { joints = ["hinge"], limit = 0.4 }': 'params = { joints = ["hinge"] }'},
            "",
            ["terminations.pole_fell", "needs parameter 'limit'"],
        ),
        (
            {"num_steps_per_env = 16": "num_steps_per_env = 16\nlearning_rate = 0.1"},
            "",
            ["ppo.learning_rate", "[ppo.algorithm]"],
        ),
        ({}, "[ppo.algorithm]\nlearnig_rate = 0.1\n", ["ppo.algorithm.learnig_rate", "learning_rate"]),
        ({}, "[ppo.algorithm]\ngamma = 1.5\n", ["gamma", "[0, 1]"]),
        ({"[observations.policy]": "[observations.actor]"}, "", ["policy", "observation group"]),
        (
            {'mode = "reset"\nparams = { joints = ["slider"]': 'mode = "sometimes"\nparams = { joints = ["slider"]'},
            "",
            ["events.reset_cart.mode", "interval"],
        ),
        ({}, '[commands.goal]\ntype = "orbit"\n', ["commands.goal.type", "position, velocity"]),
        ({}, '[commands.goal]\ntype = "position"\nranges = { w = [0, 1] }\n', ["commands.goal.ranges.w", "x, y, z"]),
        ({}, '[commands.goal]\ntype = "position"\nranges = { x = [1, 0] }\n', ["commands.goal.ranges.x", "min <= max"]),
        (
            {},
            '[rewards.track]\nfunc = "progress_to_position_command"\nparams = { command = "gaol" }\n',
            ["rewards.track.params.command", "'gaol'", "[commands"],
        ),
        (
            {},
            '[commands.goal]\ntype = "position"\n[metrics.err]\nfunc = "position_command_error"\n'
            'params = { command = "goal", body = "hand" }\n',
            ["metrics.err.params.body", "'hand'", "its bodies"],
        ),
        ({}, '[metrics.err]\nfunc = "is_alive"\nreduce = "max"\n', ["metrics.err.reduce", "final, mean"]),
        (
            {},
            '[commands.goal]\ntype = "position"\nclear_of = ["rock"]\nclearance = 0.5\n',
            ["commands.goal.clear_of", "'rock'", "its bodies"],
        ),
        ({}, '[commands.walk]\ntype = "velocity"\nclearance = 0.5\n', ["commands.walk.clearance", "position"]),
        (
            {'joints = ["slider"]\nscale': 'delay_steps = [2, 1]\njoints = ["slider"]\nscale'},
            "",
            ["actions.delay_steps", "0 <= min <= max"],
        ),
        (
            {'terms = ["joint_pos", "joint_vel"]': 'terms = [{ func = "joint_pos", noise = [0.1] }, "joint_vel"]'},
            "",
            ["observations.policy.terms[0].noise", "[min, max]"],
        ),
        # a joint selection that is not a regular expression: the key, the pattern and what re says
        ({'joints = ["slider"]\nscale': 'joints = ["hip_("]\nscale'}, "", ["'actions.joints'", "'hip_('", "missing )"]),
        ({'joints = ["hinge"], target': 'joints = ["[h"], target'}, "", ["'rewards.pole_pos.params.joints'", "'[h'"]),
        ({"hold_kd = { slider = 20.0 }": 'hold_kd = { "sl(" = 20.0 }'}, "", ["'deploy.hold_kd.sl('", "'sl('"]),
        ({}, '[robot]\njoint_pos = { "*" = 0.0 }\n', ["'robot.joint_pos.*'", "not a regular expression"]),
        # no number of any key may be infinite or NaN: the dotted key and the value
        (
            {'["joint_pos", "joint_vel"]': '[{ func = "joint_pos", noise = [-inf, inf] }, "joint_vel"]'},
            "",
            ["'observations.policy.terms[0].noise'", "finite numbers, got -inf at index 0"],
        ),
        ({}, "[ppo.algorithm]\nlearning_rate = inf\n", ["'ppo.algorithm.learning_rate'", "finite", "inf"]),
        ({}, "[ppo.algorithm]\nlearning_rate = nan\n", ["'ppo.algorithm.learning_rate'", "finite", "nan"]),
        ({"limit = 0.4 }": "limit = -inf }"}, "", ["'terminations.pole_fell.params.limit'", "-inf"]),
        ({"weight = -0.01": "weight = nan"}, "", ["'rewards.cart_vel.weight'", "nan"]),
        ({"spacing = 4.0": "spacing = inf"}, "", ["'env.spacing'", "inf"]),
        (
            {"velocity_range = [-0.5, 0.5]": "velocity_range = [-0.5, nan]"},
            "",
            ["events.reset_cart.params.velocity_range"],
        ),
        ({}, "[ppo.actor.distribution_cfg]\ninit_std = inf\n", ["'ppo.actor.distribution_cfg.init_std'"]),
        (
            {},
            '[commands.goal]\ntype = "position"\nresample_s = [1.0, inf]\n',
            ["commands.goal.resample_s", "[inf, inf]"],
        ),
        ({}, '[commands.goal]\ntype = "position"\nranges = { x = [nan, 1] }\n', ["commands.goal.ranges.x", "nan"]),
        # a name is a folder name and a plot title: a sane length, one line
        ({'name = "cartpole"': f'name = "{"a" * 101}"'}, "", ["key 'name'", "at most 100 characters", "101"]),
        ({'name = "cartpole"': 'name = "cart\\npole"'}, "", ["key 'name'", "printable"]),
    ],
)
def test_bad_spec_names_file_key_and_expectation(write_spec, replace, append, fragments):
    expect_error(write_spec(replace, append), *fragments)


def test_scene_missing(write_spec):
    path = write_spec({}, "")
    text = path.read_text()
    path.write_text(text.replace(text.split('scene = "')[1].split('"')[0], "/nowhere/robot.usda"))
    expect_error(path, "scene", "/nowhere/robot.usda", "no such file")


def test_articulation_missing(write_spec):
    expect_error(write_spec({'articulation = "/cartpole"': 'articulation = "/robot"'}), "/robot", "/cartpole")


def test_not_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n[env\n")
    expect_error(path, "not valid TOML")


def test_arrays_nested_too_deeply_for_the_toml_reader_are_not_valid_toml(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    expect_error(path, "not valid TOML", "nested too deeply")


def test_arrays_nested_deeper_than_any_spec_needs_are_refused_by_name(write_spec):
    message = expect_error(write_spec(append="[rewards.alive.params]\nx = " + "[" * 40 + "]" * 40 + "\n"))
    assert "key 'rewards.alive.params.x'" in message and "nested more than 32" in message


def test_an_override_nested_too_deeply_names_its_key():
    with pytest.raises(SpecError, match="override 'x': arrays or tables nested too deeply"):
        parse_overrides(["x=" + "[" * 3000 + "]" * 3000])


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_an_infinite_override_is_refused_by_its_key(value):
    with pytest.raises(SpecError) as info:
        load_spec("cartpole", {"ppo.algorithm.clip_param": value})
    assert info.value.key == "ppo.algorithm.clip_param" and "finite" in str(info.value)


def test_a_command_drawn_once_per_episode_may_say_so_with_inf(write_spec):
    spec = load_spec(write_spec(append='[commands.goal]\ntype = "position"\nresample_s = [inf, inf]\n'))
    assert spec.commands["goal"].resample_s == (math.inf, math.inf)


def test_a_long_file_name_is_cut_to_a_task_name(write_spec):
    spec = load_spec(write_spec({'name = "cartpole"\n': ""}, name="b" * 150 + ".toml"))
    assert spec.name == "b" * 100


def test_unknown_task_lists_known_tasks():
    with pytest.raises(SpecError, match="known tasks: .*cartpole"):
        load_spec("cartpool")
