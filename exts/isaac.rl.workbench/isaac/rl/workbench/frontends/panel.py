"""The panel model: the state and the actions of one Workbench panel session, with no UI toolkit.

The browser panel (viser) and the Isaac Sim panel (omni.ui) render this object and call its actions; neither holds
logic of its own. State: the spec being edited (its TOML table, validated on every edit by the code
:func:`~..specs.loader.load_spec` uses, with errors kept next to the field), the scene summary, the run (status,
progress, plot series, checkpoints, recordings, the last evaluation and export), the body poses a 3D view shows
and a message log. The run actions (train, resume, fork, play, record, evaluate, export) are
:class:`~.panel_actions.RunActions`; the Runs section (the runs folder's runs, their curves overlaid, diff, delete
and undo) is :attr:`PanelModel.runs`, a :class:`~.run_manager.RunManager`.

While a run trains, the live keys (:mod:`..live_edits`: a reward term's weight or switching it off or on, an
event's or a command's range, the learning rate, the entropy coefficient) reach it at its next iteration (and are
logged in its ``metrics.jsonl``); any other key, and adding, removing or switching a term (but a reward's switch),
is refused with the reason (:meth:`PanelModel.live_refusal`, :meth:`PanelModel.term_refusal`: use Fork). Between
runs every edit applies to the next run, or to a fork.

Threads: every action returns at once. Training, playing, recording and exporting run on one worker thread
(:class:`~.panel_worker.JobWorker`) that owns the Workbench, so all torch and CUDA work happens on one thread;
:meth:`PanelModel.stop` is answered after the iteration in flight. The jobs (:mod:`.panel_jobs`) change the model
through :meth:`PanelModel.changing`, :meth:`PanelModel.say`, :meth:`PanelModel.stop_requested` and
:meth:`PanelModel.take_live_edits` (their :class:`~.panel_jobs.JobHost`). Renderers subscribe with
:meth:`PanelModel.add_listener` and are called, from either thread, with what changed: "spec", "run", "progress",
"poses", "cameras", "messages", "save" or "runs".

Saving never replaces a file silently: :meth:`PanelModel.save_spec` over an existing file asks first
(:attr:`PanelModel.save_conflict`), and both panels show an "Overwrite" confirmation.

With ``folders`` given (the browser page), every path an action receives must lie in those folders or the runs
folder, and a spec is held to :func:`~.page_policy.check_page_spec`.
"""

from __future__ import annotations

import contextlib
import copy
import shlex
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..live_edits import LiveEditRefused, check_value, expand, refusal
from ..scene.inspect import ArticulationInfo, SceneError, format_scene, inspect_scene
from ..specs.loader import SpecError, read_spec, save_spec, spec_from_table
from ..specs.overrides import apply_overrides
from ..specs.schema import TaskSpec
from ..specs.task_files import find_task, list_tasks
from ..workbench import RUNS_DIR
from .allowed_paths import AllowedFolders, PathRefused
from .page_policy import check_page_spec, parent_check
from .panel_actions import RunActions
from .panel_state import PoseFrames, RunState
from .panel_sweep import SweepRunner
from .panel_worker import JobWorker
from .run_manager import RunManager

TERM_KINDS = ("rewards", "terminations", "events")
WORKER_THREAD = "workbench"  # the name of the thread that runs the jobs
SCENE_SUFFIXES = (".usd", ".usda", ".usdc")


class PanelModel(RunActions):
    """One panel session.

    Args:
        runs_dir: where runs go (``runs_dir/<task>/<time>``).
        device: "cpu" or "cuda[:i]" for training, play and export.
        folders: when given, the only folders (besides ``runs_dir``) that paths sent to the actions may name.
        view_envs: envs a 3D view shows, K (training and play).
    """

    def __init__(
        self, runs_dir: Path = RUNS_DIR, device: str = "cpu", folders: list[Path] | None = None, view_envs: int = 4
    ):
        self.runs_dir = Path(runs_dir)
        self.device = device
        self.view_envs = int(view_envs)
        self.folders: AllowedFolders | None = None
        if folders is not None:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self.folders = AllowedFolders([*folders, self.runs_dir])
        self.spec_file: Path | None = None
        self.raw: dict[str, Any] = {}
        self._trusted: dict[str, Any] | None = None  # a known task's table as its file holds it (page policy)
        self.disabled: dict[str, dict[str, dict]] = {kind: {} for kind in TERM_KINDS}
        self.field_errors: dict[str, str] = {}
        self.articulation: ArticulationInfo | None = None
        self.scene_summary = ""
        self.scene_path: Path | None = None
        """The open spec's scene file (resolved)."""
        self.run = RunState()
        self.view: PoseFrames | None = None
        self.policy_checkpoint: Path | None = None
        """The checkpoint play, record, evaluate, export and fork use (:meth:`choose_checkpoint`); None: the latest."""
        self.messages: list[str] = []
        self.save_conflict: Path | None = None
        """An existing file :meth:`save_spec` left as it was; a panel asks whether to overwrite it (None: no
        question pending)."""
        self._listeners: list[Callable[[str, PanelModel], Any]] = []
        self._lock = threading.RLock()
        self._pending_edits: list[tuple[str, Any]] = []  # (live key, value) for the run training now
        self._worker = JobWorker(WORKER_THREAD)
        self.runs = RunManager(self)
        """The Runs section: the runs folder's runs, a selection, their curves overlaid, diff, delete and undo."""
        self.sweep = SweepRunner(self)
        """The Sweep section: an Optuna sweep of the edited spec, its trials and the best one."""

    # -- listeners ------------------------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[str, PanelModel], Any]) -> None:
        """Call ``listener(what, model)`` on every change ("spec", "run", "progress", "poses", "cameras", "messages",
        "save", "runs")."""
        self._listeners.append(listener)

    def _changed(self, *what: str) -> None:
        for item in what:
            for listener in list(self._listeners):
                listener(item, self)

    @contextlib.contextmanager
    def changing(self, *what: str) -> Iterator[None]:
        """Hold the model's lock while the block changes its state, then tell the listeners what changed (each name
        in turn, see :meth:`add_listener`; none: the change shows with the next one told)."""
        with self._lock:
            yield
        self._changed(*what)

    def say(self, message: str) -> None:
        """Add ``message`` to the message log (listeners hear "messages")."""
        with self.changing("messages"):
            self.messages.append(message)

    def field_problem(self, key: str, message: str) -> None:
        """Show ``message`` next to the spec field ``key`` (listeners hear "spec")."""
        with self.changing("spec"):
            self.field_errors[key] = message

    # -- what the jobs ask ------------------------------------------------------------------------------------------
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` asked the job in flight to end (a job reads it between iterations or steps)."""
        return self._worker.stop_requested()

    def take_live_edits(self) -> list[tuple[str, Any]]:
        """The live edits made while training since the last call, oldest first, as (key, value)
        (``("rewards.alive.weight", 0.0)``, ``("events.push.params.velocity", 1.0)``); the training job applies
        them before its next iteration (:meth:`~..workbench.Workbench.edit_live`)."""
        with self._lock:
            edits, self._pending_edits = self._pending_edits, []
        return edits

    # -- files ----------------------------------------------------------------------------------------------------
    def resolve(self, path: str | Path, must_exist: bool = True) -> Path:
        """``path`` as the actions use it: inside the allowed folders when there are any (else :class:`PathRefused`)."""
        if self.folders is None:
            return Path(path)
        return self.folders.resolve(path, must_exist=must_exist)

    def scene_files(self) -> list[Path]:
        """The USD files a scene picker offers (the allowed folders; empty without them), without the layers inside
        an imported robot's ``Payload/`` folder (the converters' asset structure: only the file beside it is a
        robot)."""
        files = self.folders.files(SCENE_SUFFIXES) if self.folders else []
        return [p for p in files if not any(part == "Payload" for part in p.parent.parts)]

    def spec_files(self) -> list[str]:
        """Task names and spec files that can be opened: the known tasks, then ``*.toml`` in the allowed folders."""
        specs = sorted(list_tasks())
        if self.folders:
            specs += [str(p) for p in self.folders.files((".toml",)) if p.name != "spec.toml"]
        return specs

    def run_folders(self) -> list[Path]:
        """Run folders under the runs folder (those with a ``spec.toml``), newest first."""
        runs = [p.parent for p in self.runs_dir.glob("*/*/spec.toml")] if self.runs_dir.is_dir() else []
        return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)

    # -- the spec -------------------------------------------------------------------------------------------------
    def open_spec(self, task_or_path: str | Path) -> bool:
        """Open a task (name or spec file) for editing; False (and a message) when it cannot be used."""
        try:
            known = str(task_or_path) in list_tasks()
            file = find_task(task_or_path if known else self.resolve(task_or_path)).resolve()
            raw = read_spec(file, None if known or self.folders is None else parent_check(self.folders)).table
            trusted = copy.deepcopy(raw) if known else None
            if self.folders is not None:
                check_page_spec(raw, file, self.folders, trusted)
            spec = spec_from_table(raw, file)
        except (LookupError, OSError, ValueError, tomllib.TOMLDecodeError, SpecError) as exc:
            self.say(f"error: {exc}")
            return False
        with self.changing("spec"):
            self.spec_file, self.raw, self._trusted = file, raw, trusted
            self.disabled = {kind: {} for kind in TERM_KINDS}
            self.field_errors = {}
            self._show_scene(spec.scene, spec.articulation)
        return True

    def open_scene(self, path: str | Path) -> bool:
        """Show a USD scene's articulations; with a spec open, make it the spec's scene (and its only articulation
        the spec's articulation). False, with the reason in ``field_errors["scene"]``, when it cannot be used."""
        try:
            file = self.resolve(path).resolve()
            info = inspect_scene(file)
        except (PathRefused, SceneError, OSError) as exc:
            return self._refuse("scene", str(exc))
        with self._lock:
            self.scene_summary = format_scene(info)
        if not info.articulations:
            return self._refuse("scene", f"{file}: no articulation (no prim with PhysicsArticulationRootAPI)")
        if self.spec_file is None:
            self._changed("spec")
            return True
        edited = copy.deepcopy(self.raw)
        edited["scene"] = str(file)
        if len(info.articulations) == 1:
            edited["articulation"] = info.articulations[0].root_path
        return self._take(edited, "scene")

    def set_field(self, key: str, value: Any) -> bool:
        """Set a dotted key (``"env.num_envs"``, ``"rewards.alive.weight"``) if the spec stays valid; otherwise keep
        the spec and put the error under ``field_errors[key]``. Returns whether the edit was taken. While a run
        trains only live keys are taken (a whole ``events.<e>.params`` or ``commands.<c>.ranges`` table when each
        entry it changes is live), and they reach the run at its next iteration."""
        live = expand(key, value, self.raw) if self.run.status == "training" else []
        try:
            for live_key, live_value in live:
                reason = refusal(live_key, self.raw)
                if reason is not None:
                    raise LiveEditRefused(f"{live_key}: {reason}")
                check_value(live_key, live_value, self.raw)
        except LiveEditRefused as exc:
            return self._refuse(key, str(exc))
        edited = copy.deepcopy(self.raw)
        try:
            apply_overrides(edited, {key: value})
        except SpecError as exc:
            return self._refuse(key, str(exc))
        if not self._take(edited, key):
            return False
        for live_key, live_value in live:
            self._edit_live(live_key, live_value)
        return True

    def live_refusal(self, key: str) -> str | None:
        """Why spec key ``key`` cannot be edited now (a run trains and the key is not live: ``"changes the
        observation's shape: use Fork"``), else None; a panel greys the field out with this reason."""
        if self.run.status != "training" or self.spec_file is None:
            return None
        return refusal(key, self.raw)

    def add_term(self, kind: str, name: str, table: dict[str, Any]) -> bool:
        """Add ``[<kind>.<name>]`` with ``table`` (``func``, ``weight``, ``params``, ...); refused when invalid."""
        if kind not in TERM_KINDS:
            return self._refuse(kind, f"'{kind}': expected one of {', '.join(TERM_KINDS)}")
        if self._term_refused(kind, name):
            return False
        if not name or name in self.raw.get(kind, {}) or name in self.disabled[kind]:
            return self._refuse(f"{kind}.{name}", f"a term named '{name}' exists already" if name else "name it")
        edited = copy.deepcopy(self.raw)
        edited.setdefault(kind, {})[name] = dict(table)
        return self._take(edited, f"{kind}.{name}")

    def remove_term(self, kind: str, name: str) -> bool:
        """Remove a term (enabled or not); refused when the spec would be invalid (e.g. no reward left)."""
        if kind not in TERM_KINDS:
            return self._refuse(kind, f"'{kind}': expected one of {', '.join(TERM_KINDS)}")
        if self._term_refused(kind, name):
            return False
        if name in self.disabled[kind]:
            del self.disabled[kind][name]
            self._changed("spec")
            return True
        edited = copy.deepcopy(self.raw)
        edited.get(kind, {}).pop(name, None)
        return self._take(edited, f"{kind}.{name}")

    def enable_term(self, kind: str, name: str, enabled: bool) -> bool:
        """Take a term out of the spec (kept in :attr:`disabled`) or put it back."""
        if kind not in TERM_KINDS:
            return self._refuse(kind, f"'{kind}': expected one of {', '.join(TERM_KINDS)}")
        if self._term_refused(kind, name, switching=True):
            return False
        edited = copy.deepcopy(self.raw)
        if enabled and name in self.disabled[kind]:
            edited.setdefault(kind, {})[name] = self.disabled[kind][name]
            if self._take(edited, f"{kind}.{name}"):
                table = self.disabled[kind].pop(name)
                if kind == "rewards":
                    self._edit_live(f"rewards.{name}.weight", float(table.get("weight", 1.0)))
                return True
            return False
        table = edited.get(kind, {}).pop(name, None)
        if enabled or table is None:
            return True
        if self._take(edited, f"{kind}.{name}"):
            self.disabled[kind][name] = table
            if kind == "rewards":
                self._edit_live(f"rewards.{name}.weight", 0.0)
            return True
        return False

    def term_refusal(self, kind: str, name: str, switching: bool = False) -> str | None:
        """Why term ``<kind>.<name>`` cannot be added or removed, or (``switching``) switched off or on, now: a run
        trains, which keeps the terms it was built with (a reward's switch reaches it, as its weight); else None."""
        if self.run.status != "training" or (switching and kind == "rewards"):
            return None
        return f"{kind}.{name}: the run keeps the {kind[:-1]} terms it was built with: Stop, then use Fork"

    def _term_refused(self, kind: str, name: str, switching: bool = False) -> bool:
        """Refuse (a message, and the error at ``<kind>.<name>``) what :meth:`term_refusal` refuses; True when so."""
        reason = self.term_refusal(kind, name, switching)
        if reason is not None:
            self.say(f"error: {reason}")
            self._refuse(f"{kind}.{name}", reason)
        return reason is not None

    def spec(self) -> TaskSpec:
        """The edited spec, validated."""
        if self.spec_file is None:
            raise SpecError("no spec is open")
        return spec_from_table(self.raw, self.spec_file)

    def save_spec(self, path: str | Path, overwrite: bool = False) -> Path | None:
        """Write the edited spec (resolved, with paths relative to its new folder) to ``path``; None (and a
        message) when the path is refused or the spec is invalid.

        An existing file is replaced only with ``overwrite``: without it the file is left as it is, the message asks
        for confirmation and :attr:`save_conflict` holds the path (listeners hear "save"), for a panel to offer
        "Overwrite", which calls ``save_spec(model.save_conflict, overwrite=True)``."""
        try:
            target = self.resolve(path, must_exist=False)
            spec = self.spec()
            if target.is_dir():
                raise OSError(f"{target}: is a folder; give a file name such as my_task.toml")
            if target.exists() and not overwrite:
                self._ask_overwrite(target)
                self.say(f"{target}: already exists; press Overwrite to replace it, or save under another name")
                return None
            save_spec(spec, target)
        except (PathRefused, SpecError, OSError) as exc:
            self._ask_overwrite(None)
            self.say(f"error: {exc}")
            return None
        self._ask_overwrite(None)
        self.say(f"saved {target}; repeat the run with: {self.command_line(target)}")
        return target

    def cancel_save(self) -> None:
        """Drop the question :meth:`save_spec` asked: the existing file stays as it is."""
        self._ask_overwrite(None)

    def _ask_overwrite(self, target: Path | None) -> None:
        with self._lock:
            changed, self.save_conflict = self.save_conflict != target, target
        if changed:
            self._changed("save")

    def command_line(self, saved_spec: Path) -> str:
        """The command that repeats a run of the spec saved at ``saved_spec``."""
        return shlex.join(["isaac-rl-workbench", "train", str(saved_spec), "--device", self.device])

    def _edit_live(self, key: str, value: Any) -> None:
        """While a run trains, hand live key ``key``'s new value to it; it applies at the next iteration (see
        :meth:`~..workbench.Workbench.edit_live`). Between runs edits wait for the next run (or a fork)."""
        with self._lock:
            if self.run.status == "training":
                self._pending_edits.append((key, value))

    def check_page(self, edited: dict) -> None:
        """Refuse (:class:`SpecError`) an edited spec table ``edited`` that the page may not run: files outside the
        panel's folders, code a known task does not name (:func:`.page_policy.check_page_spec`)."""
        if self.folders is not None:
            check_page_spec(edited, self.spec_file, self.folders, self._trusted)

    def _take(self, edited: dict, key: str) -> bool:
        if self.spec_file is None:
            return self._refuse(key, "no spec is open: open a task or a spec file first")
        try:
            self.check_page(edited)
            spec = spec_from_table(edited, self.spec_file)
        except SpecError as exc:
            return self._refuse(exc.key or key, str(exc))
        with self.changing("spec"):
            self.raw = edited
            for stale in [k for k in self.field_errors if k == key or k.startswith(f"{key}.")]:
                del self.field_errors[stale]  # the key's error and those of its keys (a term's func, weight, ...)
            self._show_scene(spec.scene, spec.articulation)
        return True

    def _refuse(self, key: str, message: str) -> bool:
        with self.changing("spec"):
            self.field_errors[key] = message
        return False

    def _show_scene(self, scene: Path, root: str) -> None:
        self.scene_path = scene
        try:
            info = inspect_scene(scene)
            self.articulation, self.scene_summary = info.find(root), format_scene(info)
        except SceneError as exc:
            self.articulation, self.scene_summary = None, str(exc)
