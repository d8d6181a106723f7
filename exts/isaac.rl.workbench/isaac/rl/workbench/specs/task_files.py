"""Finding task specs on disk: a task name ("cartpole") or the path of a spec file.

Task names are looked up, in order, in the folders of ``ISAAC_RL_WORKBENCH_TASKS`` (``os.pathsep``-separated),
in folders a front end passes (the Kit extension passes its ``tasks_dirs`` setting), and in the tasks shipped with
the package, ``isaac/rl/workbench/shipped/tasks``: in a checkout (or an editable install, or Kit loading ``exts/``)
a link to the repository's ``tasks/``, in a wheel a copy; ``shipped/assets/usd`` beside it holds the robot scenes,
so a task's relative ``scene = "../assets/usd/..."`` resolves in both. A spec's ``extends`` names its parent the
same way, or by a path relative to the spec (:func:`find_parent`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TASKS_ENV_VAR = "ISAAC_RL_WORKBENCH_TASKS"
SHIPPED_TASKS_DIR = Path(__file__).resolve().parents[1] / "shipped" / "tasks"


class TaskNotFoundError(LookupError):
    """A task name that no task folder holds, or a spec path that is not a file."""


def shipped_tasks_dir() -> Path | None:
    """The folder of the tasks shipped with the package, or None when the package was installed without them."""
    return SHIPPED_TASKS_DIR if SHIPPED_TASKS_DIR.is_dir() else None


def task_dirs(extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The folders searched for task names, in order: ``$ISAAC_RL_WORKBENCH_TASKS``, ``extra``, the shipped tasks."""
    found = [Path(p) for p in os.environ.get(TASKS_ENV_VAR, "").split(os.pathsep) if p]
    found += [Path(p) for p in extra]
    shipped = shipped_tasks_dir()
    if shipped is not None:
        found.append(shipped)
    return found


def list_tasks(extra: Iterable[str | os.PathLike] = ()) -> dict[str, Path]:
    """Task name -> spec file, over :func:`task_dirs` (an earlier folder wins a name). A spec in a subfolder of a
    task folder is named by its path there: ``tasks/gym/hopper.toml`` is ``gym/hopper``."""
    tasks: dict[str, Path] = {}
    for folder in task_dirs(extra):
        for path in sorted([*folder.glob("*.toml"), *folder.glob("*/*.toml")]) if folder.is_dir() else ():
            tasks.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return tasks


def find_task(name_or_path: str | os.PathLike, extra: Iterable[str | os.PathLike] = ()) -> Path:
    """Resolve a task name ("cartpole", "gym/hopper") to its spec file, or return ``name_or_path`` when it is a spec
    file.

    Raises:
        TaskNotFoundError: naming the argument and listing the known tasks.
    """
    path = Path(name_or_path)
    is_path = path.suffix == ".toml" or path.exists()
    if is_path or (len(path.parts) > 1 and str(name_or_path) not in list_tasks(extra)):
        if not path.is_file():
            raise TaskNotFoundError(f"{path}: no such task spec file")
        return path
    return _task_named(str(name_or_path), extra)


def find_parent(extends: str, spec_file: Path) -> Path:
    """The spec file that ``extends = "<extends>"`` in ``spec_file`` names: a path relative to ``spec_file``'s folder
    when the value ends in ``.toml`` or holds a ``/`` (an absolute path works too), else a task name, looked up as
    :func:`find_task` looks it up (``$ISAAC_RL_WORKBENCH_TASKS`` first, then the shipped tasks).

    Raises:
        TaskNotFoundError: naming the value (and, for a task name, listing the known tasks).
    """
    path = Path(extends)
    if path.suffix == ".toml" or len(path.parts) > 1 or "/" in extends:
        path = Path(spec_file).parent / path
        if not path.is_file():
            raise TaskNotFoundError(f"{path}: no such spec file")
        return path
    return _task_named(extends, ())


def _task_named(name: str, extra: Iterable[str | os.PathLike]) -> Path:
    tasks = list_tasks(extra)
    if name in tasks:
        return tasks[name]
    known = ", ".join(sorted(tasks)) or "none"
    raise TaskNotFoundError(f"{name}: not a spec file and not a known task; known tasks: {known}")
