"""The sweep's spaces, and how it runs its trial processes: a trial the pruner stops gets SIGINT and is recorded as
pruned; a Ctrl-C stops every running trial (each gets SIGINT once), keeps the study, and a resume runs on without
counting the interrupted trials. The processes here are a stand-in trainer (a few lines of Python that write
``metrics.jsonl`` rows and stop on SIGINT as ``train`` does), so these run in seconds; tests/frontends/test_cli_sweep.py
runs real ``train`` trials."""

from __future__ import annotations

import csv
import os
import signal
import sys
import textwrap
import threading
import time

import pytest
from isaac.rl.workbench.learn import sweep
from isaac.rl.workbench.learn.sweep import Sweep, SweepConfig
from isaac.rl.workbench.learn.sweep_space import SweepError, parse_param, set_text

# ``train SPEC --run-dir DIR ... --max-iterations N ... --set x=X``: N rows of mean_reward X * iteration, 50 ms apart;
# SIGINT: writes stopped.txt and exits 130 (train stops after the iteration and saves a checkpoint); a second: exit 1
FAKE_TRAIN = textwrap.dedent(
    """
    import json, signal, sys, time
    from pathlib import Path
    args = sys.argv[1:]
    folder = Path(args[args.index("--run-dir") + 1])
    iterations = int(args[args.index("--max-iterations") + 1])
    x = float(args[args.index("--set") + 1].split("=")[1])
    stop = []
    def on_sigint(*_):  # a second SIGINT aborts without saving, as in train
        if stop:
            sys.exit(1)
        stop.append(1)
    signal.signal(signal.SIGINT, on_sigint)
    folder.mkdir(parents=True)
    with open(folder / "metrics.jsonl", "w") as f:
        for i in range(1, iterations + 1):
            if stop:
                (folder / "stopped.txt").write_text(str(i))
                sys.exit(130)
            f.write(json.dumps({"iteration": i, "mean_reward": x * i}) + "\\n")
            f.flush()
            time.sleep(0.05)
    """
)


def test_spaces_parse_to_their_distributions():
    log = parse_param("ppo.algorithm.learning_rate=log:1e-4:1e-2")
    assert (log.kind, log.low, log.high) == ("log", 1e-4, 1e-2) and log.distribution().log
    assert parse_param("rewards.x.weight=0.5:2").kind == "float"
    whole = parse_param("ppo.algorithm.num_mini_batches=int:1:8")
    assert (whole.kind, whole.probes()) == ("int", ["1", "8"])
    choice = parse_param("ppo.actor.activation=choice:elu,relu")
    assert choice.choices == ("elu", "relu") and choice.probes() == ["elu", "relu"]
    assert set_text(log, 0.001) == "ppo.algorithm.learning_rate=0.001"
    assert set_text(choice, "relu") == "ppo.actor.activation=relu"


@pytest.mark.parametrize(
    "text", ["x", "x=", "=1:2", "x=log:0:1", "x=2:1", "x=int:1.5:3", "x=choice:a", "x=choice:a,a", "x=1:2:3", "x=nan:1"]
)
def test_a_bad_space_names_the_param(text):
    with pytest.raises(SweepError, match=f"--param '{text}'"):
        parse_param(text)


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "POLL_S", 0.05)
    fake = tmp_path / "fake_train.py"
    fake.write_text(FAKE_TRAIN)

    def make(trials: int, iterations: int, parallel: int = 1) -> SweepConfig:
        return SweepConfig(
            spec="task",
            params=[parse_param("x=0:1")],
            trials=trials,
            out=tmp_path / "sweep",
            train_args=["--max-iterations", str(iterations)],
            parallel=parallel,
            seed=1,
            trainer=[sys.executable, str(fake)],
        )

    return make


def _results(config: SweepConfig) -> list[dict]:
    with open(config.out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_the_pruner_stops_a_trial_with_sigint_and_records_it_pruned(config):
    cfg = config(trials=9, iterations=20)
    lines: list[str] = []
    best: list[list[str]] = []
    study = Sweep(
        cfg, resume=False, write_best=lambda sets: best.append(sets) or cfg.out / "best.toml", say=lines.append
    )
    assert study.run() == 0
    rows = _results(cfg)
    states = [r["state"] for r in rows]
    assert len(rows) == 9 and states[:5] == ["done"] * 5  # the median pruner waits for 5 finished trials
    assert "pruned" in states
    for r in rows:
        stopped = (cfg.out / f"trial_{int(r['trial']):03d}" / "stopped.txt").exists()
        assert stopped == (r["state"] == "pruned")
        if r["state"] == "done":
            assert float(r["objective"]) == pytest.approx(20 * float(r["x"]))
    assert any(line.startswith("trial 008 ") and "(9/9)" in line for line in lines)
    done = [r for r in rows if r["state"] == "done"]
    top = max(done, key=lambda r: float(r["objective"]))
    assert best[-1] == [f"x={top['x']}"]


def test_ctrl_c_stops_the_running_trials_once_and_resume_goes_on(config):
    cfg = config(trials=3, iterations=400, parallel=2)  # 20 s trials: Ctrl-C comes first
    study = Sweep(cfg, resume=False, write_best=lambda sets: cfg.out / "best.toml", say=lambda line: None)

    def press_ctrl_c():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            (cfg.out / f"trial_00{i}" / "metrics.jsonl").exists() for i in (0, 1)
        ):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    assert study.run() == 130
    rows = _results(cfg)
    assert [r["state"] for r in rows] == ["interrupted", "interrupted"]
    assert all((cfg.out / f"trial_00{i}" / "stopped.txt").exists() for i in (0, 1))  # each saved: one SIGINT
    assert study.counted() == 0

    with pytest.raises(SweepError, match="already holds a sweep"):
        Sweep(cfg, resume=False, write_best=lambda sets: cfg.out / "best.toml")
    cfg = config(trials=1, iterations=3)
    resumed = Sweep(cfg, resume=True, write_best=lambda sets: cfg.out / "best.toml", say=lambda line: None)
    assert resumed.run() == 0
    assert [r["state"] for r in _results(cfg)] == ["interrupted", "interrupted", "done"]
