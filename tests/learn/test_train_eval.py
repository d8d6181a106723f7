"""Evaluation during training, the best checkpoint and early stop ([train]), on the CPU with cart-pole: the rows a
user reads, the evaluation envs kept out of the learner, best.pt, the early stop's reason and exit code,
a bad stop_when refused, a resume after an early stop, and the '-' return explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.learn.curves import no_episode_note
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError
from isaac.rl.workbench.workbench import Workbench

SMALL = {"env.num_envs": 8, "ppo.max_iterations": 4, "ppo.save_interval": 1}
SUCCESS = {"metrics.success": {"func": "is_alive"}}  # a success flag: evaluation on by default


def rows_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def train(run_dir: Path, overrides: dict) -> Workbench:
    wb = Workbench.new("cartpole", {**SMALL, **overrides}, run_dir)
    wb.build()
    while not wb.done:
        wb.train_step()
    wb.finish()
    return wb


def test_evaluation_envs_step_beside_training_and_add_their_keys_every_k_iterations(tmp_path):
    wb = train(tmp_path / "on", {"train.eval_every": 2, "train.eval_episodes": 4, **SUCCESS})
    on = rows_of(tmp_path / "on")
    evaluated = [row["iteration"] for row in on if "eval/episodes" in row]
    assert evaluated == [2, 4]
    ended = [row for row in on if row.get("eval/episodes")]
    assert ended, "no evaluation episode ended in 4 iterations of cart-pole"
    for row in ended:
        for key in ("eval/mean_reward", "eval/mean_episode_length", "eval/success"):
            assert key in row, key
    # 4 episodes of up to 300 steps in 2 iterations of 16 steps: 38 evaluation envs after the 8 training envs
    assert wb.eval_envs == 38 and wb.env.num_envs == 8 + 38
    assert wb.trainer.alg.storage.num_envs == 8, "the learner trains on the training envs only"
    assert on[-1]["total_env_steps"] == 4 * 16 * 8, "env-steps count the training envs"
    assert wb.monitor.best_key == "eval/success"


def test_without_evaluation_no_envs_are_added(tmp_path):
    wb = train(tmp_path / "off", {"train.eval_every": 0, **SUCCESS})
    assert wb.eval_envs == 0 and wb.env.num_envs == 8
    assert not any(key.startswith("eval/") for row in rows_of(tmp_path / "off") for key in row)


def test_success_metric_turns_evaluation_on_by_default():
    assert load_spec("cartpole").train.eval_every == 0
    with_success = load_spec("cartpole", {"metrics.success.func": "is_alive"}).train
    assert with_success.eval_every > 0 and with_success.best == "eval/success"


def test_best_checkpoint_holds_the_policy_of_the_best_row(tmp_path):
    wb = train(tmp_path / "run", {"train.eval_every": 1, "train.eval_episodes": 4})
    rows = [row for row in rows_of(tmp_path / "run") if "eval/mean_reward" in row]
    best_row = max(rows, key=lambda row: row["eval/mean_reward"])
    best = torch.load(wb.monitor.best_path, weights_only=True)
    assert best["infos"]["best_key"] == "eval/mean_reward"
    assert best["infos"]["best_iteration"] == best_row["iteration"] == best["iter"]
    assert best["infos"]["best_value"] == pytest.approx(best_row["eval/mean_reward"])
    same = torch.load(wb.run.checkpoint_path(best_row["iteration"]), weights_only=True)
    for name, tensor in same["actor_state_dict"].items():
        assert torch.equal(best["actor_state_dict"][name], tensor), name


def test_stop_when_ends_the_run_early_with_its_reason(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "cartpole", "--run-dir", str(run), "--num-envs", "8", "--max-iterations", "10"]
    assert main([*args, "--set", 'train.stop_when="iteration >= 2"', "train.stop_patience=2"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    reason = "iteration >= 2 held for 2 iterations at iteration 3"
    assert f"stopped early: {reason}" in last, last
    rows = rows_of(run)
    assert rows[-1]["iteration"] == 3 and rows[-1]["stopped"] == reason
    assert (run / "checkpoints" / "model_000003.pt").is_file()

    assert main(["train", "--resume", str(run)]) == 0, "a resume with the same condition has nothing to do"
    out = capsys.readouterr().out
    assert out.startswith("nothing to do") and reason in out and "train.stop_when" in out
    assert rows_of(run) == rows

    assert main(["train", "--resume", str(run), "--max-iterations", "4", "--set", 'train.stop_when=""']) == 0
    assert [row["iteration"] for row in rows_of(run)] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("stop_when", "problem"),
    [
        ("eval/success => 0.95", "expected KEY OP NUMBER"),
        ("mean_reward == 4", "expected KEY OP NUMBER"),
        ("mean_reward >= high", "expected KEY OP NUMBER"),
        ("mean_rewrd >= 4", "'mean_rewrd' is not a logged key"),
        ("eval/mean_reward >= 4", "evaluation is off"),
    ],
)
def test_a_bad_stop_when_is_refused_naming_the_key(tmp_path, capsys, stop_when, problem):
    run = tmp_path / "run"
    assert main(["train", "cartpole", "--run-dir", str(run), "--set", f"train.stop_when={json.dumps(stop_when)}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.stop_when" in err[0] and problem in err[0], err
    assert not run.exists(), "nothing written"
    with pytest.raises(SpecError) as caught:
        load_spec("cartpole", {"train.stop_when": stop_when})
    assert caught.value.key == "train.stop_when"


def test_a_run_shorter_than_an_episode_says_why_its_return_is_missing(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cartpole", "--run-dir", str(run), "--num-envs", "8", "--max-iterations", "1"]) == 0
    first = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("it "))
    assert "return -: no whole episode ended yet (episodes last up to 300 steps, an iteration is 16)" in first
    assert "No whole episode ended in these 1 iterations" in no_episode_note(rows_of(run))
    assert no_episode_note([{"iteration": 1, "mean_reward": 1.0}]) == ""
