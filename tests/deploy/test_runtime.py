"""The runtime: motor order, the control loop's deadlines and safe stop, its log, and importing it on a robot.

The real-time loop's schedule is checked on a simulated clock (:class:`SimulatedClock`), so that a busy machine
neither fails nor excuses it; one test runs it on the wall clock too, asserting only what load cannot change.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from isaac.rl.workbench.deploy import runtime as runtime_module
from isaac.rl.workbench.deploy.bundle import BundleError
from isaac.rl.workbench.deploy.driver import JointCommand, RobotState
from isaac.rl.workbench.deploy.robot_log import LOG_FORMAT, LogError, read_log, write_log
from isaac.rl.workbench.deploy.runtime import Runtime

from .synthetic_bundle import CONTROL_DT, MOTOR_ORDER

COMMANDS = {"base_velocity": np.array([0.5, 0.0, 0.1])}
HOLD_KP_MOTORS = [41.0, 42.0, 40.0]  # hold_kp (hip, knee, ankle) in motor order (knee, ankle, hip)


class FakeDriver:
    """A robot standing still at ``pose`` (motor order); its readings stop being fresh from step ``stale_from``; a
    write takes ``write_s`` seconds; it keeps every command written."""

    motor_names = MOTOR_ORDER

    def __init__(self, pose=(-0.8, 0.0, 0.1), stale_from: int | None = None, write_s: float = 0.0):
        self.pose, self.stale_from, self.write_s = np.array(pose), stale_from, write_s
        self.reads, self.commands = 0, []

    def read_state(self) -> RobotState:
        fresh = self.stale_from is None or self.reads < self.stale_from
        self.reads += 1
        return RobotState(joint_pos=self.pose.copy(), joint_vel=np.zeros(3), stamp=self.reads * 0.02, fresh=fresh)

    def write_command(self, command: JointCommand) -> None:
        if self.write_s:
            time.sleep(self.write_s)
        self.commands.append(command)

    def close(self) -> None:
        pass


class SimulatedClock:
    """``time.perf_counter`` and ``time.sleep`` for the runtime module: time moves only when the runtime sleeps
    (by the time asked plus a 1 ms overshoot, as a scheduler tick adds) or a :class:`ClockedDriver` writes."""

    OVERSHOOT_S = 1e-3

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.OVERSHOOT_S


class ClockedDriver(FakeDriver):
    """A robot whose k-th write takes ``write_s[k]`` seconds of the simulated clock (the last one from then on)."""

    def __init__(self, clock: SimulatedClock, write_s: list[float]):
        super().__init__()
        self.clock, self.durations = clock, write_s

    def write_command(self, command: JointCommand) -> None:
        self.clock.now += self.durations[min(len(self.commands), len(self.durations) - 1)]
        self.commands.append(command)


@pytest.fixture
def clock(monkeypatch) -> SimulatedClock:
    """The runtime module's clock replaced by a :class:`SimulatedClock`."""
    simulated = SimulatedClock()
    monkeypatch.setattr(runtime_module, "time", simulated)
    return simulated


@pytest.fixture
def runtime(exported_bundle):
    return Runtime(exported_bundle)


def test_each_joints_command_reaches_its_motor(runtime):
    runtime.policy = lambda obs: np.array([0.4, -0.2], dtype=np.float32)  # hip 0.1 + 0.2, knee -0.8 - 0.1
    command, stopped = runtime.command_for(FakeDriver().read_state(), COMMANDS)
    assert not stopped
    assert command.q == pytest.approx([-0.9, 0.0, 0.3])  # knee, ankle (default pose), hip
    assert command.kp == pytest.approx([25.0, 30.0, 20.0]) and command.kd == pytest.approx([0.6, 0.7, 0.5])


def test_readings_are_mapped_into_the_policys_order(runtime):
    seen = []
    runtime.policy = lambda obs: seen.append(obs) or np.zeros(2, dtype=np.float32)
    state = RobotState(joint_pos=np.array([-0.7, 0.2, 0.4]), joint_vel=np.array([1.0, 2.0, 3.0]))  # knee, ankle, hip
    runtime.command_for(state, COMMANDS)
    joint_pos_rel, joint_vel = seen[0][9:12], seen[0][12:15]  # after gravity, body rates and the command
    assert joint_pos_rel == pytest.approx([0.4 - 0.1, -0.7 + 0.8, 0.2 - 0.0])  # hip, knee, ankle
    assert joint_vel == pytest.approx([3.0, 1.0, 2.0])
    state.joint_pos = np.array([-0.7, 1.5, 0.4])  # the ankle (motor 1) beyond its limit
    _, stopped = runtime.command_for(state, COMMANDS)
    assert stopped and "ankle" in runtime.safety.reason


def test_last_action_is_the_raw_action_clipped_as_in_training(runtime):
    seen = []
    runtime.policy = lambda obs: seen.append(obs) or np.array([9.0, -0.3], dtype=np.float32)
    for _ in range(2):
        runtime.command_for(FakeDriver().read_state(), COMMANDS)
    assert seen[0][15:] == pytest.approx([0.0, 0.0]) and seen[1][15:] == pytest.approx([5.0, -0.3])


def test_step_runs_the_policy(runtime, exported_bundle):
    action = runtime.step(np.zeros(17, dtype=np.float32))
    assert action.shape == (2,) and np.isfinite(action).all()


def test_stale_state_latches_the_stop_within_max_misses_plus_one_periods(runtime):
    driver = FakeDriver(stale_from=5)  # readings 0-4 fresh, then none: lockstep, so only staleness is missed
    report = runtime.run(driver, seconds=0.4, commands=COMMANDS, realtime=False)
    assert report.steps == 20 and report.missed_deadlines == 15
    assert report.latched and "3 missed control deadlines" in report.latch_reason
    assert report.latch_step == 5 + 3 - 1  # max_consecutive_misses 3: the third stale reading latches
    assert all(c.kp == pytest.approx(HOLD_KP_MOTORS) for c in driver.commands[report.latch_step :])
    assert driver.commands[report.latch_step - 1].kp == pytest.approx([25.0, 30.0, 20.0])


def test_overrunning_steps_count_as_missed_and_latch(runtime, clock):
    driver = ClockedDriver(clock, [1.5 * CONTROL_DT])  # every step takes 30 ms of a 20 ms period
    report = runtime.run(driver, seconds=0.3, commands=COMMANDS, keep_log=True)
    slots = np.floor(report.log["t"] / CONTROL_DT + 1e-9).astype(int).tolist()
    assert slots == [0, 2, 4, 6, 8, 10, 12, 14]  # each overrun skips the period it ran into, on the absolute grid
    assert report.missed_deadlines == 7  # every step after an overrun
    assert report.latched and "missed" in report.latch_reason and report.latch_step == 3


def test_realtime_loop_starts_each_step_on_its_absolute_deadline(runtime, clock):
    late = [0.005] * 3 + [0.05] + [0.005]  # the fourth step runs 50 ms: into the periods of steps 4 and 5
    report = runtime.run(ClockedDriver(clock, late), seconds=0.2, commands=lambda t: COMMANDS, keep_log=True)
    slots = np.floor(report.log["t"] / CONTROL_DT + 1e-9).astype(int).tolist()
    assert slots == [0, 1, 2, 3, 6, 7, 8, 9], "a late step skips the periods it ran into; none is run twice"
    assert report.steps == 8 and report.missed_deadlines == 1 and not report.latched  # the step after the overrun
    grid = np.array(slots) * CONTROL_DT
    offsets = report.log["t"] - grid  # never before its deadline, and the sleep's overshoot does not add up
    assert (offsets >= 0).all() and offsets.max() <= SimulatedClock.OVERSHOOT_S + 1e-9, offsets
    assert 0 <= report.compute_median_us <= report.compute_p99_us


def test_realtime_loop_on_the_wall_clock_keeps_to_its_grid(runtime):
    """The real clock: a loaded machine may overrun periods (skipped, missed), but no step starts early and the
    loop neither ends early nor runs more steps than periods."""
    began = time.perf_counter()
    report = runtime.run(FakeDriver(), seconds=0.5, commands=lambda t: COMMANDS, keep_log=True)
    elapsed = time.perf_counter() - began
    assert 1 <= report.steps <= 25 and elapsed >= 24 * CONTROL_DT
    slots = np.floor(report.log["t"] / CONTROL_DT).astype(int)
    assert (np.diff(slots) >= 1).all() and slots[-1] <= 24, slots  # one step per period at most, none early
    if report.missed_deadlines == 0:  # no overrun: every step ran in its own period
        assert slots.tolist() == list(range(25)) and not report.latched
    assert 0 < report.compute_median_us <= report.compute_p99_us


def test_lockstep_run_writes_a_log_that_round_trips(runtime, tmp_path):
    times, driver = [], FakeDriver()

    def commands(t):
        times.append(t)
        return COMMANDS

    path = tmp_path / "run.npz"
    report = runtime.run(driver, seconds=0.2, commands=commands, realtime=False, log_path=path)
    assert report.steps == 10 and report.missed_deadlines == 0 and not report.latched
    assert times == pytest.approx([k * CONTROL_DT for k in range(10)])
    assert report.log_path == path and [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    assert path.stat().st_mode & 0o777 == 0o644
    log = read_log(path)
    assert str(log["format"]) == LOG_FORMAT and float(log["control_dt"]) == CONTROL_DT
    assert log["joint_names"].tolist() == MOTOR_ORDER
    assert log["t"] == pytest.approx(times)
    assert log["joint_pos"].shape == (10, 3) and log["joint_pos"][3] == pytest.approx([-0.8, 0.0, 0.1])
    for key in ("q", "dq", "kp", "kd", "tau"):
        np.testing.assert_array_equal(log[f"cmd_{key}"], np.stack([getattr(c, key) for c in driver.commands]))
    assert log["base_quat_xyzw"].shape == (10, 4) and log["base_ang_vel_b"].shape == (10, 3)


def test_a_malformed_log_is_rejected_with_the_key(tmp_path):
    path = tmp_path / "bad.npz"
    write_log(path, {"format": np.array(LOG_FORMAT), "t": np.zeros(3)})
    with pytest.raises(LogError, match="missing key.*joint_pos"):
        read_log(path)
    path.write_text("not a log")
    with pytest.raises(LogError, match="not a readable"):
        read_log(path)


def test_an_error_in_the_loop_latches_and_writes_the_stop_before_it_propagates(runtime):
    driver = FakeDriver()

    def commands(t):
        if t > 0.05:
            raise KeyboardInterrupt
        return COMMANDS

    with pytest.raises(KeyboardInterrupt):
        runtime.run(driver, seconds=1.0, commands=commands, realtime=False)
    assert runtime.stopped and "KeyboardInterrupt" in runtime.safety.reason
    assert driver.commands[-1].kp == pytest.approx(HOLD_KP_MOTORS)


def test_a_driver_with_other_motors_is_refused(runtime):
    driver = FakeDriver()
    driver.motor_names = ["hip", "knee", "ankle"]
    with pytest.raises(BundleError, match="motor_order"):
        runtime.run(driver, seconds=0.1, commands=COMMANDS)


BLOCKED_IMPORTS = """
import importlib.abc, sys
BLOCKED = ("newton", "warp", "pxr", "isaac.rl.workbench.envs", "isaac.rl.workbench.learn", "isaac.rl.workbench.backend",
           "isaac.rl.workbench.scene", "isaac.rl.workbench.utils", "isaac.rl.workbench.workbench",
           "isaac.rl.workbench.sim2real", "isaac.rl.workbench.frontends", "isaac.rl.workbench.assets")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"{name} is blocked on the robot")
sys.meta_path.insert(0, Block())
"""


def test_runtime_imports_and_steps_without_newton_warp_pxr_or_other_package_modules(exported_bundle):
    script = BLOCKED_IMPORTS + textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        from isaac.rl.workbench.deploy import bundle, driver, latency, observations, policy, robot_log, runtime, safety
        rt = runtime.Runtime({str(exported_bundle.root)!r})
        state = driver.RobotState(joint_pos=np.array([-0.8, 0.0, 0.1]), joint_vel=np.zeros(3))
        command, stopped = rt.command_for(state, {{"base_velocity": [0.5, 0.0, 0.0]}})
        print(json.dumps({{"q": command.q.tolist(), "stopped": stopped, "torch": "torch" in sys.modules}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert not output["stopped"] and len(output["q"]) == 3 and output["q"][1] == 0.0  # the ankle holds its default
    assert not output["torch"]  # ONNX Runtime alone: torch is imported only for TorchScript
