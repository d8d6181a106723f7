"""``isaac-rl-workbench runs`` on run folders ``train`` wrote (two tiny cart-pole runs, trained once for the module):
the table and JSON (newest first, status, iterations, what differs from the task spec), ``runs diff``, ``runs delete``
to the trash and ``runs restore``; bad input is one line and exit 2, with nothing moved."""

from __future__ import annotations

import json

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.utils.folder_lock import FolderLock

TINY = ["--num-envs", "8", "--max-iterations", "2", "--eval-episodes", "1"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_runs") / "runs"
    assert main(["train", "cartpole", *TINY, "--run-dir", str(root / "cartpole" / "first")]) == 0
    second = root / "cartpole" / "second"
    assert main(["train", "cartpole", *TINY, "--run-dir", str(second), "--set", "rewards.alive.weight=2.0"]) == 0
    return root


def test_the_table_lists_the_runs_newest_first_with_what_differs(root, capsys):
    assert main(["runs", "--root", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["run", "task", "status", "iterations"]
    assert [line.split()[0] for line in lines[1:]] == ["cartpole/second", "cartpole/first"]
    second, first = lines[1:]
    assert "finished" in second and "2/2" in second and "mean_reward" in second
    assert "rewards.alive.weight: 1.0 -> 2.0" in second and "rewards.alive.weight" not in first
    assert "env.num_envs: 64 -> 8" in first and "ppo.max_iterations: 150 -> 2" in first


def test_json_holds_every_field(root, capsys):
    assert main(["runs", "--root", str(root), "--task", "cartpole", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in runs] == ["cartpole/second", "cartpole/first"]
    first = runs[1]
    assert (first["status"], first["iterations"], first["planned"], first["engine"]) == ("finished", 2, 2, "newton")
    assert first["metric"] == "mean_reward" and first["train_seconds"] > 0
    assert {"key": "env.num_envs", "task": 64, "run": 8} in first["changes"]
    assert main(["runs", "--root", str(root), "--task", "ant", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_diff_names_the_keys_two_runs_set_differently(root, capsys):
    assert main(["runs", "diff", "cartpole/first", "cartpole/second", "--root", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["  rewards.alive.weight: 1.0 -> 2.0"]


def test_delete_then_restore(root, capsys):
    assert main(["runs", "delete", "cartpole/first", "--root", str(root)]) == 0
    assert "undo: isaac-rl-workbench runs restore cartpole/first" in capsys.readouterr().out
    assert not (root / "cartpole" / "first").exists() and (root / ".trash" / "cartpole" / "first").is_dir()
    assert main(["runs", "--root", str(root), "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["cartpole/second"]
    assert main(["runs", "restore", "cartpole/first", "--root", str(root)]) == 0
    assert (root / "cartpole" / "first" / "metrics.jsonl").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs", "delete", "cartpole/nope"], "cartpole/nope: not a run folder"),
        (["runs", "restore", "cartpole/nope"], "cartpole/nope: not in"),
        (["runs", "diff", "cartpole/first", "nope"], "nope: not a run folder"),
    ],
)
def test_bad_names_are_one_line_and_exit_2(root, capsys, argv, message):
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert main([*argv, "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before, "nothing moved"


def test_a_running_run_is_not_deleted(root, capsys):
    lock = FolderLock(root / "cartpole" / "second")
    lock.acquire()
    try:
        assert main(["runs", "delete", "cartpole/second", "--root", str(root)]) == 2
        assert "a run in progress writes here; stop it before deleting it" in capsys.readouterr().err
        assert (root / "cartpole" / "second" / "spec.toml").is_file()
        assert main(["runs", "--root", str(root), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["status"] == "running"
    finally:
        lock.release()


def test_a_missing_root_is_exit_2(tmp_path, capsys):
    assert main(["runs", "--root", str(tmp_path / "none")]) == 2
    assert "none: no such folder" in capsys.readouterr().err
