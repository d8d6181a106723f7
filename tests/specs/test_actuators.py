"""``[actuators.<group>]``: PD gains and limits that override the scene's drives, validated at load, in SI units
per radian (never per degree), and reaching the physics: a position-controlled cart and pole follow their targets
with gains the USD never had."""

from __future__ import annotations

import math

import pytest
import torch
from isaac.rl.workbench.specs.loader import SpecError, load_spec

POSITION_CONTROL = {
    "actions.type": "joint_position",
    "actions.joints": ["slider", "hinge"],
    "actions.scale": 1.0,
    "actions.clip": 5.0,
    "events": {},
}
GROUPS = {
    "cart": {"joints": ["slider"], "stiffness": 400.0, "damping": 40.0},
    "pole": {"joints": ["hin.*"], "stiffness": 200.0, "damping": 20.0, "effort_limit": 50.0},
}


def test_actuators_make_position_control_possible_on_joints_without_stiff_drives():
    with pytest.raises(SpecError, match="joint_position needs drives with stiffness > 0.*actuators"):
        load_spec("cartpole", POSITION_CONTROL)
    spec = load_spec("cartpole", {**POSITION_CONTROL, "actuators": GROUPS})
    assert spec.actuators["pole"].joints == ["hinge"], "regular expressions select joints"
    assert spec.actuators["cart"].stiffness == 400.0 and spec.actuators["cart"].effort_limit is None
    # the actuator's effort limit bounds commands; the slider keeps its drive's 100 N
    assert spec.effort_limits == [100.0, 50.0]
    assert spec.raw["actuators"]["cart"]["stiffness"] == 400.0, "kept in the resolved spec a run folder stores"


@pytest.mark.parametrize(
    ("groups", "key", "problem"),
    [
        ({"cart": {"joints": ["slider"], "stifness": 1.0}}, "actuators.cart.stifness", "unknown key"),
        ({"cart": {"stiffness": 1.0}}, "actuators.cart.joints", "missing"),
        ({"cart": {"joints": ["wheel"]}}, "actuators.cart.joints", "joint 'wheel' is not in articulation"),
        ({"cart": {"joints": ["slider"], "stiffness": -1.0}}, "actuators.cart.stiffness", "must be >= 0.0"),
        ({"cart": {"joints": ["slider"], "effort_limit": 0.0}}, "actuators.cart.effort_limit", "must be > 0"),
        ({"cart": {"joints": ["slider"], "damping": "soft"}}, "actuators.cart.damping", "expected float"),
        (
            {"a": {"joints": ["slider"]}, "b": {"joints": [".*"]}},
            "actuators.b.joints",
            "joint 'slider' is already in actuator group 'a'",
        ),
        ({"cart": {"joints": ["slider"], "model": "servo"}}, "actuators.cart.model", "expected one of implicit, pd"),
        ({"cart": {"joints": ["slider"], "model": "pd", "damping": 1.0}}, "actuators.cart.stiffness", "needs"),
        (
            {"cart": {"joints": ["slider"], "model": "dc_motor", "stiffness": 1.0, "damping": 1.0}},
            "actuators.cart.saturation_effort",
            'model = "dc_motor" needs stiffness, damping, saturation_effort, velocity_limit',
        ),
        (
            {"cart": {"joints": ["slider"], "model": "pd", "stiffness": 1.0, "damping": 1.0, "saturation_effort": 5.0}},
            "actuators.cart.saturation_effort",
            'only a model = "dc_motor" takes it',
        ),
        ({"cart": {"joints": ["slider"], "delay_steps": 2}}, "actuators.cart.delay_steps", "cannot delay"),
        (
            {"cart": {"joints": ["slider"], "model": "pd", "stiffness": 1.0, "damping": 1.0, "delay_steps": 1.5}},
            "actuators.cart.delay_steps",
            "expected int",
        ),
    ],
)
def test_a_bad_actuator_names_its_key(groups, key, problem):
    with pytest.raises(SpecError, match=problem) as err:
        load_spec("cartpole", {"actuators": groups})
    assert err.value.key == key
    assert f"key '{key}'" in str(err.value) and "cartpole.toml" in str(err.value)


def test_the_actuator_keys_are_documented():
    from isaac.rl.workbench.specs.key_docs import spec_key_docs

    docs = {doc.key: doc.doc for doc in spec_key_docs()}
    assert "N·m/rad" in docs["actuators.<group>.stiffness"] and "per degree" not in docs["actuators.<group>.damping"]


@pytest.mark.slow
def test_actuator_gains_reach_the_physics_in_si_units_and_the_joints_follow_their_targets():
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    env = WorkbenchEnv(load_spec("cartpole", {**POSITION_CONTROL, "env.num_envs": 2, "actuators": GROUPS}))
    model = env.backend.model
    # per radian as given: USD's per-degree convention must not scale them (a 57x error either way)
    assert model.joint_target_ke.numpy()[:2].tolist() == [400.0, 200.0]
    assert model.joint_target_kd.numpy()[:2].tolist() == [40.0, 20.0]
    assert model.joint_effort_limit.numpy()[:2].tolist() == [100.0, 50.0]
    targets = torch.tensor([[0.5, 0.3], [-0.5, -0.3]])
    for _ in range(int(2.0 / env.step_dt)):
        env.step(targets)
    offset = env.dof_pos - env.default_dof_pos
    assert torch.allclose(offset[:, 0], targets[:, 0], atol=0.01), offset
    assert torch.allclose(offset[:, 1], targets[:, 1], atol=0.02), offset  # gravity pulls the pole a little
    assert math.isfinite(float(env.dof_vel.abs().max()))


def _cart_trajectory(cart: dict, target: float = 0.5, steps: int = 60) -> tuple[torch.Tensor, object]:
    """The cart's offset from its start [m] after each env step; the target steps from 0 to ``target`` at step 10.
    The pole keeps an implicit drive at 0."""
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    groups = {
        "cart": {"joints": ["slider"], "stiffness": 400.0, "damping": 40.0, **cart},
        "pole": {"joints": ["hinge"], "stiffness": 200.0, "damping": 20.0},
    }
    overrides = {**POSITION_CONTROL, "env.num_envs": 1, "terminations": {}, "actuators": groups}
    env = WorkbenchEnv(load_spec("cartpole", overrides))
    offsets = []
    for i in range(steps):
        env.step(torch.tensor([[target if i >= 10 else 0.0, 0.0]]))
        offsets.append(float(env.dof_pos[0, 0] - env.default_dof_pos[0, 0]))
    return torch.tensor(offsets), env


@pytest.mark.slow
def test_explicit_motor_models_follow_their_targets_late_by_their_delay_and_no_faster_than_the_motor_allows():
    implicit, _ = _cart_trajectory({})
    pd, env = _cart_trajectory({"model": "pd"})
    # the explicit PD replaces the solver's: no implicit gains left on the slider, and no solver actuator
    assert env.backend.model.joint_target_ke.numpy()[0] == 0.0
    assert [a.num_actuators for a in env.backend.model.actuators] == [1]
    assert abs(float(pd[-1]) - 0.5) < 0.01 and abs(float(implicit[-1]) - 0.5) < 0.01, (pd, implicit)
    assert float(pd[10]) > 0.01, "without a delay the cart moves in the step its target changes"

    # 6 physics steps of delay = 3 env steps (decimation 2): the same response, 3 steps later
    delayed, _ = _cart_trajectory({"model": "pd", "delay_steps": 6})
    assert env.spec.env.decimation == 2
    assert delayed[10:13].abs().max() < 1e-6, delayed[8:16]
    assert torch.allclose(delayed[13:40], pd[10:37], atol=1e-3), (delayed[10:20], pd[10:20])

    # a DC motor with a no-load speed of 1 m/s: the cart creeps to its target at that speed at most
    motor, env = _cart_trajectory({"model": "dc_motor", "saturation_effort": 100.0, "velocity_limit": 1.0})
    speeds = (motor[1:] - motor[:-1]) / env.step_dt
    assert float(speeds.max()) < 1.05 and float(speeds.max()) > 0.8, speeds
    assert float(motor[20]) < 0.5 * float(pd[20]), "slower than the unlimited PD"
    motor, _ = _cart_trajectory({"model": "dc_motor", "saturation_effort": 100.0, "velocity_limit": 1.0}, steps=90)
    assert abs(float(motor[-1]) - 0.5) < 0.01, "and still gets there"


@pytest.mark.slow
def test_effort_commands_still_act_beside_an_explicit_actuator():
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    # the cart-pole's own task: effort on the slider; the hinge gets an explicit PD holding the pole at 0
    groups = {"pole": {"joints": ["hinge"], "model": "pd", "stiffness": 5.0, "damping": 0.1, "effort_limit": 20.0}}
    env = WorkbenchEnv(load_spec("cartpole", {"env.num_envs": 1, "events": {}, "actuators": groups}))
    for _ in range(30):
        env.step(torch.ones(1, 1))
    assert float(env.dof_pos[0, 0] - env.default_dof_pos[0, 0]) > 0.05, "the effort command pushed the cart"
    assert abs(float(env.dof_pos[0, 1])) < 0.3, "the explicit PD held the pole against the push"


@pytest.mark.parametrize(
    ("robot", "key", "problem"),
    [
        ({"base": "wobbly"}, "robot.base", "expected one of floating, fixed"),
        ({"joint_pos": {"wheel": 0.1}}, "robot.joint_pos.wheel", "joint 'wheel' is not in articulation"),
        ({"joint_pos": {"hinge": "up"}}, "robot.joint_pos.hinge", "expected float"),
        ({"height": 1.0}, "robot.height", "unknown key"),
        ({"self_collisions": 1}, "robot.self_collisions", "expected bool"),
    ],
)
def test_a_bad_robot_setting_names_its_key(robot, key, problem):
    with pytest.raises(SpecError, match=problem) as err:
        load_spec("cartpole", {"robot": robot})
    assert err.value.key == key


@pytest.mark.slow
def test_the_robot_table_sets_the_base_the_root_height_and_the_initial_joint_positions():
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    # the cart-pole's rail is welded to the world; "floating" releases it, and it falls
    cartpole = WorkbenchEnv(
        load_spec(
            "cartpole", {"env.num_envs": 1, "events": {}, "robot": {"base": "floating", "joint_pos": {"hin.*": 0.2}}}
        )
    )
    assert cartpole.floating_base
    assert cartpole.default_dof_pos.tolist() == [[0.0, pytest.approx(0.2)]]
    start = float(cartpole.root_pos_w[0, 2])
    for _ in range(10):
        cartpole.step(torch.zeros(1, 1))
    assert float(cartpole.root_pos_w[0, 2]) < start - 0.05, "a free root falls"

    # the ant's torso is free; "fixed" holds it where the scene puts it, root_height moves a free one
    fixed = WorkbenchEnv(load_spec("ant", {"env.num_envs": 1, "events": {}, "robot": {"base": "fixed"}}))
    assert not fixed.floating_base
    height = float(fixed.root_pos_w[0, 2])
    for _ in range(10):
        fixed.step(torch.zeros(1, fixed.num_actions))
    assert float(fixed.root_pos_w[0, 2]) == pytest.approx(height, abs=1e-4)
    raised = WorkbenchEnv(load_spec("ant", {"env.num_envs": 1, "events": {}, "robot": {"root_height": 1.5}}))
    assert float(raised.root_pos_w[0, 2]) == pytest.approx(1.5)
