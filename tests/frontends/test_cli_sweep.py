"""``isaac-rl-workbench sweep``: a bad ``--param`` is one line and exit 2 with nothing written; a real cart-pole sweep
(each trial a ``train`` process) with one trial that diverges records it as failed, goes on, writes ``results.csv``
and a ``best.toml`` that loads, and ``--resume`` continues the same study."""

from __future__ import annotations

import csv
import math

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import load_spec

LR = "ppo.algorithm.learning_rate"
# a value-loss coefficient of 1e40 overflows float32: the PPO update makes the policy NaN and train exits 3
DIVERGES = "ppo.algorithm.value_loss_coef=choice:1.0,1e40"
# with this sampler seed (Optuna 5.1's TPE, its first trials drawn at random) the 3 trials draw 1.0, 1e40, 1.0
SEED = "3"


@pytest.mark.parametrize(
    ("param", "named"),
    [
        (f"{LR[:-1]}=log:1e-4:1e-2", "ppo.algorithm.learning_rat"),  # no such key
        (f"{LR}=log:0:1e-2", "log:0:1e-2"),  # a log space from 0
        (f"{LR}=1e-2:1e-4", "1e-2:1e-4"),  # LOW > HIGH
        (f"{LR}=choice:1e-3,-1.0", "-1.0"),  # a choice the spec refuses (learning_rate > 0)
        ("rewards.alive.weight=int:x:3", "int:x:3"),
        (LR, LR),  # no space
    ],
)
def test_a_bad_param_is_one_line_naming_it_and_nothing_is_written(tmp_path, capsys, param, named):
    out = tmp_path / "sweep"
    assert main(["sweep", "cartpole", "--param", param, "--trials", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --param") and named in err and "\n" not in err
    assert not out.exists()


def test_resume_of_a_folder_without_a_sweep_is_refused(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert (
        main(["sweep", "cartpole", "--param", f"{LR}=log:1e-4:1e-2", "--trials", "3", "--out", str(out), "--resume"])
        == 2
    )
    assert "--resume" in capsys.readouterr().err and not out.exists()


def _sweep_args(out) -> list[str]:
    args = ["sweep", "cartpole", "--param", f"{LR}=log:1e-4:1e-2", "--param", DIVERGES, "--num-envs", "8"]
    return [*args, "--max-iterations", "2", "--seed", SEED, "--out", str(out)]


def _results(out) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_failing_trial_is_recorded_and_the_best_spec_loads(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main([*_sweep_args(out), "--trials", "2"]) == 0
    printed = capsys.readouterr().out
    assert "trial 001 failed (2/2): exit code 3" in printed and "NaN" in printed
    done, failed = _results(out)
    assert (done["state"], failed["state"], failed["ppo.algorithm.value_loss_coef"]) == ("done", "failed", "1e40")
    assert math.isfinite(float(done["objective"])) and failed["objective"] == ""
    spec = load_spec(out / "best.toml")
    assert spec.ppo["algorithm"]["learning_rate"] == float(done[LR]) and spec.env.num_envs == 8


@pytest.mark.slow
def test_a_sweep_with_a_failing_trial_finishes_and_resumes(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = _sweep_args(out)
    assert main([*args, "--trials", "2"]) == 0
    first = capsys.readouterr().out
    assert "trial 000 done (1/2): objective" in first
    assert "trial 001 failed (2/2): exit code 3" in first and "NaN" in first

    assert main([*args, "--trials", "2"]) == 2  # the folder holds a sweep: --resume or another --out
    assert "--resume" in capsys.readouterr().err

    assert main([*args, "--trials", "3", "--resume"]) == 0
    assert "trial 002 done (3/3)" in capsys.readouterr().out
    rows = _results(out)
    assert [r["trial"] for r in rows] == ["0", "1", "2"]
    assert [r["state"] for r in rows] == ["done", "failed", "done"]
    assert rows[1]["ppo.algorithm.value_loss_coef"] == "1e40" and rows[1]["objective"] == ""
    assert "exit code 3" in rows[1]["reason"]
    objectives = [float(r["objective"]) for r in rows if r["state"] == "done"]
    assert all(math.isfinite(v) for v in objectives)
    assert all((out / r["run_folder"].split("/")[-1] / "metrics.jsonl").is_file() for r in rows if r["state"] == "done")

    best = rows[objectives.index(max(objectives)) * 2]  # the done rows are trials 0 and 2
    spec = load_spec(out / "best.toml")
    assert spec.ppo["algorithm"]["learning_rate"] == float(best[LR])
    assert spec.ppo["algorithm"]["value_loss_coef"] == 1.0 and spec.env.num_envs == 8
    assert (out / "optuna.db").is_file()
