"""``actions.scale`` per joint: a table of joint names or regexes to scales (as Isaac Lab's ``JointActionCfg``)
reaches the physics joint by joint, and a table that misses or doubles a joint is refused naming the key."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import SpecError, load_spec

BOTH_JOINTS = {"actions.type": "joint_effort", "actions.joints": ["slider", "hinge"], "actions.clip": 5.0}


def test_each_joint_gets_its_own_scale_and_unmatched_joints_keep_one():
    spec = load_spec("cartpole", {**BOTH_JOINTS, "actions.scale": {"slid.*": 10.0, "hinge": 2.0}})
    assert spec.actions.joint_scales() == [10.0, 2.0]
    assert spec.actions.scale_text() == '{ "slid.*" = 10, "hinge" = 2 }'
    only_hinge = load_spec("cartpole", {**BOTH_JOINTS, "actions.scale": {"hinge": 2.0}})
    assert only_hinge.actions.joint_scales() == [1.0, 2.0]
    assert load_spec("cartpole", {**BOTH_JOINTS, "actions.scale": 3.0}).actions.joint_scales() == [3.0, 3.0]


def test_per_joint_scales_reach_the_physics_as_efforts():
    spec = load_spec(
        "cartpole", {**BOTH_JOINTS, "env.num_envs": 2, "actions.scale": {"slider": 10.0, "hinge": -2.0}, "events": {}}
    )
    env = WorkbenchEnv(spec)
    env.reset()
    env.step(torch.tensor([[1.0, 1.0], [-0.5, 0.25]]))
    slider, hinge = spec.joint_names.index("slider"), spec.joint_names.index("hinge")
    efforts = env.dof_effort[:, [slider, hinge]]
    torch.testing.assert_close(efforts, torch.tensor([[10.0, -2.0], [-5.0, -0.5]]))


@pytest.mark.parametrize(
    ("scale", "key", "problem"),
    [
        ({"wheel": 2.0}, "actions.scale.wheel", "matches none of the action joints (slider, hinge)"),
        ({"slider": 2.0, ".*": 3.0}, "actions.scale..*", "joint 'slider' is also matched by 'slider'"),
        ({"hinge": 0.0}, "actions.scale.hinge", "must not be 0"),
        ({"hinge": "big"}, "actions.scale.hinge", "expected float"),
        ({"hinge(": 1.0}, "actions.scale.hinge(", "not a regular expression"),
    ],
)
def test_a_scale_table_that_misses_or_doubles_a_joint_is_refused_naming_the_key(scale, key, problem):
    with pytest.raises(SpecError) as raised:
        load_spec("cartpole", {**BOTH_JOINTS, "actions.scale": scale})
    assert f"key '{key}'" in str(raised.value) and problem in str(raised.value)
