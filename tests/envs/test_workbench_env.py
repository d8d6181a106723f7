"""The cartpole env on Newton (CPU): shapes, actions, rewards, terminations, time-outs and masked resets."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec

pytestmark = pytest.mark.slow  # builds Newton models (compiles warp kernels on the first run)


def make_env(**overrides) -> WorkbenchEnv:
    spec = load_spec("cartpole", {"env.num_envs": 4, **overrides})
    return WorkbenchEnv(spec, "cpu")


def still(env):
    return torch.zeros(env.num_envs, env.num_actions)


def test_shapes_and_contract():
    env = make_env()
    obs = env.get_observations()
    assert obs["policy"].shape == (4, 4)  # slider, hinge positions; slider, hinge velocities
    obs, rewards, dones, extras = env.step(still(env))
    assert rewards.shape == (4,) and dones.shape == (4,) and extras["time_outs"].shape == (4,)
    assert env.num_actions == 1 and env.max_episode_length == 300


def test_reset_randomises_within_ranges():
    env = make_env(**{"env.num_envs": 64})
    pos, vel = env.dof_pos, env.dof_vel
    assert pos[:, 0].abs().max() <= 1.0 and pos[:, 1].abs().max() <= 0.2
    assert vel[:, 0].abs().max() <= 0.5 and vel[:, 1].abs().max() <= 0.3
    assert pos[:, 1].std() > 0.05, "pole angles should differ between envs"


def test_push_moves_cart_and_reward_terms_add_up():
    env = make_env()
    env.write_dof_state(torch.ones(4, dtype=torch.bool), torch.zeros(4, 2), torch.zeros(4, 2))
    actions = torch.tensor([[1.0], [-1.0], [0.0], [0.0]])
    for _ in range(5):
        _, rewards, _, _ = env.step(actions)
    assert env.dof_vel[0, 0] > 0.1 and env.dof_vel[1, 0] < -0.1
    # recompute the reward of the last step from the terms and the spec's weights, scaled by the step duration
    expected = sum(t.weight * t.func(env, **env._params[id(t)]) for t in env.reward_terms) * env.step_dt
    assert torch.allclose(rewards, expected, atol=1e-6)


def test_pole_falls_terminates_and_only_that_env_resets():
    env = make_env()
    start = torch.zeros(4, 2)
    start[0, 1] = 0.39  # env 0: pole nearly at the 0.4 rad limit, falling further under gravity
    env.write_dof_state(torch.ones(4, dtype=torch.bool), start, torch.zeros(4, 2))
    env.episode_length_buf.zero_()
    ended = None
    for step in range(60):
        _, rewards, dones, extras = env.step(still(env))
        if dones[0]:
            ended = step
            break
    assert ended is not None, "the tilted pole should cross 0.4 rad and end the episode"
    assert not extras["time_outs"][0], "a fall is a termination, not a time-out"
    assert dones[1:].sum() == 0, "upright poles keep going"
    assert env.episode_length_buf[0] == 0 and env.episode_length_buf[1] == ended + 1
    assert abs(env.dof_pos[0, 1]) <= 0.2, "env 0 restarted inside the reset range"
    assert rewards[0] < 0, "terminating costs -2 per second of step"


def test_time_out_is_reported_as_truncation():
    env = make_env(**{"env.episode_seconds": 0.1})  # 6 steps at 60 Hz
    env.write_dof_state(torch.ones(4, dtype=torch.bool), torch.zeros(4, 2), torch.zeros(4, 2))
    env.episode_length_buf.zero_()
    for _ in range(5):
        _, _, dones, _ = env.step(still(env))
        assert not dones.any()
    _, _, dones, extras = env.step(still(env))
    assert dones.all() and extras["time_outs"].all()
    stats = env.pop_episode_stats()
    assert stats["episodes"] == 4 and stats["mean_episode_length"] == 6
    assert stats["reward/alive"] == pytest.approx(6 * env.step_dt, rel=1e-5)
    assert env.pop_episode_stats() == {"episodes": 0, "unstable_envs": 0}


def test_episodes_started_at_a_random_length_are_left_out_of_the_statistics():
    """Spread episode starts (rsl-rl's init_at_random_ep_len) make the first episodes shorter than their counter
    says; counting them would report a full length with a fraction of the return."""
    env = make_env(**{"env.episode_seconds": 0.1})  # 6 steps at 60 Hz
    env.write_dof_state(torch.ones(4, dtype=torch.bool), torch.zeros(4, 2), torch.zeros(4, 2))
    env.spread_episode_starts()
    env.episode_length_buf.copy_(torch.tensor([0, 3, 5, 1]))  # as the random draw might set them
    for _ in range(6):  # every spread episode ends within 6 steps: none is counted
        env.step(still(env))
    assert env.pop_episode_stats() == {"episodes": 0, "unstable_envs": 0}
    for _ in range(6):  # then each env completes one whole episode of 6 steps
        env.step(still(env))
    stats = env.pop_episode_stats()
    assert stats["episodes"] == 4 and stats["mean_episode_length"] == 6, stats
    assert stats["reward/alive"] == pytest.approx(6 * env.step_dt, rel=1e-5), "a whole episode's return"


def test_efforts_are_bounded_by_the_drive_max_force():
    env = make_env(**{"actions.scale": 1000.0})  # cartpole.usda: slider drive max force 100 N
    env.step(torch.full((4, 1), 3.0))
    assert torch.allclose(env.dof_effort[:, 0], torch.full((4,), 100.0))
    env.step(torch.full((4, 1), -0.05))
    assert torch.allclose(env.dof_effort[:, 0], torch.full((4,), -50.0))


def test_ant_lands_on_the_ground_and_reports_forward_speed():
    spec = load_spec("ant", {"env.num_envs": 4})
    env = WorkbenchEnv(spec, "cpu")
    assert env.backend.floating_base and env.num_actions == 8
    assert env.get_observations()["policy"].shape == (4, 1 + 3 + 3 + 3 + 8 + 8 + 8)
    for _ in range(90):  # 1.5 s with the joints limp: it falls 0.75 m onto its feet and stays there
        _, _, dones, _ = env.step(torch.zeros(4, 8))
    height = env.root_pos_w[:, 2]
    assert ((height > 0.28) & (height < 0.7)).all(), height  # on the ground plane the backend adds, not below it
    assert torch.allclose(env.projected_gravity_b[:, 2], torch.full((4,), -1.0), atol=0.05), "upright"
    stats = env.pop_episode_stats()
    assert abs(stats["mean_root_vel_x"]) < 0.2, "standing still"


def test_a_command_drawn_at_a_reset_keeps_its_whole_interval_in_every_episode():
    """A target redrawn every 5 steps in episodes of 15: every episode, the first after env.reset() and those
    after resets inside a step, redraws at lengths 5 and 10, so its last step (where a final metric such as
    reach_panda's success is read) has had its target for 5 steps, not for 1."""
    goal = {"type": "position", "frame": "env", "ranges": {"x": [0.0, 1.0]}, "resample_s": [5 / 60, 5 / 60]}
    env = make_env(**{"env.num_envs": 1, "env.episode_seconds": 0.25, "commands.goal": goal})  # 15 steps
    env.reset()
    redrawn_at: list[int] = []
    for _ in range(45):  # three episodes
        env.write_dof_state(torch.ones(1, dtype=torch.bool), torch.zeros(1, 2), torch.zeros(1, 2))  # the pole stays up
        before = env.command("goal").clone()
        length = int(env.episode_length_buf[0]) + 1
        _, _, dones, _ = env.step(still(env))
        if not dones[0] and not torch.equal(env.command("goal"), before):
            redrawn_at.append(length)
    assert redrawn_at == [5, 10] * 3
