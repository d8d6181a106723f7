"""The Workbench: one training run from spec to exported policy, as a plain-Python object every front end drives.

States: ``created`` -> :meth:`build` -> ``ready`` -> :meth:`train_step` (repeat; ``training``) -> ``finished``.
No call blocks for longer than one PPO iteration, so a UI can interleave its own updates. Listeners registered
with :meth:`add_listener` get ``(event, data)`` for "built", "iteration", "checkpoint", "finished", "evaluated".

Run folder: ``spec.toml`` (resolved spec), ``metrics.jsonl`` (one row per iteration), ``checkpoints/``,
TensorBoard event files, ``curves.png``, ``export/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from .spec import TaskSpec, load_spec, save_spec

RUNS_DIR = Path("runs")
RECORDING_MAX_SPACING = 4.0  # [m] recorded envs stand side by side, however far apart the physics keeps them
CHECKPOINT_PATTERN = re.compile(r"model_(\d+)\.pt$")


class RunError(RuntimeError):
    """A run folder that cannot be resumed, played or exported; the message names the folder and the problem."""


def latest_checkpoint(run_dir: Path) -> Path:
    """The checkpoint with the highest iteration in ``run_dir/checkpoints``."""
    found = sorted(
        (int(m.group(1)), p)
        for p in (run_dir / "checkpoints").glob("model_*.pt")
        if (m := CHECKPOINT_PATTERN.search(p.name))
    )
    if not found:
        raise RunError(f"{run_dir}: no checkpoints (checkpoints/model_<iteration>.pt)")
    return found[-1][1]


class Workbench:
    """A training run.

    Use :meth:`new` for a fresh run or :meth:`open` for an existing run folder (resume, play, export).
    """

    def __init__(self, spec: TaskSpec, run_dir: Path, device: str = "cpu"):
        self.spec = spec
        self.run_dir = Path(run_dir)
        self.device = device
        self.state = "created"
        self.env = None
        self.trainer = None
        self.max_iterations = int(spec.ppo["max_iterations"])
        self._listeners: list[Callable[[str, dict], Any]] = []
        self._writer = None
        self.start_iteration = 0
        self.train_seconds = 0.0

    # -- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def new(
        cls, task: str | Path, overrides: dict | None = None, run_dir: Path | None = None, device: str = "cpu"
    ) -> Workbench:
        """A fresh run of ``task`` (name or spec path); the run folder defaults to ``runs/<task>/<time>``."""
        spec = load_spec(task, overrides)
        if run_dir is None:
            run_dir = RUNS_DIR / spec.name / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        run_dir = Path(run_dir)
        if (run_dir / "metrics.jsonl").exists():
            raise RunError(f"{run_dir}: already holds a run; use --resume {run_dir} or another --run-dir")
        run_dir.mkdir(parents=True, exist_ok=True)
        save_spec(spec, run_dir / "spec.toml")
        return cls(spec, run_dir, device)

    @classmethod
    def open(cls, run_dir: Path, overrides: dict | None = None, device: str = "cpu") -> Workbench:
        """An existing run folder, with its resolved spec (plus ``overrides``)."""
        run_dir = Path(run_dir)
        if not (run_dir / "spec.toml").is_file():
            raise RunError(f"{run_dir}: not a run folder (no spec.toml)")
        return cls(load_spec(run_dir / "spec.toml", overrides), run_dir, device)

    def add_listener(self, listener: Callable[[str, dict], Any]) -> None:
        """Call ``listener(event, data)`` on every event."""
        self._listeners.append(listener)

    def _emit(self, event: str, data: dict) -> None:
        for listener in self._listeners:
            listener(event, data)

    def build(self, resume: bool = False, checkpoint: Path | None = None) -> None:
        """Seed, build the env and the PPO trainer; with ``resume`` (or a ``checkpoint``) load the latest state."""
        from .env import WorkbenchEnv
        from .train import Trainer

        torch.manual_seed(self.spec.seed)
        started = time.perf_counter()
        self.env = WorkbenchEnv(self.spec, self.device)
        self.trainer = Trainer(self.env, self.spec.ppo, self.device)
        if resume or checkpoint is not None:
            path = checkpoint or latest_checkpoint(self.run_dir)
            self.trainer.load(path)
            torch.manual_seed(self.spec.seed + self.trainer.iteration)
            self._truncate_metrics(self.trainer.iteration)
        self.start_iteration = self.trainer.iteration
        self.state = "ready"
        self._emit("built", {"seconds": time.perf_counter() - started, "iteration": self.trainer.iteration})

    # -- training -------------------------------------------------------------------------------------------------
    @property
    def iteration(self) -> int:
        """Completed PPO iterations, counted across resumes."""
        return self.trainer.iteration if self.trainer else 0

    @property
    def done(self) -> bool:
        """True once ``max_iterations`` iterations have run."""
        return self.iteration >= self.max_iterations

    def train_step(self) -> dict:
        """Run one PPO iteration, log it, save a checkpoint every ``save_interval`` iterations; return metrics."""
        if self.trainer is None:
            raise RunError("build() the workbench before training")
        self.state = "training"
        metrics = self.trainer.train_step()
        self.train_seconds += metrics["collect_s"] + metrics["learn_s"]
        metrics["train_seconds"] = self.train_seconds
        self._log(metrics)
        self._emit("iteration", metrics)
        if self.iteration % int(self.spec.ppo["save_interval"]) == 0:
            self.save_checkpoint()
        return metrics

    def save_checkpoint(self) -> Path:
        """Save the trainer's state as ``checkpoints/model_<iteration>.pt`` (atomically)."""
        path = self.trainer.save(
            self.run_dir / "checkpoints" / f"model_{self.iteration:06d}.pt", {"task": self.spec.name}
        )
        self._emit("checkpoint", {"path": str(path), "iteration": self.iteration})
        return path

    def finish(self) -> None:
        """Save the final checkpoint, draw ``curves.png`` and close the logs."""
        from .plots import write_curves

        if self.trainer is not None and self.iteration > 0:
            self.save_checkpoint()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        metrics_file = self.run_dir / "metrics.jsonl"
        if metrics_file.exists():
            write_curves(metrics_file, self.run_dir / "curves.png", title=f"{self.spec.name} ({self.run_dir.name})")
        self.state = "finished"
        self._emit("finished", {"iteration": self.iteration, "run_dir": str(self.run_dir)})

    def _log(self, metrics: dict) -> None:
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir), flush_secs=10)
        for key, value in metrics.items():
            if key != "iteration" and isinstance(value, int | float):
                self._writer.add_scalar(key if "/" in key else f"train/{key}", value, metrics["iteration"])

    def _truncate_metrics(self, iteration: int) -> None:
        """Drop metric rows past the checkpoint being resumed, so iteration numbers continue without gaps."""
        path = self.run_dir / "metrics.jsonl"
        if path.exists():
            rows = [line for line in path.read_text().splitlines() if json.loads(line)["iteration"] <= iteration]
            path.write_text("".join(row + "\n" for row in rows))

    # -- using the policy -----------------------------------------------------------------------------------------
    def evaluate(
        self,
        num_episodes: int | None = None,
        record: Path | None = None,
        record_envs: int = 4,
        keep_observations: int = 0,
    ) -> dict:
        """Roll the policy out deterministically; optionally write a USD animation of the first envs to ``record``."""
        from .play import evaluate

        recorder = None
        if record is not None:
            from .record import UsdRecorder

            count = min(record_envs, self.env.num_envs)
            recorder = UsdRecorder(
                self.spec.scene,
                self.spec.articulation,
                self.env.backend.body_paths,
                count,
                min(self.spec.env.spacing, RECORDING_MAX_SPACING),
                1.0 / self.spec.env.step_dt,
            )
        policy = self.trainer.runner.get_inference_policy(self.device)
        result = evaluate(self.env, policy, num_episodes or self.env.num_envs, recorder, keep_observations)
        self.trainer.alg.train_mode()
        self.trainer.reset_rollout()
        if recorder is not None:
            result["recording"] = str(recorder.save(Path(record)))
        self._emit("evaluated", {k: v for k, v in result.items() if k != "observations"})
        return result

    def export(self, out_dir: Path | None = None) -> dict:
        """Write ``export/policy.onnx`` and ``export/policy.pt`` and check them against the training policy."""
        from .export import export_policy

        rollout = self.evaluate(num_episodes=self.env.num_envs, keep_observations=4096)
        return export_policy(self.trainer.actor, rollout["observations"], Path(out_dir or self.run_dir / "export"))
