"""The run folders under a runs folder, each summed up in one :class:`RunSummary`, and the trash they are deleted to.

A run folder is any folder under the root that holds ``spec.toml`` (``train`` writes ``<root>/<task>/<time>/``);
folders whose name starts with a dot (``.trash``) are skipped, and nothing inside a run folder is searched. What a
summary says, and where it comes from:

- task: ``name`` of ``spec.toml``; engine: its ``env.physics``; planned iterations: its ``ppo.max_iterations``
  (``run.json``'s ``max_iterations`` when a resume changed it);
- status: "running" while a process holds the folder's writer lock (``.lock``, see :mod:`..utils.folder_lock`),
  else ``run.json``'s ``status`` when the run recorded one ("finished", "stopped", "failed", with its ``reason``),
  else "stopped" with its reason when a row of ``metrics.jsonl`` says the run stopped early (``"stopped"``), else
  "finished" when it did its planned iterations and "stopped" when it did not;
- iterations, training time (``train_seconds``) and the task metric, from ``metrics.jsonl``: the spec's first
  ``[metrics.<name>]`` (``metric/<name>``), else ``mean_reward``; logged evaluations of the deterministic policy
  (``eval/<name>``) are preferred when the run has them. Best is the lowest value for a metric whose name holds
  "error", else the highest;
- device: ``run.json``'s ``device`` ("" when the run did not record it); parent: ``run.json``'s ``parent``, else
  the checkpoint a fork started from (the ``forked_from`` row of ``metrics.jsonl``).

Reads only; nothing here imports torch. :func:`move_to_trash` and :func:`restore` move whole folders.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .run_dir import RunDir, RunError

TRASH = ".trash"
"""The folder under the root that deleted runs are moved to."""
MAX_DEPTH = 4  # run folders are searched this many levels below the root
LOWER_IS_BETTER = "error"  # a metric whose name holds this is best at its lowest


@dataclass
class RunSummary:
    """One run folder, as the run lists show it (see the module docstring for each field's source)."""

    path: Path
    name: str
    """The folder relative to the root (``cartpole/2026-11-24_10-00-00``)."""
    task: str
    status: str
    """running | finished | stopped | failed."""
    iterations: int
    planned: int
    metric: str
    """The key the values are of: ``eval/<name>``, ``metric/<name>`` or ``mean_reward``."""
    last: float | None
    best: float | None
    train_seconds: float | None
    """[s] collecting and updating, over the whole run (resumes included)."""
    engine: str
    device: str
    parent: str
    """The run (relative to the root when inside it) or checkpoint this one was forked from; "" for none."""
    started: float
    """[s since the epoch] when the run wrote its spec (the list's order, newest first)."""
    reason: str = ""
    """Why it ended, when the run recorded it (an early stop, a failure)."""
    problem: str = ""
    """Why some of it could not be read (a corrupt ``metrics.jsonl``), else ""."""
    metric_names: list[str] = field(default_factory=list)
    """The spec's ``[metrics.*]`` names, in order."""

    def as_json(self) -> dict:
        """The summary as plain JSON values (the path as a string)."""
        return {**asdict(self), "path": str(self.path)}


def find_runs(root: Path) -> list[Path]:
    """The run folders under ``root`` (see the module docstring), in no particular order; none when it is missing."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        if "spec.toml" in files and depth > 0:
            found.append(Path(folder))
            subfolders[:] = []
            continue
        subfolders[:] = [] if depth >= MAX_DEPTH else [s for s in subfolders if not s.startswith(".")]
    return found


def index_runs(root: Path, task: str | None = None) -> list[RunSummary]:
    """A summary of each run folder under ``root`` (of task ``task`` only, when given), newest first."""
    root = Path(root)
    summaries = [summarize(folder, root) for folder in find_runs(root)]
    if task is not None:
        summaries = [s for s in summaries if s.task == task]
    return sorted(summaries, key=lambda s: (s.started, s.name), reverse=True)


def summarize(folder: Path, root: Path) -> RunSummary:
    """The :class:`RunSummary` of the run folder ``folder`` (``root``: what its name and its parent are relative to).

    Raises:
        RunError: ``folder`` holds no ``spec.toml`` or one that is not TOML.
    """
    run = RunDir(folder)
    spec = read_spec_table(run)
    info = read_info(run)
    problem = ""
    try:
        rows = run.read_metrics()
    except RunError as exc:
        rows, problem = [], str(exc)
    trained = [row for row in rows if "edit" not in row]
    names = list(spec.get("metrics", {}))
    metric = metric_key(names, trained)
    values = [float(row[metric]) for row in trained if _is_number(row.get(metric))]
    best = None
    if values:
        best = min(values) if LOWER_IS_BETTER in metric else max(values)
    iterations = max((row["iteration"] for row in trained), default=0)
    planned = int(info.get("max_iterations") or spec.get("ppo", {}).get("max_iterations", 0))
    seconds = [row["train_seconds"] for row in trained if _is_number(row.get("train_seconds"))]
    early_stop = next((str(row["stopped"]) for row in reversed(trained) if row.get("stopped")), "")
    reason = str(info.get("reason", "")) or early_stop
    if writer_alive(run):
        status, reason = "running", ""
    elif info.get("status") in ("finished", "stopped", "failed"):
        status = info["status"]
    elif early_stop:
        status = "stopped"
    else:
        status = "finished" if planned and iterations >= planned else "stopped"
    return RunSummary(
        path=run.path,
        name=_relative(run.path, root),
        task=str(spec.get("name", "")),
        status=status,
        iterations=iterations,
        planned=planned,
        metric=metric,
        last=values[-1] if values else None,
        best=best,
        train_seconds=seconds[-1] if seconds else None,
        engine=str(spec.get("env", {}).get("physics", "newton")),
        device=str(info.get("device", "")),
        parent=_parent(info, rows, root),
        started=run.spec_file.stat().st_mtime,
        reason=reason,
        problem=problem,
        metric_names=names,
    )


def metric_key(metric_names: list[str], rows: list[dict]) -> str:
    """The key a run is judged by: ``eval/<name>`` when ``rows`` hold it, else ``metric/<name>`` for the first of
    ``metric_names``, else ``mean_reward`` (``eval/mean_reward`` when logged)."""
    name = metric_names[0] if metric_names else "mean_reward"
    evaluated = f"eval/{name}"
    if any(evaluated in row for row in rows):
        return evaluated
    return f"metric/{name}" if metric_names else name


def read_spec_table(run: RunDir) -> dict:
    """The run's ``spec.toml`` as a table (unvalidated).

    Raises:
        RunError: it is missing or not TOML.
    """
    try:
        with open(run.spec_file, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise RunError(f"{run.path}: not a run folder (no spec.toml)") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RunError(f"{run.spec_file}: cannot be read ({exc})") from None


def read_info(run: RunDir) -> dict:
    """``run.json`` of the run (see :meth:`.run_dir.RunDir.write_info`); empty when missing or unreadable."""
    try:
        info = json.loads(run.info_file.read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def writer_alive(run: RunDir) -> bool:
    """Whether a live process holds the run folder's writer lock. The lock is probed with a shared, non-blocking
    ``flock`` on a read-only descriptor, released at once, and only when a lock file is there (a writer's, or one a
    killed writer left)."""
    try:
        fd = os.open(run.path / ".lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the descriptor releases a lock it took
    return False


def find_run(root: Path, run: str | Path) -> Path:
    """The run folder ``run`` names: a path, or a name relative to ``root`` (as the lists show it).

    Raises:
        RunError: neither is a run folder (one line naming it).
    """
    for candidate in (Path(run), Path(root) / run):
        if (candidate / "spec.toml").is_file():
            return candidate
    raise RunError(
        f"{run}: not a run folder (no spec.toml there nor under {root}); 'isaac-rl-workbench runs' lists them"
    )


def move_to_trash(root: Path, run: str | Path) -> Path:
    """Move the run folder ``run`` (a path or a name relative to ``root``; it must lie under ``root``) to
    ``<root>/.trash/<its name>`` (a suffix ``-2``, ``-3``, ... when that is taken); returns where it went.

    Raises:
        RunError: not a run folder, not under ``root``, or a process writes it (named).
    """
    root = Path(root)
    folder = find_run(root, run)
    name = _inside(folder, root)
    if writer_alive(RunDir(folder)):
        raise RunError(f"{folder}: a run in progress writes here; stop it before deleting it")
    target = root / TRASH / name
    n = 1
    while target.exists():
        n += 1
        target = root / TRASH / f"{name}-{n}"
    target.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(target)
    return target


def trashed(root: Path) -> list[str]:
    """The names of the runs in ``<root>/.trash`` (what :func:`restore` takes), sorted."""
    return sorted(_relative(p, Path(root) / TRASH) for p in find_runs(Path(root) / TRASH))


def restore(root: Path, name: str) -> Path:
    """Move ``<root>/.trash/<name>`` back to ``<root>/<name>``; returns the run folder.

    Raises:
        RunError: no such run in the trash (the line lists what is there), or its place is taken again.
    """
    root = Path(root)
    source = root / TRASH / name
    if not (source / "spec.toml").is_file() or TRASH in Path(name).parts or ".." in Path(name).parts:
        there = ", ".join(trashed(root)) or "nothing"
        raise RunError(f"{name}: not in {root / TRASH} (it holds {there})")
    target = root / name
    if target.exists():
        raise RunError(f"{target}: exists again; move it away before restoring {name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    return target


def _inside(folder: Path, root: Path) -> str:
    """``folder``'s name relative to ``root``; a :class:`RunError` when it lies elsewhere or in the trash."""
    try:
        name = folder.resolve().relative_to(root.resolve())
    except ValueError:
        raise RunError(f"{folder}: not under the runs folder {root}; only runs there can be deleted") from None
    if name.parts[:1] == (TRASH,):
        raise RunError(f"{folder}: is in the trash already")
    return name.as_posix()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _parent(info: dict, rows: list[dict], root: Path) -> str:
    """The run (or checkpoint) a run was forked from, relative to ``root`` when inside it; "" for none."""
    source = info.get("parent") or next((row["value"] for row in rows if row.get("edit") == "forked_from"), "")
    if not source:
        return ""
    source = Path(str(source))
    folder = source.parent.parent if source.suffix == ".pt" else source  # <run>/checkpoints/model_*.pt
    return _relative(folder, root)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
