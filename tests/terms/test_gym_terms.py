"""The terms Gymnasium's MuJoCo tasks need (tasks/gym), on small hand-made tensors: each returns what its docstring
says, one value (or row) per env."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from isaac.rl.workbench.terms import REGISTRIES, observations, rewards, terminations


def fake_env(**fields):
    """2 envs, 3 joints, 3 bodies (rows 0, 1, 2)."""
    base = dict(
        dof_pos=torch.tensor([[0.5, -0.2, 0.0], [math.pi / 2, 0.3, 150.0]]),
        dof_vel=torch.tensor([[1.0, -2.0, 20.0], [0.5, 3.0, -150.0]]),
        dof_effort=torch.tensor([[2.0, 0.0, 1.0], [-1.0, 1.0, 0.0]]),
        body_pos_w=torch.tensor(
            [[[0.0, 0.0, 1.2], [0.3, 0.4, 0.0], [0.0, 0.0, 0.0]], [[1.0, 0.0, 0.5], [1.0, 0.0, 0.5], [0.0, 0.0, 3.0]]]
        ),
        body_lin_vel_w=torch.tensor(
            [[[1.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[-1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [-1.0, 0, 0]]]
        ),
        contact_forces_w=torch.tensor(
            [[[0.0, 0.0, 0.0], [0.5, -3.0, 10.0], [0.0, 0.0, 0.0]], [[1000.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0, 0, 0]]]
        ),
        root_quat_w=torch.tensor([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]]),
        root_lin_vel_w=torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]]),
        num_envs=2,
        device=torch.device("cpu"),
    )
    base.update(fields)
    env = SimpleNamespace(**base)
    masses = torch.tensor([[1.0, 3.0, 0.0], [2.0, 2.0, 1.0]])
    env.physics_property = lambda name: {"body_mass": masses}[name].clone()
    return env


def rows(*ids: int) -> torch.Tensor:
    return torch.tensor(ids)


def test_the_new_terms_are_in_the_library():
    assert {"joint_vel_sum", "com_lin_vel_x_w", "contact_forces_l2", "body_distance"} <= set(REGISTRIES["rewards"])
    assert {"root_quat_w", "root_lin_vel_w", "joint_pos_cos_sin", "joint_vel_clipped", "joint_effort"} <= set(
        REGISTRIES["observations"]
    )
    assert {"body_offset_w", "contact_forces"} <= set(REGISTRIES["observations"])
    assert {"body_height_out_of_range", "joint_vel_out_of_bounds"} <= set(REGISTRIES["terminations"])


def test_rewards_of_the_gymnasium_tasks():
    env = fake_env()
    assert rewards.joint_vel_sum(env, joints=rows(0)).tolist() == [1.0, 0.5], "one joint: its velocity"
    assert rewards.joint_vel_sum(env, joints=slice(0, 2)).tolist() == [-1.0, 3.5]
    # (1 * 1 + 3 * 3 + 0) / 4 = 2.5; (-2 - 2 - 1) / 5 = -1
    assert torch.allclose(rewards.com_lin_vel_x_w(env), torch.tensor([2.5, -1.0]))
    assert torch.allclose(rewards.contact_forces_l2(env), torch.tensor([0.25 + 9.0 + 100.0, 1.0e6]))
    assert torch.allclose(rewards.contact_forces_l2(env, clip=1.0), torch.tensor([0.25 + 1.0 + 1.0, 1.0]))
    assert torch.allclose(rewards.contact_forces_l2(env, max_total=50.0), torch.tensor([50.0, 50.0]))
    assert torch.allclose(rewards.contact_forces_l2(env, bodies=rows(0)), torch.tensor([0.0, 1.0e6]))
    assert torch.allclose(
        rewards.body_distance(env, bodies=rows(0, 1)), torch.tensor([math.sqrt(0.09 + 0.16 + 1.44), 0])
    )
    with pytest.raises(ValueError, match="bodies: expected two bodies"):
        rewards.body_distance(env, bodies=rows(0, 1, 2))


def test_observations_of_the_gymnasium_tasks():
    env = fake_env()
    assert observations.root_quat_w(env).shape == (2, 4)
    assert observations.root_lin_vel_w(env).tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]]
    cos_sin = observations.joint_pos_cos_sin(env, joints=rows(0))
    assert torch.allclose(cos_sin, torch.tensor([[math.cos(0.5), math.sin(0.5)], [0.0, 1.0]]), atol=1e-6)
    assert observations.joint_pos_cos_sin(env).shape == (2, 6), "cosines of the 3 joints, then their sines"
    assert observations.joint_vel_clipped(env, limit=10.0).tolist() == [[1.0, -2.0, 10.0], [0.5, 3.0, -10.0]]
    assert observations.joint_effort(env, joints=rows(0)).tolist() == [[2.0], [-1.0]]
    assert torch.allclose(
        observations.body_offset_w(env, bodies=rows(1, 0)), torch.tensor([[0.3, 0.4, -1.2], [0, 0, 0]])
    )
    forces = observations.contact_forces(env, clip=1.0)
    assert forces.shape == (2, 9), "3 bodies x (x, y, z), body by body"
    assert forces[0].tolist() == [0.0, 0.0, 0.0, 0.5, -1.0, 1.0, 0.0, 0.0, 0.0]
    assert observations.contact_forces(env, bodies=rows(0))[1].tolist() == [1000.0, 0.0, 0.0]


def test_terminations_of_the_gymnasium_tasks():
    env = fake_env()
    torso = 0
    assert terminations.body_height_out_of_range(env, torso, minimum=0.7).tolist() == [False, True]
    assert terminations.body_height_out_of_range(env, torso, minimum=0.2, maximum=1.0).tolist() == [True, False]
    assert terminations.body_height_out_of_range(env, 2, maximum=3.0).tolist() == [False, True], "bounds excluded"
    assert terminations.joint_vel_out_of_bounds(env, limit=100.0).tolist() == [False, True]
    assert terminations.joint_vel_out_of_bounds(env, limit=10.0, joints=slice(0, 2)).tolist() == [False, False]
