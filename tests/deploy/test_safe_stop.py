"""The safe stop's command is always finite, and no non-finite command reaches a driver: a NaN reading, a policy
that returns NaN, a command gone bad, an exception before the first reading."""

from __future__ import annotations

import math

import numpy as np
import pytest
from isaac.rl.workbench.deploy.driver import JointCommand, RobotState
from isaac.rl.workbench.deploy.runtime import Runtime

from .synthetic_bundle import MOTOR_ORDER, write_bundle

COMMANDS = {"base_velocity": [0.5, 0.0, 0.1]}
FIELDS = ("q", "dq", "kp", "kd", "tau")
HOLD_KP, HOLD_KD = [41.0, 42.0, 40.0], [1.1, 1.2, 1.0]  # hold gains in motor order (knee, ankle, hip)
DEFAULT_POS = [-0.8, 0.0, 0.1]  # the default pose in motor order
HIP = MOTOR_ORDER.index("hip")


class DriftingDriver:
    """A robot whose joints (motor order) creep by 0.01 rad per reading from ``pose``; from reading ``bad_from`` the
    motors in ``bad_motors`` read ``bad_value``. Keeps every command written."""

    motor_names = MOTOR_ORDER

    def __init__(self, bad_from: int, bad_motors=(HIP,), bad_value=math.nan, pose=(-0.8, 0.0, 0.1)):
        self.pose, self.bad_from, self.bad_motors, self.bad_value = np.array(pose), bad_from, bad_motors, bad_value
        self.reads, self.commands = 0, []

    def position(self, reading: int) -> np.ndarray:
        """The true joint positions at ``reading`` (motor order)."""
        return self.pose + 0.01 * reading

    def read_state(self) -> RobotState:
        pos = self.position(self.reads)
        if self.reads >= self.bad_from:
            pos[list(self.bad_motors)] = self.bad_value
        self.reads += 1
        return RobotState(joint_pos=pos, joint_vel=np.zeros(3))

    def write_command(self, command: JointCommand) -> None:
        self.commands.append(command)

    def close(self) -> None:
        pass


def all_finite(commands: list[JointCommand]) -> bool:
    return bool(commands) and all(np.isfinite(getattr(c, f)).all() for c in commands for f in FIELDS)


@pytest.fixture(scope="module")
def damp_bundle(tmp_path_factory):
    return write_bundle(tmp_path_factory.mktemp("damp"), **{"safety.safe_stop": "damp"})


@pytest.mark.parametrize("bad_value", [math.nan, math.inf])
def test_a_non_finite_reading_mid_run_holds_the_last_finite_pose(exported_bundle, bad_value):
    driver = DriftingDriver(bad_from=5, bad_value=bad_value)
    report = Runtime(exported_bundle).run(driver, 0.3, COMMANDS, realtime=False)
    assert report.latched and report.latch_step == 5
    assert "joint 'hip' reads a non-finite value" in report.latch_reason
    assert report.latch_reason.endswith("safe stop: hold the last finite pose (hold_kp, hold_kd)")
    assert len(driver.commands) == 15 and all_finite(driver.commands)
    hold = driver.position(5)
    hold[HIP] = driver.position(4)[HIP]  # the hip's last finite reading; the others' are from the latching one
    for command in driver.commands[5:]:
        assert command.q == pytest.approx(hold) and command.kp == pytest.approx(HOLD_KP)
        assert command.kd == pytest.approx(HOLD_KD) and not command.tau.any() and not command.dq.any()


def test_a_non_finite_reading_mid_run_damps_with_safe_stop_damp(damp_bundle):
    driver = DriftingDriver(bad_from=5)
    report = Runtime(damp_bundle).run(driver, 0.3, COMMANDS, realtime=False)
    assert report.latched and report.latch_step == 5 and "hip" in report.latch_reason
    assert report.latch_reason.endswith("safe stop: damp (kp 0, kd hold_kd, no torque)")
    assert all_finite(driver.commands)
    for command in driver.commands[5:]:
        assert not command.kp.any() and command.kd == pytest.approx(HOLD_KD) and not command.tau.any()


def test_a_joint_never_read_finite_is_damped_and_the_others_hold(exported_bundle):
    driver = DriftingDriver(bad_from=0)
    runtime = Runtime(exported_bundle)
    report = runtime.run(driver, 0.1, COMMANDS, realtime=False)
    assert report.latched and report.latch_step == 0
    assert "damp (kp 0) hip: no finite reading since the start" in report.latch_reason
    assert runtime.safety.damped.tolist() == [True, False, False]  # policy order: hip, knee, ankle
    assert all_finite(driver.commands)
    expected_kp = list(HOLD_KP)
    expected_kp[HIP] = 0.0
    expected_q = driver.position(0)
    expected_q[HIP] = DEFAULT_POS[HIP]  # a finite placeholder that kp 0 does not pull towards
    for command in driver.commands:
        assert command.kp == pytest.approx(expected_kp) and command.q == pytest.approx(expected_q)
        assert command.kd == pytest.approx(HOLD_KD)


@pytest.mark.parametrize("field", ["base_quat_xyzw", "base_ang_vel_b"])
def test_a_non_finite_imu_reading_latches(exported_bundle, field):
    driver = DriftingDriver(bad_from=10**9)
    read = driver.read_state

    def bad_imu() -> RobotState:
        state = read()
        if driver.reads > 3:
            setattr(state, field, np.full(len(getattr(state, field)), np.nan))
        return state

    driver.read_state = bad_imu
    report = Runtime(exported_bundle).run(driver, 0.2, COMMANDS, realtime=False)
    assert report.latched and report.latch_step == 3 and "the base's" in report.latch_reason
    assert all_finite(driver.commands)


def test_a_policy_that_returns_nan_is_stopped_and_nothing_non_finite_is_sent(exported_bundle):
    runtime = Runtime(exported_bundle)
    calls = []

    def policy(obs):
        calls.append(obs)
        return np.array([0.1, math.nan] if len(calls) > 4 else [0.1, 0.2], dtype=np.float32)

    runtime.policy = policy
    driver = DriftingDriver(bad_from=10**9)
    report = runtime.run(driver, 0.3, COMMANDS, realtime=False)
    assert report.latched and report.latch_step == 4 and "non-finite action" in report.latch_reason
    assert len(calls) == 5  # the policy does not run once stopped
    assert all_finite(driver.commands) and driver.commands[4].kp == pytest.approx(HOLD_KP)


def test_a_non_finite_command_never_reaches_the_driver(exported_bundle):
    runtime = Runtime(exported_bundle)
    command_for, made = runtime.command_for, []

    def gone_bad(state, commands):
        command, stopped = command_for(state, commands)
        made.append(command)
        if len(made) == 4:  # command 3: its kp for the ankle turns NaN on the way to the driver
            command.kp[MOTOR_ORDER.index("ankle")] = math.nan
        return command, stopped

    runtime.command_for = gone_bad
    driver = DriftingDriver(bad_from=10**9)
    report = runtime.run(driver, 0.3, COMMANDS, realtime=False)
    assert report.latched and report.latch_step == 3
    assert "a command was not sent: its kp for joint 'ankle' is nan" in report.latch_reason
    assert len(driver.commands) == 15 and all_finite(driver.commands)
    assert driver.commands[2].kp == pytest.approx([25.0, 30.0, 20.0])  # the trained gains, before
    assert all(c.kp == pytest.approx(HOLD_KP) for c in driver.commands[3:])  # the stop in its place, and after


def test_a_negative_gain_is_not_sent_either(exported_bundle):
    runtime = Runtime(exported_bundle)
    bad = JointCommand(q=np.zeros(3), dq=np.zeros(3), kp=np.array([1.0, -1.0, 1.0]), kd=np.zeros(3), tau=np.zeros(3))
    driver = DriftingDriver(bad_from=10**9)
    runtime.command_for(driver.read_state(), COMMANDS)
    sent = runtime.write(driver, bad)
    assert driver.commands == [sent] and sent.kp == pytest.approx(HOLD_KP)
    assert "its kp for joint 'ankle' is -1.0" in runtime.safety.reason


def test_an_exception_before_any_reading_writes_a_finite_damping_stop(exported_bundle):
    driver = DriftingDriver(bad_from=10**9)

    def dead() -> RobotState:
        raise ConnectionError("the robot went away")

    driver.read_state = dead
    runtime = Runtime(exported_bundle)
    with pytest.raises(ConnectionError):
        runtime.run(driver, 0.1, COMMANDS, realtime=False)
    assert len(driver.commands) == 1 and all_finite(driver.commands)
    assert not driver.commands[0].kp.any() and driver.commands[0].kd == pytest.approx(HOLD_KD)
    assert "ConnectionError" in runtime.safety.reason and "damp (kp 0) hip, knee, ankle" in runtime.safety.reason


def test_operator_commands_that_are_not_finite_are_refused_before_the_first_command(exported_bundle):
    from isaac.rl.workbench.deploy.observations import MissingStateError

    driver = DriftingDriver(bad_from=10**9)
    with pytest.raises(MissingStateError, match=r"command 'base_velocity' is \[nan, 0.0, 0.0\], expected 3 finite"):
        Runtime(exported_bundle).run(driver, 0.1, {"base_velocity": [math.nan, 0.0, 0.0]}, realtime=False)
    assert driver.commands == []
