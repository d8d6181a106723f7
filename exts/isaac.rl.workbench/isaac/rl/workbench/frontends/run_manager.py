"""The panel's Runs section without a UI toolkit (:class:`RunManager`, the panel model's ``runs``): the run folders
under the runs folder with their summaries (:mod:`..learn.run_index`), a selection, the curves of the selected runs
overlaid on the same axes (one colour each, smoothed as TensorBoard smooths), the spec diff of two selected runs, and
open, resume, fork and delete (to ``<runs>/.trash``, with undo) of the selected run.

Listeners of the panel model hear "runs" when the list, the selection or the smoothing changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from ..learn.run_dir import RunDir, RunError
from ..learn.run_index import RunSummary, index_runs, move_to_trash, restore
from .run_columns import summary_cells
from .spec_diff import SpecChange, changes_from_task, diff_runs

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
"""A run's colour, in selection order (matplotlib's tab10)."""
DEFAULT_SMOOTHING = 0.6
"""TensorBoard's default smoothing weight."""
EVALUATION = "evaluation (deterministic)"
"""How curves of ``eval/<name>`` rows are labelled, beside the training metric."""


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with weight ``weight`` in [0, 1) on the previous value,
    debiased (divided by ``1 - weight**n`` after n points, so the start is not pulled towards 0). Non-finite points
    stay as they are and are left out of the average. (N,) -> (N,)."""
    values = np.asarray(values, dtype=np.float64)
    out = values.copy()
    finite = np.isfinite(values)
    if weight <= 0 or not finite.any():
        return out
    kept = values[finite]
    ema = lfilter([1.0 - weight], [1.0, -weight], kept)
    out[finite] = ema / (1.0 - weight ** np.arange(1, len(kept) + 1))
    return out


@dataclass
class Curve:
    """One line of the overlay: a run's values of one key against iteration."""

    run: str
    """The run's name (relative to the runs folder)."""
    label: str
    colour: str
    iterations: np.ndarray
    """(N,) iterations."""
    values: np.ndarray
    """(N,) the logged values."""
    smoothed: np.ndarray
    """(N,) :func:`smooth` of ``values``."""
    evaluation: bool
    """True for the deterministic policy's evaluations (``eval/<name>``)."""


class RunManager:
    """The runs of a panel model ``model`` (a :class:`~.panel.PanelModel`; its ``runs_dir``, actions and listeners)."""

    def __init__(self, model):
        self.model = model
        self.summaries: list[RunSummary] = []
        self.selected: list[str] = []
        """The selected runs' names, in the order they were selected (their colours' order)."""
        self.smoothing = DEFAULT_SMOOTHING
        self.deleted: list[str] = []
        """Names in the trash this session moved there, the last deleted last (what :meth:`undo` restores)."""

    @property
    def root(self) -> Path:
        return Path(self.model.runs_dir)

    def refresh(self) -> list[RunSummary]:
        """Read the runs folder again (newest first); a selected run that is gone is unselected."""
        summaries = index_runs(self.root) if self.root.is_dir() else []
        names = {s.name for s in summaries}
        with self.model.changing("runs"):
            self.summaries = summaries
            self.selected = [n for n in self.selected if n in names]
        return summaries

    def summary(self, name: str) -> RunSummary:
        """The summary of the run named ``name`` (a :class:`RunError` when there is none)."""
        for s in self.summaries:
            if s.name == name:
                return s
        raise RunError(f"{name}: no such run under {self.root}")

    def rows(self) -> list[tuple[str, ...]]:
        """The listed runs as text cells, in :data:`~.run_columns.COLUMNS` order."""
        return [summary_cells(s, *changes_from_task(s.path, s.task)) for s in self.summaries]

    def select(self, names: list[str]) -> bool:
        """Select these runs (names as listed); False and a message when one is not listed."""
        known = {s.name for s in self.summaries}
        unknown = [n for n in names if n not in known]
        if unknown:
            self.model.say(f"error: {unknown[0]}: no such run under {self.root}")
            return False
        with self.model.changing("runs"):
            self.selected = list(dict.fromkeys(names))
        return True

    def set_smoothing(self, weight: float) -> bool:
        """The smoothing weight of the overlay, in [0, 1) (0: none); False and a message otherwise."""
        if not (isinstance(weight, int | float) and math.isfinite(weight) and 0 <= weight < 1):
            self.model.say(f"error: smoothing {weight}: expected a number in [0, 1)")
            return False
        with self.model.changing("runs"):
            self.smoothing = float(weight)
        return True

    def keys(self) -> list[str]:
        """The keys the overlay can show for the selection: each run's task metric, then the return and episode
        length."""
        keys = [self._training_key(self.summary(n)) for n in self.selected]
        return list(dict.fromkeys([*keys, "mean_reward", "mean_episode_length"]))

    def overlay(self, key: str | None = None) -> list[Curve]:
        """The selected runs' curves of ``key`` (default: the first selected run's task metric), one colour per run,
        with ``eval/<name>`` beside ``metric/<name>`` (or ``mean_reward``) when the run logged evaluations."""
        if not self.selected:
            return []
        key = key or self.keys()[0]
        evaluated = f"eval/{key.removeprefix('metric/')}"
        curves = []
        for n, name in enumerate(self.selected):
            colour = PALETTE[n % len(PALETTE)]
            rows = [r for r in RunDir(self.summary(name).path).read_metrics() if "edit" not in r]
            for k, label, is_eval in ((key, name, False), (evaluated, f"{name} {EVALUATION}", True)):
                points = [(r["iteration"], float(r[k])) for r in rows if isinstance(r.get(k), int | float)]
                if points:
                    xs, ys = (np.array(p, dtype=np.float64) for p in zip(*points, strict=True))
                    curves.append(Curve(name, label, colour, xs, ys, smooth(ys, self.smoothing), is_eval))
        return curves

    def diff(self) -> list[SpecChange] | None:
        """What the second selected run's spec sets otherwise than the first's; None (and a message) unless exactly
        two runs are selected or when a spec does not load."""
        if len(self.selected) != 2:
            self.model.say("error: select two runs to compare their specs")
            return None
        a, b = (self.summary(n).path for n in self.selected)
        try:
            return diff_runs(a, b)
        except Exception as exc:  # a spec that no longer loads: say why
            self.model.say(f"error: {exc}")
            return None

    # -- actions on the one selected run ------------------------------------------------------------------------
    def open(self) -> bool:
        """Make the selected run the panel's current run (:meth:`~.panel.PanelModel.open_run`)."""
        run = self._one()
        return run is not None and self.model.open_run(run.path)

    def resume(self) -> bool:
        """Continue the selected run from its latest checkpoint (:meth:`~.panel.PanelModel.resume`)."""
        run = self._one()
        return run is not None and self.model.resume(run.path)

    def fork(self) -> bool:
        """A new run of the spec being edited, from the selected run's latest checkpoint
        (:meth:`~.panel.PanelModel.fork`)."""
        run = self._one()
        if run is None:
            return False
        try:
            checkpoint = RunDir(run.path).latest_checkpoint()
        except RunError as exc:
            self.model.say(f"error: {exc}")
            return False
        return self.model.fork(checkpoint)

    def delete(self) -> bool:
        """Move the selected run to ``<runs>/.trash`` (refused while it trains); :meth:`undo` brings it back."""
        run = self._one()
        if run is None:
            return False
        if self.model.run.run_dir is not None and Path(self.model.run.run_dir).resolve() == run.path.resolve():
            if self.model.run.status in ("building", "training", "stopping"):
                self.model.say(f"error: {run.name}: it is training; stop it before deleting it")
                return False
        try:
            target = move_to_trash(self.root, run.path)
        except (RunError, OSError) as exc:
            self.model.say(f"error: {exc}")
            return False
        self.deleted.append(target.relative_to(self.root / ".trash").as_posix())
        self.model.say(f"moved {run.name} to {target}; Undo brings it back")
        self.refresh()
        return True

    def undo(self) -> bool:
        """Bring the last run deleted in this session back from the trash."""
        if not self.deleted:
            self.model.say("error: nothing to undo: no run was deleted")
            return False
        name = self.deleted[-1]
        try:
            folder = restore(self.root, name)
        except (RunError, OSError) as exc:
            self.model.say(f"error: {exc}")
            return False
        self.deleted.pop()
        self.model.say(f"restored {folder}")
        self.refresh()
        return True

    def _one(self) -> RunSummary | None:
        if len(self.selected) != 1:
            self.model.say("error: select one run for this")
            return None
        return self.summary(self.selected[0])

    @staticmethod
    def _training_key(summary: RunSummary) -> str:
        """The training-time key of a run's task metric (its ``eval/`` twin is drawn beside it)."""
        if summary.metric.startswith("eval/"):
            name = summary.metric.removeprefix("eval/")
            return f"metric/{name}" if name in summary.metric_names else name
        return summary.metric
