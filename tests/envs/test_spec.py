"""Task spec loading: the cartpole spec resolves, and every kind of bad input fails at load with a clear message."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from isaac.rl.workbench.envs.spec import SpecError, load_spec, save_spec


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


def test_unknown_task_lists_known_tasks():
    with pytest.raises(SpecError, match="known tasks: .*cartpole"):
        load_spec("cartpool")
