"""Task spec: the TOML file that describes one training run, loaded and validated in one place.

Every front end reads and writes the same file. Everything a spec can get wrong (unknown keys, unknown terms,
joints the scene lacks, numbers out of range) is reported by :func:`load_spec` with the file, the key and what
was expected, never later inside a training loop. The dataclasses it returns, with every key documented, are in
:mod:`.spec_schema`.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..learn.ppo_config import PPO_TOP_KEYS, default_ppo_config, validate_ppo_config
from ..scene.inspect import SceneError, inspect_scene
from ..utils.atomic import write_atomically
from .spec_schema import (
    ACTION_TYPES,
    EVENT_MODES,
    ActionSpec,
    EnvSpec,
    SpecError,
    TaskSpec,
    TermSpec,
)
from .task_files import TaskNotFoundError, find_task
from .terms import TermLookupError, resolve_term


class _Table:
    """A TOML table being read: remembers the file and key path for error messages, rejects unknown keys."""

    def __init__(self, data: Any, file: Path, key: str):
        if not isinstance(data, dict):
            raise SpecError(f"{file}: [{key}] must be a table, got {type(data).__name__}")
        self.data, self.file, self.key = data, file, key

    def error(self, key: str, problem: str) -> SpecError:
        where = f"{self.key}.{key}" if self.key else key
        return SpecError(f"{self.file}: key '{where}': {problem}")

    def check_keys(self, allowed) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(unknown[0], f"unknown key; expected one of: {', '.join(sorted(allowed))}")

    def get(self, key: str, kind: type | tuple, default: Any = None, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.error(key, "missing")
            return copy.deepcopy(default)
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(key, f"expected {names}, got {value!r}")
        return value

    def number(
        self, key: str, default: float, *, minimum: float | None = None, positive: bool = False, integer: bool = False
    ) -> Any:
        value = self.get(key, int if integer else float, default)
        if positive and not value > 0:
            raise self.error(key, f"must be > 0, got {value}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        if not integer and not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        return value

    def sub(self, key: str, default: Any = None) -> _Table:
        data = self.data.get(key, {} if default is None else default)
        return _Table(data, self.file, f"{self.key}.{key}" if self.key else key)


def apply_overrides(raw: dict, overrides: dict[str, Any]) -> None:
    """Set dotted keys (``"env.num_envs"``) in a raw spec table in place."""
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["ppo.algorithm.num_mini_batches=2", "env.spacing=2.5"]`` -> dotted keys with TOML-typed values."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"override '{item}': expected KEY=VALUE, e.g. env.num_envs=128")
        try:
            out[key] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value  # a bare word is a string
    return out


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
    apply_overrides(raw, overrides or {})
    top = _Table(raw, file, "")
    top.check_keys(
        [
            "name",
            "scene",
            "articulation",
            "seed",
            "env",
            "actions",
            "observations",
            "rewards",
            "terminations",
            "events",
            "ppo",
        ]
    )
    scene_path = (file.parent / top.get("scene", str, required=True)).resolve()
    try:
        articulation = inspect_scene(scene_path).find(top.get("articulation", str))
    except SceneError as exc:
        raise SpecError(f"{file}: key 'scene': {exc}") from exc
    joint_names = list(articulation.dof_names)
    drives = {j.name: j.drive for j in articulation.joints}
    effort_limits = [drives[n].max_force if drives.get(n) else math.inf for n in joint_names]

    env = _load_env(top.sub("env"))
    actions = _load_actions(top.sub("actions"), joint_names, articulation.root_path)
    if actions.type == "joint_position":
        stiff = {j.name: j.drive.stiffness if j.drive else 0.0 for j in articulation.joints}
        limp = [n for n in actions.joints if not stiff.get(n, 0.0) > 0]
        if limp:
            raise top.error(
                "actions.type",
                f"joint_position needs drives with stiffness > 0 on every action joint; "
                f"{', '.join(limp)} in {scene_path} has none (use joint_effort, or author a DriveAPI)",
            )
    observations = _load_observations(top.sub("observations"), joint_names, articulation.root_path)
    rewards = _load_terms(top.sub("rewards"), "rewards", joint_names, articulation.root_path)
    terminations = _load_terms(top.sub("terminations"), "terminations", joint_names, articulation.root_path)
    events = _load_terms(top.sub("events"), "events", joint_names, articulation.root_path)
    if not rewards:
        raise top.error("rewards", "at least one reward term is needed")
    ppo = _load_ppo(top.sub("ppo"))

    resolved = copy.deepcopy(raw)
    resolved["scene"] = str(scene_path)
    resolved["articulation"] = articulation.root_path
    resolved["env"] = {k: getattr(env, k) for k in EnvSpec.__dataclass_fields__}
    resolved["ppo"] = ppo
    return TaskSpec(
        name=top.get("name", str, file.stem),
        source=file,
        scene=scene_path,
        articulation=articulation.root_path,
        joint_names=joint_names,
        effort_limits=effort_limits,
        seed=top.number("seed", 42, integer=True),
        env=env,
        actions=actions,
        observations=observations,
        rewards=rewards,
        terminations=terminations,
        events=events,
        ppo=ppo,
        raw=resolved,
    )


def save_spec(spec: TaskSpec, path: Path) -> None:
    """Write the resolved spec as TOML, atomically; loading it again gives the same run."""
    import tomli_w

    text = tomli_w.dumps(spec.raw)
    write_atomically(Path(path), lambda tmp: tmp.write_text(text))


def _load_env(t: _Table) -> EnvSpec:
    t.check_keys(EnvSpec.__dataclass_fields__)
    d = EnvSpec()
    return EnvSpec(
        num_envs=t.number("num_envs", d.num_envs, minimum=1, integer=True),
        spacing=t.number("spacing", d.spacing, minimum=0.0),
        episode_seconds=t.number("episode_seconds", d.episode_seconds, positive=True),
        physics_dt=t.number("physics_dt", d.physics_dt, positive=True),
        decimation=t.number("decimation", d.decimation, minimum=1, integer=True),
    )


def _check_joints(t: _Table, key: str, patterns: list, joint_names: list[str], root: str) -> list[str]:
    """Resolve joint names or full-match regex patterns against the articulation's 1-DOF joints, in scene order."""
    selected: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise t.error(key, f"expected joint names (strings), got {pattern!r}")
        matches = [n for n in joint_names if n == pattern or re.fullmatch(pattern, n)]
        if not matches:
            raise t.error(key, f"joint '{pattern}' is not in articulation {root}; its joints: {', '.join(joint_names)}")
        selected += [m for m in matches if m not in selected]
    return [n for n in joint_names if n in selected]


def _load_actions(t: _Table, joint_names: list[str], root: str) -> ActionSpec:
    t.check_keys(["type", "joints", "scale", "clip"])
    action_type = t.get("type", str, "joint_effort")
    if action_type not in ACTION_TYPES:
        raise t.error("type", f"expected one of {', '.join(ACTION_TYPES)}, got '{action_type}'")
    joints = _check_joints(t, "joints", t.get("joints", list, joint_names), joint_names, root)
    clip = t.get("clip", float)
    if clip is not None and not clip > 0:
        raise t.error("clip", f"must be > 0, got {clip}")
    return ActionSpec(type=action_type, joints=joints, scale=t.number("scale", 1.0), clip=clip)


def _term(t: _Table, name: str, kind: str, joint_names: list[str], root: str) -> TermSpec:
    allowed = {
        "rewards": ["func", "weight", "params"],
        "terminations": ["func", "params", "time_out"],
        "events": ["func", "params", "mode", "interval_s"],
        "observations": ["func", "params"],
    }[kind]
    t.check_keys(allowed)
    func_name = t.get("func", str, name)
    try:
        func = resolve_term(kind, func_name)
    except TermLookupError as exc:
        raise t.error("func", str(exc)) from exc
    params = t.get("params", dict, {})
    _check_params(t, func, func_name, params, kind, joint_names, root)
    term = TermSpec(name=name, func_name=func_name, func=func, params=params)
    if kind == "rewards":
        term.weight = t.number("weight", 1.0)
    if kind == "terminations":
        term.time_out = t.get("time_out", bool, func_name == "time_out")
    if kind == "events":
        term.mode = t.get("mode", str, "reset")
        if term.mode not in EVENT_MODES:
            raise t.error("mode", f"expected one of {', '.join(EVENT_MODES)}, got '{term.mode}'")
        interval = t.get("interval_s", list, [0.0, 0.0])
        if term.mode == "interval" and (len(interval) != 2 or not 0 < interval[0] <= interval[1]):
            raise t.error("interval_s", f"expected [min, max] seconds with 0 < min <= max, got {interval}")
        term.interval_s = (float(interval[0]), float(interval[1]))
    return term


def _check_params(
    t: _Table, func: Callable, func_name: str, params: dict, kind: str, joint_names: list[str], root: str
) -> None:
    signature = inspect.signature(func)
    fixed = {"env", "env_mask"}
    accepted = [p for p in signature.parameters if p not in fixed]
    for key in params:
        if key not in accepted:
            raise t.error(
                f"params.{key}", f"'{func_name}' takes no parameter '{key}'; it takes: {', '.join(accepted) or 'none'}"
            )
    for p in signature.parameters.values():
        if p.name not in fixed and p.default is inspect.Parameter.empty and p.name not in params:
            raise t.error("params", f"'{func_name}' needs parameter '{p.name}'")
    if "joints" in params:
        params["joints"] = _check_joints(t, "params.joints", params["joints"], joint_names, root)


def _load_terms(t: _Table, kind: str, joint_names: list[str], root: str) -> dict[str, TermSpec]:
    return {name: _term(t.sub(name), name, kind, joint_names, root) for name in t.data}


def _load_observations(t: _Table, joint_names: list[str], root: str) -> dict[str, list[TermSpec]]:
    groups: dict[str, list[TermSpec]] = {}
    for group_name in t.data:
        g = t.sub(group_name)
        g.check_keys(["terms"])
        items = g.get("terms", list, required=True)
        if not items:
            raise g.error("terms", "expected at least one observation term")
        terms = []
        for i, item in enumerate(items):
            table = _Table({"func": item} if isinstance(item, str) else item, t.file, f"{g.key}.terms[{i}]")
            name = table.data.get("func", f"term{i}")
            terms.append(_term(table, str(name), "observations", joint_names, root))
        groups[group_name] = terms
    if "policy" not in groups:
        raise t.error("policy", "an observation group named 'policy' is needed (the actor's input)")
    return groups


def _load_ppo(t: _Table) -> dict[str, Any]:
    config = default_ppo_config()
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
    return config
