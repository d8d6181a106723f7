"""The robot's observation equals the training env's terms, term by term, with the history oldest first."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from isaac.rl.workbench.deploy.bundle import BundleError
from isaac.rl.workbench.deploy.observation_terms import SUPPORTED_TERMS
from isaac.rl.workbench.deploy.observations import MissingStateError, ObservationBuilder
from isaac.rl.workbench.terms import observations as terms
from isaac.rl.workbench.utils.quaternions import quat_rotate_inverse

from .synthetic_bundle import DEFAULT_POS, make_bundle, state_in_policy_order

QUAT = np.array([0.2, -0.3, 0.4, 0.8]) / np.linalg.norm([0.2, -0.3, 0.4, 0.8])


def test_terms_match_the_training_env_terms():
    params = {"joints": ["ankle", "hip"]}  # not in the policy's order: columns (2, 0)
    bundle = make_bundle(
        **{
            "observation.terms": [
                {"name": "joint_pos", "size": 2, "params": params},
                {"name": "joint_pos_rel", "size": 2, "params": params},
                {"name": "joint_vel", "size": 3, "params": {}},
                {"name": "root_lin_vel_b", "size": 3, "params": {}},
                {"name": "root_ang_vel_b", "size": 3, "params": {}},
                {"name": "projected_gravity_b", "size": 3, "params": {}},
                {"name": "generated_commands", "size": 3, "params": {"command": "base_velocity"}},
                {"name": "last_action", "size": 2, "params": {}},
            ],
            "policy.obs_dim": 21,
        }
    )
    pos, vel = np.array([0.3, -1.1, 0.25]), np.array([1.5, -2.0, 0.5])
    state = state_in_policy_order(
        joint_pos=pos, joint_vel=vel, quat=QUAT, base_ang_vel_b=np.array([0.1, 0.2, -0.3]), base_lin_vel_b=np.ones(3)
    )
    command, action = np.array([0.5, -0.2, 0.8]), np.array([0.7, -1.2])
    obs = ObservationBuilder(bundle).build(state, {"base_velocity": command}, action)

    ids = torch.tensor([2, 0])

    def row(values) -> torch.Tensor:  # (1, n) float32, as the env's tensors
        return torch.tensor(np.asarray(values, dtype=np.float32)[None])

    env = SimpleNamespace(
        dof_pos=row(pos),
        dof_vel=row(vel),
        default_dof_pos=row(DEFAULT_POS),
        actions=row(action),
        root_lin_vel_b=row(np.ones(3)),
        root_ang_vel_b=row([0.1, 0.2, -0.3]),
        projected_gravity_b=quat_rotate_inverse(row(QUAT), row([0.0, 0.0, -1.0])),
        command_in_base=lambda name: row(command),
    )
    expected = torch.cat(
        [
            terms.joint_pos(env, ids),
            terms.joint_pos_rel(env, ids),
            terms.joint_vel(env),
            terms.root_lin_vel_b(env),
            terms.root_ang_vel_b(env),
            terms.projected_gravity_b(env),
            terms.generated_commands(env, "base_velocity"),
            terms.last_action(env),
        ],
        dim=1,
    )[0].numpy()
    assert obs.dtype == np.float32 and obs.shape == (21,)
    np.testing.assert_allclose(obs, expected, atol=1e-6)


def test_projected_gravity_is_down_when_upright_and_sideways_when_on_its_side():
    bundle = make_bundle(
        **{"observation.terms": [{"name": "projected_gravity_b", "size": 3, "params": {}}], "policy.obs_dim": 3}
    )
    builder = ObservationBuilder(bundle)
    assert builder.build(state_in_policy_order(), {}, np.zeros(2)) == pytest.approx([0, 0, -1])
    on_side = (math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4))  # rolled 90 degrees about x
    builder.reset()
    assert builder.build(state_in_policy_order(quat=on_side), {}, np.zeros(2)) == pytest.approx([0, -1, 0], abs=1e-6)


def test_history_is_oldest_first_term_by_term_and_starts_filled_with_the_first_reading():
    bundle = make_bundle(
        **{
            "observation.terms": [
                {"name": "joint_pos", "size": 1, "params": {"joints": ["knee"]}},
                {"name": "root_ang_vel_b", "size": 3, "params": {}},
            ],
            "observation.history_length": 3,
            "policy.obs_dim": 12,
        }
    )
    builder = ObservationBuilder(bundle)

    def reading(k: float):
        return state_in_policy_order(joint_pos=[0.0, k, 0.0], base_ang_vel_b=np.array([k, 10 * k, 100 * k]))

    assert builder.build(reading(1), {}, np.zeros(2)).tolist() == [1, 1, 1] + [1, 10, 100] * 3
    builder.build(reading(2), {}, np.zeros(2))
    obs = builder.build(reading(3), {}, np.zeros(2))
    assert obs.tolist() == [1, 2, 3] + [1, 10, 100, 2, 20, 200, 3, 30, 300]
    builder.reset()
    assert builder.build(reading(4), {}, np.zeros(2)).tolist() == [4, 4, 4] + [4, 40, 400] * 3


def test_an_unsupported_term_is_rejected_with_the_supported_list_when_the_bundle_loads():
    with pytest.raises(BundleError, match="range_scan") as error:
        make_bundle(**{"observation.terms": [{"name": "range_scan", "size": 16, "params": {}}], "policy.obs_dim": 16})
    assert all(name in str(error.value) for name in SUPPORTED_TERMS)
    assert error.value.key == "observation.terms[0].name"


def test_unknown_joints_and_wrong_sizes_are_rejected():
    bad_joint = [{"name": "joint_vel", "size": 1, "params": {"joints": ["elbow"]}}]
    with pytest.raises(BundleError, match="elbow"):
        ObservationBuilder(make_bundle(**{"observation.terms": bad_joint, "policy.obs_dim": 1}))
    wrong_size = [{"name": "root_ang_vel_b", "size": 4, "params": {}}]
    with pytest.raises(BundleError, match="size 4, expected 3"):
        ObservationBuilder(make_bundle(**{"observation.terms": wrong_size, "policy.obs_dim": 4}))


def test_missing_linear_velocity_or_command_is_a_clear_error():
    lin_vel = [{"name": "root_lin_vel_b", "size": 3, "params": {}}]
    with pytest.raises(MissingStateError, match="base_lin_vel_b"):
        ObservationBuilder(make_bundle(**{"observation.terms": lin_vel, "policy.obs_dim": 3})).build(
            state_in_policy_order(), {}, np.zeros(2)
        )
    builder = ObservationBuilder(make_bundle())
    with pytest.raises(MissingStateError, match="base_velocity"):
        builder.build(state_in_policy_order(), {}, np.zeros(2))
    with pytest.raises(MissingStateError, match="2 values, expected 3"):
        builder.build(state_in_policy_order(), {"base_velocity": [1.0, 0.0]}, np.zeros(2))
