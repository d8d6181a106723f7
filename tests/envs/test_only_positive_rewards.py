"""``env.only_positive_rewards``: each step's total reward clipped at 0 from below (legged_gym's option), so that a
policy whose penalties outweigh its gains does not learn that ending the episode early pays."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import SpecError, load_spec

PENALTY = {"func": "joint_vel_l2", "weight": -100.0}  # a swinging pole costs far more than staying alive earns


def _rewards(clip: bool) -> torch.Tensor:
    """The total rewards of 20 steps of 4 cart-poles under the same random actions, (20, 4)."""
    spec = load_spec("cartpole", {"env.num_envs": 4, "env.only_positive_rewards": clip, "rewards.swing": PENALTY})
    env = WorkbenchEnv(spec)
    env.reset()
    torch.manual_seed(0)
    return torch.stack([env.step(torch.randn(4, env.num_actions))[1] for _ in range(20)])


def test_the_step_reward_is_clipped_at_zero():
    clipped, plain = _rewards(clip=True), _rewards(clip=False)
    assert (plain < 0).any(), "the penalty outweighs the rest somewhere"
    assert (clipped >= 0).all() and (clipped == 0).any(), "clipped where the penalty outweighs the rest"
    assert (clipped > 0).any(), "and kept where it does not"


def test_a_value_that_is_not_a_boolean_is_refused_naming_the_key():
    with pytest.raises(SpecError) as caught:
        load_spec("cartpole", {"env.only_positive_rewards": "yes"})
    assert caught.value.key == "env.only_positive_rewards", str(caught.value)
