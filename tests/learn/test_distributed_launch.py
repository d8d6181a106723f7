"""Distributed training as users launch it, on the CPU: two ``torchrun`` invocations with ``--nnodes 2`` and a c10d
rendezvous (two "machines" on localhost) train cart-pole into one run folder with every rank's speed in its rows;
Ctrl-C under ``torchrun`` (to the launcher, as a terminal sends it, or to one rank alone) stops every rank at the same
iteration with rank 0's checkpoint saved, each rank exiting 130 without a traceback, and the run resumes from there;
``train --distributed`` without ``torchrun`` is refused in one line; a process that never joined a process group
(``serve``'s) is one process whatever the environment says."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from isaac.rl.workbench.frontends import cli
from isaac.rl.workbench.learn import distributed

from ..conftest import free_port

TORCHRUN = Path(sys.executable).parent / "torchrun"
RUN_TIMEOUT_S = 120  # [s] a hung rank or rendezvous fails the test instead of blocking it
TRAIN = ["train", "cartpole", "--num-envs", "4", "--eval-episodes", "1"]

# One rank: its output (stdout and stderr, down to the file descriptors) into rank<RANK>.log, its pid into
# rank<RANK>.pid, and the train command's exit status into rank<RANK>.exit once it returns (no file: it was killed).
LAUNCHER = """
import os, sys
from pathlib import Path

out, rank = Path(sys.argv.pop(1)), os.environ["RANK"]
log = os.open(out / f"rank{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
os.dup2(log, 1)
os.dup2(log, 2)
(out / f"rank{rank}.pid").write_text(str(os.getpid()))
from isaac.rl.workbench.frontends import cli

code = cli.main(sys.argv[1:])
(out / f"rank{rank}.exit").write_text(str(code))
sys.exit(code)
"""


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _end(processes: list[subprocess.Popen], folder: Path) -> None:
    """Kill the launchers and their ranks (each rank is a session of its own, started by torchrun)."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    for pid_file in folder.glob("rank*.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _wait(processes: list[subprocess.Popen], folder: Path) -> list[int]:
    """The launchers' exit statuses; the test fails (and everything is killed) after RUN_TIMEOUT_S."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        return [process.wait(timeout=max(deadline - time.monotonic(), 0.1)) for process in processes]
    except subprocess.TimeoutExpired:
        _end(processes, folder)
        pytest.fail(f"the run did not end within {RUN_TIMEOUT_S} s")


@pytest.mark.slow
def test_two_torchrun_nodes_with_a_c10d_rendezvous_train_into_one_run_folder(tmp_path):
    run_dir, port = tmp_path / "run", free_port()
    node = [str(TORCHRUN), "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d"]
    node += ["--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "two_nodes", "-m", "isaac.rl.workbench.frontends.cli"]
    command = [*node, *TRAIN, "--max-iterations", "2", "--run-dir", str(run_dir)]
    outputs = [tmp_path / f"node{n}.out" for n in (0, 1)]
    processes = [
        subprocess.Popen(command, cwd=tmp_path, stdout=out.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        for out in outputs
    ]
    codes = _wait(processes, tmp_path)
    text = "".join(out.read_text() for out in outputs)
    assert codes == [0, 0], text
    rows = _rows(run_dir)
    assert [row["iteration"] for row in rows] == [1, 2]
    assert [row["total_env_steps"] for row in rows] == [128, 256]  # 16 steps x 4 envs x 2 ranks (nodes)
    for row in rows:  # every rank's own speed, summing to about the run's
        ranks = row["rank_env_steps_per_s"]
        assert len(ranks) == 2 and min(ranks) > 0, ranks
        assert 0.5 < sum(ranks) / row["env_steps_per_s"] < 2, (ranks, row["env_steps_per_s"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node0.out", "node1.out", "run"]  # one run folder
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert text.count("run folder:") == 1 and text.count("it     2/2") == 1  # rank 0's lines only
    assert "Traceback" not in text


def _torchrun_until_rows(folder: Path, rows: int, args: list[str]) -> subprocess.Popen:
    """``torchrun --standalone --nproc-per-node 2`` of the train command in its own session, as a terminal starts
    it; returned once ``rows`` rows are in ``folder/run/metrics.jsonl`` and both ranks' pid files are written."""
    launcher = folder / "launch.py"
    launcher.write_text(LAUNCHER)
    command = [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(launcher), str(folder), *args]
    out = (folder / "torchrun.out").open("w")
    process = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    metrics, deadline = folder / "run" / "metrics.jsonl", time.monotonic() + RUN_TIMEOUT_S
    while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= rows):
        if process.poll() is not None or time.monotonic() > deadline:
            _end([process], folder)
            pytest.fail(f"no {rows} metrics rows: {(folder / 'torchrun.out').read_text()}")
        time.sleep(0.1)
    return process


@pytest.mark.slow
@pytest.mark.parametrize("interrupted", ["torchrun", "rank 1"])
def test_ctrl_c_under_torchrun_saves_rank0s_checkpoint_and_ends_every_rank(tmp_path, interrupted):
    run_dir = tmp_path / "run"
    args = [*TRAIN, "--max-iterations", "1000", "--run-dir", str(run_dir)]
    process = _torchrun_until_rows(tmp_path, 2, args)
    if interrupted == "torchrun":  # a terminal's Ctrl-C: SIGINT to the foreground process group (torchrun's)
        os.killpg(process.pid, signal.SIGINT)
    else:  # one rank alone (kill -INT): the other must stop at the same iteration, and rank 0 still saves
        os.kill(int((tmp_path / "rank1.pid").read_text()), signal.SIGINT)
    _wait([process], tmp_path)
    logs = {rank: (tmp_path / f"rank{rank}.log").read_text() for rank in (0, 1)}
    exits = {rank: tmp_path / f"rank{rank}.exit" for rank in (0, 1)}
    assert all(exit.is_file() for exit in exits.values()), f"a rank was killed: {logs}"
    assert [exits[rank].read_text() for rank in (0, 1)] == ["130", "130"], logs
    assert not any("Traceback" in log for log in logs.values()), logs
    rows = _rows(run_dir)
    reached = rows[-1]["iteration"]
    assert [row["iteration"] for row in rows] == list(range(1, reached + 1)) and 2 <= reached < 1000
    assert f"interrupted at iteration {reached}; checkpoint saved" in logs[0]
    assert (run_dir / "checkpoints" / f"model_{reached:06d}.pt").is_file()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "stopped"
    if interrupted == "torchrun":
        assert "Ctrl-C: saving after this iteration" in logs[0] and "interrupted at" not in logs[1]
        return
    # the interrupted run goes on from its checkpoint under torchrun
    for file in [*exits.values(), tmp_path / "rank0.log", tmp_path / "rank1.log"]:
        file.unlink()
    resume = [*TRAIN[:1], "--resume", str(run_dir), "--max-iterations", str(reached + 1), "--eval-episodes", "1"]
    resumed = _torchrun_until_rows(tmp_path, reached + 1, resume)
    assert _wait([resumed], tmp_path) == [0], (tmp_path / "torchrun.out").read_text()
    assert f"resuming at iteration {reached} of {reached + 1}" in (tmp_path / "rank0.log").read_text()
    assert [row["iteration"] for row in _rows(run_dir)] == list(range(1, reached + 2))


def test_distributed_without_torchrun_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    for name in distributed.LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "cartpole", "--distributed"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --distributed: this process was not started by torchrun (no WORLD_SIZE, RANK, LOCAL_RANK); start it "
        "as torchrun --nproc-per-node N [--nnodes M --rdzv-backend c10d --rdzv-endpoint HOST:PORT] "
        "-m isaac.rl.workbench.frontends.cli train ...\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing written
    with pytest.raises(distributed.LaunchError, match=r"\(no LOCAL_RANK\)"):
        distributed.require_launch({"WORLD_SIZE": "2", "RANK": "0"})
    distributed.require_launch({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"})  # torchrun with one process
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert distributed.start("cpu", required=True) == "cpu"  # then as without the flag: one process


def test_a_process_that_joined_no_group_is_one_writing_process(monkeypatch):
    # serve (and the panel's training) never calls distributed.start: even under torchrun's variables every
    # function of learn/distributed.py answers for one process, so the panel trains and writes its run alone
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.current() == distributed.Launch() and distributed.writes()
    assert distributed.any_rank(False, True) == (False, True) and distributed.per_rank(3.0) == [3.0]
    assert distributed.sum_over_ranks(4) == 4 and distributed.rank_seed(7) == 7
