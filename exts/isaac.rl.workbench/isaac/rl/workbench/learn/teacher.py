"""The teacher of a distillation: the PPO checkpoint that ``ppo.teacher_checkpoint`` names, read and checked
against the student's spec before an env is built (:mod:`.distill` has the settings)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .checkpoint import read_checkpoint
from .distill import DISTILLATION
from .run_dir import RunDir, RunError

_NETWORK_KEYS = ("class_name", "hidden_dims", "activation", "obs_normalization", "distribution_cfg")
"""What the teacher network must share with the teacher run's actor."""


def find_teacher(student_spec: dict[str, Any], spec_file: Path) -> tuple[Path, dict]:
    """The teacher checkpoint of a fresh distillation and its content (on the CPU).

    Args:
        student_spec: the student's resolved spec table; its ``ppo.teacher_checkpoint`` names a teacher run folder
            (its latest checkpoint is taken) or a checkpoint file.
        spec_file: the student's spec file, for messages.

    Raises:
        RunError: no ``teacher_checkpoint``, a folder that is no run or has no checkpoint, or a teacher run whose
            ``spec.toml`` says its actor cannot be rebuilt by the student's spec (:func:`teacher_mismatch`).
        CheckpointError: a checkpoint file that cannot be read.
    """
    value = student_spec.get("ppo", {}).get("teacher_checkpoint")
    if not value:
        raise RunError(
            f"{spec_file}: a distillation needs its teacher: --set ppo.teacher_checkpoint=RUN_DIR (a finished "
            "teacher run folder, or one of its checkpoint files)"
        )
    path = Path(value)
    run_folder = path if path.is_dir() else path.parent.parent if path.parent.name == "checkpoints" else None
    if path.is_dir():
        path = RunDir.open(path).latest_checkpoint()
    state = read_checkpoint(path)
    if run_folder is not None and (run_folder / "spec.toml").is_file():
        problem = teacher_mismatch(tomllib.loads((run_folder / "spec.toml").read_text()), student_spec)
        if problem:
            raise RunError(f"{spec_file}: the teacher run {run_folder} does not fit this student: {problem}")
    return path, state


def teacher_mismatch(teacher_spec: dict[str, Any], student_spec: dict[str, Any]) -> str | None:
    """What keeps the teacher run's actor from being rebuilt by a student spec, or None when nothing does.

    Args:
        teacher_spec: the teacher run's resolved spec table (its ``spec.toml``).
        student_spec: the student's resolved spec table.

    Compares the observation layout (term functions and parameters, group by group, with their history lengths)
    of the teacher's actor groups with the student's ``ppo.obs_groups.teacher``, and the network settings
    (``[ppo.actor]`` against ``[ppo.teacher]``).
    """
    teacher_ppo, student_ppo = teacher_spec.get("ppo", {}), student_spec.get("ppo", {})
    if (teacher_ppo.get("algorithm") or {}).get("class_name") == DISTILLATION:
        return "it is a distillation run (a student); distil from a PPO run"
    actor_groups = (teacher_ppo.get("obs_groups") or {}).get("actor") or ["policy"]
    teacher_groups = student_ppo["obs_groups"]["teacher"]
    trained = _layout(teacher_spec, actor_groups)
    given = _layout(student_spec, teacher_groups)
    if trained != given:
        return (
            f"its actor read the groups {actor_groups}: {_describe(trained)}; ppo.obs_groups.teacher = "
            f"{teacher_groups} gives {_describe(given)}"
        )
    actor, teacher = teacher_ppo.get("actor", {}), student_ppo.get("teacher", {})
    for key in _NETWORK_KEYS:
        if actor.get(key) != teacher.get(key):
            ours, theirs = teacher.get(key), actor.get(key)
            return f"[ppo.teacher] {key} = {ours!r}, but the teacher run's [ppo.actor] {key} = {theirs!r}"
    return None


def _layout(spec: dict[str, Any], groups: list[str]) -> list[tuple[str, str, int]]:
    """(function, parameters, history length) of every term the groups give, in order."""
    tables = spec.get("observations", {})
    out = []
    for group in groups:
        table = tables.get(group, {})
        for term in table.get("terms", []):
            term = {"func": term} if isinstance(term, str) else term
            out.append(
                (
                    str(term.get("func")),
                    repr(sorted((term.get("params") or {}).items())),
                    table.get("history_length", 1),
                )
            )
    return out


def _describe(layout: list[tuple[str, str, int]]) -> str:
    parts = [
        func + (f" {params}" if params != "[]" else "") + (f" x{history}" if history > 1 else "")
        for func, params, history in layout
    ]
    return "[" + ", ".join(parts) + "]"
