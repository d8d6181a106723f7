"""Task spec: the TOML file that describes one training run, loaded and validated in one place.

Every front end reads and writes the same file. Everything a spec can get wrong (unknown keys, unknown terms,
joints the scene lacks, numbers out of range) is reported by :func:`load_spec` with the file, the key and what
was expected, never later inside a training loop. The dataclasses it returns, with every key documented, are in
:mod:`.schema`. A spec that extends another (``extends = "go2_flat"``) is merged with its parents first
(:mod:`.inherit`); what is validated, and what :func:`save_spec` writes into a run folder, is the merged table.

This module reads the top-level keys (name, scene, python_path, seed) and assembles the :class:`TaskSpec`; each
table has its own reader: ``[env]`` :mod:`.env_table`, ``[actions]`` :mod:`.action_table`, ``[actuators]`` and
``[robot]`` :mod:`.robot_tables`, ``[deploy]`` :mod:`.deploy_table`, ``[commands]`` :mod:`.command_tables`, the
observation groups and the reward, termination, event and metric terms :mod:`.term_tables`, ``[ppo]``
:mod:`.ppo_table`, ``[train]`` :mod:`.train_table`, ``[terrain]`` :mod:`.terrain_table`,
``[curriculum]`` :mod:`.curriculum_table`, ``[sensors]`` :mod:`.sensor_table`.
"""

from __future__ import annotations

import copy
import math
import os
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..learn.rsl_rl_settings import is_recurrent
from ..scene.inspect import SceneError, inspect_scene
from ..utils.atomic import write_atomically
from .action_table import load_actions
from .command_tables import load_commands
from .curriculum_table import load_curriculum
from .deploy_table import load_deploy
from .env_table import load_env
from .inherit import EXTENDS, ResolvedTable, read_toml, resolve_extends
from .overrides import apply_overrides
from .ppo_table import check_obs_groups, load_ppo
from .robot_tables import load_actuators, load_robot, per_joint
from .schema import EnvSpec, SpecError, TaskSpec
from .sensor_table import check_sensor_terms, load_sensors
from .symmetry_maps import with_symmetry_checked
from .tables import SpecTable, check_values
from .task_files import TaskNotFoundError, find_task
from .term_tables import TermNames, load_history_lengths, load_observations, load_terms
from .terrain_table import load_terrain
from .train_table import load_train, resolved_train


def load_spec(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> TaskSpec:
    """Load, resolve and validate a task spec.

    Args:
        name_or_path: a task name (see :mod:`.task_files`) or the path of a TOML file.
        overrides: dotted keys to set before validation, e.g. ``{"env.num_envs": 4096}``; they apply to the spec
            merged with the specs it extends.

    Raises:
        SpecError: with the file, the key and what was expected; for a key a parent spec gives, the parent's file.
    """
    try:
        file = find_task(name_or_path).resolve()
    except TaskNotFoundError as exc:
        raise SpecError(str(exc)) from exc
    resolved = read_spec(file)
    apply_overrides(resolved.table, overrides or {})
    try:
        return spec_from_table(resolved.table, file, set(overrides or {}))
    except SpecError as exc:
        moved = resolved.relocate(exc, overrides or {})
        if moved is exc:
            raise
        raise moved from exc


def read_spec(file: Path, allow_parent: Callable[[Path, Path], None] | None = None) -> ResolvedTable:
    """The table of the spec file ``file``, merged with the specs it extends (:mod:`.inherit`), each file's numbers
    and nesting checked first so that an error names the file that holds the key.

    Args:
        allow_parent: called with (spec file, parent file) before a parent is read; raises :class:`SpecError` to
            refuse it.

    Raises:
        SpecError: naming the file of the chain and the key.
    """
    return resolve_extends(read_toml(file), file, _check_numbers, allow_parent)


MAX_NAME_LENGTH = 100
"""Longest task name (key ``name``): it names run folders and titles plots."""
_INFINITY_ALLOWED = re.compile(r"commands\.[^.]+\.resample_s")
"""Keys where ``inf`` means something: ``resample_s = [inf, inf]``, a command never redrawn within an episode."""


def _infinity_allowed(key: str) -> bool:
    return _INFINITY_ALLOWED.fullmatch(key) is not None


def _check_numbers(raw: dict[str, Any], file: Path) -> None:
    check_values(raw, file, _infinity_allowed)


_ROBOTS_HINT = " (the example robots are converted at set-up: bash scripts/setup.sh, or make_assets.py --robots)"


def spec_from_table(raw: dict[str, Any], file: Path, overridden: set[str] | frozenset[str] = frozenset()) -> TaskSpec:
    """Validate a spec table as :func:`load_spec` does, as if it had been read from ``file``: relative paths resolve
    from ``file``'s folder and errors name it. A panel validates the spec being edited with this.

    Args:
        raw: the TOML table (not modified).
        file: the spec file it stands for (it need not exist).
        overridden: dotted keys set by overrides (their ``*_fallback`` paths are not used).

    Raises:
        SpecError: with the file, the key (also as ``.key``) and what was expected; ``extends`` is refused (a
            table is validated as it stands: :func:`read_spec` merges a spec file with its parents).
    """
    file = Path(file).resolve()
    if EXTENDS in raw:
        raise SpecError(
            f"{file}: key '{EXTENDS}': a spec's parent is read from its file when it is opened; it cannot be set by "
            f"--set or an edit",
            key=EXTENDS,
        )
    check_values(raw, file, _infinity_allowed)
    raw = copy.deepcopy(raw)
    top = SpecTable(raw, file, "")
    top.check_keys(
        [
            "name",
            "scene",
            "articulation",
            "seed",
            "python_path",
            "scene_fallback",
            "python_path_fallback",
            "env",
            "actions",
            "actuators",
            "robot",
            "observations",
            "rewards",
            "terminations",
            "events",
            "commands",
            "metrics",
            "deploy",
            "ppo",
            "train",
            "terrain",
            "curriculum",
            "sensors",
        ]
    )
    name = _load_name(top, file)
    scene_path = (file.parent / top.get("scene", str, required=True)).resolve()
    scene_fallback = top.get("scene_fallback", str)
    if not scene_path.is_file() and scene_fallback and "scene" not in overridden:
        if Path(scene_fallback).is_file():
            scene_path = Path(scene_fallback).resolve()
        else:
            raise top.error(
                "scene", f"{scene_path}: no such file, nor the absolute fallback scene_fallback = {scene_fallback}"
            )
    try:
        articulation = inspect_scene(scene_path).find(top.get("articulation", str))
    except SceneError as exc:
        made_at_setup = "" if scene_path.exists() or "robots" not in scene_path.parts else _ROBOTS_HINT
        raise SpecError(f"{file}: key 'scene': {exc}{made_at_setup}", key="scene") from exc
    python_path = _load_python_path(top, file, use_fallback="python_path" not in overridden)
    joint_names = list(articulation.dof_names)
    drives = {j.name: j.drive for j in articulation.joints}
    actuators = load_actuators(top.sub("actuators"), joint_names, articulation.root_path)
    robot = load_robot(top.sub("robot"), joint_names, articulation.root_path)
    deploy = load_deploy(top.sub("deploy"), joint_names, articulation.root_path)
    effort_limits = per_joint(actuators, joint_names, drives, "effort_limit", lambda d: d.max_force if d else math.inf)
    env = load_env(top.sub("env"))
    actions = load_actions(top.sub("actions"), joint_names, articulation.root_path)
    if actions.type == "joint_position":
        stiffness = per_joint(actuators, joint_names, drives, "stiffness", lambda d: d.stiffness if d else 0.0)
        stiff = dict(zip(joint_names, stiffness, strict=True))
        limp = [n for n in actions.joints if not stiff.get(n, 0.0) > 0]
        if limp:
            raise top.error(
                "actions.type",
                f"joint_position needs drives with stiffness > 0 on every action joint; "
                f"{', '.join(limp)} in {scene_path} has none (use joint_effort, author a DriveAPI, or give it an "
                f"[actuators.<group>] with stiffness)",
            )
    body_names = [path.rsplit("/", 1)[-1] for path in articulation.bodies]
    commands = load_commands(top.sub("commands"), body_names, articulation.root_path)
    where = TermNames(joint_names, body_names, list(commands), articulation.root_path, python_path)
    observations = load_observations(top.sub("observations"), where)
    observation_history = load_history_lengths(top.sub("observations"))
    rewards = load_terms(top.sub("rewards"), "rewards", where)
    terminations = load_terms(top.sub("terminations"), "terminations", where)
    events = load_terms(top.sub("events"), "events", where)
    metrics = load_terms(top.sub("metrics"), "metrics", where)
    sensors = load_sensors(top.sub("sensors"), body_names, articulation.root_path, env)
    kinds = {"rewards": rewards, "terminations": terminations, "events": events, "metrics": metrics}
    check_sensor_terms(file, sensors, observations, kinds)
    if not rewards:
        raise top.error("rewards", "at least one reward term is needed")
    ppo = load_ppo(top.sub("ppo"))
    check_obs_groups(top.sub("ppo"), ppo, observations)
    train = load_train(top.sub("train"), list(metrics), list(rewards))
    if train.eval_every > 0 and is_recurrent(ppo.get("student") or ppo.get("actor") or {}):
        raise top.sub("train").error(
            "eval_every", "evaluation beside training needs a feed-forward policy; with a recurrent one set it to 0"
        )
    terrain = load_terrain(top.sub("terrain"), env) if "terrain" in raw else None
    terrain_levels = load_curriculum(top.sub("curriculum"), commands, terrain is not None)

    resolved = {"name": name, **copy.deepcopy(raw)}  # a default name kept: a run's spec.toml is not named "spec"
    resolved["scene"] = str(scene_path)
    resolved["python_path"] = [str(p) for p in python_path]
    resolved.pop("scene_fallback", None)
    resolved.pop("python_path_fallback", None)
    resolved["articulation"] = articulation.root_path
    resolved["env"] = {k: getattr(env, k) for k in EnvSpec.__dataclass_fields__ if getattr(env, k) is not None}
    resolved["ppo"] = ppo
    resolved["train"] = resolved_train(train)
    spec = TaskSpec(
        name=name,
        source=file,
        scene=scene_path,
        python_path=python_path,
        scene_fallback=Path(scene_fallback) if scene_fallback else None,
        python_path_fallback=[Path(p) for p in top.get("python_path_fallback", list, [])],
        articulation=articulation.root_path,
        robot_prim=posixpath.commonpath([articulation.root_path, *(joint.path for joint in articulation.joints)]),
        joint_names=joint_names,
        effort_limits=effort_limits,
        seed=top.number("seed", 42, integer=True),
        env=env,
        actions=actions,
        actuators=actuators,
        robot=robot,
        deploy=deploy,
        observations=observations,
        observation_history=observation_history,
        rewards=rewards,
        terminations=terminations,
        events=events,
        commands=commands,
        sensors=sensors,
        metrics=metrics,
        ppo=ppo,
        train=train,
        terrain=terrain,
        terrain_levels=terrain_levels,
        raw=resolved,
    )
    return with_symmetry_checked(spec)


def save_spec(spec: TaskSpec, path: Path) -> None:
    """Write the resolved spec as TOML, atomically; loading it again gives the same run.

    ``scene`` and ``python_path`` are written relative to the folder of ``path`` (a run folder copied to another
    machine together with its scene and term modules, at the same places relative to it, still loads), with the
    absolute paths as ``scene_fallback`` and ``python_path_fallback``, used only where a relative path does not
    resolve (the run folder was moved alone, on the same machine).
    """
    import tomli_w

    folder = Path(path).parent.resolve()
    raw = copy.deepcopy(spec.raw)
    scene = Path(raw.get("scene", spec.scene))
    folders = [Path(p) for p in raw.get("python_path", spec.python_path)]
    paths = {
        "scene": _relative(scene, folder),
        "scene_fallback": str(scene),
        "python_path": [_relative(p, folder) for p in folders],
        "python_path_fallback": [str(p) for p in folders],
    }
    ordered: dict[str, Any] = {} if "scene" in raw else dict(paths)
    for key, value in raw.items():
        if key == "scene":
            ordered.update(paths)
        elif key not in paths:
            ordered[key] = value
    text = tomli_w.dumps(ordered)
    write_atomically(Path(path), lambda tmp: tmp.write_text(text))


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` with forward slashes (``../../assets/robot.usda``); absolute where no relative
    path exists (another drive)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return str(path)


def _load_name(top: SpecTable, file: Path) -> str:
    """Key ``name``: at most :data:`MAX_NAME_LENGTH` printable characters; default the file's stem (cut to that)."""
    name = top.get("name", str, file.stem[:MAX_NAME_LENGTH])
    if len(name) > MAX_NAME_LENGTH:
        raise top.error("name", f"expected at most {MAX_NAME_LENGTH} characters, got {len(name)}")
    if not name.isprintable():
        raise top.error("name", f"expected printable characters (no line breaks or tabs), got {name!r}")
    return name


def _load_python_path(top: SpecTable, file: Path, use_fallback: bool) -> list[Path]:
    """Key ``python_path`` (folders relative to the spec file), each replaced by the same entry of
    ``python_path_fallback`` where it is not a folder and the fallback is."""
    entries = top.get("python_path", list, ["."])
    fallback = top.get("python_path_fallback", list, []) if use_fallback else []
    for key, items in (("python_path", entries), ("python_path_fallback", fallback)):
        for item in items:
            if not isinstance(item, str) or not item:
                raise top.error(key, f"expected a list of folders (strings), got {item!r}")
    folders = []
    for i, entry in enumerate(entries):
        folder = (file.parent / entry).resolve()
        if not folder.is_dir() and i < len(fallback) and Path(fallback[i]).is_dir():
            folder = Path(fallback[i]).resolve()
        folders.append(folder)
    return folders
