"""The legged and humanoid reward terms (terms/rewards_legged.py) on hand-made env state: each gives what a user
of Isaac Lab's or legged_gym's term of the same job expects; bad params are refused at load naming the term's key;
the base height reads the terrain under the robot on a real env standing on stairs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from isaac.rl.workbench.envs.contact_time import ContactTime
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.scene.terrain import generate_terrain
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError
from isaac.rl.workbench.terms import REGISTRIES, rewards_legged
from isaac.rl.workbench.terms.height_scan import MAX_DISTANCE

NEW_TERMS = (
    "feet_air_time_biped",
    "feet_slide",
    "feet_stumble",
    "joint_pos_limits",
    "joint_deviation_l1",
    "base_height_l2",
)
FEET = torch.tensor([0, 1])
DT = 0.02


def test_the_terms_are_reward_terms_and_can_be_metrics():
    for name in NEW_TERMS:
        assert REGISTRIES["rewards"][name] is getattr(rewards_legged, name)
        assert REGISTRIES["metrics"][name] is getattr(rewards_legged, name)


# -- feet air time of a biped ----------------------------------------------------------------------------------------
def walk(timers: ContactTime, steps: int, touching: list[list[bool]]) -> None:
    """``steps`` env steps of :data:`DT` with each env's two feet touching the ground (50 N) or not."""
    forces = torch.zeros(len(touching), 2, 3)
    forces[..., 2] = torch.tensor(touching, dtype=torch.float32) * 50.0
    for _ in range(steps):
        timers.update(forces, DT)


def biped(timers: ContactTime, command: list[float]) -> SimpleNamespace:
    commands = torch.tensor([command] * timers.air_time.shape[0])
    return SimpleNamespace(contact_time=timers, command=lambda name: commands)


def test_single_stance_pays_the_shorter_phase_time_and_double_stance_or_flight_nothing():
    timers = ContactTime(3, 2, torch.device("cpu"))
    walk(timers, 5, [[True, True]] * 3)  # 0.1 s on both feet
    walk(timers, 10, [[False, True], [True, True], [False, False]])  # env 0 lifts its left foot, env 2 jumps
    value = rewards_legged.feet_air_time_biped(biped(timers, [0.5, 0.0, 0.0]), "vel", FEET, threshold=0.4)
    assert torch.allclose(value, torch.tensor([0.2, 0.0, 0.0])), "left foot 0.2 s in the air, right 0.3 s down"

    walk(timers, 20, [[False, True], [True, True], [False, False]])
    value = rewards_legged.feet_air_time_biped(biped(timers, [0.0, -0.5, 0.0]), "vel", FEET, threshold=0.4)
    assert torch.allclose(value, torch.tensor([0.4, 0.0, 0.0])), "0.6 s in the air: capped at the threshold"

    still = rewards_legged.feet_air_time_biped(biped(timers, [0.05, 0.05, 1.0]), "vel", FEET, threshold=0.4)
    assert still.tolist() == [0.0, 0.0, 0.0], "a planar command under 0.1 m/s (turning on the spot) pays nothing"


# -- feet sliding and stumbling --------------------------------------------------------------------------------------
def feet_env(forces: list, velocities: list | None = None) -> SimpleNamespace:
    """Envs of three bodies (left foot, right foot, base): contact forces and linear velocities in world axes."""
    forces = torch.tensor(forces, dtype=torch.float32)
    velocities = torch.zeros_like(forces) if velocities is None else torch.tensor(velocities, dtype=torch.float32)
    return SimpleNamespace(contact_forces_w=forces, body_lin_vel_w=velocities)


def test_a_foot_sliding_on_the_ground_costs_its_planar_speed_and_one_in_the_air_nothing():
    env = feet_env(
        forces=[[[0, 0, 50.0], [0, 0, 0.0], [0, 0, 90.0]], [[3.0, 0, 40.0], [0, 0, 0.5], [0, 0, 0.0]]],
        velocities=[[[0.3, 0, 0], [2.0, 1.0, 0], [5.0, 0, 0]], [[0.18, 0.24, -1.0], [1.0, 0, 0], [0, 0, 0]]],
    )
    value = rewards_legged.feet_slide(env, FEET)
    assert torch.allclose(value, torch.tensor([0.3, 0.3])), (
        "env 0: the stance foot slides at 0.3 m/s, the swing foot and the base do not count; env 1: the planar "
        "speed only, and a 0.5 N touch is no contact"
    )


def test_a_foot_pushed_sideways_harder_than_ratio_times_its_weight_stumbles():
    env = feet_env([[[6.0, 0, 1.0], [0, 0, 30.0], [0, 0, 0]], [[0, 4.0, 1.0], [0, 0, 0], [100.0, 0, 0.0]]])
    assert rewards_legged.feet_stumble(env, FEET).tolist() == [1.0, 0.0], (
        "6x the vertical force trips it, 4x does not; a foot in the air does not, nor a body not named (the base)"
    )
    assert rewards_legged.feet_stumble(env, FEET, ratio=3.0).tolist() == [1.0, 1.0]
    assert rewards_legged.feet_stumble(env, torch.tensor([0, 1, 2])).tolist() == [1.0, 1.0]


# -- joints ----------------------------------------------------------------------------------------------------------
def joints_env(positions: list) -> SimpleNamespace:
    """Three joints: limits [-1, 1] and [0, 2] [rad], and a continuous one; default pose 0.5 rad each."""
    return SimpleNamespace(
        dof_pos=torch.tensor(positions),
        default_dof_pos=torch.full((len(positions), 3), 0.5),
        dof_pos_limits=torch.tensor([[-1.0, 1.0], [0.0, 2.0], [-math.inf, math.inf]]),
    )


def test_joints_past_their_soft_limits_cost_how_far_past_they_are():
    env = joints_env([[1.0, 1.0, 100.0], [-1.2, 0.05, -50.0], [0.9, 1.9, 0.0]])
    value = rewards_legged.joint_pos_limits(env)
    assert torch.allclose(value, torch.tensor([0.1, 0.35, 0.0])), (
        "soft limits 0.9 of the range about its middle: [-0.9, 0.9] and [0.1, 1.9]; env 0 is 0.1 rad past, env 1 "
        "0.3 + 0.05 rad; on the soft limits nothing; a continuous joint never costs anything"
    )
    full = rewards_legged.joint_pos_limits(env, soft_ratio=1.0)
    assert torch.allclose(full, torch.tensor([0.0, 0.2, 0.0]))
    assert torch.allclose(rewards_legged.joint_pos_limits(env, joints=torch.tensor([1])), torch.tensor([0, 0.05, 0]))


@pytest.mark.parametrize("soft_ratio", [0.0, 1.5, -0.9, "0.9", math.nan])
def test_a_soft_ratio_outside_0_to_1_is_refused_naming_it(soft_ratio):
    with pytest.raises(ValueError, match="^soft_ratio: expected a number"):
        rewards_legged.joint_pos_limits(joints_env([[0.0, 0.0, 0.0]]), soft_ratio=soft_ratio)


def test_joint_deviation_is_the_sum_of_absolute_offsets_from_the_default_pose():
    env = joints_env([[0.5, 0.5, 0.5], [0.2, 0.9, 0.5]])
    assert torch.allclose(rewards_legged.joint_deviation_l1(env), torch.tensor([0.0, 0.7]))
    assert torch.allclose(rewards_legged.joint_deviation_l1(env, joints=slice(1, 3)), torch.tensor([0.0, 0.4]))


# -- base height -----------------------------------------------------------------------------------------------------
def ground_env(root_heights: list[float], ground: list[float | None]) -> SimpleNamespace:
    """Roots at ``root_heights`` above their env origins; each env's ground at the height given (None: no ground);
    rays record where they were cast."""
    env = SimpleNamespace(root_pos_w=torch.tensor([[0.3, -0.2, z] for z in root_heights]), cast=[])

    def cast_rays(origins, directions, max_distance):
        env.cast.append((origins, directions.expand_as(origins), max_distance))
        hits = [[max_distance if g is None else float(o[0, 2]) - g] for o, g in zip(origins, ground, strict=True)]
        return torch.tensor(hits)

    env.cast_rays = cast_rays
    return env


def test_base_height_reads_the_ground_under_the_root_or_the_env_origin_without_ground():
    env = ground_env([0.35, 0.55, 0.30], [0.0, 0.2, None])
    value = rewards_legged.base_height_l2(env, target=0.3)
    assert torch.allclose(value, torch.tensor([0.05**2, 0.05**2, 0.0]), atol=1e-6), (
        "0.35 m above the plane, 0.35 m above a 0.2 m step, 0.3 m above the env origin where no ray hits"
    )
    origins, directions, max_distance = env.cast[0]
    assert origins.shape == (3, 1, 3) and torch.allclose(origins[:, 0, :2], env.root_pos_w[:, :2])
    assert (origins[:, 0, 2] > env.root_pos_w[:, 2] + 10.0).all(), "one ray from well above the root"
    assert directions.tolist() == [[[0.0, 0.0, -1.0]]] * 3 and max_distance == MAX_DISTANCE, "straight down"


@pytest.fixture(scope="module")
def ant_on_stairs():
    """One ant on a stairs_up tile (pyramid stairs of 0.1 m steps, 0.3 m wide, out of a pit) with the legged
    rewards in its spec."""
    spec = load_spec(
        "ant",
        {
            "env.num_envs": 1,
            "terrain.rows": 1,
            "terrain.types.stairs_up.step_height": 0.1,
            "rewards.height": {"func": "base_height_l2", "params": {"target": 0.0}},
            "rewards.torso_height": {"func": "base_height_l2", "params": {"target": 0.0, "body": "torso"}},
            "rewards.limits": {"func": "joint_pos_limits", "params": {"joints": ["front_left_hip"]}},
        },
    )
    return WorkbenchEnv(spec)


def test_base_height_over_a_stair_reads_relative_to_that_stair(ant_on_stairs):
    """The torso 0.5 m above the fifth step up from the pit's platform (3.05 m out from the tile's centre, where the
    env origin is): 1 m above the env origin, 0.5 m above the ground under it."""
    env = ant_on_stairs
    origin = env.backend.env_origins[0].numpy()
    step = float(generate_terrain(env.spec.terrain).height_at(origin[0] + 3.05, origin[1])) - origin[2]
    assert abs(step - 5 * 0.1) < 1e-5, "test set-up: the fifth step is 0.5 m above the platform"
    pose = torch.tensor([[3.05, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]])
    env.reset_physics(torch.tensor([True]), env.default_dof_pos, torch.zeros_like(env.default_dof_pos), pose)
    assert abs(float(env.root_pos_w[0, 2]) - 1.0) < 1e-5
    for name in ("height", "torso_height"):
        assert abs(math.sqrt(float(env.call_term(env.spec.rewards[name])[0])) - 0.5) < 1e-4, name


def test_joint_limits_come_from_the_scene(ant_on_stairs):
    env = ant_on_stairs
    hip = env.spec.joint_names.index("front_left_hip")
    assert torch.allclose(env.dof_pos_limits[hip], torch.tensor([-0.5236, 0.5236]), atol=1e-4), "+-30 degrees"
    positions = env.default_dof_pos.clone()
    positions[0, hip] = 0.5236 * 0.9 + 0.1
    env.reset_physics(torch.tensor([True]), positions, torch.zeros_like(positions))
    assert abs(float(env.call_term(env.spec.rewards["limits"])[0]) - 0.1) < 1e-4


@pytest.mark.parametrize(
    ("term", "key", "message"),
    [
        ({"func": "feet_slide", "params": {"bodies": ["left_foot"]}}, "params.bodies", "body 'left_foot' is not in"),
        ({"func": "feet_stumble", "params": {"bodies": [".*_foot"], "ratoi": 5}}, "params.ratoi", "no parameter"),
        ({"func": "joint_deviation_l1", "params": {"joints": ["waist"]}}, "params.joints", "joint 'waist' is not in"),
        ({"func": "feet_air_time_biped", "params": {"bodies": [".*_foot"], "threshold": 0.4}}, "params", "'command'"),
        ({"func": "base_height_l2", "params": {"target": 0.3, "body": ".*_foot"}}, "params.body", "expected one body"),
    ],
)
def test_bad_params_are_refused_at_load_naming_the_term_and_param(term, key, message):
    with pytest.raises(SpecError) as caught:
        load_spec("go2_flat", {"rewards.legged": term})
    text = str(caught.value)
    assert f"key 'rewards.legged.{key}'" in text and message in text and "\n" not in text
