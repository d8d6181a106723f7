"""``doctor``'s gain check: is each joint's PD stable and well damped at the physics rate, given the inertia it
moves? With a position gain ``k`` [N·m/rad], a damping gain ``d`` [N·m·s/rad] and an effective inertia ``I``
[kg·m²] about the joint axis (per metre and kg for a prismatic joint): natural frequency ``f = sqrt(k / I) / 2π``
[Hz], damping ratio ``ζ = d / (2 sqrt(k I))``.

- problem: one physics step of the joint under its PD diverges. The step is the one MuJoCo's ``implicitfast``
  integrator takes: the position term explicit, the damping of the solver's own drive implicit, the damping of an
  explicit actuator (``model = "pd"`` or ``"dc_motor"``, a constant effort over the step) explicit.
- warning: underdamped (ζ < 1) with ``f`` above a twelfth of the physics rate (it rings at a frequency the
  physics steps resolve poorly); ζ below ``DAMPING_RATIO_RANGE[0]`` (it rings); ζ above ``DAMPING_RATIO_RANGE[1]``
  with a time constant ``d / k`` longer than one env step (it lags behind its targets).

Suggested gains keep ``f`` at most a twelfth of the physics rate and damp the joint critically (ζ = 1; an
explicit actuator's damping is capped at ``I / physics_dt``).
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

from ..scene.suggested_gains import RATE_FRACTION
from .usd_checks import Finding

DAMPING_RATIO_RANGE = (0.2, 5.0)
CRITICAL = 2.02
"""damping = CRITICAL * sqrt(stiffness * inertia): critical, rounded up (3 digits are printed)."""


@dataclass(frozen=True)
class JointGains:
    """One joint's PD gains and the inertia they move."""

    name: str
    stiffness: float  # [N·m/rad or N/m]
    damping: float  # [N·m·s/rad or N·s/m]
    inertia: float  # effective inertia about the axis [kg·m² or kg], armature included
    explicit: bool  # an explicit actuator (pd, dc_motor) rather than the solver's implicit drive


@dataclass(frozen=True)
class SpecJoints:
    """A spec's 1-DOF joints as ``doctor``'s physics checks see them, in ``spec.joint_names`` order: gains, inertia
    at the start pose, explicit motor or not, effort limit."""

    names: list[str]
    stiffness: list[float]  # [N·m/rad or N/m]
    damping: list[float]  # [N·m·s/rad or N·s/m]
    inertia: list[float]  # [kg·m² or kg]
    explicit: list[bool]
    effort_limit: list[float]  # [N·m or N], inf where neither the spec nor the scene limits it

    def gains(self, column: int, stiffness: float | None = None, damping: float | None = None) -> JointGains:
        """Joint ``column``'s :class:`JointGains`, with other ``stiffness`` and ``damping`` where given."""
        return JointGains(
            name=self.names[column],
            stiffness=self.stiffness[column] if stiffness is None else stiffness,
            damping=self.damping[column] if damping is None else damping,
            inertia=self.inertia[column],
            explicit=self.explicit[column],
        )


def step_growth(joint: JointGains, physics_dt: float) -> float:
    """The spectral radius of one physics step of ``I x'' = -k x - d x'`` (position, velocity): above 1 the joint
    diverges. Semi-implicit Euler; the damping implicit for the solver's drive, explicit for an explicit actuator."""
    h, w2, c = physics_dt, joint.stiffness / joint.inertia, joint.damping / joint.inertia
    if joint.explicit:  # v' = (1 - h c) v - h w2 x;  x' = x + h v'
        a, b, e, f = 1 - h * h * w2, h * (1 - h * c), -h * w2, 1 - h * c
    else:  # v' = (v - h w2 x) / (1 + h c);  x' = x + h v'
        a, b, e, f = 1 - h * h * w2 / (1 + h * c), h / (1 + h * c), -h * w2 / (1 + h * c), 1 / (1 + h * c)
    trace, det = a + f, a * f - b * e
    root = cmath.sqrt(trace * trace / 4 - det)
    return max(abs(trace / 2 + root), abs(trace / 2 - root))


def check_gains(
    joints: list[JointGains], physics_dt: float, env_dt: float
) -> tuple[list[Finding], dict[str, tuple[float, float]]]:
    """A finding per joint whose gains are unstable, ringing or lagging (or one "ok" finding when none is), and the
    suggested ``(stiffness, damping)`` of each such joint. ``env_dt``: one env step (the policy's period) [s]."""
    rate = 1.0 / physics_dt
    f_max = rate / RATE_FRACTION
    findings, suggestions = [], {}
    checked = [j for j in joints if j.stiffness > 0 and j.inertia > 0]
    for joint in checked:
        frequency = math.sqrt(joint.stiffness / joint.inertia) / (2 * math.pi)
        ratio = joint.damping / (2 * math.sqrt(joint.stiffness * joint.inertia))
        if step_growth(joint, physics_dt) > 1 + 1e-9:
            level, problem = "problem", "one physics step of its PD diverges: it blows up"
        elif ratio < 1 and frequency > f_max:
            level = "warning"
            problem = (
                f"underdamped (damping ratio {ratio:.2g}) at {frequency:.3g} Hz, above {f_max:.3g} Hz (1/"
                f"{RATE_FRACTION} of the {rate:.3g} Hz physics rate): it rings"
            )
        elif ratio < DAMPING_RATIO_RANGE[0]:
            level, problem = "warning", f"damping ratio {ratio:.2g}: it rings"
        elif ratio > DAMPING_RATIO_RANGE[1] and joint.damping / joint.stiffness > env_dt:
            level = "warning"
            problem = (
                f"damping ratio {ratio:.2g}: it lags behind its targets (time constant "
                f"{joint.damping / joint.stiffness:.2g} s, longer than the {env_dt:.2g} s env step)"
            )
        else:
            continue
        stiffness = min(joint.stiffness, joint.inertia * (2 * math.pi * f_max) ** 2)
        damping = 2 * math.sqrt(stiffness * joint.inertia)
        if joint.explicit:
            damping = min(damping, joint.inertia / physics_dt)
        where = f"{joint.name}: stiffness {joint.stiffness:g}, damping {joint.damping:g} on {joint.inertia:.3g} kg·m²"
        fix = f"try stiffness {stiffness:.3g}, damping {damping:.3g} (or a smaller env.physics_dt)"
        findings.append(Finding(level, "gains", f"{where}: {problem}; {fix}"))
        suggestions[joint.name] = (stiffness, damping)
    if checked and not findings:
        top = max(math.sqrt(j.stiffness / j.inertia) / (2 * math.pi) for j in checked)
        ratios = [j.damping / (2 * math.sqrt(j.stiffness * j.inertia)) for j in checked]
        findings.append(
            Finding(
                "ok",
                "gains",
                f"{len(checked)} PD joints stable at the {rate:.3g} Hz physics rate: natural frequencies up to "
                f"{top:.3g} Hz, damping ratios {min(ratios):.2g} to {max(ratios):.2g}",
            )
        )
    return findings, suggestions


def suggested_actuators(suggestions: dict[str, tuple[float, float]], groups: dict[str, list[str]]) -> str:
    """The suggestions as ``[actuators.<joint>]`` tables, one per flagged joint (its inertia differs from its
    group's other joints'), each saying which spec group to take the joint out of."""
    lines = []
    for joint, (stiffness, damping) in suggestions.items():
        owner = next((name for name, joints in groups.items() if joint in joints and name != joint), None)
        lines += [
            f"[actuators.{joint}]" + (f"  # take {joint} out of [actuators.{owner}] joints" if owner else ""),
            f'joints = ["{joint}"]',
            f"stiffness = {stiffness:.3g}",
            f"damping = {damping:.3g}",
            "",
        ]
    return "\n".join(lines).strip()
