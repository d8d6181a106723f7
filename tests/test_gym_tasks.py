"""Gymnasium's MuJoCo tasks, the reference suite (tasks/gym): each spec weighs its terms, ends its episodes and
scales its actions as Gymnasium's v5 task does (read from the installed gymnasium: its constructors' defaults, its
registry, its XMLs); set-up converts each robot from the wheel's XML into assets/usd/gym; ``doctor`` calls each ready;
10 iterations of each train on the CPU; and the reward and termination terms give, on states set by hand, the values
Gymnasium's definitions give.

The planar robots (half_cheetah, hopper, walker2d) stand on the ground only with ``[env] ground = true`` (a ground
plane under a fixed-base robot): the tests that load their specs need that key.
"""

from __future__ import annotations

import inspect
import json
import math
import tomllib
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import gymnasium
import mujoco
import pytest
import torch
from gymnasium.envs.registration import load_env_creator
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.schema import ActionSpec
from isaac.rl.workbench.specs.task_files import TaskNotFoundError, find_task, list_tasks

from .conftest import REPO, converted_or_fail

TASKS = {  # task in tasks/gym -> Gymnasium's id
    "ant": "Ant-v5",
    "half_cheetah": "HalfCheetah-v5",
    "hopper": "Hopper-v5",
    "walker2d": "Walker2d-v5",
    "humanoid": "Humanoid-v5",
    "reacher": "Reacher-v5",
    "inverted_pendulum": "InvertedPendulum-v5",
}
PLANAR = ("half_cheetah", "hopper", "walker2d")  # need [env] ground = true


def gym_or_fail(name: str) -> None:
    """Skip (fail under CI) when set-up has not converted Gymnasium's ``name`` into assets/usd/gym."""
    converted_or_fail("gym", name)


def spec_table(name: str) -> dict:
    return tomllib.loads((REPO / "tasks" / "gym" / f"{name}.toml").read_text())


def gymnasium_defaults(name: str) -> dict:
    """The keyword defaults of Gymnasium's v5 env class for task ``name`` (weights, ranges, frame_skip, xml_file)."""
    parameters = inspect.signature(load_env_creator(gymnasium.spec(TASKS[name]).entry_point).__init__).parameters
    return {key: p.default for key, p in parameters.items() if p.default is not inspect.Parameter.empty}


def gymnasium_model(name: str) -> mujoco.MjModel:
    xml = Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets" / gymnasium_defaults(name)["xml_file"]
    return mujoco.MjModel.from_xml_path(str(xml))


# -- the specs against Gymnasium's definitions (no physics) ------------------------------------------------------
def test_the_reference_tasks_are_found_by_their_path_under_tasks():
    tasks = list_tasks()
    for name in TASKS:
        assert tasks[f"gym/{name}"] == REPO / "exts/isaac.rl.workbench/isaac/rl/workbench/shipped/tasks/gym" / (
            f"{name}.toml"
        )
        assert find_task(f"gym/{name}").resolve() == (REPO / "tasks" / "gym" / f"{name}.toml").resolve()
    assert tasks["ant"].name == "ant.toml" and tasks["gym/ant"] != tasks["ant"], "the workbench's ant stays 'ant'"
    with pytest.raises(TaskNotFoundError, match="gym/nope: no such task spec file"):
        find_task("gym/nope")


@pytest.mark.parametrize("name", list(TASKS))
def test_timing_actions_and_episode_length_are_gymnasiums(name):
    spec, defaults, model = spec_table(name), gymnasium_defaults(name), gymnasium_model(name)
    assert spec["env"]["physics_dt"] == pytest.approx(model.opt.timestep), "the XML's timestep"
    assert spec["env"]["decimation"] == defaults["frame_skip"]
    dt = model.opt.timestep * defaults["frame_skip"]
    assert round(spec["env"]["episode_seconds"] / dt) == gymnasium.spec(TASKS[name]).max_episode_steps
    gears, ctrl = model.actuator_gear[:, 0], model.actuator_ctrlrange
    assert spec["actions"]["type"] == "joint_effort"
    motors = [model.joint(model.actuator_trnid[a, 0]).name for a in range(model.nu)]
    scales = ActionSpec(joints=motors, scale=spec["actions"]["scale"]).joint_scales()
    assert scales == pytest.approx(gears.tolist()), "effort = gear x ctrl, each joint's own gear"
    assert spec["actions"]["clip"] == pytest.approx(ctrl.max()) and ctrl.min() == pytest.approx(-ctrl.max())
    assert set(spec["actions"].get("joints", motors)) == set(motors)
    limits = {j: g["effort_limit"] for g in spec["actuators"].values() for j in g["joints"]}
    assert limits == pytest.approx({j: float(gears[a] * ctrl[a, 1]) for a, j in enumerate(motors)}), "gear x ctrl"


@pytest.mark.parametrize("name", list(TASKS))
def test_reward_weights_per_step_are_gymnasiums(name):
    """The workbench weighs a term per second (weight x dt per step): weight x dt is Gymnasium's per-step weight."""
    spec, defaults, model = spec_table(name), gymnasium_defaults(name), gymnasium_model(name)
    dt = model.opt.timestep * defaults["frame_skip"]
    per_step = {key: term["weight"] * dt for key, term in spec["rewards"].items()}
    expected = {  # spec term -> Gymnasium's weight (costs subtracted)
        "forward": defaults.get("forward_reward_weight"),
        "healthy": defaults.get("healthy_reward"),
        "ctrl_cost": -defaults.get("ctrl_cost_weight", defaults.get("reward_control_weight", 0.0)),
        "contact_cost": -defaults.get("contact_cost_weight", 0.0),
        "distance": -defaults.get("reward_dist_weight", 0.0),
        "alive": 1.0,  # InvertedPendulum: reward = int(not terminated)
    }
    assert per_step == pytest.approx({key: expected[key] for key in per_step})
    functions = {key: term["func"] for key, term in spec["rewards"].items()}
    planar = {"forward": "joint_vel_sum", "healthy": "is_alive", "ctrl_cost": "action_l2"}
    assert (
        functions
        == {
            "ant": {"forward": "lin_vel_x_w", "healthy": "is_alive", "ctrl_cost": "action_l2"}
            | {"contact_cost": "contact_forces_l2"},
            "half_cheetah": {"forward": "joint_vel_sum", "ctrl_cost": "action_l2"},
            "hopper": planar,
            "walker2d": planar,
            "humanoid": {"forward": "com_lin_vel_x_w", "healthy": "is_alive", "ctrl_cost": "action_l2"}
            | {"contact_cost": "contact_forces_l2"},
            "reacher": {"distance": "body_distance", "ctrl_cost": "action_l2"},
            "inverted_pendulum": {"alive": "is_alive"},
        }[name]
    )
    if name in PLANAR:
        assert spec["rewards"]["forward"]["params"] == {"joints": ["rootx"]}, "qpos[0]'s rate"
    if name == "ant":
        assert spec["rewards"]["contact_cost"]["params"] == {"clip": defaults["contact_force_range"][1]}
    if name == "humanoid":
        cap = defaults["contact_cost_range"][1] / defaults["contact_cost_weight"]
        assert spec["rewards"]["contact_cost"]["params"] == {"max_total": pytest.approx(cap)}


@pytest.mark.parametrize("name", list(TASKS))
def test_terminations_and_reset_noise_are_gymnasiums(name):
    spec, defaults = spec_table(name), gymnasium_defaults(name)
    ends = {key: (t["func"], t.get("params", {})) for key, t in spec["terminations"].items() if not t.get("time_out")}
    assert spec["terminations"]["time_out"]["func"] == "time_out"
    if "healthy_z_range" in defaults:
        low, high = defaults["healthy_z_range"]
        func, params = ends.pop("unhealthy_z")
        assert func == "body_height_out_of_range" and params["body"] == "torso"
        assert (params.get("minimum", -math.inf), params.get("maximum", math.inf)) == (low, high)
    if "healthy_angle_range" in defaults:
        low, high = defaults["healthy_angle_range"]
        assert low == -high
        assert ends.pop("unhealthy_angle") == ("joint_pos_out_of_bounds", {"joints": ["rooty"], "limit": high})
    if "healthy_state_range" in defaults:
        low, high = defaults["healthy_state_range"]
        assert low == -high
        func, params = ends.pop("unhealthy_state_pos")
        assert func == "joint_pos_out_of_bounds" and params["limit"] == high and "rootx" not in params["joints"]
        assert "rootz" not in params["joints"], "qpos[2:]"
        assert ends.pop("unhealthy_state_vel") == ("joint_vel_out_of_bounds", {"limit": high})
    if name == "inverted_pendulum":
        assert ends.pop("pole_fell") == ("joint_pos_out_of_bounds", {"joints": ["hinge"], "limit": 0.2})
    assert not ends, "no termination Gymnasium does not have"
    if "reset_noise_scale" in defaults:
        noise = defaults["reset_noise_scale"]
        assert spec["events"]["reset_noise"]["params"]["position_range"] == pytest.approx([-noise, noise])
        assert spec["events"]["reset_noise"]["params"]["velocity_range"] == pytest.approx([-noise, noise])


@pytest.mark.parametrize("name", PLANAR)
def test_the_planar_robots_ask_for_the_ground(name):
    assert spec_table(name)["env"]["ground"] is True


# -- the converted robots ------------------------------------------------------------------------------------------
def mujoco_joints(name: str) -> list[str]:
    model = gymnasium_model(name)
    return [model.joint(j).name for j in range(model.njnt) if model.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE]


@pytest.mark.parametrize("name", list(TASKS))
def test_set_up_converted_the_robot_from_gymnasiums_xml(name):
    from isaac.rl.workbench.scene.inspect import inspect_scene

    gym_or_fail(name)
    art = inspect_scene(REPO / "assets" / "usd" / "gym" / name / f"{name}.usda").find(None)
    assert list(art.dof_names) == mujoco_joints(name), "every joint of Gymnasium's XML, in MuJoCo's order"
    assert art.root_path == spec_table(name)["articulation"]
    assert art.fixed_base == (spec_table(name)["robot"]["base"] == "fixed")


@pytest.mark.parametrize("name", list(TASKS))
def test_the_spec_loads(name):
    from isaac.rl.workbench.specs.loader import load_spec

    gym_or_fail(name)
    spec = load_spec(f"gym/{name}")
    assert spec.joint_names == mujoco_joints(name)
    assert spec.name == f"gym/{name}"


def _make_assets(argv: list[str]) -> tuple[int, str, str]:
    """scripts/make_assets.py's main, run in this process: (exit code, stdout, stderr)."""
    import importlib.util
    from contextlib import redirect_stderr

    spec = importlib.util.spec_from_file_location("make_assets", REPO / "scripts" / "make_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = module.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_make_assets_gym_converts_each_xml_once_and_refuses_a_half_folder(tmp_path):
    code, out, _ = _make_assets(["--gym", "--out", str(tmp_path)])
    assert code == 0
    assert out.splitlines() == [f"converted {tmp_path / 'gym' / name / name}.usda" for name in TASKS]
    code, out, _ = _make_assets(["--gym", "--out", str(tmp_path)])
    assert code == 0 and out.splitlines() == [f"kept {tmp_path / 'gym' / name / name}.usda" for name in TASKS]
    (tmp_path / "gym" / "hopper" / "hopper.usda").unlink()
    code, out, err = _make_assets(["--gym", "--out", str(tmp_path)])
    assert code == 2 and out == ""
    half = tmp_path / "gym" / "hopper"
    assert err == f"make_assets.py --gym: {half}: holds files but no hopper.usda; delete the folder and run again\n"


def _doctor(target: str) -> tuple[int, str]:
    out = StringIO()
    with redirect_stdout(out):
        code = main(["doctor", target])
    return code, out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TASKS))
def test_doctor_calls_the_spec_ready(name):
    gym_or_fail(name)
    code, out = _doctor(f"gym/{name}")
    assert code == 0, out
    assert f"gym/{name}: ready to train: 0 problem(s)" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TASKS))
def test_ten_iterations_train(name, tmp_path):
    """8 envs x 16 steps per iteration; the run logs each of the spec's reward terms and stays physically sound.
    Episodes of 2 s keep the final evaluation (one deterministic episode) short."""
    gym_or_fail(name)
    argv = ["train", f"gym/{name}", "--num-envs", "8", "--max-iterations", "10", "--eval-episodes", "1"]
    out = StringIO()
    with redirect_stdout(out):
        code = main([*argv, "--run-dir", str(tmp_path), "--set", "ppo.num_steps_per_env=16", "env.episode_seconds=2"])
    assert code == 0, out.getvalue()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 10
    terms = {f"reward/{key}" for key in spec_table(name)["rewards"]}
    assert terms <= set(rows[-1]), f"each reward term logged: {sorted(terms)}"
    assert not any(row.get("unstable_envs", 0) for row in rows), "the simulation stays sound"


# -- terms on states set by hand ---------------------------------------------------------------------------------
def _env(name: str, **overrides):
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.specs.loader import load_spec

    gym_or_fail(name)
    torch.manual_seed(0)
    return WorkbenchEnv(load_spec(f"gym/{name}", {"env.num_envs": 2, **overrides}))


def _term(env, kind: str, key: str) -> torch.Tensor:
    return env.call_term(getattr(env.spec, kind)[key])


def _set(env, **joints: float) -> None:
    """Every env at rest in the XML's pose (the default pose) with the named joints moved by these amounts."""
    position = env.default_dof_pos.clone()
    for joint, value in joints.items():
        position[:, env.spec.joint_names.index(joint)] += value
    env.reset_physics(torch.ones(env.num_envs, dtype=torch.bool), position, torch.zeros_like(position))


@pytest.mark.slow
def test_half_cheetah_forward_reward_is_the_x_slides_velocity_and_ctrl_cost_the_squared_action():
    env = _env("half_cheetah")
    velocity = torch.zeros_like(env.dof_vel)
    velocity[:, env.spec.joint_names.index("rootx")] = 2.5
    env.reset_physics(torch.ones(2, dtype=torch.bool), env.dof_pos.clone(), velocity)
    assert _term(env, "rewards", "forward").tolist() == pytest.approx([2.5, 2.5])
    env.reset()
    for _ in range(20):  # 1 s standing with zero actions: no forward speed, no control cost
        _, reward, _, extras = env.step(torch.zeros(2, 6))
    assert _term(env, "rewards", "forward").abs().max() < 0.05
    assert _term(env, "rewards", "ctrl_cost").tolist() == [0.0, 0.0]
    env.step(torch.tensor([[0.5, -0.5, 0.5, 0.0, 0.0, 2.0]] * 2))  # clipped to the ctrlrange: 3 x 0.25 + 1
    assert _term(env, "rewards", "ctrl_cost").tolist() == pytest.approx([1.75, 1.75])


@pytest.mark.slow
def test_hopper_is_unhealthy_where_gymnasium_says():
    env = _env("hopper")
    _set(env)  # the XML's pose: torso at 1.25 m, upright
    assert env.body_pos_w[:, env.body_names.index("torso"), 2].tolist() == pytest.approx([1.25, 1.25], abs=1e-4)
    assert (
        not _term(env, "terminations", "unhealthy_z").any() and not _term(env, "terminations", "unhealthy_angle").any()
    )
    _set(env, rootz=-0.6)  # torso at 0.65 m: below 0.7
    assert _term(env, "terminations", "unhealthy_z").all()
    _set(env, rootz=-0.5, rooty=0.19)
    assert (
        not _term(env, "terminations", "unhealthy_z").any() and not _term(env, "terminations", "unhealthy_angle").any()
    )
    _set(env, rooty=-0.21)
    assert _term(env, "terminations", "unhealthy_angle").all()


@pytest.mark.slow
def test_reacher_distance_is_from_the_fingertip_to_the_target():
    """Links of 0.1 m and 0.11 m from the origin; the target at (0.1, -0.1) as the XML puts it."""
    env = _env("reacher")
    _set(env)
    assert _term(env, "rewards", "distance").tolist() == pytest.approx([math.hypot(0.11, 0.1)] * 2, abs=1e-5)
    _set(env, joint0=math.pi / 2, target_x=-0.1, target_y=0.3)  # fingertip at (0, 0.21), target at (0, 0.2)
    assert _term(env, "rewards", "distance").tolist() == pytest.approx([0.01, 0.01], abs=1e-5)
    target = env.get_observations()["policy"]
    assert target.shape == (2, 4 + 3 + 2 + 3)
    env.reset()
    goal = env.call_term(env.spec.observations["policy"][1])  # the target's position, Gymnasium's qpos[2:]
    assert goal[:, :2].abs().max() <= 0.2 + 1e-6, "the target drawn in [-0.2, 0.2]^2"


@pytest.mark.slow
def test_humanoid_forward_reward_is_the_centre_of_mass_velocity():
    """Pushed at 1.5 m/s along x in the air (no contact for one step): the centre of mass keeps that speed, whatever
    the limbs do."""
    env = _env("humanoid")
    env.reset()
    push = torch.tensor([[1.5, 0.0, 0.0, 0.0, 0.0, 0.0]] * 2)
    env.add_root_velocity(torch.ones(2, dtype=torch.bool), push)
    env.step(torch.zeros(2, env.num_actions))
    assert _term(env, "rewards", "forward").tolist() == pytest.approx([1.5, 1.5], abs=1e-3)


@pytest.mark.slow
def test_ant_contact_cost_counts_the_feet_on_the_ground_clipped_to_one_newton():
    env = _env("ant")
    for _ in range(20):  # 1 s with zero actions: standing on its four feet, each pressing more than 1 N
        env.step(torch.zeros(2, env.num_actions))
    cost = _term(env, "rewards", "contact_cost")
    assert torch.all(cost >= 4.0) and torch.all(cost <= 13 * 3), cost
    assert env.get_observations()["policy"].shape == (2, 1 + 4 + 8 + 3 + 3 + 8 + 13 * 3)


@pytest.mark.slow
def test_inverted_pendulum_ends_past_0_2_rad():
    env = _env("inverted_pendulum")
    _set(env, hinge=0.19)
    assert not _term(env, "terminations", "pole_fell").any()
    _set(env, hinge=-0.21)
    assert _term(env, "terminations", "pole_fell").all()
