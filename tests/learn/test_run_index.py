"""The run index reads run folders as ``train`` writes them (spec.toml, metrics.jsonl, run.json, the writer lock):
status, iterations, the task metric (evaluations preferred, errors best at their lowest), parent, newest first; and
the trash: a run moves there and back, a running run is refused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from isaac.rl.workbench.learn.run_dir import RunDir, RunError
from isaac.rl.workbench.learn.run_index import (
    find_run,
    index_runs,
    move_to_trash,
    restore,
    summarize,
    trashed,
    writer_alive,
)
from isaac.rl.workbench.utils.folder_lock import FolderLock


def make_run(
    root: Path,
    name: str,
    rows: list[dict],
    task: str = "cartpole",
    planned: int = 3,
    metrics: tuple[str, ...] = (),
    info: dict | None = None,
    age_s: float = 0.0,
) -> Path:
    """A run folder as train leaves it: spec.toml (the keys the index reads) and metrics.jsonl."""
    folder = root / name
    folder.mkdir(parents=True)
    tables = "".join(f'\n[metrics.{m}]\nfunc = "f"\n' for m in metrics)
    spec = f'name = "{task}"\n\n[env]\nphysics = "newton"\n\n[ppo]\nmax_iterations = {planned}\n{tables}'
    (folder / "spec.toml").write_text(spec)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    if info is not None:
        (folder / "run.json").write_text(json.dumps(info))
    stamp = time.time() - age_s
    os.utime(folder / "spec.toml", (stamp, stamp))
    return folder


def rows(n: int, **values) -> list[dict]:
    """n iteration rows; each keyword is a list of n values (None: the row lacks the key)."""
    out = []
    for i in range(n):
        row = {"iteration": i + 1, "train_seconds": 0.5 * (i + 1)}
        row.update({k.replace("__", "/"): v[i] for k, v in values.items() if v[i] is not None})
        out.append(row)
    return out


def test_status_iterations_time_and_return(tmp_path):
    make_run(tmp_path, "cartpole/done", rows(3, mean_reward=[1.0, 3.0, 2.0]), age_s=30)
    make_run(tmp_path, "cartpole/cut", rows(2, mean_reward=[1.0, 0.5]), age_s=20)
    make_run(tmp_path, "cartpole/bad", rows(1, mean_reward=[1.0]), info={"status": "failed", "reason": "NaN"}, age_s=10)
    found = index_runs(tmp_path)
    assert [s.name for s in found] == ["cartpole/bad", "cartpole/cut", "cartpole/done"], "newest first"
    bad, cut, done = found
    assert (done.status, done.iterations, done.planned, done.last, done.best) == ("finished", 3, 3, 2.0, 3.0)
    assert done.metric == "mean_reward" and done.train_seconds == 1.5 and done.engine == "newton"
    assert (cut.status, cut.iterations) == ("stopped", 2)
    assert (bad.status, bad.reason) == ("failed", "NaN")


def test_the_task_metric_prefers_evaluations_and_errors_are_best_at_their_lowest(tmp_path):
    success = make_run(
        tmp_path,
        "reach/a",
        rows(3, metric__success=[0.0, 0.1, 0.05], eval__success=[None, 0.9, 1.0]),
        task="reach",
        metrics=("success", "ee_error"),
    )
    error = make_run(
        tmp_path, "reach/b", rows(3, metric__ee_error=[0.3, 0.1, 0.2]), task="reach", metrics=("ee_error",)
    )
    s = summarize(success, tmp_path)
    assert (s.metric, s.last, s.best) == ("eval/success", 1.0, 1.0)
    e = summarize(error, tmp_path)
    assert (e.metric, e.last, e.best) == ("metric/ee_error", 0.2, 0.1)


def test_a_fork_names_its_parent_and_the_task_filter(tmp_path):
    parent = make_run(tmp_path, "cartpole/parent", rows(2, mean_reward=[1.0, 2.0]))
    fork_rows = [{"iteration": 2, "edit": "forked_from", "value": str(parent / "checkpoints" / "model_000002.pt")}]
    make_run(tmp_path, "cartpole/child", fork_rows + rows(3, mean_reward=[1.0, 2.0, 3.0]))
    make_run(tmp_path, "ant/other", rows(1, mean_reward=[1.0]), task="ant")
    child = summarize(tmp_path / "cartpole/child", tmp_path)
    assert child.parent == "cartpole/parent"
    assert {s.name for s in index_runs(tmp_path, task="ant")} == {"ant/other"}


def test_run_json_device_and_resumed_plan(tmp_path):
    folder = make_run(tmp_path, "cartpole/a", rows(4, mean_reward=[1.0] * 4), planned=3)
    RunDir(folder).write_info(device="cuda:0")
    RunDir(folder).write_info(max_iterations=10)
    assert json.loads((folder / "run.json").read_text()) == {"device": "cuda:0", "max_iterations": 10}
    s = summarize(folder, tmp_path)
    assert (s.device, s.planned, s.status) == ("cuda:0", 10, "stopped")


def test_a_run_whose_writer_holds_the_lock_is_running_and_cannot_be_deleted(tmp_path):
    folder = make_run(tmp_path, "cartpole/live", rows(1, mean_reward=[1.0]))
    lock = FolderLock(folder)
    lock.acquire()
    try:
        assert writer_alive(RunDir(folder)) and summarize(folder, tmp_path).status == "running"
        with pytest.raises(RunError, match="a run in progress writes here"):
            move_to_trash(tmp_path, "cartpole/live")
        assert folder.is_dir()
    finally:
        lock.release()
    (folder / ".lock").write_text('{"pid": 1}')  # a lock file a killed writer left: nobody holds it
    assert not writer_alive(RunDir(folder)) and summarize(folder, tmp_path).status == "stopped"


def test_delete_moves_to_the_trash_and_restore_brings_it_back(tmp_path):
    folder = make_run(tmp_path, "cartpole/a", rows(1, mean_reward=[1.0]))
    target = move_to_trash(tmp_path, folder)
    assert target == tmp_path / ".trash" / "cartpole" / "a" and not folder.exists()
    assert index_runs(tmp_path) == [] and trashed(tmp_path) == ["cartpole/a"]
    assert restore(tmp_path, "cartpole/a") == folder and (folder / "metrics.jsonl").is_file()
    assert [s.name for s in index_runs(tmp_path)] == ["cartpole/a"]


def test_bad_names_say_what_exists(tmp_path):
    make_run(tmp_path, "cartpole/a", rows(1, mean_reward=[1.0]))
    with pytest.raises(RunError, match="nope: not a run folder"):
        find_run(tmp_path, "nope")
    with pytest.raises(RunError, match=r"cartpole/b: not in .*\.trash \(it holds nothing\)"):
        restore(tmp_path, "cartpole/b")
    outside = make_run(tmp_path / "elsewhere", "x", rows(1, mean_reward=[1.0]))
    with pytest.raises(RunError, match="not under the runs folder"):
        move_to_trash(tmp_path / "runs_root_without_it", outside)


def test_a_corrupt_metrics_line_is_reported_not_raised(tmp_path):
    folder = make_run(tmp_path, "cartpole/a", rows(2, mean_reward=[1.0, 2.0]))
    text = (folder / "metrics.jsonl").read_text()
    (folder / "metrics.jsonl").write_text("not json\n" + text)
    s = summarize(folder, tmp_path)
    assert "line 1 is not valid JSON" in s.problem and s.iterations == 0


def test_a_run_that_stopped_early_says_why(tmp_path):
    stopped = rows(2, mean_reward=[1.0, 2.0])
    stopped[-1]["stopped"] = "eval/success >= 0.95 held for 2 evaluations at iteration 2"
    s = summarize(make_run(tmp_path, "cartpole/a", stopped, planned=100), tmp_path)
    assert (s.status, s.reason) == ("stopped", "eval/success >= 0.95 held for 2 evaluations at iteration 2")
