"""``isaac-rl-workbench export RUN_DIR --deploy --bench``: the bundle a robot runs, and the policy's latency table;
``isaac-rl-workbench deploy BUNDLE``: a bad bundle is refused before a driver exists."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime
import pytest
import torch
from isaac.rl.workbench.deploy.bundle import load_bundle
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.frontends.cli_deploy import USER_ERRORS, add_parsers
from isaac.rl.workbench.workbench import Workbench

from ..deploy.synthetic_bundle import MOTOR_ORDER, linear_onnx, write_bundle


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory) -> Path:
    """An untrained cartpole run folder with one checkpoint (iteration 0)."""
    run = tmp_path_factory.mktemp("cli_deploy") / "run"
    wb = Workbench.new("cartpole", {"env.num_envs": 2}, run_dir=run)
    wb.build()
    wb.save_checkpoint()
    wb.close()
    return run


def _onnx_actions(model: Path, observations: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"obs": observations.astype(np.float32)})[0]


def test_export_deploy_bench_writes_the_bundle_and_its_latency(cartpole_run, tmp_path, capsys):
    out = tmp_path / "bundle"
    args = _parse(["export", str(cartpole_run), "--out", str(out), "--bench", "--threads", "1"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    for name in ("policy.onnx", "policy.pt", "deploy.json", "policy_static.onnx", "latency.json"):
        assert (out / name).is_file(), name
    bundle = load_bundle(out)
    assert bundle.task == "cartpole" and bundle.policy["obs_dim"] == 4 and bundle.safety.safe_stop == "damp"
    latency = json.loads((out / "latency.json").read_text())
    for name in ("onnxruntime", "torchscript", "onnx_int8"):
        assert latency[name]["median_us"] > 0 and latency[name]["p99_us"] >= latency[name]["median_us"]
        assert name in printed
    int8 = latency["onnx_int8"]  # quantised weights move the actions, a little; the table prints what the file holds
    assert 0 < int8["mean_abs_action_error"] <= int8["max_abs_action_error"] < 0.05, int8
    assert f"{int8['max_abs_action_error']:.2e} / {int8['mean_abs_action_error']:.2e}" in printed
    assert "median us" in printed and str(out / "latency.json") in printed


def test_export_takes_the_chosen_checkpoint_its_threads_and_folder_and_deploy_is_opt_in(
    cartpole_run, tmp_path, monkeypatch
):
    """``--checkpoint`` picks the policy exported (here one that always answers 0.25), ``--out`` where it goes,
    ``--threads`` torch's threads; without ``--deploy`` no bundle is written, with it the bundle is."""
    state = torch.load(sorted((cartpole_run / "checkpoints").glob("*.pt"))[-1], weights_only=False)
    state["actor_state_dict"]["mlp.4.weight"].zero_()  # the output layer: a constant action
    state["actor_state_dict"]["mlp.4.bias"].fill_(0.25)
    chosen = tmp_path / "constant.pt"
    torch.save(state, chosen)
    threads: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    observations = np.random.default_rng(0).normal(size=(16, 4))

    out = tmp_path / "chosen"
    args = _parse(["export", str(cartpole_run), "--checkpoint", str(chosen), "--out", str(out), "--threads", "3"])
    assert args.func(args) == 0
    assert threads == [3]
    assert not (out / "deploy.json").exists() and not (out / "policy_static.onnx").exists()
    np.testing.assert_allclose(_onnx_actions(out / "policy.onnx", observations), 0.25, atol=1e-6)

    deployed = tmp_path / "latest"
    args = _parse(["export", str(cartpole_run), "--out", str(deployed), "--deploy"])
    assert args.func(args) == 0
    assert (deployed / "deploy.json").is_file() and (deployed / "policy_static.onnx").is_file()
    latest_actions = _onnx_actions(deployed / "policy.onnx", observations)
    assert np.ptp(latest_actions) > 1e-3, "the run's own (latest) checkpoint: an untrained, varying policy"


def test_the_errors_export_names_are_exception_classes_where_it_says():
    for name in USER_ERRORS:
        module, _, qualname = name.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), qualname), ValueError), name


# -- deploy BUNDLE --robot sim|go2: a bad bundle ends in one line and exit 2, and no command reaches a driver -------
class RecordingRobot:
    """A driver for the synthetic bundle's joints in place of the simulator or the Go2; counts what it is sent."""

    made: list[RecordingRobot] = []

    def __init__(self, *args, **kwargs):
        self.motor_names, self.commands = MOTOR_ORDER, []
        RecordingRobot.made.append(self)

    def set_command(self, name, values) -> None:
        pass

    def read_state(self):
        from isaac.rl.workbench.deploy.driver import RobotState

        return RobotState(joint_pos=np.array([-0.8, 0.0, 0.1]), joint_vel=np.zeros(3))

    def write_command(self, command) -> None:
        self.commands.append(command)

    def metrics(self) -> dict:
        return {}

    def close(self) -> None:
        pass


@pytest.fixture
def robots(monkeypatch):
    """Both robots of ``deploy`` replaced by :class:`RecordingRobot` (the simulator is not even imported)."""
    from isaac.rl.workbench.deploy import unitree_go2

    RecordingRobot.made = []
    monkeypatch.setitem(
        sys.modules, "isaac.rl.workbench.sim2real.sim_driver", SimpleNamespace(SimDriver=RecordingRobot)
    )
    monkeypatch.setattr(unitree_go2, "Go2DdsDriver", RecordingRobot)
    return RecordingRobot.made


@pytest.fixture(scope="module")
def good_bundle(tmp_path_factory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("deploy") / "bundle").root


def _nan_token(text: str) -> str:
    return text.replace('"pos_limit_margin": 0.1', '"pos_limit_margin": NaN')


def _duplicate_joint(text: str) -> str:
    return text.replace('"ankle"\n    ],\n    "default_pos"', '"hip"\n    ],\n    "default_pos"')


def _string_gain(text: str) -> str:
    return text.replace('"stiffness": [\n      20.0', '"stiffness": [\n      "20"')


@pytest.mark.parametrize("robot", ["sim", "go2"])
@pytest.mark.parametrize(
    ("edit", "model", "words"),
    [
        (_nan_token, None, "'safety.pos_limit_margin' is NaN"),
        (_duplicate_joint, None, "'joints.names[2]' is \"hip\""),
        (_string_gain, None, "'joints.stiffness[0]' is \"20\", expected a number >= 0"),
        (None, b"", "policy.onnx: not a readable ONNX model"),
        (None, "random", "policy.onnx: not a readable ONNX model"),
        (None, "obs16", "its input 'obs' has shape ['batch', 16], but 'policy.obs_dim'"),
    ],
    ids=["nan", "duplicate-joint", "string", "empty-onnx", "random-onnx", "wrong-input-size"],
)
def test_deploy_with_a_bad_bundle_exits_2_with_one_line_and_sends_nothing(
    good_bundle, tmp_path, robots, capsys, robot, edit, model, words
):
    bundle = tmp_path / "bundle"
    shutil.copytree(good_bundle, bundle)
    if edit is not None:
        text = (bundle / "deploy.json").read_text()
        assert edit(text) != text, "the edit found nothing to change"
        (bundle / "deploy.json").write_text(edit(text))
    if model is not None:
        data = {"random": os.urandom(4096), "obs16": linear_onnx(16, 2)}.get(model, model)
        (bundle / "policy.onnx").write_bytes(data)
    code = main(["deploy", str(bundle), "--robot", robot, "--seconds", "0.1"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
    assert out == "" and robots == []  # no driver was made: nothing was sent


@pytest.mark.parametrize("robot", ["sim", "go2"])
def test_deploy_with_the_good_bundle_sends_its_commands(good_bundle, robots, capsys, robot):
    assert main(["deploy", str(good_bundle), "--robot", robot, "--seconds", "0.1"]) == 0
    assert len(robots) == 1 and len(robots[0].commands) >= 1
    assert "deploy:" in capsys.readouterr().out


@pytest.mark.parametrize("robot", ["sim", "go2"])
def test_deploy_with_a_non_finite_velocity_command_exits_2_before_the_first_command(good_bundle, robots, capsys, robot):
    with pytest.raises(SystemExit) as exit_info:
        main(["deploy", str(good_bundle), "--robot", robot, "--seconds", "0.1", "--command", "nan,0,0"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "argument --command: 'nan,0,0': expected vx,vy,wz (finite" in err, err
    assert robots == []  # refused with the arguments: no robot reached, nothing sent


def test_the_runtime_refuses_a_non_finite_operator_command_before_the_first_command(good_bundle, robots, capsys):
    """The same refusal one layer down, for a caller of the runtime that is not the command line."""
    from isaac.rl.workbench.deploy.observations import MissingStateError
    from isaac.rl.workbench.deploy.runtime import Runtime

    from ..deploy.synthetic_bundle import RecordingDriver

    runtime = Runtime(good_bundle)
    driver = RecordingDriver()
    with pytest.raises(MissingStateError, match=r"command 'base_velocity' is \[nan, 0.0, 0.0\], expected 3 finite"):
        runtime.run(driver, 0.1, {"base_velocity": [float("nan"), 0.0, 0.0]}, realtime=False)
    assert driver.commands == []
