"""The Workbench: one training run from spec to exported policy, as a plain-Python object every front end drives.

States: ``created`` -> :meth:`build` -> ``ready`` -> :meth:`train_step` (repeat; ``training``) -> ``finished``.
No call blocks for longer than one PPO iteration, so a UI can interleave its own updates. Listeners registered
with :meth:`add_listener` get ``(event, data)`` for "built", "iteration", "checkpoint", "finished", "evaluated",
"warning", "edited" (a live edit, :meth:`edit_live`) and
"poses" (the body poses of the envs :meth:`watch_poses` asked for, once per iteration).

The run folder (:class:`~.learn.run_dir.RunDir`) holds ``spec.toml``, ``metrics.jsonl``, TensorBoard files,
``checkpoints/`` (with ``best.pt``), ``curves.png`` and ``export/``. The Workbench also owns the run policy every
front end shares: how many envs play and export build, the evaluation after training, and what ``[train]`` asks
between iterations (:class:`~.learn.train_monitor.TrainMonitor`: evaluation, the best checkpoint, early stop).

In a distributed run (:mod:`.learn.distributed`) every rank builds and trains its own Workbench over the same run
folder; only rank 0's writes to it (:attr:`Workbench.writes`), and each rank seeds with ``seed + rank``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .learn import distributed
from .learn.ppo_config import is_distillation
from .learn.run_args import check_device
from .learn.run_dir import RunDir, RunError, RunWriteError, writing
from .learn.train_monitor import TrainMonitor
from .live_edits import LiveEdits
from .run_writer import RunWriter, check_unused, default_run_dir
from .specs.loader import TaskSpec, load_spec
from .trained_policy import TrainedPolicy
from .utils import startup_timer
from .utils.writable import check_writable

RUNS_DIR = Path("runs")
PLAY_MAX_ENVS = 1024  # play builds one env per episode, up to this many (not the thousands a GPU run trained with)
EXPORT_ENVS = 8
"""Envs whose deterministic rollout gives the observations an export is checked on: one episode each, up to
``EXPORT_OBSERVATIONS`` rows (all of them from episodes of 512 steps or more), with each env's own start and
command. Few: on the CPU each env more is build time (Newton's conversion to one MuJoCo world)."""
EVAL_EPISODES = 64  # deterministic episodes evaluated after training

__all__ = ["EVAL_EPISODES", "EXPORT_ENVS", "PLAY_MAX_ENVS", "RunError", "TrainingFailed", "Workbench"]


class TrainingFailed(RuntimeError):
    """Training cannot go on (the physics failed for every env, or NaN in the policy or its loss); the message says
    why and which checkpoint is the last good one."""


class Workbench:
    """A training run.

    Use :meth:`new` for a fresh run, :meth:`open` for an existing run folder (resume), :meth:`for_play` and
    :meth:`for_export` for a trained one.
    """

    def __init__(self, spec: TaskSpec, run: RunDir, device: str = "cpu", fresh: bool = False):
        self.spec = spec
        self.cuda_graph = True  # the env steps as one CUDA graph on a GPU (off: eager steps, see for_play)
        self.run = run
        self.run_dir = run.path
        self.device = check_device(device)
        self._fresh = fresh  # the run folder is created (and the spec written) once build() succeeds
        self.writes = distributed.writes()  # False on a distributed run's ranks other than 0: they write nothing
        self._writer = RunWriter(run)
        self.saving = False  # True while a checkpoint is written (a front end defers an abort until it is done)
        self._warnings = None  # TrainingWarnings, once built
        self.monitor: TrainMonitor | None = None  # evaluation, best checkpoint, early stop; once built
        self.state = "created"
        self._failure = ""  # what made the run fail, for run.json
        self.env = None
        self.eval_envs = 0  # evaluation envs after the training envs (train.eval_every), once built for training
        self.trainer = None
        self.trained_policy: TrainedPolicy | None = None  # evaluate, play, export, once built
        self.live: LiveEdits | None = None  # live edits of the training run, once built (edit_live)
        self.max_iterations = int(spec.ppo["max_iterations"])
        self._listeners: list[Callable[[str, dict], Any]] = []
        self.start_iteration = 0
        self._pose_watch = None  # envs whose body poses each iteration hands to listeners ("poses")

    # -- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def new(
        cls,
        task: str | Path | TaskSpec,
        overrides: dict | None = None,
        run_dir: Path | None = None,
        device: str = "cpu",
        runs_dir: Path = RUNS_DIR,
    ) -> Workbench:
        """A fresh run of ``task`` (a name, a spec path, or a validated spec such as a panel's); the run folder
        defaults to ``<runs_dir>/<name>/<time>`` (``runs/`` in the current folder; :func:`default_run_dir`).

        Nothing is written until :meth:`build` succeeds; a folder that already holds any file a run writes
        (``spec.toml``, ``metrics.jsonl``, ...) is refused, so a run never overwrites a file it did not write.
        """
        check_device(device)
        if isinstance(task, TaskSpec) and overrides:
            raise ValueError("overrides apply to a task name or spec file, not to a validated TaskSpec")
        spec = task if isinstance(task, TaskSpec) else load_spec(task, overrides)
        if run_dir is None:
            run_dir = default_run_dir(Path(runs_dir), spec.name)
        run_dir = Path(distributed.from_rank0(str(run_dir)))  # a distributed run's folder is rank 0's
        if distributed.writes():
            check_unused(run_dir)
        return cls(spec, RunDir(run_dir), device, fresh=True)

    @classmethod
    def open(cls, run_dir: Path, overrides: dict | None = None, device: str = "cpu") -> Workbench:
        """An existing run folder, with its resolved spec (plus ``overrides``)."""
        check_device(device)
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
        cuda_graph: bool = True,
    ) -> Workbench:
        """A trained run, built to play ``episodes`` episodes: one env per episode up to ``PLAY_MAX_ENVS``, with the
        latest checkpoint (or ``checkpoint``) loaded. ``overrides`` win (``env.num_envs`` included). On a terrain
        with a curriculum, the envs start on levels drawn from all of them and stay on their tiles.
        ``cuda_graph=False``: eager env steps, for a caller that changes the env between steps (a sweep)."""
        if episodes < 1:
            raise RunError(f"--episodes {episodes}: expected at least 1 episode")
        wb = cls.open(run_dir, {"env.num_envs": min(episodes, PLAY_MAX_ENVS), **(overrides or {})}, device)
        wb.cuda_graph = cuda_graph
        if wb.spec.terrain_levels is not None:  # as Isaac Lab plays: no curriculum, every level a start level
            terrain = dataclasses.replace(wb.spec.terrain, max_start_level=None)
            wb.spec = dataclasses.replace(wb.spec, terrain=terrain, terrain_levels=None)
        wb.build(checkpoint=checkpoint or wb.run.latest_checkpoint())
        return wb

    @classmethod
    def for_export(
        cls,
        run_dir: Path,
        device: str = "cpu",
        checkpoint: Path | None = None,
        deploy: bool = False,
        before_build: Callable[[Workbench], Any] | None = None,
    ) -> Workbench:
        """A trained run, built with ``EXPORT_ENVS`` envs to record the observations :meth:`export` checks on; its
        ``export/`` folder is checked writable first (:class:`RunWriteError`) and, with ``deploy``, its policy's
        observations against the robot runtime's (``DeployError``), both before the envs are built.
        ``before_build(wb)`` is called once they passed, before the build (a front end says what it builds)."""
        wb = cls.open(run_dir, {"env.num_envs": EXPORT_ENVS}, device)
        with writing(wb.run.export_dir):
            check_writable(wb.run.export_dir)
        if deploy:
            from .deploy_manifest import check_deployable

            check_deployable(wb.spec)
        if before_build is not None:
            before_build(wb)
        wb.build(checkpoint=checkpoint or wb.run.latest_checkpoint())
        return wb

    def add_listener(self, listener: Callable[[str, dict], Any]) -> None:
        """Call ``listener(event, data)`` on every event."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[str, dict], Any]) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    def _emit(self, event: str, data: dict) -> None:
        for listener in self._listeners:
            listener(event, data)

    def build(self, resume: bool = False, checkpoint: Path | None = None) -> None:
        """Seed, build the env and the PPO trainer, and load ``checkpoint`` when one is given.

        ``resume``: continue training this run from its latest checkpoint (metrics rows past it are dropped); a run
        that never saved one (stopped in its first iterations) starts again from iteration 0. Any checkpoint file
        is checked before an env is built. A distillation started afresh loads its teacher from
        ``ppo.teacher_checkpoint`` (:func:`.learn.teacher.find_teacher`).

        A run that will write (a new one, or ``resume``) first becomes the folder's only writer
        (:meth:`.learn.run_dir.RunDir.lock`: another writer, a read-only folder or a full disk is refused before
        anything is built), and after the build checks there is room for a checkpoint. The lock is held until
        :meth:`finish`; a build that fails gives it back, and a new run's folder that it created goes again.
        """
        writer = (self._fresh or resume) and self.writes
        try:
            if writer:
                notice = self._writer.lock(self._fresh)
                if notice:
                    self._emit("warning", {"message": notice})
            self._build(resume, checkpoint, writer)
        except BaseException:
            if writer:
                self._writer.take_back()
            raise

    def _build(self, resume: bool, checkpoint: Path | None, writer: bool) -> None:
        from .envs.training_warnings import TrainingWarnings
        from .envs.workbench_env import WorkbenchEnv
        from .learn.checkpoint import read_checkpoint
        from .learn.eval_envs import TrainingEnvs, eval_env_count
        from .learn.teacher import find_teacher
        from .learn.trainer import Trainer

        path = checkpoint
        if resume and path is None and writer:
            path = self._writer.resume_checkpoint(lambda message: self._emit("warning", {"message": message}))
        if resume:  # every rank loads rank 0's checkpoint
            path = distributed.from_rank0(path)
        # missing, empty, corrupt, not a checkpoint: fail now, not after the build
        state = read_checkpoint(Path(path)) if path is not None else None
        fresh_distillation = path is None and is_distillation(self.spec.ppo)
        teacher = find_teacher(self.spec.raw, self.spec.source) if fresh_distillation else None
        torch.manual_seed(distributed.rank_seed(self.spec.seed))
        started = time.perf_counter()
        train = self.spec.train
        steps, max_length = int(self.spec.ppo["num_steps_per_env"]), self.spec.env.max_episode_length
        self.eval_envs = eval_env_count(train.eval_every, train.eval_episodes, steps, max_length) if writer else 0
        spec = self.spec
        if self.eval_envs:  # the evaluation envs step beside the training envs, after them
            spec = dataclasses.replace(
                spec, env=dataclasses.replace(spec.env, num_envs=spec.env.num_envs + self.eval_envs)
            )
        self.env = WorkbenchEnv(spec, self.device, cuda_graph=self.cuda_graph, eval_envs=self.eval_envs)
        startup_timer.mark("env")
        training_envs = TrainingEnvs(self.env, self.eval_envs) if self.eval_envs else self.env
        self.trainer = Trainer(training_envs, self.spec.ppo, self.device)
        if self.eval_envs:
            training_envs.use_policy(self.trainer.actor)
        startup_timer.mark("trainer")
        self._warnings = TrainingWarnings(self.spec, self.env)
        self.live = LiveEdits(self.spec.raw, self.env, self.trainer, self.run, self._emit)
        best_path = self.run.checkpoints_dir / "best.pt"
        self.monitor = TrainMonitor(self.trainer, self.env.pop_eval_stats, train, best_path)
        if path is not None:
            self.trainer.load(Path(path), state)
            torch.manual_seed(distributed.rank_seed(self.spec.seed + self.trainer.iteration))
            if resume:  # training goes on from here: later rows belong to the lost iterations (play keeps them)
                if self.writes:
                    self.run.truncate_metrics(self.trainer.iteration)
                rows = distributed.from_rank0(self.run.read_metrics() if self.writes else None)  # rank 0's rows
                self.live.replay(rows, self.trainer.iteration)
                self.monitor.resume(rows)
        elif teacher is not None:
            self.trainer.load_teacher(*teacher)
        if writer:
            self._writer.check_room(self.trainer.checkpoint_bytes())
        if self._fresh and writer:
            self._writer.write_start(self.spec, self.env.applied_randomization)
            self._fresh = False
        if writer:
            self.run.write_info(device=str(self.device), max_iterations=self.max_iterations)
        self.trained_policy = TrainedPolicy(self.env, self.trainer, self.spec, self._emit)
        self.start_iteration = self.trainer.iteration
        self.state = "ready"
        self._emit("built", {"seconds": time.perf_counter() - started, "iteration": self.trainer.iteration})

    # -- training -------------------------------------------------------------------------------------------------
    @property
    def iteration(self) -> int:
        """Completed PPO iterations, counted across resumes."""
        return self.trainer.iteration if self.trainer else 0

    @property
    def train_seconds(self) -> float:
        """Seconds spent collecting and updating, over every iteration of the run (resumes included)."""
        return self.trainer.train_seconds if self.trainer else 0.0

    @property
    def compile_notice(self) -> str | None:
        """A line for the user when the next iteration compiles the PPO update (``ppo.torch_compile_mode`` on
        CUDA), else None."""
        mode = self.trainer.compile_mode if self.trainer else None
        if mode is None or self.trainer.iteration > self.start_iteration:
            return None
        return f"torch.compile ({mode}) of the PPO update: the first iteration compiles it (seconds, once per process)"

    @property
    def eval_notice(self) -> str | None:
        """A line for the user when the run evaluates while training (where and how often), else None."""
        if not self.eval_envs:
            return None
        return (
            f"evaluation: {self.eval_envs} more envs run the deterministic policy beside the "
            f"{self.spec.env.num_envs} training envs; eval/* every {self.spec.train.eval_every} iterations"
        )

    @property
    def done(self) -> bool:
        """True once ``max_iterations`` iterations have run, or ``train.stop_when`` stopped the run."""
        return self.iteration >= self.max_iterations or self.stopped is not None

    @property
    def stopped(self) -> str | None:
        """Why ``train.stop_when`` stopped the run (``"eval/success >= 0.95 held for 2 evaluations at ..."``)."""
        return self.monitor.stopped if self.monitor else None

    def train_step(self) -> dict:
        """Run one PPO iteration, log it, save a checkpoint every ``save_interval`` iterations; return metrics."""
        if self.trainer is None:
            raise RunError("build() the workbench before training")
        from .envs.workbench_env import PhysicsError
        from .learn.trainer import TrainingDiverged

        self.state = "training"
        iteration = self.iteration + 1
        try:
            metrics = self.trainer.train_step()
            startup_timer.mark("iteration")
            metrics["train_seconds"] = self.train_seconds
            improved = self.monitor.after_iteration(metrics)  # evaluation, early stop, best so far
        except (PhysicsError, TrainingDiverged, distributed.RankLost) as exc:
            raise self._failed(f"training stopped at iteration {iteration}: {exc}") from exc
        try:
            if self.writes:
                self.run.log(metrics)
        except RunWriteError as exc:
            raise self._failed(f"training stopped at iteration {self.iteration}: {exc}") from exc
        startup_timer.mark("log")
        self._emit("iteration", metrics)
        if self._pose_watch is not None:
            poses, origins = self._pose_watch.pop_with_origins()
            self._emit("poses", {"poses": poses.numpy(), "origins": origins.numpy(), "dt": self.spec.env.step_dt})
        for message in self._warnings.check(metrics):
            self._emit("warning", {"message": message})
        if self.iteration % int(self.spec.ppo["save_interval"]) == 0 and self.writes:
            self.save_checkpoint()
        if improved and self.writes:  # checkpoints/best.pt, atomically
            try:
                self.monitor.save_best({"task": self.spec.name})
            except RunWriteError as exc:
                raise self._failed(f"the best checkpoint of iteration {self.iteration} was not saved: {exc}") from exc
        return metrics

    def _failed(self, what: str) -> TrainingFailed:
        """The run cannot go on: state "failed", and the error that says ``what`` and names the last good
        checkpoint."""
        self.state, self._failure = "failed", what
        try:
            last = f"the last good checkpoint is {self.run.latest_checkpoint()}"
        except RunError:
            last = "no checkpoint was saved"
        return TrainingFailed(f"{self.run_dir}: {what}; {last}")

    def _record_end(self) -> None:
        """How the run ended, in ``run.json`` for the run lists: failed (why), stopped early (why), stopped before
        ``max_iterations`` (Stop, Ctrl-C) or finished."""
        if self.state == "failed":
            status, reason = "failed", self._failure
        elif self.stopped is not None or self.iteration < self.max_iterations:
            status, reason = "stopped", self.stopped or f"stopped at iteration {self.iteration}"
        else:
            status, reason = "finished", ""
        try:
            self.run.write_info(status=status, reason=reason)
        except RunWriteError as exc:
            self._emit("warning", {"message": f"run.json was not written: {exc}"})

    def watch_poses(self, num_envs: int) -> None:
        """During training, hand the body poses of the first ``num_envs`` envs at every step of each iteration to
        listeners as a "poses" event after it: ``poses`` (T, K, B, 7) env-relative (x, y, z [m], qx, qy, qz, qw) in
        :attr:`body_paths` order, ``origins`` (T, K, 3) each env's origin in the world [m], ``dt`` [s] between
        frames. Costs a device copy per step and one transfer per
        iteration (see :class:`~.envs.pose_watch.PoseWatch`). Call after :meth:`build`."""
        if self.env is None:
            raise RunError("build() the workbench before watching its envs")
        self._pose_watch = self.env.watch_poses(num_envs, int(self.spec.ppo["num_steps_per_env"]))

    @property
    def body_paths(self) -> list[str]:
        """USD prim paths of the bodies, in the order of the poses in "poses" events and :meth:`play_step`."""
        return self.env.body_paths

    def edit_live(self, key: str, value: Any) -> str:
        """Change spec key ``key`` of the run without a rebuild, between iterations (:mod:`.live_edits`: the keys,
        when each applies, the ``metrics.jsonl`` row a resume applies again); returns what changed and when, in a
        line. :class:`~.live_edits.LiveEditRefused` names the key and why (a shape: use Fork)."""
        if self.live is None:
            raise RunError("build() the workbench before editing it live")
        return self.live.apply(key, value, self.iteration)

    def save_checkpoint(self) -> Path:
        """Save the trainer's state as ``checkpoints/model_<iteration>.pt`` (atomically).

        Raises:
            TrainingFailed: the file could not be written (full disk, read-only folder); the error names the file,
                the cause and the last good checkpoint (an earlier one: a failed save leaves nothing behind).
        """
        self.saving = True
        target = self.run.checkpoint_path(self.iteration)
        try:
            with writing(target):
                path = self.trainer.save(target, {"task": self.spec.name})
        except RunWriteError as exc:
            raise self._failed(f"the checkpoint of iteration {self.iteration} was not saved: {exc}") from exc
        finally:
            self.saving = False
        self._emit("checkpoint", {"path": str(path), "iteration": self.iteration})
        return path

    def close(self) -> None:
        """Give up the run folder without finishing the run (no checkpoint, no curves): its writer lock is released,
        so another Workbench (in this process or another) may resume it. :meth:`finish` does this itself."""
        self.run.unlock()

    def finish(self, evaluate_episodes: int = 0) -> dict | None:
        """Save the final checkpoint, draw ``curves.png`` and close the logs; then, when ``evaluate_episodes`` > 0,
        evaluate the policy deterministically over that many episodes and return :meth:`evaluate`'s result."""
        try:
            taken_back = self._close_run() if self.writes else False
        finally:
            self.run.unlock()
        if taken_back:
            self._emit("finished", {"iteration": 0, "run_dir": None})
            return None
        self.state = "failed" if self.state == "failed" else "finished"
        if self.writes:
            self._record_end()
        self._emit("finished", {"iteration": self.iteration, "run_dir": str(self.run_dir)})
        return self.evaluate(num_episodes=evaluate_episodes) if evaluate_episodes > 0 else None

    def _close_run(self) -> bool:
        """:meth:`finish`'s writes: the last checkpoint, the logs closed, ``curves.png``. A run that failed in its
        first iteration takes back what it wrote (returns True). Raises :class:`TrainingFailed` when a write fails,
        unless the run had failed already (that first error is the one to report)."""
        failed_already = self.state == "failed"
        if self.trainer is not None and self.iteration > 0 and not failed_already:
            self.save_checkpoint()
        try:
            self.run.close()
        except RunWriteError as exc:
            if not failed_already:
                raise self._failed(f"the TensorBoard log was not written: {exc}") from exc
        if self.state == "failed" and self._writer.wrote_no_metrics:
            self._writer.take_back()  # failed in its first iteration
            return True
        if self.run.metrics_file.exists():
            title = f"{self.spec.name} ({self.run_dir.name})"
            try:
                self._writer.draw_curves(title)
            except RunWriteError as exc:
                if not failed_already:
                    raise self._failed(f"the curves were not drawn: {exc}") from exc
        return False

    # -- using the policy (:class:`~.trained_policy.TrainedPolicy`) -----------------------------------------------
    def evaluate(
        self,
        num_episodes: int | None = None,
        record: Path | None = None,
        record_envs: int = 4,
        keep_observations: int = 0,
    ) -> dict:
        """Roll the policy out deterministically over ``num_episodes`` episodes (default: one per env); optionally
        write a USD animation of the first envs to ``record`` (:meth:`.trained_policy.TrainedPolicy.evaluate`)."""
        episodes = num_episodes or self.env.num_envs
        return self.trained_policy.evaluate(episodes, record, record_envs, keep_observations)

    def play_step(self) -> dict:
        """Step every env once with the deterministic policy (a live view of :meth:`for_play`'s envs); envs whose
        episode ends start a new one. Returns ``poses`` (N, B, 7) env-relative body poses, ``origins`` (N, 3) the
        envs' origins [m], ``rewards`` (N,) and ``dones`` (N,), as CPU tensors."""
        return self.trained_policy.play_step()

    def export(self, out_dir: Path | None = None, deploy: bool = False) -> dict:
        """Write ``export/policy.onnx`` and ``export/policy.pt`` (or into ``out_dir``) and check them against the
        training policy; ``deploy``: with the deployment bundle (:meth:`.trained_policy.TrainedPolicy.export`)."""
        return self.trained_policy.export(Path(out_dir or self.run.export_dir), deploy)
