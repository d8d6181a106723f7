"""Task spec: the TOML file that describes one training run, loaded and validated in one place.

Every front end reads and writes the same file. Everything a spec can get wrong (unknown keys, unknown terms,
joints the scene lacks, numbers out of range) is reported by :func:`load_spec` with the file, the key and what
was expected, never later inside a training loop. The dataclasses it returns, with every key documented, are in
:mod:`.spec_schema`.
"""

from __future__ import annotations

import copy
import math
import os
import posixpath
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..learn.ppo_config import PPO_TOP_KEYS, algorithm_name, default_ppo_config, validate_ppo_config
from ..scene.inspect import SceneError, inspect_scene
from ..terms import TermLookupError, TermSignatureError, check_term_signature, resolve_term
from ..utils.atomic import write_atomically
from .deploy_table import load_deploy
from .overrides import apply_overrides
from .robot_tables import load_actuators, load_robot, per_joint
from .schema import (
    ACTION_TYPES,
    COMMAND_FRAMES,
    COMMAND_TYPES,
    EVENT_MODES,
    METRIC_REDUCTIONS,
    ActionSpec,
    CommandSpec,
    EnvSpec,
    SpecError,
    TaskSpec,
    TermSpec,
)
from .tables import SpecTable, check_bodies, check_joints, check_values
from .task_files import TaskNotFoundError, find_task


def load_spec(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> TaskSpec:
    """Load, resolve and validate a task spec.

    Args:
        name_or_path: a task name (see :mod:`.task_files`) or the path of a TOML file.
        overrides: dotted keys to set before validation, e.g. ``{"env.num_envs": 4096}``.

    Raises:
        SpecError: with the file, the key and what was expected.
    """
    try:
        file = find_task(name_or_path).resolve()
    except TaskNotFoundError as exc:
        raise SpecError(str(exc)) from exc
    try:
        raw = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{file}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise SpecError(f"{file}: not valid TOML: arrays or tables nested too deeply to read") from None
    apply_overrides(raw, overrides or {})
    return spec_from_table(raw, file, set(overrides or {}))


MAX_NAME_LENGTH = 100
"""Longest task name (key ``name``): it names run folders and titles plots."""
_INFINITY_ALLOWED = re.compile(r"commands\.[^.]+\.resample_s")
"""Keys where ``inf`` means something: ``resample_s = [inf, inf]``, a command never redrawn within an episode."""

_ROBOTS_HINT = " (the example robots are converted at set-up: bash scripts/setup.sh, or make_assets.py --robots)"


def spec_from_table(raw: dict[str, Any], file: Path, overridden: set[str] | frozenset[str] = frozenset()) -> TaskSpec:
    """Validate a spec table as :func:`load_spec` does, as if it had been read from ``file``: relative paths resolve
    from ``file``'s folder and errors name it. A panel validates the spec being edited with this.

    Args:
        raw: the TOML table (not modified).
        file: the spec file it stands for (it need not exist).
        overridden: dotted keys set by overrides (their ``*_fallback`` paths are not used).

    Raises:
        SpecError: with the file, the key (also as ``.key``) and what was expected.
    """
    file = Path(file).resolve()
    check_values(raw, file, lambda key: _INFINITY_ALLOWED.fullmatch(key) is not None)
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
    env = _load_env(top.sub("env"))
    actions = _load_actions(top.sub("actions"), joint_names, articulation.root_path)
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
    commands = {
        name: _load_command(top.sub("commands").sub(name), body_names, articulation.root_path)
        for name in top.sub("commands").data
    }
    where = _Names(joint_names, body_names, list(commands), articulation.root_path, python_path)
    observations = _load_observations(top.sub("observations"), where)
    observation_history = _load_history_lengths(top.sub("observations"))
    rewards = _load_terms(top.sub("rewards"), "rewards", where)
    terminations = _load_terms(top.sub("terminations"), "terminations", where)
    events = _load_terms(top.sub("events"), "events", where)
    metrics = _load_terms(top.sub("metrics"), "metrics", where)
    if not rewards:
        raise top.error("rewards", "at least one reward term is needed")
    ppo = _load_ppo(top.sub("ppo"))
    _check_obs_groups(top.sub("ppo"), ppo, observations)

    resolved = copy.deepcopy(raw)
    resolved["scene"] = str(scene_path)
    resolved["python_path"] = [str(p) for p in python_path]
    resolved.pop("scene_fallback", None)
    resolved.pop("python_path_fallback", None)
    resolved["articulation"] = articulation.root_path
    resolved["env"] = {k: getattr(env, k) for k in EnvSpec.__dataclass_fields__}
    resolved["ppo"] = ppo
    return TaskSpec(
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
        metrics=metrics,
        ppo=ppo,
        raw=resolved,
    )


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


def _load_env(t: SpecTable) -> EnvSpec:
    t.check_keys(EnvSpec.__dataclass_fields__)
    d = EnvSpec()
    return EnvSpec(
        num_envs=t.number("num_envs", d.num_envs, minimum=1, integer=True),
        spacing=t.number("spacing", d.spacing, minimum=0.0),
        episode_seconds=t.number("episode_seconds", d.episode_seconds, positive=True),
        physics_dt=t.number("physics_dt", d.physics_dt, positive=True),
        decimation=t.number("decimation", d.decimation, minimum=1, integer=True),
    )


def _load_actions(t: SpecTable, joint_names: list[str], root: str) -> ActionSpec:
    t.check_keys(["type", "joints", "scale", "clip", "delay_steps"])
    action_type = t.get("type", str, "joint_effort")
    if action_type not in ACTION_TYPES:
        raise t.error("type", f"expected one of {', '.join(ACTION_TYPES)}, got '{action_type}'")
    joints = check_joints(t, "joints", t.get("joints", list, joint_names), joint_names, root)
    clip = t.get("clip", float)
    if clip is not None and not clip > 0:
        raise t.error("clip", f"must be > 0, got {clip}")
    delay = t.get("delay_steps", list, [0, 0])
    integers = all(isinstance(d, int) and not isinstance(d, bool) for d in delay)
    if len(delay) != 2 or not integers or not 0 <= delay[0] <= delay[1]:
        raise t.error("delay_steps", f"expected [min, max] env steps, integers with 0 <= min <= max, got {delay}")
    return ActionSpec(
        type=action_type, joints=joints, scale=t.number("scale", 1.0), clip=clip, delay_steps=(delay[0], delay[1])
    )


@dataclass(frozen=True)
class _Names:
    """What a term's parameters may name: the articulation's joints and bodies, the spec's commands."""

    joints: list[str]
    bodies: list[str]
    commands: list[str]
    root: str
    python_path: list[Path]


def _term(t: SpecTable, name: str, kind: str, names: _Names) -> TermSpec:
    allowed = {
        "rewards": ["func", "weight", "params"],
        "terminations": ["func", "params", "time_out"],
        "events": ["func", "params", "mode", "interval_s"],
        "observations": ["func", "params", "noise"],
        "metrics": ["func", "params", "reduce"],
    }[kind]
    t.check_keys(allowed)
    func_name = t.get("func", str, name)
    try:
        func = resolve_term(kind, func_name, names.python_path)
    except TermLookupError as exc:
        raise t.error("func", str(exc)) from exc
    params = t.get("params", dict, {})
    try:
        check_term_signature(kind, func, func_name, params)
    except TermSignatureError as exc:
        raise t.error(exc.key, str(exc)) from exc
    if "joints" in params:
        params["joints"] = check_joints(t, "params.joints", params["joints"], names.joints, names.root)
    for key in ("body", "bodies"):
        if key in params:
            patterns = [params[key]] if key == "body" else params[key]
            found = check_bodies(t, f"params.{key}", patterns, names.bodies, names.root)
            if key == "body" and len(found) != 1:
                raise t.error("params.body", f"expected one body, '{params[key]}' matches {', '.join(found)}")
            params[key] = found[0] if key == "body" else found
    if "command" in params and params["command"] not in names.commands:
        known = ", ".join(names.commands) or "none: add a [commands.<name>] table"
        raise t.error("params.command", f"no command '{params['command']}' in [commands]; commands: {known}")
    term = TermSpec(name=name, func_name=func_name, func=func, params=params)
    if kind == "rewards":
        term.weight = t.number("weight", 1.0)
    if kind == "terminations":
        term.time_out = t.get("time_out", bool, func_name == "time_out")
    if kind == "observations" and "noise" in t.data:
        noise = t.get("noise", list)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in noise)
        if len(noise) != 2 or not numbers or not noise[0] <= noise[1]:
            raise t.error("noise", f"expected [min, max] with min <= max, got {noise}")
        term.noise = (float(noise[0]), float(noise[1]))
    if kind == "metrics":
        term.reduce = t.get("reduce", str, "final")
        if term.reduce not in METRIC_REDUCTIONS:
            raise t.error("reduce", f"expected one of {', '.join(METRIC_REDUCTIONS)}, got '{term.reduce}'")
    if kind == "events":
        term.mode = t.get("mode", str, "reset")
        if term.mode not in EVENT_MODES:
            raise t.error("mode", f"expected one of {', '.join(EVENT_MODES)}, got '{term.mode}'")
        interval = t.get("interval_s", list, [0.0, 0.0])
        if term.mode == "interval" and (len(interval) != 2 or not 0 < interval[0] <= interval[1]):
            raise t.error("interval_s", f"expected [min, max] seconds with 0 < min <= max, got {interval}")
        term.interval_s = (float(interval[0]), float(interval[1]))
    return term


def _load_terms(t: SpecTable, kind: str, names: _Names) -> dict[str, TermSpec]:
    return {name: _term(t.sub(name), name, kind, names) for name in t.data}


_COMMAND_COMPONENTS = {"position": ("x", "y", "z"), "velocity": ("lin_vel_x", "lin_vel_y", "ang_vel_z", "heading")}


def _load_command(t: SpecTable, body_names: list[str], root: str) -> CommandSpec:
    t.check_keys(CommandSpec.__dataclass_fields__)
    kind = t.get("type", str, required=True)
    if kind not in COMMAND_TYPES:
        raise t.error("type", f"expected one of {', '.join(COMMAND_TYPES)}, got '{kind}'")
    components = _COMMAND_COMPONENTS[kind]
    ranges = {}
    for key, value in t.get("ranges", dict, {}).items():
        if key not in components:
            raise t.error(f"ranges.{key}", f"unknown component of a {kind} command; expected {', '.join(components)}")
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value)
            or value[0] > value[1]
        ):
            raise t.error(f"ranges.{key}", f"expected [min, max] with min <= max, got {value!r}")
        ranges[key] = (float(value[0]), float(value[1]))
    frame = t.get("frame", str, "base")
    if frame not in COMMAND_FRAMES:
        raise t.error("frame", f"expected one of {', '.join(COMMAND_FRAMES)}, got '{frame}'")
    resample = t.get("resample_s", list, [math.inf, math.inf])
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in resample)
    never = numbers and resample == [math.inf, math.inf]
    if len(resample) != 2 or not numbers or not (never or 0 < resample[0] <= resample[1] < math.inf):
        raise t.error(
            "resample_s", f"expected [min, max] seconds with 0 < min <= max, or [inf, inf] for never, got {resample}"
        )
    standing = t.number("standing_share", 0.0, minimum=0.0)
    if standing > 1.0 or (standing > 0 and kind != "velocity"):
        raise t.error("standing_share", f"expected a share in [0, 1] of a velocity command, got {standing}")
    clear_of = check_bodies(t, "clear_of", t.get("clear_of", list, []), body_names, root)
    clearance = t.number("clearance", 0.0, minimum=0.0)
    if (clear_of or clearance) and kind != "position":
        raise t.error("clear_of" if clear_of else "clearance", "only a position command keeps clear of bodies")
    return CommandSpec(
        type=kind,
        ranges=ranges,
        frame=frame,
        resample_s=(float(resample[0]), float(resample[1])),
        standing_share=standing,
        clear_of=clear_of,
        clearance=clearance,
    )


def _load_observations(t: SpecTable, names: _Names) -> dict[str, list[TermSpec]]:
    groups: dict[str, list[TermSpec]] = {}
    for group_name in t.data:
        g = t.sub(group_name)
        g.check_keys(["terms", "history_length"])
        items = g.get("terms", list, required=True)
        if not items:
            raise g.error("terms", "expected at least one observation term")
        terms = []
        for i, item in enumerate(items):
            table = SpecTable({"func": item} if isinstance(item, str) else item, t.file, f"{g.key}.terms[{i}]")
            name = table.data.get("func", f"term{i}")
            terms.append(_term(table, str(name), "observations", names))
        groups[group_name] = terms
    if "policy" not in groups:
        raise t.error("policy", "an observation group named 'policy' is needed (the actor's input)")
    return groups


def _load_history_lengths(t: SpecTable) -> dict[str, int]:
    """``history_length`` of every observation group (1 where not given)."""
    return {group: t.sub(group).number("history_length", 1, minimum=1, integer=True) for group in t.data}


def _check_obs_groups(t: SpecTable, ppo: dict[str, Any], groups: dict[str, list[TermSpec]]) -> None:
    """Every group that ``ppo.obs_groups`` hands a network is an observation group of the spec."""
    obs_groups = ppo.get("obs_groups") or {}
    if not isinstance(obs_groups, dict):
        raise t.error("obs_groups", f"expected a table {{network = [group, ...]}}, got {obs_groups!r}")
    for name, listed in obs_groups.items():
        if not isinstance(listed, list) or not listed or not all(isinstance(group, str) for group in listed):
            raise t.error(f"obs_groups.{name}", f"expected a non-empty list of observation group names, got {listed!r}")
        unknown = [group for group in listed if group not in groups]
        if unknown:
            raise t.error(
                f"obs_groups.{name}",
                f"no observation group {', '.join(unknown)}; the spec's groups: {', '.join(groups)}",
            )


def _load_ppo(t: SpecTable) -> dict[str, Any]:
    config = default_ppo_config(algorithm_name(t.data))
    for key in t.data:
        if key not in PPO_TOP_KEYS and key in config["algorithm"]:
            raise t.error(key, f"unknown key here; '{key}' is a PPO setting: put it under [ppo.algorithm]")
    t.check_keys(PPO_TOP_KEYS)
    for key, value in t.data.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    try:
        validate_ppo_config(config)
    except (KeyError, ValueError, TypeError) as exc:
        raise SpecError(f"{t.file}: key {exc.args[0]}") from exc
    if config.get("teacher_checkpoint"):  # a run folder or file: relative to the current folder, where runs/ is
        config["teacher_checkpoint"] = str(Path(config["teacher_checkpoint"]).expanduser().resolve())
    return config
