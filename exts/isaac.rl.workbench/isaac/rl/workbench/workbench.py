"""The Workbench: one training run from spec to exported policy, as a plain-Python object every front end drives.

States: ``created`` -> :meth:`build` -> ``ready`` -> :meth:`train_step` (repeat; ``training``) -> ``finished``.
No call blocks for longer than one PPO iteration, so a UI can interleave its own updates. Listeners registered
with :meth:`add_listener` get ``(event, data)`` for "built", "iteration", "checkpoint", "finished", "evaluated".

The run folder (:class:`~.learn.run_dir.RunDir`) holds ``spec.toml``, ``metrics.jsonl``, TensorBoard files,
``checkpoints/``, ``curves.png`` and ``export/``. The Workbench also owns the run policy every front end shares: how
many envs play and export build, and the evaluation after training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from .envs.spec import TaskSpec, load_spec, save_spec
from .learn.run_dir import RunDir, RunError

RUNS_DIR = Path("runs")
RECORDING_MAX_SPACING = 4.0  # [m] recorded envs stand side by side, however far apart the physics keeps them
PLAY_MAX_ENVS = 1024  # play builds one env per episode, up to this many (not the thousands a GPU run trained with)
EXPORT_ENVS = 64  # envs whose deterministic rollout gives the observations an export is checked on
EVAL_EPISODES = 64  # deterministic episodes evaluated after training

__all__ = ["EVAL_EPISODES", "EXPORT_ENVS", "PLAY_MAX_ENVS", "RunError", "Workbench"]


class Workbench:
    """A training run.

    Use :meth:`new` for a fresh run, :meth:`open` for an existing run folder (resume), :meth:`for_play` and
    :meth:`for_export` for a trained one.
    """

    def __init__(self, spec: TaskSpec, run: RunDir, device: str = "cpu"):
        self.spec = spec
        self.run = run
        self.run_dir = run.path
        self.device = device
        self.state = "created"
        self.env = None
        self.trainer = None
        self.max_iterations = int(spec.ppo["max_iterations"])
        self._listeners: list[Callable[[str, dict], Any]] = []
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
        run = RunDir.create(Path(run_dir))
        save_spec(spec, run.spec_file)
        return cls(spec, run, device)

    @classmethod
    def open(cls, run_dir: Path, overrides: dict | None = None, device: str = "cpu") -> Workbench:
        """An existing run folder, with its resolved spec (plus ``overrides``)."""
        run = RunDir.open(Path(run_dir))
        return cls(load_spec(run.spec_file, overrides), run, device)

    @classmethod
    def for_play(
        cls,
        run_dir: Path,
        episodes: int,
        overrides: dict | None = None,
        device: str = "cpu",
        checkpoint: Path | None = None,
    ) -> Workbench:
        """A trained run, built to play ``episodes`` episodes: one env per episode up to ``PLAY_MAX_ENVS``, with the
        latest checkpoint (or ``checkpoint``) loaded. ``overrides`` win (``env.num_envs`` included)."""
        wb = cls.open(run_dir, {"env.num_envs": min(episodes, PLAY_MAX_ENVS), **(overrides or {})}, device)
        wb.build(resume=checkpoint is None, checkpoint=checkpoint)
        return wb

    @classmethod
    def for_export(cls, run_dir: Path, device: str = "cpu", checkpoint: Path | None = None) -> Workbench:
        """A trained run, built with ``EXPORT_ENVS`` envs to record the observations :meth:`export` checks on."""
        wb = cls.open(run_dir, {"env.num_envs": EXPORT_ENVS}, device)
        wb.build(resume=checkpoint is None, checkpoint=checkpoint)
        return wb

    def add_listener(self, listener: Callable[[str, dict], Any]) -> None:
        """Call ``listener(event, data)`` on every event."""
        self._listeners.append(listener)

    def _emit(self, event: str, data: dict) -> None:
        for listener in self._listeners:
            listener(event, data)

    def build(self, resume: bool = False, checkpoint: Path | None = None) -> None:
        """Seed, build the env and the PPO trainer; with ``resume`` (or a ``checkpoint``) load the latest state."""
        from .envs.workbench_env import WorkbenchEnv
        from .learn.trainer import Trainer

        torch.manual_seed(self.spec.seed)
        started = time.perf_counter()
        self.env = WorkbenchEnv(self.spec, self.device)
        self.trainer = Trainer(self.env, self.spec.ppo, self.device)
        if resume or checkpoint is not None:
            path = checkpoint or self.run.latest_checkpoint()
            self.trainer.load(path)
            torch.manual_seed(self.spec.seed + self.trainer.iteration)
            self.run.truncate_metrics(self.trainer.iteration)
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
        self.run.log(metrics)
        self._emit("iteration", metrics)
        if self.iteration % int(self.spec.ppo["save_interval"]) == 0:
            self.save_checkpoint()
        return metrics

    def save_checkpoint(self) -> Path:
        """Save the trainer's state as ``checkpoints/model_<iteration>.pt`` (atomically)."""
        path = self.trainer.save(self.run.checkpoint_path(self.iteration), {"task": self.spec.name})
        self._emit("checkpoint", {"path": str(path), "iteration": self.iteration})
        return path

    def finish(self, evaluate_episodes: int = 0) -> dict | None:
        """Save the final checkpoint, draw ``curves.png`` and close the logs; then, when ``evaluate_episodes`` > 0,
        evaluate the policy deterministically over that many episodes and return :meth:`evaluate`'s result."""
        from .learn.curves import write_curves

        if self.trainer is not None and self.iteration > 0:
            self.save_checkpoint()
        self.run.close()
        if self.run.metrics_file.exists():
            write_curves(self.run.metrics_file, self.run.curves_file, title=f"{self.spec.name} ({self.run_dir.name})")
        self.state = "finished"
        self._emit("finished", {"iteration": self.iteration, "run_dir": str(self.run_dir)})
        return self.evaluate(num_episodes=evaluate_episodes) if evaluate_episodes > 0 else None

    # -- using the policy -----------------------------------------------------------------------------------------
    def evaluate(
        self,
        num_episodes: int | None = None,
        record: Path | None = None,
        record_envs: int = 4,
        keep_observations: int = 0,
    ) -> dict:
        """Roll the policy out deterministically; optionally write a USD animation of the first envs to ``record``."""
        from .learn.rollout import evaluate

        recorder = None
        if record is not None:
            from .scene.record import UsdRecorder

            count = min(record_envs, self.env.num_envs)
            recorder = UsdRecorder(
                self.spec.scene,
                self.spec.articulation,
                self.env.body_paths,
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
        from .learn.export import export_policy

        rollout = self.evaluate(num_episodes=self.env.num_envs, keep_observations=4096)
        return export_policy(self.trainer.actor, rollout["observations"], Path(out_dir or self.run.export_dir))
