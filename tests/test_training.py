"""End to end on the CPU: cartpole learns to balance; the run folder, resume, Ctrl-C, play, record and export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.frontends.cli import main
from pxr import Usd, UsdGeom

pytestmark = pytest.mark.slow
BALANCED = 0.9  # share of the 300-step episode a balancing policy must survive


def last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One cartpole run of 100 iterations shared by the tests below: (run folder, last printed line)."""
    run_dir = tmp_path_factory.mktemp("runs") / "cartpole"
    from contextlib import redirect_stdout
    from io import StringIO

    out = StringIO()
    with redirect_stdout(out):
        assert main(["train", "cartpole", "--run-dir", str(run_dir), "--max-iterations", "100"]) == 0
    return run_dir, out.getvalue().strip().splitlines()


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_cartpole_balances(trained_run):
    run_dir, lines = trained_run
    last = lines[-1]
    assert "mean episode length" in last and str(run_dir) in last
    length = float(last.split("mean episode length ")[1].split(" /")[0])
    assert length >= BALANCED * 300, last


def test_run_folder_holds_what_a_user_looks_at(trained_run):
    run_dir, lines = trained_run
    rows = read_metrics(run_dir)
    assert [r["iteration"] for r in rows] == list(range(1, 101))
    for key in ("mean_reward", "mean_episode_length", "env_steps_per_s", "reward/alive", "reward/pole_pos"):
        assert key in rows[-1], key
    assert rows[-1]["mean_episode_length"] > rows[0]["mean_episode_length"]
    assert (run_dir / "spec.toml").is_file() and (run_dir / "curves.png").stat().st_size > 10_000
    assert list(run_dir.glob("events.out.tfevents.*")), "TensorBoard events"
    saved = sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt"))
    assert saved == ["best.pt", "model_000050.pt", "model_000100.pt"], "the best policy and every 50th"
    assert any(line.startswith("it    10/100 |") for line in lines), "one progress line per iteration"


def test_play_reports_and_records_usd(trained_run, capfd, tmp_path):
    run_dir, _ = trained_run
    out = tmp_path / "rollout.usda"
    assert main(["play", str(run_dir), "--episodes", "8", "--num-envs", "4", "--record", str(out)]) == 0
    line, err = capfd.readouterr()
    usd_warnings = [w for w in err.splitlines() if "Warning" in w and ("usda" in w or "asset" in w.lower())]
    assert not usd_warnings, usd_warnings
    length = float(line.split("mean episode length ")[1].split(" /")[0])
    assert length >= BALANCED * 300, line
    stage = Usd.Stage.Open(str(out))
    assert stage.GetEndTimeCode() >= BALANCED * 300 - 1
    pole = stage.GetPrimAtPath("/World/env_0/pole")
    assert pole.IsValid() and len(UsdGeom.Xformable(pole).GetTimeSamples()) >= BALANCED * 300


def test_export_parity(trained_run, capsys):
    run_dir, _ = trained_run
    assert main(["export", str(run_dir)]) == 0
    report = json.loads((run_dir / "export" / "parity.json").read_text())
    assert report["max_abs_diff_onnx"] <= 1e-5 and report["max_abs_diff_torchscript"] <= 1e-5
    assert report["num_observations"] >= 1000 and report["obs_dim"] == 4 and report["num_actions"] == 1
    policy = torch.jit.load(str(run_dir / "export" / "policy.pt"))
    assert policy(torch.zeros(3, 4)).shape == (3, 1)


def test_resume_continues_iterations_optimizer_and_normaliser(tmp_path, capsys):
    run_dir = tmp_path / "run"
    FIRST = 60  # iterations before the resume  # noqa: N806
    # 256 envs: the normalised cart-pole balances by then whatever the random stream (64 envs: on some seeds only)
    common = ["--run-dir", str(run_dir), "--num-envs", "256"]
    spec_args = ["train", "cartpole", *common, "--max-iterations", str(FIRST)]
    from isaac.rl.workbench.specs.loader import load_spec

    # the observation normaliser is part of what must survive a resume
    spec_path = tmp_path / "cartpole_norm.toml"
    text = Path(load_spec("cartpole").source).read_text()
    spec_path.write_text(
        text.replace('"../assets', f'"{Path(load_spec("cartpole").source).parent}/../assets').replace(
            "[ppo.actor]\n", "[ppo.actor]\nobs_normalization = true\n"
        )
    )
    spec_args[1] = str(spec_path)
    assert main(spec_args) == 0
    before = read_metrics(run_dir)
    checkpoint = torch.load(run_dir / "checkpoints" / f"model_{FIRST:06d}.pt", weights_only=True)
    assert checkpoint["iter"] == FIRST
    assert "obs_normalizer._mean" in checkpoint["actor_state_dict"]

    # what a resume restores: networks with the observation normaliser, Adam's moments and step, learning rate
    from isaac.rl.workbench.workbench import Workbench

    wb = Workbench.open(run_dir)
    wb.build(resume=True)
    assert wb.iteration == FIRST
    actor_state = wb.trainer.alg.get_policy().state_dict()
    for key, value in checkpoint["actor_state_dict"].items():
        assert torch.equal(actor_state[key].cpu(), value.cpu()), key
    saved_opt, loaded_opt = checkpoint["optimizer_state_dict"], wb.trainer.alg.optimizer.state_dict()
    assert loaded_opt["param_groups"][0]["lr"] == saved_opt["param_groups"][0]["lr"] == wb.trainer.alg.learning_rate
    for index, state in saved_opt["state"].items():
        assert torch.equal(loaded_opt["state"][index]["exp_avg"], state["exp_avg"])
        assert float(loaded_opt["state"][index]["step"]) == float(state["step"]) > 0
    wb.close()  # gives the run folder back: the resume below is its only writer
    del wb

    assert main(["train", "--resume", str(run_dir), "--max-iterations", str(FIRST + 25)]) == 0
    out = capsys.readouterr().out
    assert f"resuming at iteration {FIRST} of {FIRST + 25}" in out
    after = read_metrics(run_dir)
    assert [r["iteration"] for r in after] == list(range(1, FIRST + 26))
    resumed = after[FIRST:]
    assert resumed[0]["total_env_steps"] == before[-1]["total_env_steps"] + 16 * 256
    assert resumed[0]["train_seconds"] > before[-1]["train_seconds"], "training time continues"
    # the episodes running at a resume start at spread lengths and are not reported; the first full episodes of a
    # balancing policy end 300 steps (19 iterations of 16 steps) later, and report what it did before the resume
    reported = [r for r in resumed if "mean_episode_length" in r]
    assert reported and reported[0]["iteration"] <= FIRST + 20, [r.get("episodes") for r in resumed]
    # short (failed) episodes are reported first; from 20 iterations on, episodes of every length have ended
    steady = [r for r in reported if r["iteration"] > FIRST + 19]
    last_before = sum(r["mean_episode_length"] for r in before[-3:]) / 3
    first_after = sum(r["mean_episode_length"] for r in steady[:3]) / len(steady[:3])
    assert first_after >= 0.9 * last_before, (last_before, first_after)
    assert first_after >= BALANCED * 300, "a resumed balancing policy still balances"
    first_return = steady[0]["mean_reward"]
    assert first_return >= 0.9 * before[-1]["mean_reward"], "the return is a full episode's, not a fraction"


def test_ctrl_c_saves_and_resume_picks_up(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "isaac.rl.workbench.frontends.cli",
        "train",
        "cartpole",
        "--run-dir",
        str(run_dir),
        "--max-iterations",
        "100000",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metrics = run_dir / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < 5):
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    try:
        output, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"training did not stop within 120 s of Ctrl-C:\n{output[-3000:]}")
    assert proc.returncode == 130, output
    assert "Traceback" not in output and "resume with" in output
    done = len(read_metrics(run_dir))
    checkpoint = torch.load(run_dir / "checkpoints" / f"model_{done:06d}.pt", weights_only=True)
    assert checkpoint["iter"] == done
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "isaac.rl.workbench.frontends.cli",
            "train",
            "--resume",
            str(run_dir),
            "--max-iterations",
            str(done + 2),
            "--eval-episodes",
            "4",
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [r["iteration"] for r in read_metrics(run_dir)] == list(range(1, done + 3))


def test_bf16_precision_still_balances(tmp_path, capsys):
    """bf16 autocast of the actor and critic (ppo.precision) must not cost the result."""
    run_dir = tmp_path / "bf16"
    args = [
        "train",
        "cartpole",
        "--run-dir",
        str(run_dir),
        "--max-iterations",
        "100",
        "--set",
        "ppo.precision=bf16",
    ]
    assert main(args) == 0
    line = last_line(capsys)
    assert float(line.split("mean episode length ")[1].split(" /")[0]) >= BALANCED * 300, line
    assert 'precision = "bf16"' in (run_dir / "spec.toml").read_text()


def test_compile_notice_names_the_mode_until_the_first_iteration(tmp_path):
    """The line `train` and the panels show when the first iteration compiles the update (on CUDA). On the CPU the
    learner stays eager, so the mode is set here as ``GraphedPPO.compile`` sets it on CUDA."""
    from isaac.rl.workbench.workbench import Workbench

    wb = Workbench.new("cartpole", {"env.num_envs": 4, "ppo.torch_compile_mode": "default"}, tmp_path / "run", "cpu")
    wb.build()
    assert wb.trainer.alg.compile_mode is None and wb.compile_notice is None  # the CPU stays eager
    wb.trainer.alg.compile_mode = "default"
    assert "torch.compile (default)" in wb.compile_notice and "first iteration" in wb.compile_notice
    wb.train_step()
    assert wb.compile_notice is None
    wb.finish()
