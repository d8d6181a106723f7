"""``[deploy]``: the robot's motor order and the safety layer of the exported policy, read from the spec and
validated when it loads (``export --deploy`` turns it into ``deploy.json``, :mod:`.deploy_manifest`)."""

from __future__ import annotations

import math

from .schema import DeploySpec
from .tables import SpecTable, matching_names

SAFE_STOPS = ("hold", "damp")
_PER_JOINT = ("joint_vel_limits", "hold_kp", "hold_kd")


def load_deploy(t: SpecTable, joint_names: list[str], root: str) -> DeploySpec:
    """``[deploy]``, validated: known keys, a motor order naming every joint once, numbers in range, per-joint
    values resolved to the joints they name."""
    t.check_keys(DeploySpec.__dataclass_fields__)
    d = DeploySpec()
    safe_stop = t.get("safe_stop", str, d.safe_stop)
    if safe_stop not in SAFE_STOPS:
        raise t.error("safe_stop", f"expected one of {', '.join(SAFE_STOPS)}, got '{safe_stop}'")
    max_tilt = _optional(t, "max_tilt_rad", positive=True)
    if max_tilt is not None and max_tilt > math.pi:
        raise t.error("max_tilt_rad", f"expected an angle in (0, pi] rad, got {max_tilt}")
    per_joint = {key: _per_joint(t, key, joint_names, root, positive=key == "joint_vel_limits") for key in _PER_JOINT}
    return DeploySpec(
        motor_order=_motor_order(t, joint_names, root),
        safe_stop=safe_stop,
        soft_start_s=_optional(t, "soft_start_s", minimum=0.0),
        action_rate_limit=_optional(t, "action_rate_limit", positive=True),
        lowpass_hz=_optional(t, "lowpass_hz", positive=True),
        max_tilt_rad=max_tilt,
        pos_limit_margin=t.number("pos_limit_margin", d.pos_limit_margin, minimum=0.0),
        max_consecutive_misses=t.number("max_consecutive_misses", d.max_consecutive_misses, minimum=1, integer=True),
        motor_strength=t.number("motor_strength", d.motor_strength, positive=True),
        **per_joint,
    )


def _optional(t: SpecTable, key: str, minimum: float | None = None, positive: bool = False) -> float | None:
    """A number that may be left out (None), checked like :meth:`SpecTable.number`."""
    return t.number(key, 0.0, minimum=minimum, positive=positive) if key in t.data else None


def _motor_order(t: SpecTable, joint_names: list[str], root: str) -> list[str]:
    order = t.get("motor_order", list, [])
    if not order:
        return []
    bad = [name for name in order if not isinstance(name, str)]
    missing = [name for name in joint_names if name not in order]
    unknown = [name for name in order if isinstance(name, str) and name not in joint_names]
    repeated = sorted({name for name in order if isinstance(name, str) and order.count(name) > 1})
    if bad or missing or unknown or repeated:
        problems = [
            f"{label} {items}"
            for label, items in (("not names:", bad), ("missing", missing), ("unknown", unknown), ("twice", repeated))
            if items
        ]
        raise t.error(
            "motor_order",
            f"expected each joint of {root} once, by its exact name; {'; '.join(problems)}; "
            f"its joints: {', '.join(joint_names)}",
        )
    return list(order)


def _per_joint(t: SpecTable, key: str, joint_names: list[str], root: str, positive: bool) -> dict[str, float]:
    """A number for every joint, or ``{joint name or regex = number}`` (first match wins): joint name -> value for
    the joints it sets."""
    if key not in t.data:
        return {}
    value = t.data[key]
    minimum = None if positive else 0.0
    if not isinstance(value, dict):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise t.error(key, f"expected a number or a table {{joint = number}}, got {value!r}")
        number = t.number(key, 0.0, minimum=minimum, positive=positive)
        return dict.fromkeys(joint_names, float(number))
    table = SpecTable(value, t.file, f"{t.key}.{key}")
    out: dict[str, float] = {}
    for pattern in value:
        number = table.number(pattern, 0.0, minimum=minimum, positive=positive)
        matches = matching_names(table, pattern, pattern, joint_names)
        if not matches:
            raise table.error(
                pattern, f"joint '{pattern}' is not in articulation {root}; its joints: {', '.join(joint_names)}"
            )
        for name in matches:
            out.setdefault(name, float(number))
    return out
