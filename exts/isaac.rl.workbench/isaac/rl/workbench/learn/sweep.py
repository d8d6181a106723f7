"""Hyperparameter sweeps with Optuna: each trial is a ``train`` run in a process of its own, judged by a key of its
``metrics.jsonl``.

A sweep folder holds::

    optuna.db           the Optuna study (SQLite): TPE sampling (seeded), median pruning on intermediate values
    trial_NNN/          each trial's run folder (NNN: Optuna's trial number), written by ``train --run-dir``
    logs/trial_NNN.log  what the trial's ``train`` printed
    results.csv         one row per trial: its number, state, objective, seconds, run folder, reason, params
    best.toml           the spec with the best trial's params applied (written by the caller's ``write_best``)

Trials run as subprocesses of ``isaac-rl-workbench train SPEC --run-dir <folder> --set KEY=VALUE ...``: a trial
that crashes, runs out of memory or diverges cannot take the sweep down with it, ``parallel`` trials run side by side
without threads, and a pruned or interrupted trial is stopped the way a user stops ``train`` (SIGINT: it stops after
the current iteration and saves a checkpoint). Each trial runs in a session of its own, so a Ctrl-C at the terminal
reaches only the sweep, which then stops each running trial once.

The objective is the *last* finite value of its key over the run (the policy the run ends with, the one its last
checkpoint holds; a noisy best would overrate a trial). The default key is the one the run lists judge a run by
(:func:`.run_index.metric_key`): ``eval/<metric>`` when the run logs evaluations, else ``metric/<metric>`` for the
task's first ``[metrics.*]``, else ``mean_reward``. The same key's values are reported to Optuna, at their
iteration, as the rows arrive (``metrics.jsonl`` is polled), and a trial the pruner stops is recorded as pruned.

A trial that fails (an exit code other than 0, or no finite objective) is recorded as failed with its reason and the
sweep goes on. Imports no torch: the trials do the training.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..utils.atomic import write_atomically
from .run_index import LOWER_IS_BETTER, metric_key
from .sweep_space import Param, SweepError, set_text

STUDY_NAME = "sweep"
DB_FILE = "optuna.db"
POLL_S = 0.5  # [s] how often running trials' metrics.jsonl and exit codes are checked
STOP_WAIT_S = 120.0  # [s] a trial stopped by SIGINT gets this long to save its checkpoint before it is killed
INTERRUPTED = "interrupted"  # the reason of a trial the sweep's Ctrl-C stopped: it does not count toward --trials


@dataclass
class SweepConfig:
    """What a sweep runs.

    Attributes:
        spec: the task name or spec file ``train`` is given.
        params: the swept keys.
        trials: the number of trials the study ends with (failed and pruned ones included; interrupted ones not).
        out: the sweep folder.
        metric_names: the task's ``[metrics.*]`` names, in order (the default objective's source).
        objective: the metrics.jsonl key to optimise; None: the default (see the module docstring).
        direction: "maximize" or "minimize".
        train_args: more ``train`` arguments for every trial (``--num-envs 4096``, ``--device cuda``, ...).
        parallel: trials at once.
        threads: ``--threads`` of each trial (CPU threads of torch).
        seed: the sampler's seed.
        warmup_steps: iterations a trial runs before the pruner may stop it.
        trainer: the command that trains, ``train``'s arguments follow it (default: this Python running the CLI).
    """

    spec: str
    params: list[Param]
    trials: int
    out: Path
    metric_names: list[str] = field(default_factory=list)
    objective: str | None = None
    direction: str = "maximize"
    train_args: list[str] = field(default_factory=list)
    parallel: int = 1
    threads: int = 1
    seed: int = 0
    warmup_steps: int = 0
    trainer: list[str] = field(default_factory=lambda: [sys.executable, "-m", "isaac.rl.workbench.frontends.cli"])


def default_direction(objective: str | None, metric_names: list[str]) -> str:
    """ "minimize" for an objective (or the task's first metric) whose name holds "error", else "maximize"."""
    name = objective or (metric_names[0] if metric_names else "mean_reward")
    return "minimize" if LOWER_IS_BETTER in name else "maximize"


@dataclass
class _Running:
    """A trial whose ``train`` process is running."""

    trial: Any  # optuna.Trial
    process: subprocess.Popen
    folder: Path
    log: IO[bytes]
    started: float
    rows: list[dict] = field(default_factory=list)
    partial: bytes = b""
    offset: int = 0
    stop: str = ""  # "pruned" or INTERRUPTED once SIGINT was sent


class Sweep:
    """An Optuna study in a sweep folder, run trial by trial (``parallel`` at once) with :meth:`run`.

    Args:
        config: what to run.
        resume: continue the study in ``config.out`` (which must hold one) rather than start one (it must not).
        write_best: called with the best trial's ``--set`` texts each time the best trial changes; returns the file
            it wrote (``best.toml``).
        say: where progress lines go.

    Raises:
        SweepError: ``out`` holds a study and ``resume`` is off, holds none and ``resume`` is on, or holds one that
            sweeps other params or another objective.
    """

    def __init__(
        self,
        config: SweepConfig,
        resume: bool,
        write_best: Callable[[list[str]], Path],
        say: Callable[[str], None] = print,
    ):
        self.config, self.write_best, self.say = config, write_best, say
        db = config.out / DB_FILE
        if resume and not db.is_file():
            raise SweepError(f"--resume: {config.out} holds no sweep ({DB_FILE}); start one without --resume")
        if not resume and db.exists():
            raise SweepError(f"{config.out}: already holds a sweep; continue it with --resume or give another --out")
        self.best_number: int | None = None
        self._study = None
        self._presses: list[int] = []  # Ctrl-C presses, and stop() requests, seen by run()

    @property
    def study(self):
        """The Optuna study (created or loaded on first use; creating it writes the sweep folder)."""
        if self._study is None:
            self._study = self._open_study()
        return self._study

    def _open_study(self):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        cfg = self.config
        cfg.out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(cfg.out / DB_FILE).resolve()}"
        names = optuna.study.get_all_study_names(storage)
        fixed = {"params": [p.text for p in cfg.params], "objective": cfg.objective or "", "spec": cfg.spec}
        if STUDY_NAME in names:
            study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
            stored = {key: study.user_attrs.get(key) for key in fixed}
            for key, value in fixed.items():
                if stored[key] != value and not (key == "params" and sorted(stored[key] or []) == sorted(value)):
                    raise SweepError(
                        f"--resume: {cfg.out} sweeps {key} {stored[key]!r}, not {value!r}; give the same as it did"
                    )
            if study.direction.name.lower() != cfg.direction:
                raise SweepError(f"--resume: {cfg.out} sweeps to {study.direction.name.lower()} its objective")
            for trial in study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.RUNNING]):
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL)  # its sweep was killed: interrupted
        else:
            study = optuna.create_study(study_name=STUDY_NAME, storage=storage, direction=cfg.direction)
            for key, value in fixed.items():
                study.set_user_attr(key, value)
        # a resumed study draws new numbers: the seed moves on by the trials it holds
        study.sampler = optuna.samplers.TPESampler(seed=cfg.seed + len(study.trials), constant_liar=True)
        study.pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=cfg.warmup_steps)
        return study

    def counted(self) -> int:
        """Trials that count toward ``trials``: finished, pruned or failed (not interrupted by the sweep's Ctrl-C)."""
        from optuna.trial import TrialState

        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        return sum(t.state in states and not _interrupted(t) for t in self.study.get_trials(deepcopy=False))

    def run(self) -> int:
        """Run trials until the study holds ``trials`` of them; returns 0, or 130 after a Ctrl-C (the running
        trials stopped with their checkpoints, recorded as interrupted, the study kept for ``--resume``)."""
        cfg = self.config
        running: list[_Running] = []
        self._update_best()
        presses = self._presses  # Ctrl-C counted, never raised: a KeyboardInterrupt inside a study write breaks it
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, lambda *_: presses.append(1)) if main else None
        try:
            while not presses:
                while len(running) < cfg.parallel and self.counted() + len(running) < cfg.trials:
                    running.append(self._start())
                if not running:
                    return 0
                time.sleep(POLL_S)
                for trial in list(running):
                    if self._poll(trial):
                        running.remove(trial)
                        self._finish(trial)
            self.say(f"\nCtrl-C: stopping {len(running)} running trial(s); each saves a checkpoint")
            self._stop_all(running, presses)
            self.write_results()
            return 130
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def stop(self) -> None:
        """Stop :meth:`run` from another thread as one Ctrl-C stops it (a panel's Stop): the running trials save a
        checkpoint and are recorded as interrupted."""
        self._presses.append(1)

    def _start(self) -> _Running:
        cfg = self.config
        trial = self.study.ask({p.key: p.distribution() for p in cfg.params})
        name = f"trial_{trial.number:03d}"
        folder = cfg.out / name
        sets = [set_text(p, trial.params[p.key]) for p in cfg.params]
        trial.set_user_attr("run_folder", str(folder))
        trial.set_user_attr("set", sets)
        command = [*cfg.trainer, "train", cfg.spec, "--run-dir"]
        command += [str(folder), "--eval-episodes", "1", "--threads", str(cfg.threads), *cfg.train_args]
        command += ["--set", *sets]
        (cfg.out / "logs").mkdir(exist_ok=True)
        log = open(cfg.out / "logs" / f"{name}.log", "wb")  # closed when the trial ends
        env = dict(os.environ, OMP_NUM_THREADS=str(cfg.threads), PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        self.say(f"trial {trial.number:03d} started: {' '.join(sets)}")
        return _Running(trial, process, folder, log, time.monotonic())

    def _poll(self, r: _Running) -> bool:
        """Read the trial's new metrics rows, report its objective's new values, stop it when the pruner says so;
        True once its process has ended."""
        ended = r.process.poll() is not None
        rows = self._new_rows(r)
        if rows:
            r.rows += rows
            key = self._key(r.rows)
            for row in rows:
                value = row.get(key)
                if _finite(value) and isinstance(row.get("iteration"), int):
                    r.trial.report(float(value), row["iteration"])
            if not ended and not r.stop and r.trial.should_prune():
                r.stop = "pruned"
                _interrupt(r.process)
        return ended

    def _new_rows(self, r: _Running) -> list[dict]:
        """Whole lines appended to the trial's ``metrics.jsonl`` since the last read (edit rows left out)."""
        try:
            with open(r.folder / "metrics.jsonl", "rb") as f:
                f.seek(r.offset)
                data = f.read()
        except OSError:
            return []
        r.offset += len(data)
        *lines, r.partial = (r.partial + data).split(b"\n")
        rows = []
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "edit" not in row:
                rows.append(row)
        return rows

    def _key(self, rows: list[dict]) -> str:
        return self.config.objective or metric_key(self.config.metric_names, rows)

    def _finish(self, r: _Running) -> None:
        from optuna.trial import TrialState

        r.log.close()
        self._poll(r)  # the rows written between the last poll and the exit
        seconds = time.monotonic() - r.started
        code = r.process.returncode
        key = self._key(r.rows)
        values = [float(row[key]) for row in r.rows if _finite(row.get(key))]
        r.trial.set_user_attr("seconds", round(seconds, 1))
        r.trial.set_user_attr("objective_key", key)
        if r.stop:
            reason = "stopped by the pruner" if r.stop == "pruned" else INTERRUPTED
            r.trial.set_user_attr("reason", reason)
            state = TrialState.PRUNED if r.stop == "pruned" else TrialState.FAIL
            self.study.tell(r.trial, state=state)
        elif code != 0 or not values:
            reason = _failure(code, self.config.out / "logs" / f"trial_{r.trial.number:03d}.log", key)
            r.trial.set_user_attr("reason", reason)
            self.study.tell(r.trial, state=TrialState.FAIL)
        else:
            self.study.tell(r.trial, values[-1])
        if r.stop == INTERRUPTED:
            return
        self._update_best()
        self.write_results()
        self.say(self._progress_line(r.trial.number, seconds))

    def _progress_line(self, number: int, seconds: float) -> str:
        trial = self.study.trials[number]
        state = {"COMPLETE": "done", "PRUNED": "pruned", "FAIL": "failed"}[trial.state.name]
        head = f"trial {number:03d} {state} ({self.counted()}/{self.config.trials})"
        what = f"objective {trial.value:.4g}" if trial.value is not None else trial.user_attrs.get("reason", "")
        best = "no finished trial yet"
        if self.best_number is not None:
            best = f"best {self.study.trials[self.best_number].value:.4g}, trial {self.best_number:03d}"
        return f"{head}: {what} ({best}) in {seconds:.0f} s"

    def _update_best(self) -> None:
        """Write the best spec when the best trial changed."""
        try:
            best = self.study.best_trial
        except ValueError:  # no complete trial yet
            return
        if best.number != self.best_number:
            self.best_number = best.number
            self.write_best(list(best.user_attrs["set"]))

    def _stop_all(self, running: list[_Running], presses: list[int]) -> None:
        """Stop the ``running`` trials with one SIGINT each (they save a checkpoint); a second Ctrl-C (``presses``
        grows) sends them another, which stops them at once without saving."""
        for r in running:
            r.stop = INTERRUPTED
            _interrupt(r.process)
        deadline, pressed = time.monotonic() + STOP_WAIT_S, len(presses)
        while running:
            time.sleep(POLL_S)
            if len(presses) > pressed:
                pressed = len(presses)
                for r in running:
                    _interrupt(r.process)
            for r in list(running):
                if r.process.poll() is None and time.monotonic() > deadline:
                    r.process.kill()
                if r.process.poll() is not None:
                    running.remove(r)
                    self._finish(r)

    def write_results(self) -> Path:
        """``results.csv``: one row per trial (trial, state, objective, seconds, run_folder, reason, then one column
        per param, as ``--set`` gives it)."""
        keys = [p.key for p in self.config.params]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["trial", "state", "objective", "seconds", "run_folder", "reason", *keys])
        for t in self.study.get_trials(deepcopy=False):
            attrs = t.user_attrs
            state = "interrupted" if _interrupted(t) else t.state.name.lower()
            state = {"complete": "done", "fail": "failed"}.get(state, state)
            objective = "" if t.value is None else repr(t.value)
            sets = dict(s.split("=", 1) for s in attrs.get("set", []))
            row = [t.number, state, objective, attrs.get("seconds", ""), attrs.get("run_folder", "")]
            writer.writerow([*row, attrs.get("reason", ""), *(sets.get(k, "") for k in keys)])
        path = self.config.out / "results.csv"
        write_atomically(path, lambda tmp: tmp.write_text(buffer.getvalue()))
        return path

    def summary(self) -> str:
        """One line on the study: trials by state, the best trial and its params."""
        states = [t.state.name.lower() for t in self.study.trials]
        counts = ", ".join(f"{states.count(s)} {n}" for s, n in (("complete", "done"), ("pruned", "pruned")))
        failed = sum(s == "fail" for s in states)
        text = f"{len(states)} trials ({counts}, {failed} failed or interrupted)"
        if self.best_number is None:
            return text + "; no trial finished"
        best = self.study.trials[self.best_number]
        sets = " ".join(best.user_attrs["set"])
        return f"{text}; best trial {best.number:03d}: objective {best.value:.4g} with {sets}"


def _interrupt(process: subprocess.Popen) -> None:
    """SIGINT to a trial's process (``train`` stops after its current iteration and saves a checkpoint)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)


def _interrupted(trial) -> bool:
    """Whether a trial was stopped by the sweep's Ctrl-C (its reason says so) or its sweep was killed (it was failed
    on resume, and never ended: it has no ``seconds``)."""
    attrs = trial.user_attrs
    return trial.state.name == "FAIL" and (attrs.get("reason") == INTERRUPTED or "seconds" not in attrs)


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _failure(code: int, log: Path, key: str) -> str:
    """Why a trial failed: its exit code and its last ``error:`` line, or the missing objective."""
    if code == 0:
        return f"no finite {key} in its metrics.jsonl"
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if line.startswith("error:")]
    last = errors[-1] if errors else (lines[-1] if lines else "")
    return f"exit code {code}" + (f": {last.removeprefix('error: ')}" if last else "")
