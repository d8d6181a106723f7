"""Every key a task spec accepts, with its default and its docs (:func:`spec_key_docs`): read from the docstrings
under the fields of :mod:`.schema`'s dataclasses, for the CLI's ``spec --help-keys`` and the panels' tooltips."""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, fields
from typing import Any

from ..utils.field_docs import field_docs
from .schema import (
    ActionSpec,
    ActuatorSpec,
    CameraSpec,
    CommandSpec,
    DeploySpec,
    EnvSpec,
    RobotSpec,
    TaskSpec,
    TermSpec,
    TrainSpec,
)


@dataclass(frozen=True)
class KeyDoc:
    """One key of a task spec, as the CLI's ``spec --help-keys`` and the panels' tooltips show it."""

    key: str
    """Dotted key, e.g. ``env.num_envs``; ``<name>`` stands for a term's name, ``<group>`` for a group's."""
    default: Any
    """The value used when the key is left out (None: required, derived, or no default)."""
    doc: str
    """What the key means, with its unit and range."""


_TERM_KEYS = {
    "observations.<group>.terms[i]": ("func_name", "params"),
    "rewards.<name>": ("func_name", "weight", "params"),
    "terminations.<name>": ("func_name", "params", "time_out"),
    "events.<name>": ("func_name", "params", "mode", "interval_s"),
    "metrics.<name>": ("func_name", "params", "reduce"),
}
_TOML_NAME = {"func_name": "func"}
_MERGE_KEYS = (
    KeyDoc(
        "extends",
        None,
        "The spec this one extends, at the top of the file: a spec file's path relative to this one "
        '("go2_flat.toml", "../base/robot.toml"), or a task name ("go2_flat", looked up as `train NAME` does). '
        "Its tables are merged under this spec's, key by key at any depth; arrays are replaced whole; `name` is "
        "not inherited; paths stay relative to the file that gives them. A run folder's spec.toml holds the merged "
        "spec, without `extends`.",
    ),
    KeyDoc(
        "<table>.enabled",
        True,
        "In a spec with `extends`: `enabled = false`, alone in a table (a term, an observation group, [deploy], "
        "[ppo.critic], ...), removes the parent's table of that name. Not read inside a term's `params`.",
    ),
    KeyDoc(
        "<table>.replace",
        False,
        "In a spec with `extends`: `replace = true` makes the table replace the parent's table of that name whole "
        "instead of merging into it key by key. Not read inside a term's `params`.",
    ),
)


def spec_key_docs() -> list[KeyDoc]:
    """Every key a task spec accepts outside ``[ppo]`` (whose keys are rsl-rl's), in file order, with its docs."""
    out = []
    top = field_docs(TaskSpec)
    top_defaults = {"seed": 42, "python_path": ["."]}
    out.append(_MERGE_KEYS[0])
    for name in ("name", "scene", "articulation", "seed", "python_path", "scene_fallback", "python_path_fallback"):
        out.append(KeyDoc(name, top_defaults.get(name), top[name]))
    for table, cls in (
        ("env", EnvSpec),
        ("actions", ActionSpec),
        ("actuators.<group>", ActuatorSpec),
        ("robot", RobotSpec),
        ("commands.<name>", CommandSpec),
        ("sensors.<name>", CameraSpec),
        ("deploy", DeploySpec),
        ("train", TrainSpec),
    ):
        defaults = cls(type=None) if cls is CommandSpec else cls()  # type: required
        docs = field_docs(cls)
        out += [KeyDoc(f"{table}.{f.name}", getattr(defaults, f.name), docs[f.name]) for f in fields(cls)]
    out.append(KeyDoc("observations.<group>.terms", None, top["observations"]))
    out.append(KeyDoc("observations.<group>.history_length", 1, top["observation_history"]))
    term_docs = field_docs(TermSpec)
    term_fields = {f.name: f for f in fields(TermSpec)}
    for prefix, names in _TERM_KEYS.items():
        for name in names:
            key = f"{prefix}.{_TOML_NAME.get(name, name)}"
            out.append(KeyDoc(key, _default(term_fields[name]), term_docs[name]))
    from .terrain_keys import terrain_key_docs  # it imports this module

    return [*out, *terrain_key_docs(), *_MERGE_KEYS[1:]]


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None
