"""The panel model's run actions (:class:`RunActions`, mixed into :class:`~.panel.PanelModel`): train, resume, fork,
stop, choose a checkpoint, play, record, evaluate, export, open a run folder or a recording. Each returns at once;
the jobs (:mod:`.panel_jobs`) run on the model's worker thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..specs.schema import SpecError, TaskSpec
from . import panel_jobs
from .allowed_paths import PathRefused


class RunActions:
    """What :class:`~.panel.PanelModel` does with runs. It reads and changes the model's ``run``,
    ``policy_checkpoint`` and worker (``_worker``), and uses its :meth:`spec`, :meth:`resolve`, :meth:`say` and
    :meth:`changing`."""

    # -- the run --------------------------------------------------------------------------------------------------
    def train(self) -> bool:
        """Start a new run of the edited spec on the worker; False when the spec is invalid or the worker is busy."""
        spec = self._valid_spec()
        return spec is not None and self._submit(lambda: panel_jobs.train(self, spec=spec))

    def resume(self, run_dir: str | Path) -> bool:
        """Continue a run folder from its latest checkpoint."""
        folder = self._path_or_say(run_dir)
        return folder is not None and self._submit(lambda: panel_jobs.train(self, resume=folder))

    def fork(self, checkpoint: str | Path | None = None) -> bool:
        """Start a new run of the edited spec from ``checkpoint`` (default: the current run's latest): networks,
        normaliser, optimiser and iteration count carry over; the spec may differ in anything that keeps the
        observation and action sizes (rewards, terminations, events, PPO settings, env count)."""
        spec = self._valid_spec()
        if spec is None:
            return False
        checkpoint = checkpoint or self.policy_checkpoint
        if checkpoint is None and not self.run.checkpoints:
            self.say("error: no checkpoint to fork from: train, or pick a checkpoint")
            return False
        path = self._path_or_say(checkpoint or self.run.checkpoints[-1])
        return path is not None and self._submit(lambda: panel_jobs.train(self, spec=spec, fork=path))

    def stop(self) -> None:
        """Stop training after the iteration in flight (a checkpoint is saved), or stop playing."""
        self._worker.request_stop()
        with self.changing("run"):
            if self.run.status == "training":
                self.run.status = "stopping"

    def choose_checkpoint(self, checkpoint: str | Path | None) -> bool:
        """The checkpoint that play, record, evaluate, export and fork use; None: the run's latest."""
        path = None if checkpoint is None else self._path_or_say(checkpoint)
        if checkpoint is not None and path is None:
            return False
        with self.changing("run"):
            self.policy_checkpoint = path
        return True

    def play(self) -> bool:
        """Run the current run's latest (or chosen) checkpoint deterministically in ``view_envs`` envs at real-time
        speed, streaming body poses to :attr:`view`, until :meth:`stop`."""
        return self._needs_run() and self._submit(lambda: panel_jobs.play(self))

    def record(self, episodes: int = 1) -> bool:
        """Write a USD recording of ``view_envs`` envs playing the policy into ``<run>/recordings/``; it is added to
        ``run.recordings`` and opened in the view."""
        return self._needs_run() and self._submit(lambda: panel_jobs.record(self, episodes))

    def evaluate(self, episodes: int = 16) -> bool:
        """Evaluate the current run's latest checkpoint deterministically; the result lands in ``run.evaluation``."""
        return self._needs_run() and self._submit(lambda: panel_jobs.evaluate(self, episodes))

    def export(self) -> bool:
        """Export the current run's policy (ONNX, TorchScript); the parity report lands in ``run.export``."""
        return self._needs_run() and self._submit(lambda: panel_jobs.export(self))

    def open_run(self, run_dir: str | Path) -> bool:
        """Make a run folder the current run (to play, record, export or resume it) and show its curves."""
        folder = self._path_or_say(run_dir)
        return folder is not None and self._idle_or_say() and panel_jobs.open_run(self, folder)

    def open_recording(self, path: str | Path) -> bool:
        """Load a USD recording (``play --record``) into :attr:`view` for playback."""
        file = self._path_or_say(path)
        return file is not None and panel_jobs.open_recording(self, file)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker is idle (tests and scripts); True when it is."""
        return self._worker.wait(timeout)

    def close(self) -> None:
        """Stop training and a sweep (its trials save their checkpoints), and end the worker."""
        self.sweep.close()
        self._worker.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has ended the worker."""
        return not self._worker.is_alive()

    def _valid_spec(self) -> TaskSpec | None:
        try:
            return self.spec()
        except SpecError as exc:
            self.say(f"error: {exc}")
            return None

    def _path_or_say(self, path: str | Path) -> Path | None:
        try:
            return self.resolve(path)
        except PathRefused as exc:
            self.say(f"error: {exc}")
            return None

    def _needs_run(self) -> bool:
        if self.run.run_dir is None:
            self.say("error: no run yet: train, resume or open one first")
            return False
        return True

    def _idle_or_say(self) -> bool:
        if self._worker.busy():
            self.say("busy: stop the current job first")
            return False
        return True

    def _submit(self, job: Callable[[], None]) -> bool:
        return self._idle_or_say() and self._worker.submit(lambda: panel_jobs.reporting_failure(self, job))
