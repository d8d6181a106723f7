"""A run folder on disk: the resolved spec, per-iteration metrics (JSON lines and TensorBoard), checkpoints.

Layout::

    spec.toml               the resolved task spec (written by the Workbench)
    metrics.jsonl           one JSON object per PPO iteration
    events.out.tfevents.*   TensorBoard scalars, the same keys (``reward/<term>``; others under ``train/``)
    checkpoints/            model_<iteration, 6 digits>.pt (rsl-rl's format)
    curves.png              return, episode length and reward terms against iteration
    export/                 policy.onnx, policy.pt, parity.json
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..utils.atomic import write_atomically

CHECKPOINT_PATTERN = re.compile(r"model_(\d+)\.pt$")


class RunError(RuntimeError):
    """A run folder that cannot be created, resumed, played or exported; the message names the folder."""


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
        self._writer = None

    @classmethod
    def create(cls, path: Path) -> RunDir:
        """A new run folder at ``path`` (created); refuses a folder that already holds a run."""
        run = cls(path)
        if run.metrics_file.exists():
            raise RunError(f"{run.path}: already holds a run; use --resume {run.path} or another --run-dir")
        run.path.mkdir(parents=True, exist_ok=True)
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run folder; it must hold ``spec.toml``."""
        run = cls(path)
        if not run.spec_file.is_file():
            raise RunError(f"{run.path}: not a run folder (no spec.toml)")
        return run

    # -- paths ----------------------------------------------------------------------------------------------------
    def checkpoint_path(self, iteration: int) -> Path:
        """Where the checkpoint of ``iteration`` goes: ``checkpoints/model_<iteration:06d>.pt``."""
        return self.checkpoints_dir / f"model_{iteration:06d}.pt"

    def latest_checkpoint(self) -> Path:
        """The checkpoint with the highest iteration."""
        found = sorted(
            (int(m.group(1)), p)
            for p in self.checkpoints_dir.glob("model_*.pt")
            if (m := CHECKPOINT_PATTERN.search(p.name))
        )
        if not found:
            raise RunError(f"{self.path}: no checkpoints (checkpoints/model_<iteration>.pt)")
        return found[-1][1]

    # -- metrics --------------------------------------------------------------------------------------------------
    def log(self, metrics: dict) -> None:
        """Append one iteration's metrics (must hold ``iteration``) to ``metrics.jsonl`` and TensorBoard."""
        with open(self.metrics_file, "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.path), flush_secs=10)
        for key, value in metrics.items():
            if key != "iteration" and isinstance(value, int | float):
                self._writer.add_scalar(key if "/" in key else f"train/{key}", value, metrics["iteration"])

    def read_metrics(self) -> list[dict]:
        """The rows of ``metrics.jsonl`` (empty when there is none)."""
        if not self.metrics_file.exists():
            return []
        return [json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, iteration: int) -> None:
        """Drop rows past ``iteration`` (the checkpoint being resumed), so iteration numbers continue without gaps."""
        if self.metrics_file.exists():
            rows = [row for row in self.read_metrics() if row["iteration"] <= iteration]
            text = "".join(json.dumps(row) + "\n" for row in rows)
            write_atomically(self.metrics_file, lambda tmp: tmp.write_text(text))

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
