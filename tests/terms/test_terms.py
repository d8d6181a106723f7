"""Term functions on small hand-made tensors: each returns what its name says, one value per env."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from isaac.rl.workbench.terms import (
    REGISTRIES,
    TermLookupError,
    events,
    observations,
    resolve_term,
    rewards,
    terminations,
)
from isaac.rl.workbench.utils.quaternions import quat_rotate_inverse


def fake_env(**fields):
    """A stand-in with just the tensors the terms read (2 envs, 2 joints)."""
    base = dict(
        dof_pos=torch.tensor([[0.5, -0.2], [1.0, 0.3]]),
        dof_vel=torch.tensor([[1.0, -2.0], [0.0, 3.0]]),
        default_dof_pos=torch.zeros(2, 2),
        dof_effort=torch.tensor([[2.0, 0.0], [-1.0, 1.0]]),
        actions=torch.tensor([[1.0], [-0.5]]),
        prev_actions=torch.tensor([[0.0], [0.5]]),
        terminated=torch.tensor([False, True]),
        episode_length_buf=torch.tensor([10, 300]),
        max_episode_length=300,
        num_envs=2,
        device=torch.device("cpu"),
    )
    base.update(fields)
    return SimpleNamespace(**base)


def test_rewards():
    env = fake_env()
    hinge = torch.tensor([1])
    assert rewards.is_alive(env).tolist() == [1.0, 0.0]
    assert rewards.is_terminated(env).tolist() == [0.0, 1.0]
    assert torch.allclose(rewards.joint_pos_l2(env), torch.tensor([0.29, 1.09]))
    assert torch.allclose(rewards.joint_pos_target_l2(env, target=0.1, joints=hinge), torch.tensor([0.09, 0.04]))
    assert rewards.joint_vel_l1(env).tolist() == [3.0, 3.0]
    assert rewards.joint_vel_l2(env, joints=hinge).tolist() == [4.0, 9.0]
    assert rewards.joint_effort_l2(env).tolist() == [4.0, 2.0]
    assert rewards.joint_power_l1(env).tolist() == [2.0, 3.0]
    assert rewards.action_l2(env).tolist() == [1.0, 0.25]
    assert rewards.action_rate_l2(env).tolist() == [1.0, 1.0]


def test_terminations():
    env = fake_env()
    assert terminations.time_out(env).tolist() == [False, True]
    assert terminations.joint_pos_out_of_bounds(env, limit=0.4, joints=torch.tensor([1])).tolist() == [False, False]
    assert terminations.joint_pos_out_of_bounds(env, limit=0.8).tolist() == [False, True]


def test_observations_select_joints():
    env = fake_env()
    assert torch.equal(observations.joint_pos(env, joints=torch.tensor([1])), env.dof_pos[:, 1:])
    assert observations.joint_vel(env).shape == (2, 2)
    assert observations.last_action(env).shape == (2, 1)


def test_root_frame_terms_on_a_tilted_body():
    # body rolled 90 degrees about x: world "down" then lies along the body's -y axis
    half = math.pi / 4
    quat = torch.tensor([[math.sin(half), 0.0, 0.0, math.cos(half)], [0.0, 0.0, 0.0, 1.0]])
    gravity = quat_rotate_inverse(quat, torch.tensor([[0.0, 0.0, -1.0]] * 2))
    assert torch.allclose(gravity, torch.tensor([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]), atol=1e-6)
    env = fake_env(projected_gravity_b=gravity)
    assert torch.allclose(rewards.upright(env), torch.tensor([0.0, 1.0]), atol=1e-6)
    assert terminations.bad_orientation(env, limit_angle=1.0).tolist() == [True, False]


def test_reset_event_writes_selected_joints_within_ranges():
    written = {}

    def write(mask, pos, vel, joints):
        written.update(mask=mask, pos=pos, vel=vel, joints=joints)

    env = fake_env(write_dof_state=write, default_dof_pos=torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    torch.manual_seed(0)
    mask = torch.tensor([True, False])
    joints = torch.tensor([1])
    events.reset_joints_uniform(env, mask, position_range=(0.1, 0.2), velocity_range=(-1.0, -0.5), joints=joints)
    assert written["mask"] is mask and written["joints"] is joints
    assert written["pos"].shape == (2, 1)
    assert ((written["pos"] >= 1.1) & (written["pos"] <= 1.2)).all(), "default + U(0.1, 0.2)"
    assert ((written["vel"] >= -1.0) & (written["vel"] <= -0.5)).all()
    assert written["pos"].std() > 0, "values are drawn per env"


def test_registry_lookup():
    assert resolve_term("rewards", "joint_vel_l1") is rewards.joint_vel_l1
    assert resolve_term("rewards", "isaac.rl.workbench.terms.rewards:upright") is rewards.upright
    with pytest.raises(TermLookupError, match="known: .*is_alive"):
        resolve_term("rewards", "alive")
    with pytest.raises(TermLookupError, match="cannot import module 'no_such_module'"):
        resolve_term("rewards", "no_such_module:f")
    for kind, registry in REGISTRIES.items():
        assert registry, kind
