"""A run folder on disk: the resolved spec, per-iteration metrics (JSON lines and TensorBoard), checkpoints.

Layout::

    spec.toml               the resolved task spec (written by the Workbench)
    metrics.jsonl           one JSON object per PPO iteration
    events.out.tfevents.*   TensorBoard scalars, the same keys (``reward/<term>``; others under ``train/``)
    checkpoints/            model_<iteration, 6 digits>.pt (rsl-rl's format)
    curves.png              return, episode length and reward terms against iteration
    export/                 policy.onnx, policy.pt, parity.json
    run.json                what the files above do not say, as far as the run recorded it (:meth:`RunDir.write_info`)
    .lock                   while a run writes here: its process (see :meth:`RunDir.lock`)

A write that fails (a full disk, a read-only folder, no permission) raises :class:`RunWriteError`, one line naming the
file and the cause.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from ..utils.atomic import write_atomically
from ..utils.folder_lock import FolderLock, FolderLocked
from ..utils.writable import check_writable, write_error

CHECKPOINT_PATTERN = re.compile(r"model_(\d+)\.pt$")
ORPHAN_MIN_AGE_S = 60.0  # [s] a temporary file untouched this long is no save in progress (a play beside a training)
MIN_FREE_BYTES = 16 * 2**20  # [bytes] free space a run needs before its env is built (logs and a first checkpoint)


class RunError(RuntimeError):
    """A run folder that cannot be created, resumed, played or exported; the message names the folder."""


class RunWriteError(RunError):
    """A file of the run folder could not be written (full disk, read-only folder, no permission); the message names
    the file and the cause."""


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` of the writes inside into a :class:`RunWriteError` naming ``path`` and the cause."""
    try:
        yield
    except OSError as exc:
        raise RunWriteError(write_error(path, exc)) from exc


class RunDir:
    """The files of one run.

    Args:
        path: the run folder; :meth:`create` makes a new one, :meth:`open` checks an existing one.

    Attributes:
        path, spec_file, metrics_file, checkpoints_dir, curves_file, export_dir: the folder and its parts
            (see the module docstring).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.spec_file = self.path / "spec.toml"
        self.metrics_file = self.path / "metrics.jsonl"
        self.checkpoints_dir = self.path / "checkpoints"
        self.curves_file = self.path / "curves.png"
        self.export_dir = self.path / "export"
        self.info_file = self.path / "run.json"
        self._writer = None
        self._lock = FolderLock(self.path)

    @classmethod
    def create(cls, path: Path) -> RunDir:
        """A new run folder at ``path`` (created); refuses a folder that already holds a run."""
        run = cls(path)
        if run.metrics_file.exists():
            raise RunError(f"{run.path}: already holds a run; use --resume {run.path} or another --run-dir")
        with writing(run.path):
            run.path.mkdir(parents=True, exist_ok=True)
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run folder; it must hold ``spec.toml``. Removes temporary files a killed save left
        (:meth:`remove_orphan_temp_files`)."""
        run = cls(path)
        if not run.spec_file.is_file():
            raise RunError(f"{run.path}: not a run folder (no spec.toml)")
        run.remove_orphan_temp_files()
        return run

    # -- the writer's lock ---------------------------------------------------------------------------------------
    def lock(self, free_bytes: int = MIN_FREE_BYTES) -> str | None:
        """Become this folder's only writer, before any long work: create the folder when missing, take its lock
        (``.lock``, released by :meth:`unlock` or when the process ends, however it ends) and check that it takes
        files and has ``free_bytes`` free.

        Returns:
            A notice when the lock of a process that ended without releasing it was taken over, else None.

        Raises:
            RunError: another process writes this run (it is named), or the folder cannot be written.
        """
        with writing(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
        try:
            with writing(self._lock.path):
                left = self._lock.acquire()
        except FolderLocked as exc:
            if exc.holder.pid == os.getpid():
                raise RunError(
                    f"{self.path}: this process writes this run already (a Workbench built for it and not yet "
                    f"finished or closed); call finish() or close() on it first"
                ) from None
            raise RunError(
                f"{self.path}: another run writes here ({exc.holder.describe()}); wait for it to end, or choose "
                f"another --run-dir"
            ) from None
        try:
            with writing(self.path):
                check_writable(self.path, free_bytes)
        except RunError:
            self.unlock()
            raise
        if left is None:
            return None
        return f"{self.path}: took over the lock of {left.describe()}, which ended without releasing it"

    def unlock(self) -> None:
        """Give up the writer's lock (idempotent)."""
        self._lock.release()

    @property
    def locked(self) -> bool:
        """True while this object holds the folder's writer lock."""
        return self._lock.held

    def remove_orphan_temp_files(self, min_age_s: float = ORPHAN_MIN_AGE_S) -> list[Path]:
        """Delete the temporary files of atomic writes that a kill interrupted: ``checkpoints/.model_*.pt`` and
        ``.metrics.*.jsonl``, ``.spec.*.toml``, ``.curves.*.png``, ``.run.*.json`` in the run folder.

        Args:
            min_age_s: [s] only files not modified for this long go, so a save in progress in another process (a
                training this run folder is being played beside) is left alone.

        Returns:
            The files removed.
        """
        patterns = [
            (self.checkpoints_dir, ".model_*.pt"),
            *(
                (self.path, f".{f.stem}.*{f.suffix}")
                for f in (self.metrics_file, self.spec_file, self.curves_file, self.info_file)
            ),
        ]
        now = time.time()
        removed = []
        for folder, pattern in patterns:
            for tmp in folder.glob(pattern):
                try:
                    if tmp.is_file() and now - tmp.stat().st_mtime >= min_age_s:
                        tmp.unlink()
                        removed.append(tmp)
                except FileNotFoundError:  # its save finished (renamed) or another process removed it
                    pass
        return removed

    # -- paths ----------------------------------------------------------------------------------------------------
    def checkpoint_path(self, iteration: int) -> Path:
        """Where the checkpoint of ``iteration`` goes: ``checkpoints/model_<iteration:06d>.pt``."""
        return self.checkpoints_dir / f"model_{iteration:06d}.pt"

    def latest_checkpoint(self) -> Path:
        """The checkpoint with the highest iteration."""
        found = self._checkpoints()
        if not found:
            raise RunError(f"{self.path}: no checkpoints (checkpoints/model_<iteration>.pt)")
        return found[-1][1]

    def latest_iteration(self) -> int:
        """The iteration of the latest checkpoint, read from its file name (nothing loaded); 0 without one."""
        found = self._checkpoints()
        return found[-1][0] if found else 0

    def _checkpoints(self) -> list[tuple[int, Path]]:
        """(iteration, file) of every checkpoint, in iteration order."""
        return sorted(
            (int(m.group(1)), p)
            for p in self.checkpoints_dir.glob("model_*.pt")
            if (m := CHECKPOINT_PATTERN.search(p.name))
        )

    # -- metrics --------------------------------------------------------------------------------------------------
    def log(self, metrics: dict) -> None:
        """Append one iteration's metrics (must hold ``iteration``) to ``metrics.jsonl`` and TensorBoard.

        Raises:
            RunWriteError: a file could not be written.
        """
        with writing(self.metrics_file), open(self.metrics_file, "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            with writing(self.path):
                self._writer = SummaryWriter(log_dir=str(self.path), flush_secs=10)
        for key, value in metrics.items():
            if key != "iteration" and isinstance(value, int | float):
                self._writer.add_scalar(key if "/" in key else f"train/{key}", value, metrics["iteration"])

    def log_edit(self, iteration: int, key: str, value: float | str) -> None:
        """Append a row saying that spec key ``key`` took ``value`` after ``iteration`` iterations (a live edit)."""
        with writing(self.metrics_file), open(self.metrics_file, "a") as f:
            f.write(json.dumps({"iteration": int(iteration), "edit": key, "value": value}) + "\n")

    def write_info(self, **fields: str | int | float) -> None:
        """Merge ``fields`` into ``run.json`` (written atomically), the run's facts its other files lack: ``device``
        ("cpu", "cuda:0"), ``status`` ("finished", "stopped", "failed") with its ``reason``, ``max_iterations`` when
        a resume changed the spec's, ``parent`` (the run or checkpoint it was forked from). The run lists
        (:mod:`.run_index`) read it."""
        try:
            info = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            info = {}
        text = json.dumps({**(info if isinstance(info, dict) else {}), **fields}, indent=1) + "\n"
        with writing(self.info_file):
            write_atomically(self.info_file, lambda tmp: tmp.write_text(text))

    def read_metrics(self) -> list[dict]:
        """The rows of ``metrics.jsonl`` (empty when there is none), one dict per iteration.

        A last line cut short (the process was killed while :meth:`log` wrote it) is skipped; any other line that
        is not a JSON object with an ``iteration`` raises :class:`RunError` naming the file and the line number.
        """
        if not self.metrics_file.exists():
            return []
        lines = self.metrics_file.read_text().splitlines()
        last = max((n for n, line in enumerate(lines) if line.strip()), default=-1)
        rows = []
        for n, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                if n == last:  # a partial last line: the write it belongs to never finished
                    break
                raise RunError(f"{self.metrics_file}: line {n + 1} is not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("iteration"), int):
                raise RunError(f"{self.metrics_file}: line {n + 1} is not a JSON object with an integer iteration")
            rows.append(row)
        return rows

    def truncate_metrics(self, iteration: int) -> None:
        """Drop rows past ``iteration`` (the checkpoint being resumed), so iteration numbers continue without gaps,
        and a partial last line (see :meth:`read_metrics`); rewrites ``metrics.jsonl`` atomically."""
        if self.metrics_file.exists():
            rows = [row for row in self.read_metrics() if row["iteration"] <= iteration]
            text = "".join(json.dumps(row) + "\n" for row in rows)
            with writing(self.metrics_file):
                write_atomically(self.metrics_file, lambda tmp: tmp.write_text(text))

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            with writing(self.path):
                writer.close()
