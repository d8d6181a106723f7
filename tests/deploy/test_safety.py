"""The safety layer: what the policy's action becomes on the motors, and when and how the robot stops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from isaac.rl.workbench.deploy.bundle import BundleError
from isaac.rl.workbench.deploy.safety import SafetyLayer, base_tilt

from .synthetic_bundle import CONTROL_DT, DEFAULT_POS, make_bundle, state_in_policy_order

HOLD_KP, HOLD_KD = [40.0, 41.0, 42.0], [1.0, 1.1, 1.2]
STIFFNESS, DAMPING = [20.0, 25.0, 30.0], [0.5, 0.6, 0.7]


def tilted(angle: float) -> tuple[float, float, float, float]:
    """An orientation (x, y, z, w) tilted by ``angle`` [rad] about the x axis."""
    return (math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2))


def test_actions_are_clipped_scaled_and_offset_and_targets_clipped_to_limits():
    safety = SafetyLayer(make_bundle(**{"safety.action_clip": 1.0}))
    command = safety.command(np.array([3.0, -0.4]), state_in_policy_order())
    assert command.q[:2] == pytest.approx([0.1 + 0.5 * 1.0, -0.8 + 0.5 * -0.4])

    safety = SafetyLayer(make_bundle())  # only the training clip (5): hip 0.1 + 0.5 * 5 = 2.6 -> upper limit 1.0
    command = safety.command(np.array([9.0, 4.0]), state_in_policy_order())
    assert command.q[:2] == pytest.approx([1.0, 0.5])  # knee: -0.8 + 2 = 1.2 -> its upper limit 0.5


def test_running_command_uses_trained_gains_and_holds_joints_the_action_does_not_drive():
    command = SafetyLayer(make_bundle()).command(np.array([0.2, 0.2]), state_in_policy_order(joint_pos=[0, 0, 0.3]))
    assert command.q[2] == pytest.approx(DEFAULT_POS[2])  # ankle: not in the action, holds its default pose
    assert command.kp == pytest.approx(STIFFNESS) and command.kd == pytest.approx(DAMPING)
    assert not command.dq.any() and not command.tau.any()


def test_effort_actions_become_clipped_torques_without_pd_gains():
    bundle = make_bundle(**{"action.type": "joint_effort", "action.scale": 10.0, "action.offset": [0.0, 0.0]})
    command = SafetyLayer(bundle).command(np.array([5.0, -1.0]), state_in_policy_order())
    assert command.tau == pytest.approx([30.0, -10.0, 0.0])  # 50 N m clipped to the 30 N m effort limit
    assert command.kp[:2] == pytest.approx([0, 0]) and command.kd[:2] == pytest.approx([0, 0])
    assert command.kp[2] == STIFFNESS[2] and command.q[2] == DEFAULT_POS[2]


def test_rate_limit_spreads_a_one_radian_jump_over_rate_times_dt_steps():
    safety = SafetyLayer(make_bundle(**{"safety.action_rate_limit": 5.0}))  # 5 rad/s x 0.02 s = 0.1 rad per step
    state = state_in_policy_order()  # hip at 0.1 rad
    hips = [safety.command(np.array([-2.0, 0.0]), state).q[0] for _ in range(12)]  # the policy asks for 0.1 - 1
    assert np.diff([0.1, *hips[:10]]) == pytest.approx([-0.1] * 10)
    assert hips[9:] == pytest.approx([-0.9] * 3)  # there after 10 steps, and stays


def test_soft_start_ramps_from_the_measured_pose_to_the_policys_target():
    safety = SafetyLayer(make_bundle(**{"safety.soft_start_s": 1.0}))  # 50 steps of 0.02 s
    start = state_in_policy_order(joint_pos=[0.3, -0.5, 0.0])
    action = np.array([1.0, -1.0])
    desired = np.array([0.1 + 0.5, -0.8 - 0.5])
    targets = [safety.command(action, start).q[:2] for _ in range(60)]
    assert safety.soft_start_scale(0) == 0.0 and safety.soft_start_scale(25) == pytest.approx(0.5)
    assert safety.soft_start_scale(50) == 1.0 and safety.soft_start_scale(80) == 1.0
    assert targets[0] == pytest.approx([0.3, -0.5])
    assert targets[25] == pytest.approx((np.array([0.3, -0.5]) + desired) / 2)
    assert targets[50] == pytest.approx(desired) and targets[59] == pytest.approx(desired)


def test_lowpass_moves_a_step_by_its_first_order_factor():
    safety = SafetyLayer(make_bundle(**{"safety.lowpass_hz": 5.0}))
    alpha = 1 - math.exp(-2 * math.pi * 5.0 * CONTROL_DT)
    state = state_in_policy_order()
    first = safety.command(np.array([-1.0, 0.0]), state).q[0]  # target 0.1 - 0.5 from a measured 0.1
    second = safety.command(np.array([-1.0, 0.0]), state).q[0]
    assert first == pytest.approx(0.1 - 0.5 * alpha)
    assert second == pytest.approx(0.1 - 0.5 * (1 - (1 - alpha) ** 2))


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (state_in_policy_order(joint_pos=[0.1, 0.65, 0.0]), ["knee", "0.65", "position limits"]),
        (state_in_policy_order(joint_vel=[0.0, 0.0, -12.0]), ["ankle", "-12", "velocity limit"]),
        (state_in_policy_order(quat=tilted(1.0)), ["tilt", "1 rad"]),
        (state_in_policy_order(joint_pos=[math.nan, -0.8, 0.0]), ["hip", "non-finite"]),
    ],
)
def test_state_monitor_latches_with_a_reason_that_names_the_joint_and_value(state, words):
    safety = SafetyLayer(make_bundle())
    safety.command(np.zeros(2), state)
    assert safety.latched and safety.latch_step == 0
    assert all(word in safety.reason for word in words), safety.reason


def test_state_within_margins_does_not_latch():
    safety = SafetyLayer(make_bundle())
    for state in (
        state_in_policy_order(joint_pos=[0.1, 0.59, 0.0]),  # 0.09 past the knee's limit, within the 0.1 margin
        state_in_policy_order(joint_vel=[9.9, -9.9, 0.0]),
        state_in_policy_order(quat=tilted(0.7)),
    ):
        safety.command(np.zeros(2), state)
    assert not safety.latched and safety.reason is None
    assert base_tilt(np.array(tilted(0.7))) == pytest.approx(0.7)


def test_latched_stop_stays_until_reset_and_holds_the_pose_measured_when_it_latched_within_the_limits():
    safety = SafetyLayer(make_bundle())
    safety.command(np.zeros(2), state_in_policy_order())
    bad = state_in_policy_order(joint_pos=[0.2, -0.3, 1.5])  # ankle beyond 1.0 + 0.1
    safety.command(np.zeros(2), bad)
    reason = safety.reason
    assert safety.latched and "ankle" in reason and safety.latch_step == 1
    assert reason.endswith("safe stop: hold the last finite pose (hold_kp, hold_kd)")
    for _ in range(3):
        command = safety.command(np.array([1.0, 1.0]), state_in_policy_order(joint_pos=[0.0, 0.0, 0.0]))
    assert safety.latched and safety.reason == reason
    assert command.q == pytest.approx([0.2, -0.3, 1.0])  # the ankle's 1.5 rad clipped into its limits [-1, 1]
    assert command.kp == pytest.approx(HOLD_KP) and command.kd == pytest.approx(HOLD_KD)
    assert not command.tau.any() and not command.dq.any()
    safety.reset()
    assert not safety.latched and safety.reason is None
    assert safety.command(np.zeros(2), state_in_policy_order()).kp == pytest.approx(STIFFNESS)


def test_damp_stop_has_no_position_gain_and_no_torque():
    safety = SafetyLayer(make_bundle(**{"safety.safe_stop": "damp"}))
    command = safety.command(np.zeros(2), state_in_policy_order(joint_vel=[20.0, 0.0, 0.0]))
    assert safety.latched and "hip" in safety.reason
    assert not command.kp.any() and command.kd == pytest.approx(HOLD_KD) and not command.tau.any()


def test_missed_deadlines_in_a_row_latch_and_a_met_one_resets_the_count():
    safety = SafetyLayer(make_bundle())  # max_consecutive_misses = 3
    for missed in (True, True, False, True, True):
        safety.note_deadline(missed)
    assert not safety.latched
    safety.note_deadline(True)
    assert safety.latched and "3 missed control deadlines" in safety.reason


def test_non_finite_action_latches():
    safety = SafetyLayer(make_bundle())
    command = safety.command(np.array([math.nan, 0.0]), state_in_policy_order())
    assert safety.latched and "non-finite action" in safety.reason
    assert command.kp == pytest.approx(HOLD_KP)


def test_hold_gains_of_the_wrong_length_are_rejected():
    with pytest.raises(BundleError, match="hold_kp"):
        SafetyLayer(make_bundle(**{"safety.hold_kp": [1.0]}))
