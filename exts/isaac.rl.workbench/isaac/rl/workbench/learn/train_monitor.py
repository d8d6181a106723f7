"""What a run does between its PPO iterations: read the evaluation envs' episodes of the deterministic policy into
``eval/*`` keys, keep the best checkpoint, stop early when a condition on the logged keys holds.

The evaluation envs step beside the training envs (:mod:`.eval_envs`); this module only reads their statistics
every ``train.eval_every`` iterations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .checkpoint import CheckpointError, read_checkpoint
from .run_dir import writing
from .trainer import Trainer

_SHORT = {"eval/mean_reward": "return", "eval/mean_episode_length": "length"}  # names in the progress line


class Condition(Protocol):
    """``train.stop_when`` read (:class:`~isaac.rl.workbench.specs.schema.StopCondition`)."""

    key: str
    text: str

    def holds(self, value: float) -> bool: ...


class Settings(Protocol):
    """``[train]`` read (:class:`~isaac.rl.workbench.specs.schema.TrainSpec`)."""

    eval_every: int
    stop_when: Condition | None
    stop_patience: int
    best: str
    best_mode: str


class TrainMonitor:
    """Evaluation, best checkpoint and early stop of one training run.

    Args:
        trainer: the run's trainer (its policy is saved).
        eval_stats: the evaluation envs' episodes since the last call (``pop_eval_stats`` of
            :class:`~.eval_envs.TrainingEnvs`): ``episodes``, and when one ended ``mean_reward``,
            ``mean_episode_length``, ``metric/<name>``.
        train: the spec's ``[train]``: ``eval_every`` (0: no evaluation), ``stop_when`` (or None),
            ``stop_patience``, ``best`` (the logged key that picks the best checkpoint), ``best_mode``.
        best_path: where the best checkpoint goes (``checkpoints/best.pt``).
    """

    def __init__(
        self,
        trainer: Trainer,
        eval_stats: Callable[[], dict[str, float]],
        train: Settings,
        best_path: Path,
    ):
        self.trainer, self._eval_stats = trainer, eval_stats
        self.eval_every = train.eval_every
        self.stop_when, self.stop_patience = train.stop_when, train.stop_patience
        self.best_key, self._sign = train.best, 1.0 if train.best_mode == "max" else -1.0
        self.best_path = Path(best_path)
        self.best: tuple[float, int] | None = None  # (value, iteration) of the best row so far
        self.streak = 0  # checks in a row at which stop_when held
        self.stopped: str | None = None  # why the run stopped early, once it did
        self.episode_ended = False  # a whole training episode ended since the run (or its resume) started

    def resume(self, rows: list[dict]) -> None:
        """Continue from the metrics rows of the resumed run (up to its checkpoint): the best value so far (or the
        one ``best_path`` records, when better: it may come from an iteration after the checkpoint) and the streak
        of checks at which ``stop_when`` held, counted back from the last row."""
        for row in rows:
            if "edit" not in row:
                self._track_best(row)
        self.streak = stop_streak(rows, self.stop_when) if self.stop_when else 0
        saved = self._saved_best()
        if saved is not None and self._better(saved[0]):
            self.best = saved

    def _saved_best(self) -> tuple[float, int] | None:
        """(value, iteration) that ``best_path`` records for :attr:`best_key`, or None (no file, another key, or a
        file that does not read: it is written again at the next best row)."""
        if not self.best_path.is_file():
            return None
        try:
            infos = read_checkpoint(self.best_path).get("infos", {})
        except CheckpointError:
            return None
        if infos.get("best_key") != self.best_key:
            return None
        return float(infos["best_value"]), int(infos["best_iteration"])

    def after_iteration(self, row: dict) -> bool:
        """After an iteration with metrics ``row``: add the evaluation keys when due, then :meth:`check`; returns
        True when ``row`` is the best so far (:meth:`save_best`)."""
        if self.eval_every > 0 and int(row["iteration"]) % self.eval_every == 0:
            row.update(self.evaluation())
        return self.check(row)

    def evaluation(self) -> dict[str, float]:
        """The evaluation envs' whole episodes since the last evaluation row as row keys: ``eval/episodes``, and
        when one ended ``eval/mean_reward``, ``eval/mean_episode_length`` and ``eval/<metric>``."""
        stats = self._eval_stats()
        row = {"eval/episodes": stats["episodes"]}
        for key in ("mean_reward", "mean_episode_length"):
            if key in stats:
                row[f"eval/{key}"] = stats[key]
        row.update({f"eval/{k.split('/', 1)[1]}": v for k, v in stats.items() if k.startswith("metric/")})
        return row

    def check(self, row: dict) -> bool:
        """After an iteration whose row is ``row`` (evaluation keys included): count the stop condition (sets
        :attr:`stopped` and the row's ``"stopped"`` when it ends the run) and the best value; returns True when
        this row is the best so far (save ``checkpoints/best.pt``)."""
        if "mean_reward" in row:
            self.episode_ended = True
        if self._count(row) and self.streak >= self.stop_patience:
            self.stopped = row["stopped"] = stop_reason(self.stop_when, self.stop_patience, row["iteration"])
        return self._track_best(row)

    def progress(self, row: dict, max_episode_length: int, steps_per_iteration: int) -> str:
        """The progress line's additions for ``row``: the evaluation, the best so far, and why the return shows
        '-' while no whole episode has ended yet."""
        parts = []
        if "mean_reward" not in row and not self.episode_ended:
            parts.append(
                f"return -: no whole episode ended yet (episodes last up to {max_episode_length} steps, an "
                f"iteration is {steps_per_iteration})"
            )
        if "eval/episodes" in row:
            values = " ".join(
                f"{_SHORT.get(key, key.split('/', 1)[1])} {value:.3g}"
                for key, value in row.items()
                if key.startswith("eval/") and key != "eval/episodes"
            )
            parts.append(f"eval {values} ({row['eval/episodes']} episodes)" if values else "eval: no episode ended yet")
        if self.best is not None:
            parts.append(f"best {self.best_key} {self.best[0]:.4g} @ it {self.best[1]}")
        return "".join(f" | {part}" for part in parts)

    def _count(self, row: dict) -> bool:
        """Count ``row`` as a check of ``stop_when`` when it carries the key; True when it did."""
        value = _number(row.get(self.stop_when.key)) if self.stop_when else None
        if value is None:
            return False
        self.streak = self.streak + 1 if self.stop_when.holds(value) else 0
        return True

    def _track_best(self, row: dict) -> bool:
        value = _number(row.get(self.best_key))
        if value is None or not self._better(value):
            return False
        self.best = (value, int(row["iteration"]))
        return True

    def _better(self, value: float) -> bool:
        return self.best is None or self._sign * value > self._sign * self.best[0]

    def save_best(self, infos: dict) -> Path:
        """Write the trainer's state to ``best_path`` (atomically), its ``infos`` recording ``best_key``,
        ``best_value`` and ``best_iteration``.

        Raises:
            RunWriteError: the file could not be written (naming it and the cause).
        """
        value, iteration = self.best
        infos = {**infos, "best_key": self.best_key, "best_value": value, "best_iteration": iteration}
        with writing(self.best_path):
            return self.trainer.save(self.best_path, infos)


def stop_streak(rows: list[dict], condition: Condition) -> int:
    """Checks in a row, counted back from the last of ``rows`` (metrics rows; edit rows are skipped), at which
    ``condition`` held; a row without its key is no check."""
    streak = 0
    for row in rows:
        value = None if "edit" in row else _number(row.get(condition.key))
        if value is not None:
            streak = streak + 1 if condition.holds(value) else 0
    return streak


def stop_reason(condition: Condition, patience: int, iteration: int) -> str:
    """Why a run stopped: ``"eval/success >= 0.95 held for 2 evaluations at iteration 40"``."""
    unit = "evaluation" if condition.key.startswith("eval/") else "iteration"
    return f"{condition.text} held for {patience} {unit}{'s' if patience > 1 else ''} at iteration {iteration}"


def _number(value: object) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
