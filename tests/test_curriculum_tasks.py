"""The curriculum's tasks on the CPU with a few envs: each builds, steps with random actions (shapes, finite values),
resets inside its start distribution and redraws its commands at their interval; each domain randomisation changes
the physics it names (a heavier base sinks further on the same stance, ...).

The robots are converted at set-up (assets/usd/robots). Envs here are few because on the CPU every clone shares
one MuJoCo model whose build grows steeply with the clones.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec

from .conftest import robot_or_fail

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def _task_copy(tmp_path: Path, task: str, robot: str, replace: dict[str, str], append: str = "") -> Path:
    """The shipped spec of ``task`` written to ``tmp_path`` with its scene path made absolute, text replaced and
    tables appended."""
    text = (REPO / "tasks" / f"{task}.toml").read_text()
    scene = f'"../assets/usd/robots/{robot}/{robot}.usda"'
    text = text.replace(scene, f'"{REPO / "assets/usd/robots" / robot / f"{robot}.usda"}"')
    for old, new in replace.items():
        assert old in text, f"test setup: '{old}' not in tasks/{task}.toml"
        text = text.replace(old, new)
    path = tmp_path / f"{task}.toml"
    path.write_text(text + append)
    return path


def _step_randomly(env: WorkbenchEnv, steps: int) -> None:
    for _ in range(steps):
        obs, rewards, dones, extras = env.step(torch.randn(env.num_envs, env.num_actions))
        for name, group in obs.items():
            assert torch.isfinite(group).all(), f"observation group {name} is finite"
        assert rewards.shape == (env.num_envs,) and torch.isfinite(rewards).all()
        assert dones.shape == (env.num_envs,)


def test_reach_panda_builds_steps_resets_redraws_its_target_and_reports_its_metrics():
    robot_or_fail("panda")
    torch.manual_seed(0)
    overrides = {"env.num_envs": 4, "env.episode_seconds": 0.5, "commands.ee_target.resample_s": [0.2, 0.2]}
    env = WorkbenchEnv(load_spec("reach_panda", overrides))
    obs = env.get_observations()
    assert obs["policy"].shape == (4, 9 + 9 + 3 + 7) and obs["critic"].shape == (4, 28)  # joints 9, arm actions 7
    target_b = env.command_in_base("ee_target")
    assert target_b[:, 0].min() >= 0.35 and target_b[:, 0].max() <= 0.65
    assert target_b[:, 1].abs().max() <= 0.2 and target_b[:, 2].min() >= 0.15 and target_b[:, 2].max() <= 0.5
    home = env.default_dof_pos[:, :7]
    assert torch.all((env.dof_pos[:, :7] - home).abs() <= 0.2 + 1e-5), "reset inside home +- 0.2 rad"
    assert (env.dof_pos[:, :7] - home).abs().max() > 0.05, "the start pose is drawn, not always home"

    first = env.command("ee_target").clone()
    _step_randomly(env, 9)  # 0.18 s at 50 Hz: not yet redrawn
    assert torch.equal(env.command("ee_target"), first)
    _step_randomly(env, 1)  # 0.2 s
    assert torch.all(env.command("ee_target") != first)

    _step_randomly(env, 20)  # every episode (0.5 s) ends once
    stats = env.pop_episode_stats()
    assert stats["episodes"] == 4
    assert 0.0 <= stats["metric/success"] <= 1.0 and 0.0 < stats["metric/ee_error"] < 2.0
    env.reset()
    assert torch.all((env.dof_pos[:, :7] - home).abs() <= 0.2 + 1e-5)


def test_go2_flat_senses_its_feet_on_the_ground_adds_sensor_noise_and_randomizes_at_start_up():
    robot_or_fail("go2")
    torch.manual_seed(0)
    env = WorkbenchEnv(load_spec("go2_flat", {"env.num_envs": 2, "commands.base_velocity.resample_s": [0.2, 0.2]}))
    assert set(env.applied_randomization) == {"shape_friction", "body_mass", "dof_stiffness", "dof_damping"}
    base_mass = env.applied_randomization["body_mass"]["values"]
    assert list(base_mass) == ["base"]  # only the named body changed
    assert 6.9 - 1.0 - 1e-3 <= base_mass["base"]["min"] <= base_mass["base"]["max"] <= 6.93 + 3.0
    first = env.command("base_velocity").clone()
    standing = torch.zeros(2, env.num_actions)
    for _ in range(40):  # 0.8 s on the stance
        obs, rewards, dones, _ = env.step(standing)
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rewards).all()
    assert not torch.equal(env.command("base_velocity"), first), "redrawn every 0.2 s"
    assert env.command("base_velocity")[:, :2].abs().max() <= 1.0

    feet = [env.body_names.index(f"{leg}_foot") for leg in ("FL", "FR", "RL", "RR")]
    forces = env.contact_forces_w
    weight = env.physics_property("body_mass").sum(dim=1) * 9.81
    support = forces[..., 2].sum(dim=1)  # every contact pushes up on a flat floor
    assert torch.allclose(support, weight, rtol=0.3), (support, weight)
    assert torch.all(torch.linalg.vector_norm(forces[:, feet], dim=2).sum(dim=1) > 0.5 * weight)
    assert env.contact_time.air_time[:, feet].max() < 0.1, "standing: no foot stays in the air"
    assert torch.all(env.contact_time.contact_time[:, feet].sum(dim=1) > 1.0), "the feet are on the ground"
    assert torch.linalg.vector_norm(forces[:, env.body_names.index("base")], dim=1).max() < 1.0

    policy, critic = env.get_observations()["policy"], env.get_observations()["critic"]
    noise = (policy - critic).abs()
    assert noise[:, 3:6].max() <= 0.2 + 1e-5 and noise[:, 3:6].max() > 0.01, "angular velocity noise +-0.2"
    assert noise[:, 9:12].max() == 0.0, "the command is observed without noise"


GO2_PROBES = """
[events.heavy_base]
func = "tests.envs.physics_setters:scale_per_env"
mode = "startup"
params = { name = "body_mass", factors = [1.0, 1.6, 1.0, 1.0], bodies = ["base"] }

[events.slippery]
func = "tests.envs.physics_setters:scale_per_env"
mode = "startup"
params = { name = "shape_friction", factors = [1.0, 1.0, 0.05, 1.0] }

[events.nose_heavy]
func = "tests.envs.physics_setters:add_per_env"
mode = "startup"
params = { name = "body_com", offsets = [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0.06, 0, 0]], bodies = ["base"] }
"""


def _pitch(quat: torch.Tensor) -> torch.Tensor:
    x, y, z, w = quat.unbind(-1)
    return torch.asin((2 * (w * y - z * x)).clamp(-1, 1))


def test_mass_friction_and_centre_of_mass_randomization_change_how_the_go2_stands(tmp_path):
    """Four Go2s on the same stance, each differing from env 0 in one property written at start-up."""
    robot_or_fail("go2")
    start_pose = "params = { position_range = [-0.4, 0.4], velocity_range = [-1.0, 1.0] }"
    spec = _task_copy(tmp_path, "go2_stand", "go2", {start_pose: "params = {}"}, GO2_PROBES)
    env = WorkbenchEnv(load_spec(spec, {"env.num_envs": 4}))
    mass = env.physics_property("body_mass")[:, env.body_names.index("base")]
    assert mass[1] == pytest.approx(1.6 * mass[0])
    for _ in range(75):  # 1.5 s on the stance
        env.step(torch.zeros(4, env.num_actions))
    height, pitch = env.root_pos_w[:, 2], _pitch(env.root_quat_w)
    assert height[1] < height[0] - 0.005, f"a heavier base sinks further: {height.tolist()}"
    assert abs(height[3] - height[0]) > 0.002 and (pitch[3] - pitch[0]).abs() > math.radians(1.0), (
        f"a centre of mass moved forward changes the stance: heights {height.tolist()}, pitch {pitch.tolist()}"
    )
    feet = [env.body_names.index(f"{leg}_foot") for leg in ("FL", "FR", "RL", "RR")]
    spread = torch.linalg.vector_norm(env.body_pos_w[:, feet, :2] - env.root_pos_w[:, None, :2], dim=2).mean(1)
    assert spread[2] > spread[0] + 0.01 and height[2] < height[0] - 0.005, (
        f"on a slippery floor the feet slide apart and the body sags: spread {spread.tolist()}, "
        f"heights {height.tolist()}"
    )


PANDA_PROBES = """
[events.weak_motors]
func = "tests.envs.physics_setters:scale_per_env"
mode = "startup"
params = { name = "dof_stiffness", factors = [1.0, 0.25, 1.0], joints = ["panda_joint[1-7]"] }

[events.stiff_base_joint]
func = "tests.envs.physics_setters:add_per_env"
mode = "startup"
params = { name = "dof_friction", offsets = [0.0, 0.0, 150.0], joints = ["panda_joint1"] }
"""


def test_gain_and_joint_friction_randomization_change_how_the_panda_holds_and_moves(tmp_path):
    robot_or_fail("panda")
    start_pose = 'params = { position_range = [-0.2, 0.2], joints = ["panda_joint[1-7]"] }'
    spec = _task_copy(tmp_path, "reach_panda", "panda", {start_pose: 'params = { joints = ["panda_joint1"] }'},
                      PANDA_PROBES)  # fmt: skip
    env = WorkbenchEnv(load_spec(spec, {"env.num_envs": 3}))
    home = env.default_dof_pos[:, :7].clone()
    hold = torch.zeros(3, env.num_actions)
    for _ in range(50):  # 1 s holding home under gravity
        env.step(hold)
    sag = (env.dof_pos[:, :7] - home).abs().sum(dim=1)
    assert sag[1] > 2 * sag[0], f"motors at a quarter of the gain sag further under gravity: {sag.tolist()}"
    turn = hold.clone()
    turn[:, 0] = 1.0  # joint 1 to home + 0.5 rad
    for _ in range(25):
        env.step(turn)
    moved = env.dof_pos[:, 0] - home[:, 0]
    assert moved[2] < moved[0] - 0.003, f"friction in joint 1 leaves it short of its target: {moved.tolist()}"


def test_action_delay_reaches_the_physics_the_given_number_of_steps_late(write_spec):
    def cart_response(delay: int) -> list[float]:
        """Cart speed with a push on the first step minus without it, from the same start, per step."""
        spec = load_spec(write_spec(), {"env.num_envs": 2, "actions.delay_steps": [delay, delay]})
        env = WorkbenchEnv(spec)
        speeds = {}
        for pushed in (False, True):
            torch.manual_seed(0)
            env.reset()
            push = torch.zeros(2, env.num_actions)
            push[:, 0] = float(pushed)
            speeds[pushed] = []
            for step in range(4):
                env.step(push if step == 0 else torch.zeros_like(push))
                speeds[pushed].append(float(env.dof_vel[0, 0]))
        return [abs(a - b) for a, b in zip(speeds[True], speeds[False], strict=True)]

    prompt, late = cart_response(0), cart_response(2)
    assert prompt[0] > 0.01, f"without delay the cart answers on the step of the action: {prompt}"
    assert late[0] < 1e-6 and late[1] < 1e-6 and late[2] > 0.01, f"two steps late: {late}"
    assert late[2] == pytest.approx(prompt[0], rel=0.05)


def test_point_nav_scans_its_obstacles_reaches_a_clear_goal_and_fails_on_contact():
    torch.manual_seed(0)
    fixed = {
        "env.num_envs": 2,
        "events.obstacles.params.position_range": [0.0, 0.0],  # on their ring at 45, 135, 225, 315 degrees
        "events.start.params.position_range": [0.0, 0.0],
        "commands.goal.ranges": {"x": [2.0, 2.0], "y": [0.0, 0.0], "z": [0.1, 0.1]},  # straight ahead, clear
    }
    env = WorkbenchEnv(load_spec("point_nav", fixed))
    obs = env.get_observations()["policy"]
    assert obs.shape == (2, 3 + 2 + 16 + 2)
    assert obs[0, :3].tolist() == pytest.approx([2.0, 0.0, 0.0], abs=1e-5), "the goal seen from the robot"
    scan = obs[0, 5:21]
    assert scan[2] == pytest.approx(1.2 - 0.3, abs=1e-4), "the ray at 45 degrees meets obstacle 0's surface"
    assert scan[[6, 10, 14]].tolist() == pytest.approx([0.9] * 3, abs=1e-4) and scan[0] == pytest.approx(3.0)

    robot = env.body_names.index("robot")
    into_obstacle = torch.tensor([[0.7, 0.7], [0.0, 0.0]])
    for _ in range(100):  # env 0 runs into obstacle 0, env 1 drives to its goal under a P-controller
        to_goal = obs[1, :2]
        action = into_obstacle.clone()
        action[1] = torch.clamp(2.0 * to_goal - 0.5 * obs[1, 3:5], -1.0, 1.0)
        step_obs, rewards, dones, _ = env.step(action)
        obs = step_obs["policy"]
        if dones[1]:
            break
    stats = env.pop_episode_stats()
    assert stats["episodes"] == 2
    assert stats["metric/success"] == 0.5 and stats["metric/collided"] == 0.5, stats
    assert stats["reward/arrival"] == pytest.approx(5.0 / 2) and stats["reward/collision"] == pytest.approx(-5.0 / 2)
    assert env.body_pos_w[1, robot, 0] < 1.0, "env 1 reset after reaching the goal"
