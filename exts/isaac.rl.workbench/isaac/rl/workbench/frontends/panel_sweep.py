"""The panel model's Sweep section without a UI toolkit (:class:`SweepRunner`, the panel model's ``sweep``): an Optuna
sweep of the spec being edited, run as ``isaac-rl-workbench sweep`` runs it (:class:`~..learn.sweep.Sweep`, each trial
a ``train`` process) on a thread of its own, into ``<runs>/<task>/sweep_<date_time>/``.

The params are ``KEY=SPACE`` lines, as ``sweep --param`` takes them (:func:`~..learn.sweep_space.parse_param`); each is
checked against the edited spec at both ends of its range (every value of a choice) before anything is written. The
sweep folder gets ``base.toml`` (the edited spec the trials train), the trials' run folders (``trial_NNN/``, listed in
the Runs section as runs as they appear), ``results.csv``, ``best.toml`` and ``optuna.db``. :attr:`SweepRunner.trials`
holds a row per trial, refreshed as trials start and end, and :attr:`SweepRunner.best` the best one's number.

:meth:`SweepRunner.stop` does what Ctrl-C does to the command (:meth:`~..learn.sweep.Sweep.stop`): each running
trial stops after its current iteration with a checkpoint and is recorded as interrupted. Listeners of the panel model
hear "sweep" when the sweep's state or its trials changed (and "runs" when a trial's run folder appeared or ended).
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..learn.sweep import INTERRUPTED, Sweep, SweepConfig, default_direction
from ..learn.sweep_space import Param, SweepError, parse_param
from ..run_writer import default_run_dir
from ..specs.loader import load_spec, save_spec, spec_from_table
from ..specs.overrides import apply_overrides, parse_overrides
from ..specs.schema import SpecError, TaskSpec

FILE_KEYS = ("scene", "scene_fallback", "python_path", "python_path_fallback", "extends")
"""Keys a panel's sweep does not tune: they name files (the spec's own files stay as they are)."""
STATES = {"COMPLETE": "done", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}
STOP_JOIN_S = 180.0  # [s] close() waits this long for the trials to save their checkpoints


@dataclass
class TrialRow:
    """One trial as the panel lists it."""

    number: int
    state: str
    """running | done | pruned | failed | interrupted."""
    objective: float | None
    params: list[str]
    """The trial's values as ``--set`` texts (``ppo.algorithm.learning_rate=0.0012``)."""
    run_folder: Path | None
    reason: str = ""
    """Why it failed or stopped."""


@dataclass
class SweepState:
    """What the panel shows of the sweep."""

    status: str = "idle"
    """idle | running | stopping | finished | stopped | failed."""
    folder: Path | None = None
    objective: str = ""
    """What is optimised and how, e.g. "maximize mean_reward"."""
    planned: int = 0
    trials: list[TrialRow] = field(default_factory=list)
    best: int | None = None
    """The best trial's number (None until one is done)."""


class SweepRunner:
    """The sweep of a panel model ``model`` (a :class:`~.panel.PanelModel`: its spec, device, runs folder, allowed
    folders, messages and listeners)."""

    def __init__(self, model):
        self.model = model
        self.state = SweepState()
        self._thread: threading.Thread | None = None
        self._sweep: Sweep | None = None
        self._stop_sent = False
        self._stop_lock = threading.Lock()  # Stop and the sweep's start hand the request over once

    @property
    def trials(self) -> list[TrialRow]:
        return self.state.trials

    @property
    def best(self) -> int | None:
        return self.state.best

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, params: str | list[str], trials: int, parallel: int = 1) -> bool:
        """Sweep the edited spec: ``params`` one ``KEY=SPACE`` per line (or a list), ``trials`` in all, ``parallel`` at
        once. False, with one line in the messages naming the param or field and nothing written, when the input is
        bad, no spec is open or a sweep runs."""
        if self.running():
            self.model.say("busy: a sweep runs; stop it first")
            return False
        try:
            spec, parsed = self._check(params, trials, parallel)
        except (SweepError, SpecError) as exc:
            self.model.say(f"error: {exc}")
            return False
        folder = default_run_dir(self.model.runs_dir, spec.name, prefix="sweep_")
        names = list(spec.metrics)
        objective = f"the task metric ({names[0]})" if names else "mean_reward"
        direction = default_direction(None, names)
        with self.model.changing("sweep"):
            self.state = SweepState("running", folder, f"{direction} {objective}", int(trials))
        self._stop_sent, self._sweep = False, None
        self._thread = threading.Thread(
            target=self._run, args=(spec, parsed, int(trials), int(parallel), folder), name="sweep", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop the sweep as Ctrl-C stops the command: the running trials save a checkpoint and are recorded as
        interrupted; the study stays in the folder (``isaac-rl-workbench sweep ... --resume --out <folder>``)."""
        with self._stop_lock:
            if not self.running() or self._stop_sent:
                return
            self._stop_sent = True
            if self._sweep is not None:
                self._sweep.stop()
        with self.model.changing("sweep"):
            self.state.status = "stopping"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sweep ended (tests and scripts); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running()

    def close(self) -> None:
        """Stop a running sweep and wait for its trials to save."""
        self.stop()
        self.wait(STOP_JOIN_S)

    # -- the input ------------------------------------------------------------------------------------------------
    def _check(self, params: str | list[str], trials: int, parallel: int) -> tuple[TaskSpec, list[Param]]:
        """The edited spec and the parsed params, each checked as the command checks them."""
        model = self.model
        spec = model.spec()
        lines = params.splitlines() if isinstance(params, str) else list(params)
        texts = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        if not texts:
            raise SweepError("params: give one KEY=SPACE per line, e.g. ppo.algorithm.learning_rate=log:1e-4:1e-2")
        for name, value in (("trials", trials), ("parallel", parallel)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SweepError(f"{name} {value!r}: expected a whole number >= 1")
        parsed = [parse_param(text) for text in texts]
        keys = [p.key for p in parsed]
        for p in parsed:
            if keys.count(p.key) > 1:
                raise SweepError(f"--param '{p.text}': {p.key} is swept twice; give one space per key")
            if p.key.split(".")[0] in FILE_KEYS:
                raise SweepError(f"--param '{p.text}': {p.key} names files; a sweep tunes values")
            for probe in p.probes():
                edited = copy.deepcopy(model.raw)
                try:
                    apply_overrides(edited, parse_overrides([f"{p.key}={probe}"]))
                    model.check_page(edited)
                    spec_from_table(edited, model.spec_file, {p.key})
                except SpecError as exc:
                    raise SweepError(f"--param '{p.text}': {p.key}={probe}: {exc}") from None
        return spec, parsed

    # -- the sweep thread -----------------------------------------------------------------------------------------
    def _run(self, spec: TaskSpec, params: list[Param], trials: int, parallel: int, folder: Path) -> None:
        model = self.model
        sweep = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            base = folder / "base.toml"
            save_spec(spec, base)
            device = model.device
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            config = SweepConfig(
                spec=str(base),
                params=params,
                trials=trials,
                out=folder,
                metric_names=list(spec.metrics),
                direction=default_direction(None, list(spec.metrics)),
                train_args=["--device", device],
                parallel=parallel,
                threads=max(1, cores // parallel) if device == "cpu" else 1,
                warmup_steps=int(spec.ppo.get("max_iterations", 0)) // 4,
            )

            def write_best(sets: list[str]) -> Path:
                path = folder / "best.toml"
                save_spec(load_spec(base, parse_overrides(sets)), path)
                return path

            sweep = Sweep(config, resume=False, write_best=write_best, say=lambda line: self._heard(sweep, line))
            with self._stop_lock:
                self._sweep = sweep
                if self._stop_sent:  # Stop came while the folder was written
                    sweep.stop()
            model.say(f"sweep of {spec.name}: {trials} trials, {parallel} at once on {device}; folder {folder}")
            code = sweep.run()
            sweep.write_results()
            self._show(sweep)
            stopped = code == 130 or self._stop_sent
            if stopped:
                status = "stopped"
            else:
                status = "finished" if sweep.best_number is not None else "failed"
            with model.changing("sweep"):
                self.state.status = status
            end = f"; best spec {folder / 'best.toml'}" if sweep.best_number is not None else ""
            model.say(f"sweep {status}: {sweep.summary()}{end}")
        except Exception as exc:  # a sweep that cannot go on says why; the panel lives on
            with model.changing("sweep"):
                self.state.status = "failed"
            model.say(f"error: sweep: {exc}")
        model.runs.refresh()

    def _heard(self, sweep: Sweep | None, line: str) -> None:
        """A progress line of the sweep (a trial started or ended): show the trials again, and the runs."""
        if sweep is not None:
            self._show(sweep)
        model = self.model
        model.runs.refresh()

    def _show(self, sweep: Sweep) -> None:
        rows = [_row(t) for t in sweep.study.get_trials(deepcopy=False)]
        with self.model.changing("sweep"):
            self.state.trials, self.state.best = rows, sweep.best_number


def _row(trial: Any) -> TrialRow:
    """An Optuna trial of a sweep as a :class:`TrialRow` (its user attrs hold what :class:`Sweep` recorded)."""
    attrs = trial.user_attrs
    state = STATES.get(trial.state.name, trial.state.name.lower())
    if state == "failed" and attrs.get("reason") == INTERRUPTED:
        state = "interrupted"
    folder = attrs.get("run_folder")
    return TrialRow(
        number=trial.number,
        state=state,
        objective=trial.value,
        params=list(attrs.get("set", [])),
        run_folder=Path(folder) if folder else None,
        reason=str(attrs.get("reason", "")),
    )
