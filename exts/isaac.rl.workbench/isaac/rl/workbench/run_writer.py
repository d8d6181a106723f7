"""What a run writes into its folder besides the metrics and checkpoints :class:`~.learn.run_dir.RunDir` writes:
a new run's default folder name, the writer lock, the files of a new run once its build succeeds (``spec.toml``,
``randomization.json``), ``curves.png`` at the end, and taking back what it wrote when it stopped before its first
metrics row, so that the same folder works again."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .learn.run_args import safe_name
from .learn.run_dir import RunDir, RunError, writing
from .specs.loader import save_spec
from .specs.schema import TaskSpec
from .utils.atomic import write_atomically
from .utils.writable import check_writable

RUN_FILES = ("spec.toml", "metrics.jsonl", "checkpoints", "curves.png", "export", "randomization.json")
"""What a run folder holds."""
START_FILES = ("spec.toml", "randomization.json", "run.json")
"""What a new run writes once its build succeeds (taken back while it has no metrics row)."""


def default_run_dir(runs_dir: Path, name: str, prefix: str = "") -> Path:
    """``<runs_dir>/<name>/<prefix><date>_<time>`` to the second, or with ``_2``, ``_3``... after it when a run
    started in that second already has the folder (a panel's second Train within a second, two scripted runs, two
    sweeps: ``prefix`` "sweep_")."""
    folder = runs_dir / safe_name(name)
    stamp = prefix + datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    candidate, count = folder / stamp, 1
    while candidate.exists():
        count += 1
        candidate = folder / f"{stamp}_{count}"
    return candidate


def check_unused(run_dir: Path) -> None:
    """A :class:`RunError` naming the files when ``run_dir`` already holds any file a run writes, so that a new run
    never overwrites a file it did not write (with the hint to resume when it holds metrics)."""
    taken = [name for name in RUN_FILES if (run_dir / name).exists()]
    if taken:
        hint = f"use --resume {run_dir} or " if (run_dir / "metrics.jsonl").exists() else ""
        raise RunError(f"{run_dir}: already holds {', '.join(taken)}; {hint}choose another --run-dir")


class RunWriter:
    """One run's writes into its folder ``run``, as the folder's only writer (between :meth:`lock` and
    :meth:`take_back` or :meth:`.learn.run_dir.RunDir.unlock`)."""

    def __init__(self, run: RunDir):
        self.run = run
        self._created_folder = False  # this run created the folder: it goes again when taken back (if empty)
        self._wrote_start = False  # this run wrote START_FILES

    def lock(self, fresh: bool) -> str | None:
        """Become the folder's only writer (:meth:`.learn.run_dir.RunDir.lock`: another writer, a read-only folder or
        a full disk is refused); ``fresh``: a new run, whose folder goes again when it creates it here and takes it
        back. Returns the lock's notice (a stale lock taken over), or None."""
        self._created_folder = fresh and not self.run.path.exists()
        return self.run.lock()

    def resume_checkpoint(self, warn: Callable[[str], object]) -> Path | None:
        """The checkpoint a resumed run starts from: the latest; None for a run that logged iterations but saved no
        checkpoint (stopped in its first iterations): ``warn`` is told, its metrics rows are dropped and it starts
        again at iteration 0. A run with neither is a :class:`RunError`."""
        try:
            return self.run.latest_checkpoint()
        except RunError:
            if not self.run.read_metrics():
                raise
            warn(f"{self.run.path}: no checkpoint was saved; starting again at iteration 0")
            self.run.truncate_metrics(0)
            return None

    def check_room(self, checkpoint_bytes: int) -> None:
        """Room for the next checkpoint of ``checkpoint_bytes`` [bytes] (written beside the last, then renamed),
        before training starts (:class:`~.learn.run_dir.RunWriteError` else)."""
        with writing(self.run.path):
            check_writable(self.run.path, 2 * checkpoint_bytes)

    def write_start(self, spec: TaskSpec, applied_randomization: dict) -> None:
        """Create the folder and write a new run's resolved ``spec.toml`` and, when its start-up events drew any,
        ``randomization.json`` (per physics property and body or joint, as the env's ``applied_randomization``)."""
        RunDir.create(self.run.path)
        with writing(self.run.spec_file):
            save_spec(spec, self.run.spec_file)
        self._wrote_start = True
        if applied_randomization:
            text = json.dumps(applied_randomization, indent=1)
            with writing(self.run.path / "randomization.json"):
                write_atomically(self.run.path / "randomization.json", lambda tmp: tmp.write_text(text))

    @property
    def wrote_no_metrics(self) -> bool:
        """True when this run wrote its start files and no metrics row since (it failed in its first iteration)."""
        return self._wrote_start and not self.run.metrics_file.exists()

    def take_back(self) -> None:
        """Release the lock and remove what this run wrote when it wrote no metrics (a build that failed, a first
        iteration that failed), and its folder when it created it: the same --run-dir works again."""
        if self.wrote_no_metrics:
            for name in START_FILES:
                with contextlib.suppress(OSError):
                    (self.run.path / name).unlink(missing_ok=True)
            self._wrote_start = False
        self.run.unlock()
        if self._created_folder:
            with contextlib.suppress(OSError):
                self.run.path.rmdir()  # only when empty

    def draw_curves(self, title: str) -> None:
        """``curves.png`` from ``metrics.jsonl`` (:func:`.learn.curves.write_curves`), titled ``title``."""
        from .learn.curves import write_curves

        with writing(self.run.curves_file):
            write_curves(self.run.metrics_file, self.run.curves_file, title=title)
