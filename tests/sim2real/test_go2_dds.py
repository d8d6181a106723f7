"""The Unitree Go2 over DDS on the loopback interface: the driver (``deploy/unitree_go2.py``) against the Newton
bridge (``sim2real/go2_bridge.py``), which answers the Go2's topics as the robot does.

Needs the ``go2`` extra (Cyclone DDS and unitree_sdk2py; ``bash scripts/setup.sh --go2`` or ``--test`` installs it):
without it these tests skip, and fail under CI. Each test process uses a DDS domain of its own, so that runs side by
side on one host do not hear each other.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from isaac.rl.workbench.deploy.driver import JointCommand
from isaac.rl.workbench.deploy.unitree_go2 import (
    GO2_MOTOR_NAMES,
    NUM_MOTOR_SLOTS,
    POS_STOP_F,
    TOPIC_LOWCMD,
    TOPIC_LOWSTATE,
    TOPIC_SPORTMODESTATE,
    DdsLink,
    Go2DdsDriver,
    MissingExtraError,
    latest,
    unitree_sdk,
)

from ..conftest import REPO, robot_or_fail

DOMAIN = 100 + os.getpid() % 100
TRAINED_RUN = REPO / "tests" / "data" / "go2_flat_run"
FORWARD = [0.5, 0.0, 0.0]  # [m/s, m/s, rad/s] the velocity command the walking tests give
UNITREE_FR_CALF = 2  # unitree_sdk2's LegID["FR_2"]: the front-right calf's slot in LowCmd_ / LowState_


def _skip_or_fail(problem: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def sdk():
    """The DDS classes and Unitree messages; skips without the go2 extra (fails under CI)."""
    robot_or_fail("go2")
    try:
        return unitree_sdk()
    except MissingExtraError as exc:
        _skip_or_fail(str(exc))


def test_the_driver_module_imports_without_the_extra_and_names_it_when_used(monkeypatch):
    probe = "import sys, isaac.rl.workbench.deploy.unitree_go2; "
    probe += "print([m for m in sys.modules if m.startswith(('cyclonedds', 'unitree_sdk2py'))])"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"  # the DDS packages load only when a driver is made
    monkeypatch.setitem(sys.modules, "cyclonedds.domain", None)  # as if cyclonedds were not installed
    with pytest.raises(MissingExtraError, match=r"'go2' extra.*scripts/setup\.sh"):
        Go2DdsDriver("lo", DOMAIN)


# -- one process: the bridge serving in a thread, the driver, and a listener on the wire ---------------------------
@pytest.fixture
def fixed_base_bridge(sdk):
    """The Go2 bridge with its base fixed in the air (each leg moves only by its own motors), serving in a thread."""
    from isaac.rl.workbench.sim2real.go2_bridge import Go2Bridge

    bridge = Go2Bridge("go2_flat", {"robot.base": "fixed"}, interface="lo", domain_id=DOMAIN)
    stop = threading.Event()
    thread = threading.Thread(target=bridge.serve, kwargs={"stop": stop}, daemon=True)
    thread.start()
    yield bridge
    stop.set()
    thread.join(timeout=10)
    bridge.close()


def until_bridge(condition, what: str, timeout_s: float = 60.0) -> None:
    """Wait until the bridge serving in this process did ``what`` (``condition()`` holds); an idle machine steps it
    every 5 ms, a busy one later: the test paces itself by what the bridge did, not by the wall clock."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"the bridge did not {what} within {timeout_s:g} s"
        time.sleep(0.001)


def one_period(bridge, write, counter: str) -> None:
    """``write()`` one command, then wait until the bridge has read it (its ``counter``, ``commands`` or
    ``bad_crc``, went up) and has stepped 4 physics steps since: one 50 Hz control period of the robot's clock."""
    before = getattr(bridge, counter)
    write()
    until_bridge(lambda: getattr(bridge, counter) > before, f"read the command (its {counter} count)")
    taken_at = bridge.steps
    until_bridge(lambda: bridge.steps >= taken_at + 4, "step 4 physics steps under it")


@pytest.mark.slow
def test_a_command_for_fr_calf_moves_fr_calf_and_a_bad_crc_is_dropped(sdk, fixed_base_bridge):
    bridge = fixed_base_bridge
    assert GO2_MOTOR_NAMES.index("FR_calf_joint") == UNITREE_FR_CALF
    wire = DdsLink(DOMAIN, "lo")
    commands_on_wire, states_on_wire = (
        wire.reader(TOPIC_LOWCMD, sdk.LowCmd_),
        wire.reader(TOPIC_LOWSTATE, sdk.LowState_),
    )
    forger = wire.writer(TOPIC_LOWCMD, sdk.LowCmd_)
    with Go2DdsDriver("lo", DOMAIN, state_timeout_s=10.0) as driver:
        stance = driver.read_state().joint_pos
        q = stance.copy()
        q[UNITREE_FR_CALF] = -2.2
        command = JointCommand(q=q, dq=np.zeros(12), kp=np.full(12, 25.0), kd=np.full(12, 0.5), tau=np.zeros(12))
        for _ in range(50):  # 1 s of the robot's clock
            one_period(bridge, lambda: driver.write_command(command), "commands")
        sent, state_msg = latest(commands_on_wire), latest(states_on_wire)
        reading = driver.read_state()

        # the LowCmd_ as Unitree's examples build it, with the CRC the robot checks
        assert list(sent.head) == [0xFE, 0xEF] and sent.level_flag == 0xFF
        assert sent.crc == sdk.crc.Crc(sent)
        assert [m.mode for m in sent.motor_cmd] == [1] * 12 + [0] * (NUM_MOTOR_SLOTS - 12)
        assert all(m.q == pytest.approx(POS_STOP_F, rel=1e-6) and m.kp == 0.0 for m in sent.motor_cmd[12:])
        assert sent.motor_cmd[UNITREE_FR_CALF].q == pytest.approx(-2.2) and sent.motor_cmd[0].kp == 25.0
        assert bridge.commands == 50 and bridge.bad_crc == 0  # each command taken once, none dropped

        # FR_calf moved in the simulation (looked up by name there), no other joint did
        sim = dict(zip(bridge.spec.joint_names, bridge.env.dof_pos[0].tolist(), strict=True))
        start = dict(zip(GO2_MOTOR_NAMES, stance.tolist(), strict=True))
        assert sim["FR_calf_joint"] == pytest.approx(-2.2, abs=0.1)
        assert all(abs(sim[name] - start[name]) < 0.1 for name in GO2_MOTOR_NAMES if name != "FR_calf_joint"), sim
        # ... and LowState_ reports it in FR_calf's slot, which the driver reads as FR_calf
        assert state_msg.motor_state[UNITREE_FR_CALF].q == pytest.approx(-2.2, abs=0.1)
        assert reading.joint_pos[UNITREE_FR_CALF] == pytest.approx(sim["FR_calf_joint"], abs=0.05)
        assert np.abs(np.delete(reading.joint_pos - stance, UNITREE_FR_CALF)).max() < 0.1

        # a command whose CRC is wrong is dropped, as the robot drops it: FR_hip does not follow it
        forged = sdk.LowCmd_.deserialize(sent.serialize())
        forged.motor_cmd[0].q = 0.6
        forged.crc = sdk.crc.Crc(forged) ^ 1
        for _ in range(25):
            one_period(bridge, lambda: forger.write(forged), "bad_crc")
        assert bridge.bad_crc == 25 and bridge.commands == 50  # each forged one counted and dropped
        assert abs(driver.read_state().joint_pos[0] - stance[0]) < 0.1
    wire.close()


# -- the bridge as a process of its own ----------------------------------------------------------------------------
@contextlib.contextmanager
def bridge_process(task: Path | str):
    """``python -m ...go2_bridge TASK`` on this test's DDS domain; yields (process, its output lines) once it is
    ready, and stops it with SIGTERM afterwards if it still runs."""
    argv = [sys.executable, "-m", "isaac.rl.workbench.sim2real.go2_bridge", str(task), "--domain-id", str(DOMAIN)]
    proc = subprocess.Popen([*argv, "--seconds", "600"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("go2-bridge: ready"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(300):
            raise AssertionError("the bridge did not come up:\n" + "".join(lines[-30:]))
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stop_bridge(proc: subprocess.Popen, lines: list[str]) -> dict:
    """SIGTERM the bridge; it must exit 0 and print its report, returned as a dict."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, "".join(lines[-30:])
    time.sleep(0.2)  # the output pump reads the last lines
    reports = [line for line in lines if line.startswith("go2-bridge: report ")]
    assert reports, "".join(lines[-30:])
    return json.loads(reports[-1].removeprefix("go2-bridge: report "))


@pytest.fixture(scope="module")
def untrained_bundle(sdk, tmp_path_factory) -> Path:
    """go2_flat with an untrained policy, exported with its deployment bundle (Unitree's motor order)."""
    from isaac.rl.workbench.workbench import Workbench

    folder = tmp_path_factory.mktemp("go2_untrained")
    wb = Workbench.new("go2_flat", {"env.num_envs": 1, "env.episode_seconds": 1.0}, run_dir=folder / "run")
    wb.build()
    wb.save_checkpoint()
    wb.export(folder / "bundle", deploy=True)
    return folder / "bundle"


@pytest.mark.slow
def test_an_untrained_policy_runs_over_dds_through_the_cli(untrained_bundle, tmp_path, capsys):
    from isaac.rl.workbench.frontends.cli_bridge import add_parsers

    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    log = tmp_path / "go2.npz"
    argv = ["deploy", str(untrained_bundle), "--robot", "go2", "--domain-id", str(DOMAIN), "--seconds", "3"]
    args = parser.parse_args([*argv, "--command", "0.5,0,0", "--log", str(log)])
    with bridge_process("go2_flat") as (proc, lines):
        code = args.func(args)
        report = stop_bridge(proc, lines)
    out = capsys.readouterr().out
    assert code in (0, 1), out  # 1: the untrained policy fell and the safety layer stopped it
    data = np.load(log)
    steps = len(data["t"])
    # 150 periods in 3 s: a busy machine overruns some (skipped, so fewer steps), none runs twice
    slots = np.floor(data["t"] / 0.02).astype(int)
    assert steps <= 150 and (np.diff(slots) >= 1).all() and list(data["joint_names"]) == GO2_MOTOR_NAMES
    assert np.all(data["cmd_kp"] == 25.0)  # the trained gains (and the stop's hold_kp) reached the wire
    assert np.abs(data["joint_pos"] - data["joint_pos"][0]).max() > 0.05  # states came back from a moving robot
    # a bridge that falls behind reads only the newest of the commands that arrived between its steps
    print(f"{steps} steps; bridge: {report}")
    assert report["commands"] >= 0.5 * steps and report["bad_crc"] == 0 and report["physics_steps"] > 0
    assert f"deploy: {steps} steps" in out

    # the same bundle on the simulator in-process (lockstep: every period runs)
    args = parser.parse_args(
        ["deploy", str(untrained_bundle), "--robot", "sim", "--seconds", "1", "--command", "0.5,0,0"]
    )
    assert args.func(args) in (0, 1)
    out = capsys.readouterr().out
    assert "deploy: 50 steps, 0 missed deadlines" in out and "deploy: metric/vel_error = " in out


def with_safety(bundle: Path, folder: Path, **safety) -> Path:
    """A copy of ``bundle`` in ``folder`` with keys of its ``deploy.json``'s ``safety`` table set."""
    shutil.copytree(bundle, folder)
    manifest = json.loads((folder / "deploy.json").read_text())
    manifest["safety"].update(safety)
    (folder / "deploy.json").write_text(json.dumps(manifest, indent=2))
    return folder


@pytest.mark.slow
def test_killing_the_bridge_latches_the_safe_stop_within_max_misses_periods(untrained_bundle, tmp_path):
    from isaac.rl.workbench.deploy.runtime import Runtime

    # The bundle's own 2 periods without a state in a row would latch the stop whenever a busy machine stalled the
    # simulated robot for 40 ms before the kill; with 8 that takes a stall of 160 ms.
    misses = 8
    runtime = Runtime(with_safety(untrained_bundle, tmp_path / "bundle", max_consecutive_misses=misses))
    fresh: list[bool] = []
    with bridge_process("go2_flat") as (proc, _), Go2DdsDriver("lo", DOMAIN, state_timeout_s=10.0) as driver:

        def on_step(step, state, command):
            fresh.append(state.fresh)
            if step == 40:  # during the soft start: the robot is still on its feet
                os.kill(proc.pid, signal.SIGKILL)

        report = runtime.run(driver, 3.0, {"base_velocity": FORWARD}, on_step=on_step)
    last_fresh = max(i for i, f in enumerate(fresh) if f)
    print(f"last fresh state at step {last_fresh}, stop latched at step {report.latch_step}: {report.latch_reason}")
    assert report.latched and f"{misses} missed control deadlines" in report.latch_reason, report.latch_reason
    assert 40 <= last_fresh < report.latch_step <= last_fresh + misses


# -- the trained policy walks over DDS as it walks in play ---------------------------------------------------------
@pytest.fixture(scope="module")
def trained_bundle(sdk, tmp_path_factory) -> tuple[Path, Path]:
    """The kept go2_flat run exported as ``export --deploy`` exports it (one env, so it builds in seconds on the CPU),
    with the task's ``[deploy]`` table (Unitree's motor order); returns (bundle folder, the run's spec)."""
    from isaac.rl.workbench.workbench import Workbench

    if not (TRAINED_RUN / "spec.toml").is_file():
        _skip_or_fail(f"{TRAINED_RUN} holds no trained go2_flat run")
    run = tmp_path_factory.mktemp("go2_trained") / "run"
    shutil.copytree(TRAINED_RUN, run)
    raw = tomllib.loads((TRAINED_RUN / "spec.toml").read_text())
    raw["scene"] = str((TRAINED_RUN / raw["scene"]).resolve())
    raw["python_path"] = [str((TRAINED_RUN / p).resolve()) for p in raw.get("python_path", [])]
    raw["deploy"] = tomllib.loads((REPO / "tasks" / "go2_flat.toml").read_text())["deploy"]
    (run / "spec.toml").write_text(tomli_w.dumps(raw))
    wb = Workbench.open(run, {"env.num_envs": 1, "env.episode_seconds": 2.0})
    wb.build(checkpoint=wb.run.latest_checkpoint())
    wb.export(run / "bundle", deploy=True)
    manifest = json.loads((run / "bundle" / "deploy.json").read_text())
    # The URDF's joint speed limits (15.7 rad/s for the calves) stop this policy as its soft start ends on the nominal
    # robot in plain simulation too: the limits are doubled here, where the transport is under test, not the limits.
    manifest["safety"]["joint_vel_limits"] = [2.0 * v for v in manifest["safety"]["joint_vel_limits"]]
    # A busy machine stalls the simulated robot (it then runs slower than real time) and with it the state stream:
    # periods without a state are counted (a figure the test bounds), and only half a second of them in a row
    # latches the stop. The stop on a stream that ends has its test above (killing the bridge).
    manifest["safety"]["max_consecutive_misses"] = 25
    (run / "bundle" / "deploy.json").write_text(json.dumps(manifest, indent=2))
    return run / "bundle", run / "spec.toml"


WALKING_S = (2.0, 6.0)  # [s of the robot's clock] the velocity is averaged over this (after the soft start)


def mean_velocity(states: list) -> np.ndarray:
    """Mean base velocity (vx, vy, wz) over lockstep readings (one per 20 ms of simulated time) in ``WALKING_S``."""
    start, end = (round(t / 0.02) for t in WALKING_S)
    return np.mean([[*s.base_lin_vel_b[:2], s.base_ang_vel_b[2]] for s in states[start:end]], axis=0)


@contextlib.contextmanager
def robot_clock_recorder(sdk):
    """Yields a function that returns, for every ``rt/sportmodestate`` the bridge published meanwhile, its stamp (the
    simulated robot's clock [s]) and the base velocity (vx, vy in the base frame, wz) it reports, as (T,) and (T, 3)
    arrays sorted by stamp. The reader keeps up to 4096 samples (20 s at the bridge's 200 Hz)."""
    from cyclonedds.qos import Policy, Qos
    from isaac.rl.workbench.deploy.observations import quat_rotate_inverse
    from isaac.rl.workbench.deploy.unitree_go2 import quat_wxyz_to_xyzw

    link = DdsLink(DOMAIN, "lo")
    topic = sdk.Topic(link.participant, TOPIC_SPORTMODESTATE, sdk.SportModeState_)
    reader = sdk.DataReader(link.participant, topic, qos=Qos(Policy.History.KeepLast(4096)))

    def recorded() -> tuple[np.ndarray, np.ndarray]:
        samples = [s for s in reader.take(N=4096) if s.sample_info.valid_data]
        stamps = np.array([s.stamp.sec + s.stamp.nanosec * 1e-9 for s in samples])
        velocity = [
            [
                *quat_rotate_inverse(quat_wxyz_to_xyzw(s.imu_state.quaternion), np.array(s.velocity))[:2],
                s.imu_state.gyroscope[2],
            ]
            for s in samples
        ]
        order = np.argsort(stamps)
        return stamps[order], np.array(velocity).reshape(-1, 3)[order]

    try:
        yield recorded
    finally:
        reader.__del__()  # as DdsLink.close does: now, not when the garbage collector gets to it
        topic.__del__()
        link.close()


@pytest.mark.slow
def test_the_trained_policy_walks_over_dds_as_in_play(sdk, trained_bundle):
    """Over DDS the bridge runs on its own clock, as a robot does; on a busy machine slower than real time. The
    velocity over DDS is therefore measured against the simulated robot's clock (the stamps of its
    ``rt/sportmodestate``), over the same stretch of it as in play; missed deadlines are a reported figure."""
    from isaac.rl.workbench.deploy.runtime import Runtime
    from isaac.rl.workbench.sim2real.sim_driver import SimDriver

    bundle, spec = trained_bundle
    runtime = Runtime(bundle)
    commands = {"base_velocity": FORWARD}
    played: list = []  # play: the nominal robot (no randomisation, as the bridge) stepped in lockstep
    sim = SimDriver(spec, {"events": {}}, motor_order=GO2_MOTOR_NAMES)
    sim.set_command("base_velocity", FORWARD)
    in_play = runtime.run(sim, WALKING_S[1], commands, realtime=False, on_step=lambda i, s, c: played.append(s))
    seconds = 12.0  # of the wall clock: the 6 s of the robot's clock play runs, down to a real-time factor of 0.5
    with bridge_process(spec) as (proc, lines), robot_clock_recorder(sdk) as recorded:
        with Go2DdsDriver("lo", DOMAIN, state_timeout_s=10.0) as driver:
            over_dds = runtime.run(driver, seconds, commands)
        report = stop_bridge(proc, lines)
        stamps, velocities = recorded()
    walking = (stamps >= WALKING_S[0]) & (stamps < WALKING_S[1])
    covered = min(stamps[-1], WALKING_S[1]) - WALKING_S[0]
    v_play, v_dds = mean_velocity(played), velocities[walking].mean(axis=0)
    periods = round(seconds / 0.02)
    print(
        f"play: {v_play.round(3)}; over DDS: {v_dds.round(3)} over {covered:.2f} s of the robot's clock "
        f"({walking.sum()} readings); {over_dds.steps} of {periods} periods run, {over_dds.missed_deadlines} missed; "
        f"bridge: {report}"
    )
    assert not in_play.latched and not over_dds.latched, over_dds.latch_reason
    assert covered >= 1.0, (
        f"the simulated robot ran at {report['realtime_factor']:.2f} real time: {stamps[-1]:.1f} s of its clock in "
        f"{seconds:g} s, too few to measure its walk"
    )
    assert over_dds.steps >= 0.5 * periods and over_dds.missed_deadlines <= 0.5 * over_dds.steps
    for v in (v_play, v_dds):
        assert abs(v[0] - FORWARD[0]) <= 0.1 * FORWARD[0] and abs(v[1]) <= 0.1 * FORWARD[0], v
