"""Evaluation envs beside the training envs: how many, their episodes counted apart from training's, and the
deterministic policy acting on them while the trainer sees only its own envs (no physics: a stand-in env)."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.episode_stats import EpisodeStats
from isaac.rl.workbench.learn.eval_envs import EVAL_MAX_ENVS, TrainingEnvs, eval_env_count
from tensordict import TensorDict


def test_eval_env_count_ends_the_asked_episodes_in_eval_every_iterations():
    # reach_panda's defaults: 32 episodes of 600 steps every 50 iterations of 24 steps
    assert eval_env_count(50, 32, 24, 600) == 16
    assert eval_env_count(0, 32, 24, 600) == 0, "eval_every 0: no evaluation"
    assert eval_env_count(100, 1, 24, 10) == 1, "at least one env"
    assert eval_env_count(1, 4096, 24, 1000) == EVAL_MAX_ENVS


def test_evaluation_episodes_are_counted_apart_from_training():
    stats = EpisodeStats(4, ["alive"], torch.device("cpu"), False, {"success": "final"}, eval_envs=2)
    stats.add_step(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.ones(4, 1), torch.zeros(4, dtype=torch.bool), None)
    stats.add_metrics(torch.tensor([[0.0], [0.0], [0.0], [1.0]]))
    stats.end_episodes(torch.tensor([True, False, False, True]), torch.tensor([1, 1, 1, 1]))
    training, evaluation = stats.pop(), stats.pop_eval()
    assert training["episodes"] == 1 and training["mean_reward"] == 1.0 and training["metric/success"] == 0.0
    assert evaluation == {
        "episodes": 1,
        "mean_reward": 4.0,
        "mean_episode_length": 1.0,
        "reward/alive": 1.0,
        "metric/success": 1.0,
    }
    assert stats.pop_eval() == {"episodes": 0}, "read once"


class SteppedEnv:
    """A stand-in for ``WorkbenchEnv`` of 5 envs: observations are 2 numbers per env, the step records its
    actions."""

    num_envs, num_actions, max_episode_length, device, cfg = 5, 1, 10, torch.device("cpu"), {}

    def __init__(self):
        self.episode_length_buf = torch.arange(5)
        self.actions: list[torch.Tensor] = []

    def get_observations(self) -> TensorDict:
        return TensorDict({"policy": torch.arange(10.0).view(5, 2)}, batch_size=[5])

    def step(self, actions):
        self.actions.append(actions)
        obs = TensorDict({"policy": torch.arange(10.0).view(5, 2) + len(self.actions)}, batch_size=[5])
        return obs, torch.arange(5.0), torch.tensor([0, 0, 1, 0, 1]), {"time_outs": torch.tensor([0, 0, 1, 0, 0])}


class MeanAction(torch.nn.Module):
    """A deterministic policy: the sum of each env's observations."""

    is_recurrent = False

    def forward(self, obs):
        return obs["policy"].sum(dim=1, keepdim=True)


def test_the_trainer_sees_its_envs_and_the_evaluation_envs_act_deterministically():
    env = SteppedEnv()
    training = TrainingEnvs(env, eval_envs=2)
    training.use_policy(MeanAction())
    assert training.num_envs == 3 and training.episode_length_buf.tolist() == [0, 1, 2]
    assert training.get_observations()["policy"].shape == (3, 2)
    obs, rewards, dones, extras = training.step(torch.full((3, 1), -1.0))
    assert env.actions[0].view(-1).tolist() == [-1.0, -1.0, -1.0, 13.0, 17.0], "rows 4 and 5: 6+7 and 8+9"
    assert obs["policy"].shape == (3, 2) and rewards.tolist() == [0.0, 1.0, 2.0] and dones.tolist() == [0, 0, 1]
    assert extras["time_outs"].tolist() == [0, 0, 1]
    training.step(torch.zeros(3, 1))
    assert env.actions[1][3:].view(-1).tolist() == [15.0, 19.0], "the evaluation envs act on their new observations"


def test_a_recurrent_policy_or_no_training_env_is_refused():
    recurrent = MeanAction()
    recurrent.is_recurrent = True
    with pytest.raises(ValueError, match="train.eval_every = 0"):
        TrainingEnvs(SteppedEnv(), eval_envs=2).use_policy(recurrent)
    with pytest.raises(ValueError, match="eval_envs must be in 1..4"):
        TrainingEnvs(SteppedEnv(), eval_envs=5)
