"""The full check of a ``deploy.json`` dict (the keys :mod:`.bundle` documents), before the runtime sends a command.

:func:`check_deploy_dict` walks every key: types, ranges, one entry per joint, distinct joint names, the ``NaN`` and
``Infinity`` tokens a strict reader leaves as :class:`JsonToken`. Each refusal is one :class:`.BundleError` line
naming the file, the dotted key (``safety.joint_pos_limits[3][0]``), its value and what was expected.
"""

from __future__ import annotations

import json
import math
from typing import NoReturn

from .bundle_error import BundleError

TOP_KEYS = ("format", "task", "control_dt", "policy", "observation", "commands", "joints", "action", "safety")
"""The keys of ``deploy.json``."""
POLICY_KEYS = ("onnx", "torchscript", "obs_dim", "num_actions", "recurrent")
RECURRENT_KEYS = ("rnn_type", "num_layers", "hidden_dim")
OBSERVATION_KEYS = ("terms", "history_length")
TERM_KEYS = ("name", "size", "params")
COMMAND_KEYS = ("type", "size", "ranges")
JOINT_KEYS = ("names", "default_pos", "stiffness", "damping", "effort_limit", "motor_order")
ACTION_KEYS = ("type", "joints", "scale", "offset", "clip")
SAFETY_KEYS = (
    "joint_pos_limits",
    "joint_vel_limits",
    "pos_limit_margin",
    "action_clip",
    "action_rate_limit",
    "lowpass_hz",
    "max_tilt_rad",
    "soft_start_s",
    "safe_stop",
    "hold_kp",
    "hold_kd",
    "max_consecutive_misses",
)
"""The keys of ``safety``: the fields of :class:`.bundle.SafetyLimits`, in their order."""
ACTION_TYPES = ("joint_position", "joint_effort")
SAFE_STOPS = ("hold", "damp")
NO_LIMIT = ", or null for no limit"


class JsonToken:
    """A ``NaN``, ``Infinity`` or ``-Infinity`` token in a JSON text (what :func:`.bundle.load_bundle` reads in place
    of the number, through ``json.loads``' ``parse_constant``), so that :func:`check_deploy_dict` refuses it by its
    key."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(value) -> str:
    """``value`` as deploy.json spells it (``NaN``, ``Infinity``, ``"text"``, ``true``), cut to 80 characters."""
    if isinstance(value, JsonToken):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    text = json.dumps(value, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def _non_finite_tokens(value, source: str, key: str = "") -> None:
    """Raise :class:`BundleError` naming the first key (dotted, list items as ``[i]``) under ``value`` that holds a
    JSON ``NaN``/``Infinity`` token or a NaN."""
    if isinstance(value, JsonToken) or (isinstance(value, float) and math.isnan(value)):
        raise BundleError(
            f"{source}: '{key}' is {_shown(value)}; deploy.json is strict JSON without NaN or Infinity: write a finite "
            "number (null where a limit is unlimited)",
            key,
        )
    if isinstance(value, dict):
        for name, item in value.items():
            _non_finite_tokens(item, source, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _non_finite_tokens(item, source, f"{key}[{i}]")


class _Checker:
    """Typed reads of deploy.json's keys; every refusal is one :class:`BundleError` line naming ``source``, the
    dotted key, its value and what was expected."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, value, expected: str) -> NoReturn:
        raise BundleError(f"{self.source}: '{key}' is {_shown(value)}, expected {expected}", key)

    def need(self, table: dict, key: str, where: str):
        """``table[key]``; ``where`` is the table's dotted key ("" at the top)."""
        if key not in table:
            raise BundleError(f"{self.source}: missing key '{where}{key}'", f"{where}{key}")
        return table[key]

    def table(self, value, key: str, known: tuple[str, ...]) -> dict:
        """``value`` as a table of some of the ``known`` keys."""
        if not isinstance(value, dict):
            self.fail(key, value, f"a table with keys {', '.join(known)}")
        unknown = [name for name in value if name not in known]
        if unknown:
            where = f"{key}.{unknown[0]}" if key else str(unknown[0])
            raise BundleError(f"{self.source}: unknown key '{where}'; expected one of {', '.join(known)}", where)
        return value

    def text(self, value, key: str, expected: str = "a non-empty string") -> str:
        if not isinstance(value, str) or not value:
            self.fail(key, value, expected)
        return value

    def integer(self, value, key: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, value, f"an integer >= {minimum}")
        return value

    def number(self, value, key: str, expected: str, ok=lambda v: True, unlimited: float | None = None) -> float:
        """``value`` as a finite float for which ``ok`` holds; with ``unlimited`` (inf or -inf), null (or that
        infinity itself, as a loaded :class:`.bundle.Bundle` holds it) means no limit and gives ``unlimited``."""
        if value is None and unlimited is not None:
            return unlimited
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, value, expected)
        try:
            value = float(value)
        except OverflowError:  # an integer of hundreds of digits
            self.fail(key, value, expected)
        if unlimited is not None and value == unlimited:
            return value
        if not math.isfinite(value) or not ok(value):
            self.fail(key, value, expected)
        return value

    def optional(self, value, key: str, expected: str, ok) -> float | None:
        """``value`` as a finite float for which ``ok`` holds, or None for null."""
        return None if value is None else self.number(value, key, expected + ", or null for none", ok)

    def numbers(self, value, key: str, count: int, expected: str, ok=lambda v: True, unlimited=None) -> list[float]:
        """``value`` as a list of ``count`` numbers, each read by :meth:`number`."""
        if not isinstance(value, list) or len(value) != count:
            self.fail(key, value, f"a list of {count} numbers, one per joint")
        return [self.number(v, f"{key}[{i}]", expected, ok, unlimited) for i, v in enumerate(value)]

    def names(self, value, key: str) -> list[str]:
        """``value`` as a non-empty list of distinct joint names."""
        if not isinstance(value, list) or not value:
            self.fail(key, value, "a non-empty list of joint names")
        for i, name in enumerate(value):
            self.text(name, f"{key}[{i}]", "a joint name (a non-empty string)")
            if name in value[:i]:
                self.fail(
                    f"{key}[{i}]", name, f"a joint name not already in the list (it is {key}[{value.index(name)}])"
                )
        return list(value)


def check_deploy_dict(data, source: str, expected_format: str) -> dict:
    """Check ``data`` (a ``deploy.json`` dict whose ``format`` must be ``expected_format``) in full and return its
    values, normalised.

    Every number is finite and in its range (limits may be null: no limit), every count an integer (a bool is not a
    number here), joint names are distinct, every per-joint list has one entry per joint, position limits are
    ordered and hold the default pose, and ``policy.obs_dim`` is the terms' sizes times the history length. Which
    terms the runtime computes is :func:`.observation_terms.check_observation`'s check.

    Returns:
        the keys of ``data`` but ``format``, in its layout, with numbers as floats, null limits as ``inf`` (``-inf``
        for a lower position limit), ``commands`` ``{}`` when absent or null, and ``safety`` holding only the keys
        ``data`` gives (:class:`.bundle.SafetyLimits`' defaults stand for the others).

    Raises:
        BundleError: the first problem, one line naming ``source``, the dotted key (``safety.joint_pos_limits[3][0]``),
            the value and what was expected; ``error.key`` is that key.
    """
    check = _Checker(source)
    if not isinstance(data, dict):
        raise BundleError(f"{source}: holds {_shown(data)}, expected a JSON object with keys {', '.join(TOP_KEYS)}")
    _non_finite_tokens(data, source)
    if data.get("format") != expected_format:
        check.fail("format", data.get("format"), repr(expected_format).replace("'", '"'))
    check.table(data, "", TOP_KEYS)
    task = data.get("task", "")
    if not isinstance(task, str):
        check.fail("task", task, "the task's name (a string)")
    control_dt = check.number(check.need(data, "control_dt", ""), "control_dt", "a number of seconds > 0", _positive)

    policy = check.table(check.need(data, "policy", ""), "policy", POLICY_KEYS)
    for key in ("onnx", "torchscript"):
        check.text(check.need(policy, key, "policy."), f"policy.{key}", "a model file name (a non-empty string)")
    obs_dim = check.integer(check.need(policy, "obs_dim", "policy."), "policy.obs_dim", 1)
    num_actions = check.integer(check.need(policy, "num_actions", "policy."), "policy.num_actions", 1)
    recurrent = _recurrent(check, policy["recurrent"]) if "recurrent" in policy else None

    terms, history = _observation(check, check.need(data, "observation", ""))
    if sum(t["size"] for t in terms) * history != obs_dim:
        check.fail(
            "policy.obs_dim",
            obs_dim,
            f"{sum(t['size'] for t in terms) * history} (the observation terms' sizes x history)",
        )
    commands = _commands(check, data.get("commands") if data.get("commands") is not None else {})

    joints = check.table(check.need(data, "joints", ""), "joints", JOINT_KEYS)
    names = check.names(check.need(joints, "names", "joints."), "joints.names")
    count = len(names)

    def per_joint(key: str, expected: str, ok=lambda v: True, unlimited=None) -> list[float]:
        return check.numbers(check.need(joints, key, "joints."), f"joints.{key}", count, expected, ok, unlimited)

    checked_joints = {
        "names": names,
        "default_pos": per_joint("default_pos", "a finite number [rad or m]"),
        "stiffness": per_joint("stiffness", "a number >= 0 [N m/rad]", _non_negative),
        "damping": per_joint("damping", "a number >= 0 [N m s/rad]", _non_negative),
        "effort_limit": per_joint("effort_limit", "a number > 0 [N m]" + NO_LIMIT, _positive, math.inf),
        "motor_order": check.names(check.need(joints, "motor_order", "joints."), "joints.motor_order"),
    }
    default_pos, motor_order = checked_joints["default_pos"], checked_joints["motor_order"]
    if sorted(motor_order) != sorted(names):
        missing, extra = sorted(set(names) - set(motor_order)), sorted(set(motor_order) - set(names))
        check.fail(
            "joints.motor_order", motor_order, f"the joints of 'joints.names' (missing {missing}, extra {extra})"
        )
    action = _action(check, check.need(data, "action", ""), names, num_actions)
    safety = _safety(check, check.need(data, "safety", ""), count)
    for i, (position, (low, high)) in enumerate(zip(default_pos, safety["joint_pos_limits"], strict=True)):
        if not low <= position <= high:
            check.fail(
                f"joints.default_pos[{i}]",
                position,
                f"a position within safety.joint_pos_limits[{i}] [{low:g}, {high:g}]",
            )
    return {
        "task": task,
        "control_dt": control_dt,
        "policy": {
            "onnx": policy["onnx"],
            "torchscript": policy["torchscript"],
            "obs_dim": obs_dim,
            "num_actions": num_actions,
            **({"recurrent": recurrent} if recurrent else {}),
        },
        "observation": {"terms": terms, "history_length": history},
        "commands": commands,
        "joints": checked_joints,
        "action": action,
        "safety": safety,
    }


def _recurrent(check: _Checker, data) -> dict:
    """``policy.recurrent``: the hidden state of a recurrent policy (``rnn_type`` "lstm" or "gru", ``num_layers``
    and ``hidden_dim``, each >= 1)."""
    table = check.table(data, "policy.recurrent", RECURRENT_KEYS)
    rnn_type = check.need(table, "rnn_type", "policy.recurrent.")
    if rnn_type not in ("lstm", "gru"):
        check.fail("policy.recurrent.rnn_type", rnn_type, '"lstm" or "gru"')
    return {
        "rnn_type": rnn_type,
        **{
            k: check.integer(check.need(table, k, "policy.recurrent."), f"policy.recurrent.{k}", 1)
            for k in RECURRENT_KEYS[1:]
        },
    }


def _positive(value: float) -> bool:
    return value > 0


def _non_negative(value: float) -> bool:
    return value >= 0


def _observation(check: _Checker, data) -> tuple[list[dict], int]:
    """The ``observation`` table: its terms (each ``{"name", "size", "params"}``) and history length."""
    observation = check.table(data, "observation", OBSERVATION_KEYS)
    terms_data = check.need(observation, "terms", "observation.")
    if not isinstance(terms_data, list) or not terms_data:
        check.fail("observation.terms", terms_data, "a non-empty list of {name, size, params}")
    terms = []
    for i, term in enumerate(terms_data):
        where = f"observation.terms[{i}]"
        term = check.table(term, where, TERM_KEYS)
        name = check.text(check.need(term, "name", f"{where}."), f"{where}.name", "an observation term's name")
        size = check.integer(check.need(term, "size", f"{where}."), f"{where}.size", 1)
        params = term.get("params", {})
        if not isinstance(params, dict):
            check.fail(f"{where}.params", params, "a table of the term's parameters")
        joints = params.get("joints")
        if joints is not None:
            check.names(joints, f"{where}.params.joints")
        if "command" in params:
            check.text(params["command"], f"{where}.params.command", "a command's name")
        terms.append({"name": name, "size": size, "params": dict(params)})
    history = check.integer(observation.get("history_length", 1), "observation.history_length", 1)
    return terms, history


def _commands(check: _Checker, data) -> dict:
    """The ``commands`` table: name -> {type, size, ranges: {component: [low, high]}}."""
    if not isinstance(data, dict):
        check.fail("commands", data, "a table of the commands the policy observes")
    commands = {}
    for name, table in data.items():
        where = f"commands.{name}"
        table = check.table(table, where, COMMAND_KEYS)
        kind = check.text(check.need(table, "type", f"{where}."), f"{where}.type", "a command type (a string)")
        size = check.integer(check.need(table, "size", f"{where}."), f"{where}.size", 1)
        ranges = table.get("ranges", {})
        if not isinstance(ranges, dict):
            check.fail(f"{where}.ranges", ranges, "a table of [min, max] per component")
        bounds = {}
        for component, pair in ranges.items():
            key = f"{where}.ranges.{component}"
            if not isinstance(pair, list) or len(pair) != 2:
                check.fail(key, pair, "[min, max]")
            low = check.number(pair[0], f"{key}[0]", "a finite number")
            bounds[component] = [
                low,
                check.number(pair[1], f"{key}[1]", f"a number >= the range's min {low:g}", lambda v, low=low: v >= low),
            ]
        commands[name] = {"type": kind, "size": size, "ranges": bounds}
    return commands


def _action(check: _Checker, data, names: list[str], num_actions: int) -> dict:
    """The ``action`` table: type, the driven joints (``policy.num_actions`` of ``joints.names``), scale, offset,
    clip."""
    action = check.table(data, "action", ACTION_KEYS)
    kind = check.need(action, "type", "action.")
    if kind not in ACTION_TYPES:
        check.fail("action.type", kind, " or ".join(ACTION_TYPES))
    joints = check.names(check.need(action, "joints", "action."), "action.joints")
    for i, joint in enumerate(joints):
        if joint not in names:
            check.fail(f"action.joints[{i}]", joint, f"one of joints.names {names}")
    if len(joints) != num_actions:
        check.fail("action.joints", joints, f"{num_actions} joints (policy.num_actions)")
    scale = check.need(action, "scale", "action.")
    expected = "a finite number other than 0 [rad or N m per unit action]"
    if isinstance(scale, list):
        scale = check.numbers(scale, "action.scale", num_actions, expected, lambda v: v != 0)
    else:
        scale = check.number(scale, "action.scale", expected + ", or a list of one per action", lambda v: v != 0)
    offset = check.numbers(check.need(action, "offset", "action."), "action.offset", num_actions, "a finite number")
    clip = check.optional(action.get("clip"), "action.clip", "a number > 0", _positive)
    return {"type": kind, "joints": joints, "scale": scale, "offset": offset, "clip": clip}


def _safety(check: _Checker, data, count: int) -> dict:
    """The ``safety`` table for ``count`` joints (null limits as infinities): the position and speed limits, and
    those of its other keys (:data:`SAFETY_KEYS`) that ``data`` gives."""
    safety = check.table(data, "safety", SAFETY_KEYS)
    pairs = check.need(safety, "joint_pos_limits", "safety.")
    if not isinstance(pairs, list) or len(pairs) != count:
        check.fail("safety.joint_pos_limits", pairs, f"a list of {count} [lower, upper] pairs, one per joint")
    pos_limits = []
    for i, pair in enumerate(pairs):
        key = f"safety.joint_pos_limits[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            check.fail(key, pair, "[lower, upper] [rad or m], null for no limit")
        low = check.number(pair[0], f"{key}[0]", "a finite number [rad or m]" + NO_LIMIT, unlimited=-math.inf)
        high = check.number(
            pair[1],
            f"{key}[1]",
            f"a number >= the lower limit {low:g} [rad or m]" + NO_LIMIT,
            lambda v, low=low: v >= low,
            unlimited=math.inf,
        )
        pos_limits.append([low, high])
    vel_limits = check.numbers(
        check.need(safety, "joint_vel_limits", "safety."),
        "safety.joint_vel_limits",
        count,
        "a number > 0 [rad/s]" + NO_LIMIT,
        _positive,
        math.inf,
    )

    def safe_stop(value, key: str) -> str:
        if value not in SAFE_STOPS:
            check.fail(key, value, " or ".join(f'"{s}"' for s in SAFE_STOPS))
        return value

    def gains(value, key: str) -> list[float]:
        if value == []:
            return []
        return check.numbers(value, key, count, "a number >= 0 (or [] for the trained gains)", _non_negative)

    readers = {  # key -> read(value, dotted key), in the order they are checked
        "safe_stop": safe_stop,
        "pos_limit_margin": lambda v, key: check.number(v, key, "a finite number >= 0 [rad or m]", _non_negative),
        "action_clip": lambda v, key: check.optional(v, key, "a number > 0", _positive),
        "action_rate_limit": lambda v, key: check.optional(v, key, "a number > 0 [rad/s or N m/s]", _positive),
        "lowpass_hz": lambda v, key: check.optional(v, key, "a number > 0 [Hz]", _positive),
        "max_tilt_rad": lambda v, key: check.optional(v, key, "a number in (0, pi] [rad]", lambda x: 0 < x <= math.pi),
        "soft_start_s": lambda v, key: check.number(v, key, "a finite number >= 0 [s]", _non_negative),
        "hold_kp": gains,
        "hold_kd": gains,
        "max_consecutive_misses": lambda v, key: check.integer(v, key, 1),
    }
    checked = {"joint_pos_limits": pos_limits, "joint_vel_limits": vel_limits}
    for name, read in readers.items():
        if name in safety:
            checked[name] = read(safety[name], f"safety.{name}")
    return checked
