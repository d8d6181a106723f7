"""``bench``'s raw physics ceiling drives the robot as the env does: position targets around the default pose for a
position-controlled robot (an arm, a Go2), efforts for an effort-controlled one, each of the action's size."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.frontends.bench import _raw_step
from isaac.rl.workbench.specs.loader import load_spec


def _sent_commands(task: str, method: str, refused: str) -> tuple:
    """The commands 16 raw steps of ``task`` (2 envs) sent through ``method``; ``refused`` must not be called."""
    spec = load_spec(task, {"env.num_envs": 2})
    env = WorkbenchEnv(spec)
    sent = []
    setattr(env, method, sent.append)
    setattr(env, refused, lambda _: pytest.fail(f"the raw step of {task} called {refused}"))
    step = _raw_step(env, spec, 2, torch.device("cpu"))
    for _ in range(16):
        step()
    sizes = dict(zip(spec.actions.joints, spec.actions.joint_scales(), strict=True))
    size = torch.tensor([abs(sizes.get(name, 0.0)) * (spec.actions.clip or 1.0) for name in spec.joint_names])
    return env, spec, torch.stack(sent), size


def test_a_position_controlled_arm_gets_targets_of_the_actions_size_around_its_default_pose():
    env, spec, targets, size = _sent_commands("reach_panda", "set_joint_position_targets", "set_joint_efforts")
    offsets = (targets - env.default_dof_pos).abs()  # (16, N, D)
    assert (offsets <= size + 1e-6).all()
    moved = size > 0
    assert moved.any() and (offsets.amax(dim=(0, 1))[moved] > 0.5 * size[moved]).all(), "targets spread over the range"
    assert (offsets[..., ~moved] == 0).all(), "joints without an action stay at their default"


def test_an_effort_controlled_robot_gets_efforts_within_its_limits():
    _, spec, efforts, size = _sent_commands("cartpole", "set_joint_efforts", "set_joint_position_targets")
    limits = torch.tensor(spec.effort_limits)
    assert (efforts.abs() <= torch.minimum(size, limits) + 1e-6).all()
    assert efforts.abs().max() > 0.5 * torch.minimum(size, limits).max()
