"""The term tables of a spec: ``[rewards.<name>]``, ``[terminations.<name>]``, ``[events.<name>]``,
``[metrics.<name>]`` and the terms of each ``[observations.<group>]``, read into :class:`.schema.TermSpec`.

Each term's function is resolved (:mod:`..terms`) and its ``params`` checked against the function's signature;
joints, bodies and commands its parameters name are checked against the articulation and the spec's commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..terms import TermLookupError, TermSignatureError, check_term_signature, resolve_term
from .schema import EVENT_MODES, METRIC_REDUCTIONS, TermSpec
from .tables import SpecTable, check_bodies, check_joints


@dataclass(frozen=True)
class TermNames:
    """What a term's parameters may name, and where its ``module:function`` is looked up.

    Attributes:
        joints: the articulation's 1-DOF joint names, in scene order.
        bodies: the articulation's body names (the last component of each body's prim path), in scene order.
        commands: the names of the spec's ``[commands.<name>]`` tables.
        root: the articulation's root prim path, for messages.
        python_path: the folders ``module:function`` terms are imported from, first match wins.
    """

    joints: list[str]
    bodies: list[str]
    commands: list[str]
    root: str
    python_path: list[Path]


def _term(t: SpecTable, name: str, kind: str, names: TermNames) -> TermSpec:
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


def load_terms(t: SpecTable, kind: str, names: TermNames) -> dict[str, TermSpec]:
    """Every ``[<kind>.<name>]`` table of ``t`` (the ``rewards``, ``terminations``, ``events`` or ``metrics``
    table), in file order, keyed by term name.

    Raises:
        SpecError: naming the term's key (``rewards.alive.weight``) and what was expected.
    """
    return {name: _term(t.sub(name), name, kind, names) for name in t.data}


def load_observations(t: SpecTable, names: TermNames) -> dict[str, list[TermSpec]]:
    """The ``terms`` of every ``[observations.<group>]`` (a function name or an inline table each), in file order;
    a ``policy`` group is required (the actor's input).

    Raises:
        SpecError: naming the term's key (``observations.policy.terms[2].noise``) and what was expected.
    """
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


def load_history_lengths(t: SpecTable) -> dict[str, int]:
    """``history_length`` of every observation group (1 where not given)."""
    return {group: t.sub(group).number("history_length", 1, minimum=1, integer=True) for group in t.data}
