"""The Unitree Go2 over DDS on the loopback interface: the driver (``deploy/unitree_go2.py``) against the Newton
bridge (``sim2real/go2_bridge.py``), which answers the Go2's topics as the robot does.

Needs the ``go2`` extra (Cyclone DDS and unitree_sdk2py; ``bash scripts/setup.sh`` installs it): without it these
tests skip, and fail under CI. Each test process uses a DDS domain of its own, so that runs side by side on one host
do not hear each other.
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
        for _ in range(50):
            driver.write_command(command)
            time.sleep(0.02)
        sent, state_msg = latest(commands_on_wire), latest(states_on_wire)
        reading = driver.read_state()

        # the LowCmd_ as Unitree's examples build it, with the CRC the robot checks
        assert list(sent.head) == [0xFE, 0xEF] and sent.level_flag == 0xFF
        assert sent.crc == sdk.crc.Crc(sent)
        assert [m.mode for m in sent.motor_cmd] == [1] * 12 + [0] * (NUM_MOTOR_SLOTS - 12)
        assert all(m.q == pytest.approx(POS_STOP_F, rel=1e-6) and m.kp == 0.0 for m in sent.motor_cmd[12:])
        assert sent.motor_cmd[UNITREE_FR_CALF].q == pytest.approx(-2.2) and sent.motor_cmd[0].kp == 25.0
        assert bridge.commands >= 40 and bridge.bad_crc == 0

        # FR_calf moved in the simulation (looked up by name there), no other joint did
        sim = dict(zip(bridge.spec.joint_names, bridge.backend.dof_positions[0].tolist(), strict=True))
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
            forger.write(forged)
            time.sleep(0.02)
        assert bridge.bad_crc >= 20
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
    assert 120 <= steps <= 150 and list(data["joint_names"]) == GO2_MOTOR_NAMES  # an overrun period is skipped
    assert np.all(data["cmd_kp"] == 25.0)  # the trained gains (and the stop's hold_kp) reached the wire
    assert np.abs(data["joint_pos"] - data["joint_pos"][0]).max() > 0.05  # states came back from a moving robot
    assert report["commands"] >= 0.9 * steps and report["bad_crc"] == 0 and report["physics_steps"] > 0
    assert f"deploy: {steps} steps" in out

    # the same bundle on the simulator in-process (lockstep: every period runs)
    args = parser.parse_args(
        ["deploy", str(untrained_bundle), "--robot", "sim", "--seconds", "1", "--command", "0.5,0,0"]
    )
    assert args.func(args) in (0, 1)
    out = capsys.readouterr().out
    assert "deploy: 50 steps, 0 missed deadlines" in out and "deploy: metric/vel_error = " in out


@pytest.mark.slow
def test_killing_the_bridge_latches_the_safe_stop_within_3_periods(untrained_bundle):
    from isaac.rl.workbench.deploy.runtime import Runtime

    runtime = Runtime(untrained_bundle)
    fresh: list[bool] = []
    with bridge_process("go2_flat") as (proc, _), Go2DdsDriver("lo", DOMAIN, state_timeout_s=10.0) as driver:

        def on_step(step, state, command):
            fresh.append(state.fresh)
            if step == 40:  # during the soft start: the robot is still on its feet
                os.kill(proc.pid, signal.SIGKILL)

        report = runtime.run(driver, 3.0, {"base_velocity": FORWARD}, on_step=on_step)
    last_fresh = max(i for i, f in enumerate(fresh) if f)
    print(f"last fresh state at step {last_fresh}, stop latched at step {report.latch_step}: {report.latch_reason}")
    assert report.latched and "missed" in report.latch_reason, report.latch_reason
    assert 40 <= last_fresh < report.latch_step <= last_fresh + 3


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
    (run / "bundle" / "deploy.json").write_text(json.dumps(manifest, indent=2))
    return run / "bundle", run / "spec.toml"


def mean_velocity(states: list) -> np.ndarray:
    """Mean base velocity (vx, vy, wz) over the readings after the first 2 s (soft start and first steps)."""
    return np.mean([[*s.base_lin_vel_b[:2], s.base_ang_vel_b[2]] for s in states[100:]], axis=0)


@pytest.mark.slow
def test_the_trained_policy_walks_over_dds_as_in_play(trained_bundle):
    from isaac.rl.workbench.deploy.runtime import Runtime
    from isaac.rl.workbench.sim2real.sim_driver import SimDriver

    bundle, spec = trained_bundle
    runtime = Runtime(bundle)
    commands = {"base_velocity": FORWARD}
    played: list = []  # play: the nominal robot (no randomisation, as the bridge) stepped in lockstep
    sim = SimDriver(spec, {"events": {}}, motor_order=GO2_MOTOR_NAMES)
    sim.set_command("base_velocity", FORWARD)
    in_play = runtime.run(sim, 6.0, commands, realtime=False, on_step=lambda i, s, c: played.append(s))
    deployed: list = []
    with bridge_process(spec) as (proc, lines):
        with Go2DdsDriver("lo", DOMAIN, state_timeout_s=10.0) as driver:
            over_dds = runtime.run(driver, 6.0, commands, on_step=lambda i, s, c: deployed.append(s))
        report = stop_bridge(proc, lines)
    v_play, v_dds = mean_velocity(played), mean_velocity(deployed)
    print(f"play: {v_play.round(3)}; over DDS: {v_dds.round(3)}; bridge: {report}")
    assert not in_play.latched and not over_dds.latched, over_dds.latch_reason
    assert over_dds.steps >= 280 and over_dds.missed_deadlines < 30  # a period that overran is skipped, and missed
    for v in (v_play, v_dds):
        assert abs(v[0] - FORWARD[0]) <= 0.1 * FORWARD[0] and abs(v[1]) <= 0.1 * FORWARD[0], v
