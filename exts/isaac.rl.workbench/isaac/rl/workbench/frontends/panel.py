"""The panel model: the state and the actions of one Workbench panel session, with no UI toolkit.

The browser panel (viser) and the Isaac Sim panel (omni.ui) render this object and call its actions; neither holds
logic of its own. State: the spec being edited (its TOML table, validated on every edit by the code
:func:`~..envs.spec.load_spec` uses, with errors kept next to the field), the scene summary, the run (status,
progress, plot series, checkpoints, the last evaluation and export) and a message log.

A reward term's weight, or switching a reward term off or on, reaches a run that is training at its next iteration
(and is logged in its ``metrics.jsonl``); other edits apply to the next run.

Threads: every action returns at once. Training, playing and exporting run on one worker thread that owns the
Workbench, so all torch and CUDA work happens on one thread; :meth:`PanelModel.stop` is answered after the
iteration in flight. Renderers subscribe with :meth:`PanelModel.add_listener` and are called, from either thread,
with what changed: "spec", "run", "progress" or "messages".
"""

from __future__ import annotations

import copy
import queue
import shlex
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..envs.overrides import apply_overrides
from ..envs.spec import SpecError, save_spec, spec_from_table
from ..envs.spec_schema import TaskSpec
from ..envs.task_files import find_task
from ..scene.inspect import ArticulationInfo, SceneError, inspect_scene
from ..workbench import RUNS_DIR, Workbench

TERM_KINDS = ("rewards", "terminations", "events")
PLOTTED = ("mean_reward", "mean_episode_length", "env_steps_per_s", "unstable_envs")  # and every reward/<term>


@dataclass
class RunState:
    """What the panel shows of the current run."""

    status: str = "idle"
    """idle | building | training | stopping | finished | failed | playing | exporting."""
    run_dir: Path | None = None
    iteration: int = 0
    max_iterations: int = 0
    env_steps_per_s: float = 0.0
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    """Plot series: metric name -> (iteration, value) points, for return, episode length and each reward term."""
    checkpoints: list[Path] = field(default_factory=list)
    evaluation: dict | None = None
    """The last :meth:`~..workbench.Workbench.evaluate` result (play)."""
    export: dict | None = None
    """The last export's parity report."""


class PanelModel:
    """One panel session.

    Args:
        runs_dir: where runs go (``runs_dir/<task>/<time>``).
        device: "cpu" or "cuda[:i]" for training, play and export.
    """

    def __init__(self, runs_dir: Path = RUNS_DIR, device: str = "cpu"):
        self.runs_dir = Path(runs_dir)
        self.device = device
        self.spec_file: Path | None = None
        self.raw: dict[str, Any] = {}
        self.disabled: dict[str, dict[str, dict]] = {kind: {} for kind in TERM_KINDS}
        self.field_errors: dict[str, str] = {}
        self.articulation: ArticulationInfo | None = None
        self.run = RunState()
        self.messages: list[str] = []
        self._listeners: list[Callable[[str, PanelModel], Any]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._workbench: Workbench | None = None
        self._pending_edits: list[tuple[str, float, bool]] = []  # (reward term, weight, enabled) for the run
        self._worker = threading.Thread(target=self._work, name="workbench", daemon=True)
        self._worker.start()

    # -- listeners ------------------------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[str, PanelModel], Any]) -> None:
        """Call ``listener(what, model)`` on every change ("spec", "run", "progress", "messages")."""
        self._listeners.append(listener)

    def _changed(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what, self)

    def _say(self, message: str) -> None:
        with self._lock:
            self.messages.append(message)
        self._changed("messages")

    # -- the spec -------------------------------------------------------------------------------------------------
    def open_spec(self, task_or_path: str | Path) -> bool:
        """Open a task (name or spec file) for editing; False (and a message) when it cannot be used."""
        try:
            file = find_task(task_or_path).resolve()
            raw = tomllib.loads(file.read_text())
            spec = spec_from_table(raw, file)
        except (LookupError, OSError, tomllib.TOMLDecodeError, SpecError) as exc:
            self._say(f"error: {exc}")
            return False
        with self._lock:
            self.spec_file, self.raw = file, raw
            self.disabled = {kind: {} for kind in TERM_KINDS}
            self.field_errors = {}
            self.articulation = self._articulation(spec)
        self._changed("spec")
        return True

    def set_field(self, key: str, value: Any) -> bool:
        """Set a dotted key (``"env.num_envs"``, ``"rewards.alive.weight"``) if the spec stays valid; otherwise keep
        the spec and put the error under ``field_errors[key]``. Returns whether the edit was taken."""
        edited = copy.deepcopy(self.raw)
        try:
            apply_overrides(edited, {key: value})
        except SpecError as exc:
            return self._refuse(key, str(exc))
        if not self._take(edited, key):
            return False
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "rewards" and parts[2] == "weight":
            self._edit_live(parts[1], float(value), True)
        return True

    def add_term(self, kind: str, name: str, table: dict[str, Any]) -> bool:
        """Add ``[<kind>.<name>]`` with ``table`` (``func``, ``weight``, ``params``, ...); refused when invalid."""
        if kind not in TERM_KINDS:
            return self._refuse(kind, f"expected one of {', '.join(TERM_KINDS)}")
        if name in self.raw.get(kind, {}) or name in self.disabled[kind]:
            return self._refuse(f"{kind}.{name}", f"a term named '{name}' exists already")
        edited = copy.deepcopy(self.raw)
        edited.setdefault(kind, {})[name] = dict(table)
        return self._take(edited, f"{kind}.{name}")

    def remove_term(self, kind: str, name: str) -> bool:
        """Remove a term (enabled or not); refused when the spec would be invalid (e.g. no reward left)."""
        if name in self.disabled[kind]:
            del self.disabled[kind][name]
            self._changed("spec")
            return True
        edited = copy.deepcopy(self.raw)
        edited.get(kind, {}).pop(name, None)
        return self._take(edited, f"{kind}.{name}")

    def enable_term(self, kind: str, name: str, enabled: bool) -> bool:
        """Take a term out of the spec (kept in :attr:`disabled`) or put it back."""
        edited = copy.deepcopy(self.raw)
        if enabled and name in self.disabled[kind]:
            edited.setdefault(kind, {})[name] = self.disabled[kind][name]
            if self._take(edited, f"{kind}.{name}"):
                table = self.disabled[kind].pop(name)
                if kind == "rewards":
                    self._edit_live(name, float(table.get("weight", 1.0)), True)
                return True
            return False
        table = edited.get(kind, {}).pop(name, None)
        if enabled or table is None:
            return True
        if self._take(edited, f"{kind}.{name}"):
            self.disabled[kind][name] = table
            if kind == "rewards":
                self._edit_live(name, float(table.get("weight", 1.0)), False)
            return True
        return False

    def spec(self) -> TaskSpec:
        """The edited spec, validated."""
        if self.spec_file is None:
            raise SpecError("no spec is open")
        return spec_from_table(self.raw, self.spec_file)

    def save_spec(self, path: Path) -> Path:
        """Write the edited spec (resolved, with paths relative to its new folder) to ``path``."""
        save_spec(self.spec(), Path(path))
        self._say(f"saved {path}")
        return Path(path)

    def command_line(self, saved_spec: Path) -> str:
        """The command that repeats a run of the spec saved at ``saved_spec``."""
        return shlex.join(["isaac-rl-workbench", "train", str(saved_spec), "--device", self.device])

    def _edit_live(self, name: str, weight: float, enabled: bool) -> None:
        """While a run trains, hand a reward weight change to it; it applies at the next iteration (see
        :meth:`~..workbench.Workbench.set_reward_weight`). Other edits wait for the next run (or a fork)."""
        with self._lock:
            if self.run.status == "training":
                self._pending_edits.append((name, weight, enabled))

    def _take(self, edited: dict, key: str) -> bool:
        try:
            spec = spec_from_table(edited, self.spec_file)
        except SpecError as exc:
            return self._refuse(exc.key or key, str(exc))
        with self._lock:
            self.raw = edited
            self.field_errors.pop(key, None)
            self.articulation = self._articulation(spec)
        self._changed("spec")
        return True

    def _refuse(self, key: str, message: str) -> bool:
        with self._lock:
            self.field_errors[key] = message
        self._changed("spec")
        return False

    @staticmethod
    def _articulation(spec: TaskSpec) -> ArticulationInfo | None:
        try:
            return inspect_scene(spec.scene).find(spec.articulation)
        except SceneError:
            return None

    # -- the run --------------------------------------------------------------------------------------------------
    def train(self) -> bool:
        """Start a new run of the edited spec on the worker; False when the spec is invalid or the worker is busy."""
        try:
            spec = self.spec()
        except SpecError as exc:
            self._say(f"error: {exc}")
            return False
        return self._submit(
            lambda: self._train(lambda: Workbench.new(spec, device=self.device, runs_dir=self.runs_dir))
        )

    def resume(self, run_dir: Path) -> bool:
        """Continue a run folder from its latest checkpoint."""
        return self._submit(lambda: self._train(lambda: Workbench.open(Path(run_dir), device=self.device), True))

    def stop(self) -> None:
        """Stop training after the iteration in flight (a checkpoint is saved)."""
        self._stop.set()
        with self._lock:
            if self.run.status == "training":
                self.run.status = "stopping"
        self._changed("run")

    def play(self, episodes: int = 16) -> bool:
        """Evaluate the current run's latest checkpoint deterministically; the result lands in ``run.evaluation``."""
        return self._submit(lambda: self._use_policy("playing", episodes))

    def export(self) -> bool:
        """Export the current run's policy (ONNX, TorchScript); the parity report lands in ``run.export``."""
        return self._submit(lambda: self._use_policy("exporting", 0))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker is idle (tests and scripts); True when it is."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop training and end the worker."""
        self._stop.set()
        self._jobs.put(None)
        self._worker.join(timeout=60)

    def _submit(self, job: Callable[[], None]) -> bool:
        if not self._idle.is_set():
            self._say("busy: stop the current job first")
            return False
        self._idle.clear()
        self._stop.clear()
        self._jobs.put(job)
        return True

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception as exc:  # every failure reaches the message log; the worker lives on
                with self._lock:
                    self.run.status = "failed"
                self._say(f"error: {exc}")
                self._changed("run")
            finally:
                self._idle.set()

    def _train(self, make: Callable[[], Workbench], resume: bool = False) -> None:
        with self._lock:
            self.run = RunState(status="building")
        self._changed("run")
        wb = make()
        wb.add_listener(self._on_event)
        self._workbench = wb
        wb.build(resume=resume)
        with self._lock:
            self.run.run_dir, self.run.max_iterations = wb.run_dir, wb.max_iterations
            self.run.iteration, self.run.status = wb.iteration, "training"
        self._changed("run")
        try:
            while not wb.done and not self._stop.is_set():
                with self._lock:
                    edits, self._pending_edits = self._pending_edits, []
                for name, weight, enabled in edits:
                    wb.set_reward_weight(name, weight, enabled)
                    self._say(
                        f"rewards.{name}: weight {weight:g}{'' if enabled else ' (off)'} from iteration "
                        f"{wb.iteration + 1}"
                    )
                wb.train_step()
        finally:
            wb.finish()
        with self._lock:
            self.run.status = "failed" if wb.state == "failed" else "finished"
        self._changed("run")

    def _use_policy(self, status: str, episodes: int) -> None:
        run_dir = self.run.run_dir
        if run_dir is None:
            raise RuntimeError("no run yet: train or resume one first")
        with self._lock:
            self.run.status = status
        self._changed("run")
        if status == "playing":
            result = Workbench.for_play(run_dir, episodes, device=self.device).evaluate(num_episodes=episodes)
            with self._lock:
                self.run.evaluation = {k: v for k, v in result.items() if k != "observations"}
        else:
            report = Workbench.for_export(run_dir, device=self.device).export()
            with self._lock:
                self.run.export = report
        with self._lock:
            self.run.status = "finished"
        self._changed("run")

    def _on_event(self, event: str, data: dict) -> None:
        """Workbench listener (worker thread)."""
        if event == "iteration":
            with self._lock:
                it = data["iteration"]
                self.run.iteration, self.run.env_steps_per_s = it, data["env_steps_per_s"]
                for key, value in data.items():
                    if key in PLOTTED or key.startswith("reward/"):
                        self.run.series.setdefault(key, []).append((it, float(value)))
            self._changed("progress")
        elif event == "checkpoint":
            with self._lock:
                self.run.checkpoints.append(Path(data["path"]))
            self._changed("run")
        elif event == "warning":
            self._say(f"warning: {data['message']}")
