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
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

FORMAT = "isaac-rl-workbench-deploy/1"
"""The ``format`` of the ``deploy.json`` this module reads and writes."""


class BundleError(ValueError):
    """A deployment bundle is missing a file or has a malformed ``deploy.json``; the message names file and key."""


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
    """A loaded ``deploy.json``; ``root`` is the bundle's folder (the model files are relative to it)."""

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

    @property
    def onnx_path(self) -> Path:
        return self.root / self.policy["onnx"]

    @property
    def torchscript_path(self) -> Path:
        return self.root / self.policy["torchscript"]

    def to_dict(self) -> dict:
        """The ``deploy.json`` content (without ``root``)."""
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


def _unlimited(values: list, fill: float) -> list:
    """``values`` with ``null`` (no limit) replaced by ``fill``."""
    return [fill if value is None else value for value in values]


def bundle_from_dict(data: dict, source: str = "deploy.json", root: Path = Path(".")) -> Bundle:
    """Validate ``data`` (a ``deploy.json``) and return the :class:`Bundle`; ``source`` names it in errors.

    Raises:
        BundleError: a missing or malformed key, named with ``source`` and what was expected.
    """

    def need(table: dict, key: str, where: str):
        if not isinstance(table, dict) or key not in table:
            raise BundleError(f"{source}: missing key '{where}{key}'")
        return table[key]

    if data.get("format") != FORMAT:
        raise BundleError(f"{source}: 'format' is {data.get('format')!r}, expected {FORMAT!r}")
    control_dt = need(data, "control_dt", "")
    if not isinstance(control_dt, int | float) or not math.isfinite(control_dt) or control_dt <= 0:
        raise BundleError(f"{source}: 'control_dt' is {control_dt!r}, expected a positive number of seconds")
    policy = need(data, "policy", "")
    for key in ("onnx", "torchscript", "obs_dim", "num_actions"):
        need(policy, key, "policy.")
    obs = need(data, "observation", "")
    terms = []
    for i, term in enumerate(need(obs, "terms", "observation.")):
        if not isinstance(term, dict) or not isinstance(term.get("name"), str) or not isinstance(term.get("size"), int):
            raise BundleError(f"{source}: 'observation.terms[{i}]' is {term!r}, expected {{name, size, params}}")
        terms.append(ObservationTerm(name=term["name"], size=term["size"], params=dict(term.get("params") or {})))
    history = obs.get("history_length", 1)
    if not isinstance(history, int) or history < 1:
        raise BundleError(f"{source}: 'observation.history_length' is {history!r}, expected an integer >= 1")
    if sum(t.size for t in terms) * history != policy["obs_dim"]:
        raise BundleError(
            f"{source}: the observation terms give {sum(t.size for t in terms)} x {history} values, "
            f"but 'policy.obs_dim' is {policy['obs_dim']}"
        )
    joints = need(data, "joints", "")
    names = need(joints, "names", "joints.")
    for key in ("default_pos", "stiffness", "damping", "effort_limit"):
        if len(need(joints, key, "joints.")) != len(names):
            raise BundleError(f"{source}: 'joints.{key}' has {len(joints[key])} values, expected {len(names)}")
    motor_order = need(joints, "motor_order", "joints.")
    if sorted(motor_order) != sorted(names):
        raise BundleError(f"{source}: 'joints.motor_order' must name the same joints as 'joints.names'")
    action = need(data, "action", "")
    if need(action, "type", "action.") not in ("joint_position", "joint_effort"):
        raise BundleError(f"{source}: 'action.type' is {action['type']!r}, expected joint_position or joint_effort")
    for key in ("joints", "scale", "offset"):
        need(action, key, "action.")
    unknown = [j for j in action["joints"] if j not in names]
    if unknown or len(action["offset"]) != len(action["joints"]) or len(action["joints"]) != policy["num_actions"]:
        raise BundleError(
            f"{source}: 'action.joints' must be {policy['num_actions']} of 'joints.names' with one offset each"
            + (f"; unknown: {unknown}" if unknown else "")
        )
    joints = dict(joints, effort_limit=_unlimited(joints["effort_limit"], math.inf))
    safety_data = dict(need(data, "safety", ""))
    if isinstance(safety_data.get("joint_pos_limits"), list):
        safety_data["joint_pos_limits"] = [
            [-math.inf if pair[0] is None else pair[0], math.inf if pair[1] is None else pair[1]]
            if isinstance(pair, list) and len(pair) == 2
            else pair
            for pair in safety_data["joint_pos_limits"]
        ]
    if isinstance(safety_data.get("joint_vel_limits"), list):
        safety_data["joint_vel_limits"] = _unlimited(safety_data["joint_vel_limits"], math.inf)
    known = {f.name for f in fields(SafetyLimits)}
    extra = sorted(set(safety_data) - known)
    if extra:
        raise BundleError(f"{source}: unknown key(s) {extra} in 'safety'; expected some of {sorted(known)}")
    try:
        safety = SafetyLimits(**safety_data)
    except TypeError as exc:
        raise BundleError(f"{source}: 'safety' is incomplete: {exc}") from None
    if safety.safe_stop not in ("hold", "damp"):
        raise BundleError(f"{source}: 'safety.safe_stop' is {safety.safe_stop!r}, expected 'hold' or 'damp'")
    if len(safety.joint_pos_limits) != len(names) or len(safety.joint_vel_limits) != len(names):
        raise BundleError(f"{source}: 'safety' joint limits must have one entry per joint ({len(names)})")
    return Bundle(
        task=str(data.get("task", "")),
        control_dt=float(control_dt),
        policy=dict(policy),
        observation=terms,
        history_length=history,
        commands=dict(data.get("commands") or {}),
        joints=dict(joints),
        action=dict(action),
        safety=safety,
        root=root,
    )


def load_bundle(path: Path | str) -> Bundle:
    """Load the bundle in folder ``path`` (or the ``deploy.json`` file itself) and check its model files exist.

    Raises:
        BundleError: no ``deploy.json``, unreadable JSON, a malformed key, or a missing model file.
    """
    path = Path(path)
    manifest = path if path.is_file() else path / "deploy.json"
    if not manifest.is_file():
        raise BundleError(f"{manifest}: no deploy.json here; export one with `isaac-rl-workbench export RUN --deploy`")
    try:
        data = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{manifest}: not readable JSON ({exc})") from None
    bundle = bundle_from_dict(data, str(manifest), manifest.parent)
    if not bundle.onnx_path.is_file() and not bundle.torchscript_path.is_file():
        raise BundleError(f"{manifest}: neither {bundle.onnx_path.name} nor {bundle.torchscript_path.name} is there")
    return bundle
