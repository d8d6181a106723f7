"""System identification on the cart-pole: a trajectory recorded in the simulator with hidden joint values, written as
a ROS 2 bag (or a robot log) and read back, is fitted back to those values; bad input ends in one clear line.

The fitted parameters are the slider's friction loss, viscous damping and armature. Under effort commands on the
slider each leaves its own mark: friction a constant force against the motion, damping a force growing with speed,
armature one growing with acceleration; a multisine that speeds the cart up, slows it down and reverses it at several
rates separates the three. mass_scale and actuator_gain are left out: scaling every mass and the applied force
together (with friction, damping and armature) leaves the motion unchanged, so from efforts and positions only
their ratio is identifiable, and the gain trades off almost exactly against the slider's armature, friction and
damping (only the pole's coupling to the cart tells them apart). The hinge's values are left out as well: no effort
acts on it and in 2 s the cart's motion moves it too little to pin them down.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from isaac.rl.workbench.frontends.cli_sysid import add_parsers, main
from isaac.rl.workbench.sim2real.robot_data import (
    JointLog,
    RobotDataError,
    read_joint_log,
    resample,
    task_log,
    write_ros2_bag,
)
from isaac.rl.workbench.sim2real.sysid import (
    LogReplay,
    Parameter,
    SysidResult,
    SysidSettings,
    define_parameters,
)
from isaac.rl.workbench.sim2real.sysid_spec import fitted_spec_table
from isaac.rl.workbench.specs.loader import load_spec, spec_from_table

from .recording import multisine, record

HIDDEN = {"joint_friction": {"slider": 1.0}, "joint_damping": {"slider": 2.0}, "armature": {"slider": 0.5}}
"""The slider's true friction loss [N], viscous damping [N·s/m] and armature [kg]; the spec's are all 0."""
STEPS = 120  # 2 s at the cart-pole's 60 Hz control rate


@pytest.fixture(scope="module")
def spec():
    return load_spec("cartpole")


@pytest.fixture(scope="module")
def recorded(spec) -> JointLog:
    t = np.arange(STEPS) * spec.env.step_dt
    efforts = np.zeros((STEPS, 2))
    efforts[:, 0] = multisine(t, amplitude=12.0)
    return record(spec, HIDDEN, start=[0.0, 0.1], efforts=efforts)


@pytest.fixture(scope="module")
def bag(recorded, tmp_path_factory):
    return write_ros2_bag(tmp_path_factory.mktemp("bag") / "cartpole.mcap", recorded)


def sysid(*argv: str) -> int:
    return main([*map(str, argv)])


@pytest.mark.slow
def test_the_fit_finds_the_hidden_slider_values_in_a_ros2_bag_and_writes_a_spec_that_moves_like_the_robot(
    spec, recorded, bag, tmp_path
):
    back = read_joint_log(bag)
    assert back.joint_names == ["slider", "hinge"]
    np.testing.assert_allclose(back.joint_pos, recorded.joint_pos)
    np.testing.assert_allclose(back.commands["cmd_tau"], recorded.commands["cmd_tau"])

    out = tmp_path / "out"
    params = "joint_friction,joint_damping,armature"
    assert sysid("cartpole", "--data", bag, "--params", params, "--num-envs", 64, "--iterations", 12, "--out", out) == 0

    report = json.loads((out / "sysid.json").read_text())
    for name, per_joint in HIDDEN.items():
        fitted = report["parameters"][f"{name}[slider]"]["fitted"]
        assert fitted == pytest.approx(per_joint["slider"], rel=0.10), (name, report["parameters"])
    error = report["rms_joint_pos_error"]
    assert error["after"] < 0.1 * error["before"], error
    assert (out / "sysid.png").read_bytes()[:4] == b"\x89PNG"

    fitted_spec = load_spec(out / "cartpole_sysid.toml")
    assert fitted_spec.name == "cartpole_sysid"
    (group,) = [g for g in fitted_spec.actuators.values() if g.joints == ["slider"]]
    assert group.friction == pytest.approx(report["parameters"]["joint_friction[slider]"]["fitted"], rel=1e-4)
    assert group.viscous_friction == pytest.approx(report["parameters"]["joint_damping[slider]"]["fitted"], rel=1e-4)
    # the fitted spec's own physics, with no parameter changed, follows the recording as closely as the fit did
    log = task_log(recorded, fitted_spec.joint_names, fitted_spec.env.step_dt, "cmd_tau")
    replay = LogReplay(fitted_spec, log, num_envs=8, device="cpu", velocity_weight=0.05)
    _, rms, _, _ = replay.run([], torch.zeros(8, 0))
    assert float(rms[0]) < max(2 * error["after"], 1e-3)


def pd_cartpole(write_spec):
    """The cart-pole with its slider driven by position targets through PD gains kp 40, kd 4."""
    return load_spec(
        write_spec(
            replace={'type = "joint_effort"': 'type = "joint_position"', "scale = 20.0": "scale = 0.5"},
            append='[actuators.cart]\njoints = ["slider"]\nstiffness = 40.0\ndamping = 4.0\n',
        )
    )


def record_pd_log(spec, hidden: dict, path, late_steps: int = 0):
    """A robot log (.npz) of the slider following multisine targets with the log's PD gains and ``hidden`` values,
    its bus ``late_steps`` control periods late: each command reaches the motors that many periods after the log
    has it. The cart holds still for the first 0.1 s, as a robot holds its pose before the excitation starts: the
    commands the motors get before the log's first one are the log's first one (the open-loop pole amplifies any
    difference)."""
    t = np.arange(STEPS) * spec.env.step_dt
    targets = np.zeros((STEPS, 2))
    targets[:, 0] = multisine(t, amplitude=0.5) * np.clip((t - 0.1) / 0.5, 0.0, 1.0)
    log = record(spec, hidden, start=[0.0, 0.1], targets=targets)
    logged = np.concatenate([targets[late_steps:], np.repeat(targets[-1:], late_steps, axis=0)])
    no_hinge_command = np.where(np.arange(2) == 0, 1.0, np.nan)
    np.savez(
        path,
        joint_names=np.array(log.joint_names),
        t=log.t,
        joint_pos=log.joint_pos,
        joint_vel=log.joint_vel,
        cmd_q=logged * no_hinge_command,
        cmd_kp=np.tile([40.0, np.nan], (STEPS, 1)),
        cmd_kd=np.tile([4.0, np.nan], (STEPS, 1)),
    )
    return path


@pytest.mark.slow
def test_under_position_targets_the_fit_finds_the_actuator_gain_and_scales_the_spec_gains(write_spec, tmp_path):
    """The slider follows multisine targets through the PD gains of the log (kp 40, kd 4), which the robot's motor
    delivers at 0.7 of their value. With the masses and the joints' friction known, the gain sets how the cart lags
    its targets, so it alone is identifiable; the fitted spec carries the gains times the gain."""
    spec = pd_cartpole(write_spec)
    data = record_pd_log(spec, {"actuator_gain": 0.7}, tmp_path / "pd.npz")
    out = tmp_path / "out"
    argv = (spec.source, "--data", data, "--params", "actuator_gain", "--num-envs", 16, "--iterations", 6)
    assert sysid(*argv, "--out", out) == 0
    report = json.loads((out / "sysid.json").read_text())
    gain = report["parameters"]["actuator_gain"]["fitted"]
    assert gain == pytest.approx(0.7, rel=0.05)
    assert report["rms_joint_pos_error"]["after"] < 0.1 * report["rms_joint_pos_error"]["before"]
    cart = load_spec(out / "cartpole_sysid.toml").actuators["cart"]
    assert (cart.stiffness, cart.damping) == pytest.approx((40.0 * gain, 4.0 * gain), rel=1e-4)
    # the robot is sent the log's gains and delivers `gain` of them: its bundle sends the fitted ones over the gain
    assert load_spec(out / "cartpole_sysid.toml").deploy.motor_strength == pytest.approx(gain, rel=1e-4)


@pytest.mark.slow
def test_a_bus_one_period_late_is_found_beside_the_gain_and_written_as_the_specs_action_delay(write_spec, tmp_path):
    """The same weak motors behind a bus that delivers each command one control period after the log has it: the
    lag looks like a weaker gain until latency is fitted too. Both come back, and the fitted spec delays its actions
    by one step."""
    spec = pd_cartpole(write_spec)
    data = record_pd_log(spec, {"actuator_gain": 0.7}, tmp_path / "late.npz", late_steps=1)
    out = tmp_path / "out"
    argv = (spec.source, "--data", data, "--params", "actuator_gain,latency", "--num-envs", 32, "--iterations", 10)
    assert sysid(*argv, "--out", out) == 0
    report = json.loads((out / "sysid.json").read_text())
    fitted = {name: report["parameters"][name]["fitted"] for name in ("actuator_gain", "latency")}
    assert fitted["latency"] == pytest.approx(spec.env.step_dt, rel=0.10), fitted
    assert fitted["actuator_gain"] == pytest.approx(0.7, rel=0.05), fitted
    assert report["rms_joint_pos_error"]["after"] < 0.1 * report["rms_joint_pos_error"]["before"]
    assert load_spec(out / "cartpole_sysid.toml").actions.delay_steps == (1, 1)


def test_a_robot_log_npz_is_read_and_fitted(spec, recorded, tmp_path):
    log_file = tmp_path / "robot_log.npz"
    steps = len(recorded.t)
    zeros = np.zeros((steps, 2))
    np.savez(
        log_file,
        format=np.array("isaac-rl-workbench-log/1"),
        control_dt=np.array(spec.env.step_dt),
        joint_names=np.array(recorded.joint_names),
        t=recorded.t + 12.5,  # a run's clock: the log starts where the reader says 0
        joint_pos=recorded.joint_pos,
        joint_vel=recorded.joint_vel,
        cmd_q=zeros,
        cmd_dq=zeros,
        cmd_kp=zeros,
        cmd_kd=zeros,
        cmd_tau=recorded.commands["cmd_tau"],
        base_quat_xyzw=np.tile([0.0, 0.0, 0.0, 1.0], (steps, 1)),
        base_ang_vel_b=np.zeros((steps, 3)),
    )
    back = read_joint_log(log_file)
    np.testing.assert_allclose(back.t, recorded.t, atol=1e-9)
    np.testing.assert_allclose(back.joint_vel, recorded.joint_vel)
    np.testing.assert_allclose(back.commands["cmd_tau"], recorded.commands["cmd_tau"])
    plain = tmp_path / "plain.npz"  # only what a replay needs
    np.savez(
        plain,
        joint_names=np.array(["hinge", "slider"]),
        joint_pos=recorded.joint_pos[:, ::-1],
        control_dt=spec.env.step_dt,
        cmd_tau=recorded.commands["cmd_tau"][:, ::-1],
    )
    on_grid = task_log(read_joint_log(plain), spec.joint_names, spec.env.step_dt, "cmd_tau")
    np.testing.assert_allclose(on_grid.joint_pos, recorded.joint_pos, atol=1e-9)

    out = tmp_path / "out"
    argv = ("cartpole", "--data", log_file, "--params", "joint_damping", "--num-envs", 8, "--iterations", 1)
    assert sysid(*argv, "--out", out) == 0
    report = json.loads((out / "sysid.json").read_text())
    assert report["num_envs"] == 8 and report["control_steps"] == steps
    assert report["rms_joint_pos_error"]["after"] < report["rms_joint_pos_error"]["before"]


def test_bad_input_ends_with_one_line_naming_what_is_wrong(spec, recorded, bag, tmp_path, capsys):
    assert sysid("cartpole", "--data", bag, "--params", "joint_friction,frictoin") == 2
    err = capsys.readouterr().err
    assert "frictoin" in err and "joint_damping" in err and "actuator_gain" in err

    other_topics = write_ros2_bag(tmp_path / "other.mcap", recorded, command_topic="/cmd")
    assert sysid("cartpole", "--data", other_topics, "--params", "armature") == 2
    err = capsys.readouterr().err
    assert "/joint_commands" in err and "/cmd" in err
    assert (
        sysid(
            "cartpole",
            "--data",
            other_topics,
            "--params",
            "armature",
            "--command-topic",
            "/cmd",
            "--out",
            tmp_path / "no",
            "--bounds",
            "armature=0:1",
        )
        == 2
    )
    assert "armature=0.0:1.0" in capsys.readouterr().err and not (tmp_path / "no").exists()

    slider_only = replace(
        recorded,
        joint_names=["slider"],
        joint_pos=recorded.joint_pos[:, :1],
        joint_vel=recorded.joint_vel[:, :1],
        commands={"cmd_tau": recorded.commands["cmd_tau"][:, :1]},
    )
    assert (
        sysid("cartpole", "--data", write_ros2_bag(tmp_path / "slider.mcap", slider_only), "--params", "armature") == 2
    )
    assert "hinge" in capsys.readouterr().err

    short = replace(
        recorded,
        t=recorded.t[:5],
        joint_pos=recorded.joint_pos[:5],
        joint_vel=recorded.joint_vel[:5],
        command_t=recorded.command_t[:5],
        commands={"cmd_tau": recorded.commands["cmd_tau"][:5]},
    )
    assert sysid("cartpole", "--data", write_ros2_bag(tmp_path / "short.mcap", short), "--params", "armature") == 2
    assert "at least 10" in capsys.readouterr().err

    with pytest.raises(RobotDataError, match="no such file"):
        read_joint_log(tmp_path / "missing.mcap")


def test_resampling_holds_commands_and_interpolates_readings():
    log = JointLog(
        joint_names=["a"],
        t=np.array([0.0, 0.012, 0.03, 0.05]),
        joint_pos=np.array([[0.0], [0.12], [0.3], [0.5]]),  # 10 m/s throughout
        joint_vel=np.full((4, 1), np.nan),
        command_t=np.array([0.0, 0.021]),
        commands={"cmd_tau": np.array([[1.0], [2.0]])},
    )
    grid = resample(log, dt=0.01, min_steps=2)
    np.testing.assert_allclose(grid.t, [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    np.testing.assert_allclose(grid.joint_pos[:, 0], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-12)
    np.testing.assert_allclose(grid.joint_vel[:, 0], 10.0)
    np.testing.assert_allclose(grid.commands["cmd_tau"][:, 0], [1, 1, 1, 2, 2, 2])


def test_the_fitted_spec_splits_a_shared_actuator_group_and_carries_gain_and_mass(spec, write_spec):
    shared = load_spec(write_spec(append='[actuators.all]\njoints = [".*"]\narmature = 0.01\n'))
    parameters = [
        Parameter("joint_friction", "joint_friction[slider]", ("slider",), (0,), 0.0, 0.01, 10.0),
        Parameter("actuator_gain", "actuator_gain", (), (), 1.0, 0.5, 2.0),
        Parameter("mass_scale", "mass_scale", (), (), 1.0, 0.5, 2.0),
    ]
    result = SysidResult(
        parameters=parameters,
        fitted=np.array([1.25, 0.8, 1.1]),
        spread=np.zeros(3),
        rms_before=1.0,
        rms_after=0.1,
        rms_before_per_joint=np.ones(2),
        rms_after_per_joint=np.ones(2),
        history=[],
        t=np.zeros(2),
        joint_names=shared.joint_names,
        recorded=np.zeros((2, 2)),
        simulated_nominal=np.zeros((2, 2)),
        simulated_fitted=np.zeros((2, 2)),
        stiffness=np.zeros(2),
        damping=np.zeros(2),
        gains_from_log=False,
        num_envs=8,
        iterations=1,
        build_seconds=0.0,
        fit_seconds=0.0,
    )
    fitted = spec_from_table(fitted_spec_table(shared, result), shared.source)
    groups = {tuple(g.joints): g for g in fitted.actuators.values()}
    assert groups[("slider",)].friction == 1.25 and groups[("slider",)].armature == 0.01
    assert groups[("hinge",)].friction is None and groups[("hinge",)].armature == 0.01
    assert fitted.actions.scale == pytest.approx(0.8 * shared.actions.scale)
    (event,) = [e for e in fitted.events.values() if e.func_name == "randomize_body_mass"]
    assert event.mode == "startup" and event.params["mass_range"] == [1.1, 1.1]


def test_default_bounds_bracket_the_spec_and_parameters_are_listed_in_the_help(spec, recorded):
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    help_text = parser._subparsers._group_actions[0].choices["sysid"].format_help()
    for name in ("joint_friction", "joint_damping", "armature", "mass_scale", "actuator_gain"):
        assert name in help_text
    log = task_log(recorded, spec.joint_names, spec.env.step_dt, "cmd_tau")
    replay = LogReplay(spec, log, num_envs=8, device="cpu", velocity_weight=0.05)
    settings = SysidSettings(params=["joint_friction", "joint_damping", "armature", "mass_scale"])
    bounds = {p.label: (p.low, p.high) for p in define_parameters(settings, spec, replay)}
    for name, per_joint in HIDDEN.items():
        low, high = bounds[f"{name}[slider]"]
        assert low < per_joint["slider"] < high and high / low == pytest.approx(1000)
    assert bounds["mass_scale"] == (0.5, 2.0)
    assert math.isfinite(sum(high for _, high in bounds.values()))
