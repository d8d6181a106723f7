"""The deployment bundle: ``deploy.json`` next to ``policy.onnx`` and ``policy.pt``, and its loader.

``deploy.json`` (format ``isaac-rl-workbench-deploy/1``) holds everything a robot needs besides the network:

- ``task``: the task's name; ``control_dt``: the policy period [s] (physics_dt x decimation).
- ``policy``: ``onnx`` and ``torchscript`` file names (relative to the bundle), ``obs_dim`` and ``num_actions``.
  The observation normaliser is inside both models: they take the raw observation (batch, obs_dim).
- ``observation``: the policy's observation terms in order, noise-free, each ``{"name", "size", "params"}``
  (``params`` as in the task spec, e.g. ``{"joints": [...]}``, ``{"command": "base_velocity"}``), plus
  ``history_length`` (1: the current observation only; H: each term's last H values, oldest first, term by term).
- ``commands``: ``{name: {"type", "size", "ranges"}}``, the commands the observation reads (the operator's input).
- ``joints``: ``names`` (N,) the policy's joint order; ``default_pos`` (N,) [rad]; ``stiffness``, ``damping``
  (N,) the PD gains trained with [N m/rad, N m s/rad]; ``effort_limit`` (N,) [N m]; ``motor_order`` (M,) the robot's
  joint names in motor order (equal to ``names`` when the robot has no other order).
- ``action``: ``type`` ("joint_position": target = offset + scale * action; "joint_effort": torque = scale * action),
  ``joints`` (A,) the joints the action drives (a subset of ``names``, in action order), ``scale``, ``offset`` (A,),
  ``clip`` (the action's bound before scaling, or None).
- ``safety``: see :class:`SafetyLimits`.

The file is strict JSON: a limit the robot does not have (an unlimited joint, speed or effort) is ``null`` there
(:func:`bundle_json` writes it so) and ``inf`` (``-inf`` for a lower position limit) in the loaded :class:`Bundle`.
:func:`load_bundle` refuses the tokens ``NaN`` and ``Infinity``, and :func:`bundle_from_dict` checks every key before
the runtime sends a command: types, ranges, one entry per joint, distinct joint names.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NoReturn

from .bundle_error import BundleError
from .observation_terms import check_observation

FORMAT = "isaac-rl-workbench-deploy/1"
"""The ``format`` of the ``deploy.json`` this module reads and writes."""


@dataclass(kw_only=True)
class SafetyLimits:
    """The safety layer's limits, per joint in the policy's joint order (``joints.names``).

    Attributes:
        joint_pos_limits: (N, 2) [rad] lower and upper position limits; targets are clipped into them and a measured
            position beyond them by ``pos_limit_margin`` latches the safe stop.
        joint_vel_limits: (N,) [rad/s]; a measured speed above it latches the safe stop.
        pos_limit_margin: [rad] how far past a position limit a measured joint may be before the stop latches.
        action_clip: bound on the raw action before scaling (|a| <= action_clip), None for none.
        action_rate_limit: [rad/s] the fastest a position target may move (per step: rate x control_dt);
            None for none. For effort actions: [N m/s].
        lowpass_hz: cut-off of a first-order low-pass filter on the target, None for none.
        max_tilt_rad: the base may tilt this far from upright (angle between its z axis and the world's) before the
            safe stop latches; None for none (a fixed-base robot).
        soft_start_s: [s] the action's scale ramps linearly from 0 to 1 over this time after start; 0 for none.
        safe_stop: "hold" (hold the positions measured when the stop latched, with ``hold_kp``, ``hold_kd``) or
            "damp" (zero torque but a velocity damping ``hold_kd``: the robot sinks slowly).
        hold_kp: [N m/rad] position gain of the "hold" stop, per joint (N,).
        hold_kd: [N m s/rad] damping gain of either stop, per joint (N,).
        max_consecutive_misses: missed control deadlines (or periods without a fresh state) in a row that latch
            the safe stop.
    """

    joint_pos_limits: list[list[float]]
    joint_vel_limits: list[float]
    pos_limit_margin: float = 0.1
    action_clip: float | None = None
    action_rate_limit: float | None = None
    lowpass_hz: float | None = None
    max_tilt_rad: float | None = None
    soft_start_s: float = 0.0
    safe_stop: str = "hold"
    hold_kp: list[float] = field(default_factory=list)
    hold_kd: list[float] = field(default_factory=list)
    max_consecutive_misses: int = 2


@dataclass(kw_only=True)
class ObservationTerm:
    """One observation term: ``name`` (the task's term function), ``size`` (values per step), ``params``."""

    name: str
    size: int
    params: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class Bundle:
    """A loaded ``deploy.json``; ``root`` is the bundle's folder (the model files are relative to it), ``source`` the
    name errors give the manifest (its path)."""

    task: str
    control_dt: float
    policy: dict
    observation: list[ObservationTerm]
    history_length: int
    commands: dict
    joints: dict
    action: dict
    safety: SafetyLimits
    root: Path = Path(".")
    source: str = "deploy.json"

    @property
    def onnx_path(self) -> Path:
        return self.root / self.policy["onnx"]

    @property
    def torchscript_path(self) -> Path:
        return self.root / self.policy["torchscript"]

    def to_dict(self) -> dict:
        """The ``deploy.json`` content (without ``root`` and ``source``)."""
        return {
            "format": FORMAT,
            "task": self.task,
            "control_dt": self.control_dt,
            "policy": dict(self.policy),
            "observation": {"terms": [asdict(t) for t in self.observation], "history_length": self.history_length},
            "commands": dict(self.commands),
            "joints": dict(self.joints),
            "action": dict(self.action),
            "safety": asdict(self.safety),
        }


def bundle_json(data: dict) -> str:
    """``data`` (a ``deploy.json`` dict) as strict JSON text: every non-finite number becomes ``null``."""

    def finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: finite(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [finite(item) for item in value]
        return value

    return json.dumps(finite(data), indent=2, allow_nan=False) + "\n"


TOP_KEYS = ("format", "task", "control_dt", "policy", "observation", "commands", "joints", "action", "safety")
"""The keys of ``deploy.json``."""
POLICY_KEYS = ("onnx", "torchscript", "obs_dim", "num_actions")
OBSERVATION_KEYS = ("terms", "history_length")
TERM_KEYS = ("name", "size", "params")
COMMAND_KEYS = ("type", "size", "ranges")
JOINT_KEYS = ("names", "default_pos", "stiffness", "damping", "effort_limit", "motor_order")
ACTION_KEYS = ("type", "joints", "scale", "offset", "clip")
ACTION_TYPES = ("joint_position", "joint_effort")
SAFE_STOPS = ("hold", "damp")
NO_LIMIT = ", or null for no limit"


class JsonToken:
    """A ``NaN``, ``Infinity`` or ``-Infinity`` token in a JSON text (what :func:`load_bundle` reads in place of the
    number, through ``json.loads``' ``parse_constant``), so that :func:`bundle_from_dict` refuses it by its key."""

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
        infinity itself, as a loaded :class:`Bundle` holds it) means no limit and gives ``unlimited``."""
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


def bundle_from_dict(data: dict, source: str = "deploy.json", root: Path = Path(".")) -> Bundle:
    """Validate ``data`` (a ``deploy.json``) in full and return the :class:`Bundle`; ``source`` names it in errors.

    Every number is finite and in its range (limits may be null: no limit), every count an integer (a bool is not a
    number here), joint names are distinct, every per-joint list has one entry per joint, position limits are
    ordered and hold the default pose, and the observation terms are ones the runtime computes with their sizes.

    Raises:
        BundleError: the first problem, one line naming ``source``, the dotted key (``safety.joint_pos_limits[3][0]``),
            the value and what was expected; ``error.key`` is that key.
    """
    check = _Checker(source)
    if not isinstance(data, dict):
        raise BundleError(f"{source}: holds {_shown(data)}, expected a JSON object with keys {', '.join(TOP_KEYS)}")
    _non_finite_tokens(data, source)
    if data.get("format") != FORMAT:
        check.fail("format", data.get("format"), repr(FORMAT).replace("'", '"'))
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

    terms, history = _observation(check, check.need(data, "observation", ""))
    if sum(t.size for t in terms) * history != obs_dim:
        check.fail(
            "policy.obs_dim",
            obs_dim,
            f"{sum(t.size for t in terms) * history} (the observation terms' sizes x history)",
        )
    commands = _commands(check, data.get("commands") if data.get("commands") is not None else {})

    joints = check.table(check.need(data, "joints", ""), "joints", JOINT_KEYS)
    names = check.names(check.need(joints, "names", "joints."), "joints.names")
    count = len(names)

    def per_joint(key: str, expected: str, ok=lambda v: True, unlimited=None) -> list[float]:
        return check.numbers(check.need(joints, key, "joints."), f"joints.{key}", count, expected, ok, unlimited)

    default_pos = per_joint("default_pos", "a finite number [rad or m]")
    stiffness = per_joint("stiffness", "a number >= 0 [N m/rad]", _non_negative)
    damping = per_joint("damping", "a number >= 0 [N m s/rad]", _non_negative)
    effort_limit = per_joint("effort_limit", "a number > 0 [N m]" + NO_LIMIT, _positive, math.inf)
    motor_order = check.names(check.need(joints, "motor_order", "joints."), "joints.motor_order")
    if sorted(motor_order) != sorted(names):
        missing, extra = sorted(set(names) - set(motor_order)), sorted(set(motor_order) - set(names))
        check.fail(
            "joints.motor_order", motor_order, f"the joints of 'joints.names' (missing {missing}, extra {extra})"
        )
    action = _action(check, check.need(data, "action", ""), names, num_actions)
    safety = _safety(check, check.need(data, "safety", ""), count)
    for i, (position, (low, high)) in enumerate(zip(default_pos, safety.joint_pos_limits, strict=True)):
        if not low <= position <= high:
            check.fail(
                f"joints.default_pos[{i}]",
                position,
                f"a position within safety.joint_pos_limits[{i}] [{low:g}, {high:g}]",
            )
    joints = {
        "names": names,
        "default_pos": default_pos,
        "stiffness": stiffness,
        "damping": damping,
        "effort_limit": effort_limit,
        "motor_order": motor_order,
    }
    bundle = Bundle(
        task=task,
        control_dt=control_dt,
        policy={
            "onnx": policy["onnx"],
            "torchscript": policy["torchscript"],
            "obs_dim": obs_dim,
            "num_actions": num_actions,
        },
        observation=terms,
        history_length=history,
        commands=commands,
        joints=joints,
        action=action,
        safety=safety,
        root=root,
        source=source,
    )
    check_observation(bundle)
    return bundle


def _positive(value: float) -> bool:
    return value > 0


def _non_negative(value: float) -> bool:
    return value >= 0


def _observation(check: _Checker, data) -> tuple[list[ObservationTerm], int]:
    """The ``observation`` table: its terms and history length."""
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
        terms.append(ObservationTerm(name=name, size=size, params=dict(params)))
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


def _safety(check: _Checker, data, count: int) -> SafetyLimits:
    """The ``safety`` table as :class:`SafetyLimits` (null limits as infinities), for ``count`` joints."""
    known = tuple(f.name for f in fields(SafetyLimits))
    safety = check.table(data, "safety", known)
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
    defaults = SafetyLimits(joint_pos_limits=[], joint_vel_limits=[])

    def gains(key: str) -> list[float]:
        value = safety.get(key, [])
        if value == []:
            return []
        return check.numbers(
            value, f"safety.{key}", count, "a number >= 0 (or [] for the trained gains)", _non_negative
        )

    safe_stop = safety.get("safe_stop", defaults.safe_stop)
    if safe_stop not in SAFE_STOPS:
        check.fail("safety.safe_stop", safe_stop, " or ".join(f'"{s}"' for s in SAFE_STOPS))
    return SafetyLimits(
        joint_pos_limits=pos_limits,
        joint_vel_limits=vel_limits,
        pos_limit_margin=check.number(
            safety.get("pos_limit_margin", defaults.pos_limit_margin),
            "safety.pos_limit_margin",
            "a finite number >= 0 [rad or m]",
            _non_negative,
        ),
        action_clip=check.optional(safety.get("action_clip"), "safety.action_clip", "a number > 0", _positive),
        action_rate_limit=check.optional(
            safety.get("action_rate_limit"), "safety.action_rate_limit", "a number > 0 [rad/s or N m/s]", _positive
        ),
        lowpass_hz=check.optional(safety.get("lowpass_hz"), "safety.lowpass_hz", "a number > 0 [Hz]", _positive),
        max_tilt_rad=check.optional(
            safety.get("max_tilt_rad"), "safety.max_tilt_rad", "a number in (0, pi] [rad]", lambda v: 0 < v <= math.pi
        ),
        soft_start_s=check.number(
            safety.get("soft_start_s", defaults.soft_start_s),
            "safety.soft_start_s",
            "a finite number >= 0 [s]",
            _non_negative,
        ),
        safe_stop=safe_stop,
        hold_kp=gains("hold_kp"),
        hold_kd=gains("hold_kd"),
        max_consecutive_misses=check.integer(
            safety.get("max_consecutive_misses", defaults.max_consecutive_misses), "safety.max_consecutive_misses", 1
        ),
    )


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """``json.loads``' object hook: a JSON object naming a key twice is refused (json keeps the last silently)."""
    table = {}
    for key, value in pairs:
        if key in table:
            raise ValueError(f"key '{key}' appears twice in one object")
        table[key] = value
    return table


def load_bundle(path: Path | str) -> Bundle:
    """Load the bundle in folder ``path`` (or the ``deploy.json`` file itself) and check its model files exist.

    The JSON is read strictly: ``NaN``/``Infinity`` tokens and keys named twice are refused. The model itself is
    checked when it loads (:func:`.policy.load_policy`), before the runtime sends a command.

    Raises:
        BundleError: no ``deploy.json``, unreadable JSON, a malformed key, or a missing model file.
    """
    path = Path(path)
    manifest = path if path.is_file() else path / "deploy.json"
    if not manifest.is_file():
        raise BundleError(f"{manifest}: no deploy.json here; export one with `isaac-rl-workbench export RUN --deploy`")
    try:
        data = json.loads(manifest.read_text(), parse_constant=JsonToken, object_pairs_hook=_unique_keys)
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError, UnicodeDecodeError, a key named twice
        raise BundleError(f"{manifest}: not readable JSON ({exc})") from None
    bundle = bundle_from_dict(data, str(manifest), manifest.parent)
    if not bundle.onnx_path.is_file() and not bundle.torchscript_path.is_file():
        raise BundleError(f"{manifest}: neither {bundle.onnx_path.name} nor {bundle.torchscript_path.name} is there")
    return bundle
