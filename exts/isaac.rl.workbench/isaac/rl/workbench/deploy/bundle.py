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
the runtime sends a command (:mod:`.bundle_checks`: types, ranges, one entry per joint, distinct joint names).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .bundle_checks import JsonToken, check_deploy_dict
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


def bundle_from_dict(data: dict, source: str = "deploy.json", root: Path = Path(".")) -> Bundle:
    """Validate ``data`` (a ``deploy.json``) in full and return the :class:`Bundle`; ``source`` names it in errors.

    Every key is checked by :func:`.bundle_checks.check_deploy_dict` (types, ranges, one entry per joint, distinct
    names, position limits ordered and holding the default pose), and the observation terms are ones the runtime
    computes with their sizes (:func:`.observation_terms.check_observation`).

    Raises:
        BundleError: the first problem, one line naming ``source``, the dotted key (``safety.joint_pos_limits[3][0]``),
            the value and what was expected; ``error.key`` is that key.
    """
    checked = check_deploy_dict(data, source, FORMAT)
    bundle = Bundle(
        task=checked["task"],
        control_dt=checked["control_dt"],
        policy=checked["policy"],
        observation=[ObservationTerm(**term) for term in checked["observation"]["terms"]],
        history_length=checked["observation"]["history_length"],
        commands=checked["commands"],
        joints=checked["joints"],
        action=checked["action"],
        safety=SafetyLimits(**checked["safety"]),
        root=root,
        source=source,
    )
    check_observation(bundle)
    return bundle


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
