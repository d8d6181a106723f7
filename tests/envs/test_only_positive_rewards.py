"""``env.only_positive_rewards``: each step's total reward clipped at 0 from below (legged_gym's option), so that a
policy whose penalties outweigh its gains does not learn that ending the episode early pays."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import SpecError, load_spec

PENALTY = {"func": "is_alive", "weight": -100.0}  # costs far more each step than the cart-pole's terms pay


def _rewards(clip: bool, penalty: bool) -> torch.Tensor:
    """The total rewards of 20 random-action steps of 4 cart-poles, (20, 4)."""
    overrides = {"env.num_envs": 4, "env.only_positive_rewards": clip}
    if penalty:
        overrides["rewards.penalty"] = PENALTY
    env = WorkbenchEnv(load_spec("cartpole", overrides))
    env.reset()
    return torch.stack([env.step(torch.randn(4, env.num_actions))[1] for _ in range(20)])


def test_a_step_whose_penalties_outweigh_its_gains_earns_zero_not_less():
    assert (_rewards(clip=False, penalty=True) < 0).all(), "without the clip, every step costs"
    assert (_rewards(clip=True, penalty=True) == 0).all()


def test_positive_rewards_are_kept():
    assert (_rewards(clip=True, penalty=False) > 0).any()


def test_a_value_that_is_not_a_boolean_is_refused_naming_the_key():
    with pytest.raises(SpecError) as caught:
        load_spec("cartpole", {"env.only_positive_rewards": "yes"})
    assert caught.value.key == "env.only_positive_rewards", str(caught.value)
