"""PD gains from the robot: the stiffness each joint needs to hold its start pose under gravity and to move the
inertia it carries briskly, critically damped, within its effort limit. ``import`` prints them as
``[actuators.<group>]`` tables; ``doctor``'s sag fix uses the same rule (:func:`suggested_gains`).

The rule, per 1-DOF joint j with effective inertia ``M`` [kg·m² or kg] (``1 / (H⁻¹)ⱼⱼ`` of the joint-space mass
matrix H, the other joints and a floating base free: what ``doctor`` reads from the physics), the gravity torque
``τ`` [N·m or N] it holds at the start pose and the growth ``τ'`` [N·m/rad] of that torque as the joint gives way:

    k = max(ω² · M, |τ| / θ_max + max(τ', 0)),  d = 2 ζ √(k M)

- ``ω = 2π · min(TARGET_FREQUENCY, rate / RATE_FRACTION)``: 10 Hz at the default 120 Hz physics rate. The field's
  gains sit between 1.5 and 6 Hz on the joints' own inertia (Isaac Lab's UR10 800 N·m/rad, Franka 80, Unitree 25,
  G1's legs 150-200; legged_gym's ANYmal C 80), tuned for walking policies that set their targets every 20 ms; a
  start spec must first hold the robot, so it takes the doctor's ceiling for an underdamped drive, a twelfth of
  the physics rate.
- ``|τ| / θ_max`` holds the gravity load within ``SAG_ALLOWED`` (0.02 rad), well inside the 0.05 rad at which
  ``doctor`` calls a joint sagging; ``τ'`` adds the load's own negative stiffness (a straight knee under the body's
  weight buckles unless ``k`` outgrows it): the steady error is ``τ / (k - τ')``.
- ``ζ = DAMPING_RATIO``: critical damping (5% over), so the solver's implicit drive neither rings nor lags.
- capped at ``k ≤ M (STEP_LIMIT / physics_dt)²``: one physics step of the critically damped implicit drive then
  contracts (it diverges near ω·dt = 4.6; :func:`..doctor.gain_check.step_growth`), and at ``k ≤ effort / θ_max``
  so the drive reaches its effort limit no sooner than at θ_max. A capped joint may sag more: :class:`JointGains`
  says how much, and when the effort limit cannot hold the gravity torque at all.

The loads (inertia, gravity torque and its growth, effort limit) come from :mod:`.joint_loads`, from the USD alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .joint_loads import JointLoad

TARGET_FREQUENCY = 10.0
"""Natural frequency the stiffness gives each joint on its own inertia [Hz], at most the physics rate over
``RATE_FRACTION``."""
RATE_FRACTION = 12
"""An underdamped PD's natural frequency may be at most the physics rate divided by this (``doctor`` warns above)."""
SAG_ALLOWED = 0.02
"""Steady error the stiffness allows under the start pose's gravity load [rad or m]."""
DAMPING_RATIO = 1.05
"""Critical, and 5% more: the physics' own inertia (within 1% of the rule's) and the printed 3 digits never make
the drive underdamped, which ``doctor`` flags above a twelfth of the physics rate."""
STEP_LIMIT = 1.5
"""Largest ω · physics_dt [1]: one step of a critically damped implicit PD contracts by 0.5 there (it diverges near
4.6), and Newton holds ANYmal's knees at 1.7; G1's 0.6 kg feet, on their own inertia, tip the robot over at 2.2
and stand at 0.9."""
DEFAULT_PHYSICS_DT = 1.0 / 120.0
"""``env.physics_dt`` of a spec that sets none [s]."""
PHYSICS_STEPS = (DEFAULT_PHYSICS_DT, 0.005, 0.002, 0.001)
"""The physics steps [s] :func:`actuator_tables` tries, largest first, until the gains hold every joint."""
SAG_LIMIT = 0.05
"""A joint held further than this from its target sags (``doctor``'s limit) [rad or m]."""
GROUP_RATIO = 1.5
"""Joints whose suggested stiffness lies within this factor (and share an effort limit) share one table."""


@dataclass(frozen=True)
class JointGains:
    """The suggested PD of one joint, and the steady error it leaves under the start pose's gravity load."""

    stiffness: float  # [N·m/rad or N/m]
    damping: float  # [N·m·s/rad or N·s/m]
    sag: float  # steady error under the gravity load [rad or m]; inf: it cannot hold it
    limited_by: str  # "" or why the stiffness is below what would hold the load within SAG_ALLOWED


def suggested_gains(
    inertia: float,
    gravity_torque: float,
    effort_limit: float = math.inf,
    physics_dt: float = DEFAULT_PHYSICS_DT,
    gravity_stiffness: float = 0.0,
) -> JointGains:
    """The rule of this module's docstring for one joint. ``inertia`` [kg·m² or kg] > 0; ``gravity_torque`` [N·m or
    N], either sign; ``gravity_stiffness`` [N·m/rad], > 0 where the load grows as the joint gives way."""
    omega = 2 * math.pi * min(TARGET_FREQUENCY, 1.0 / (physics_dt * RATE_FRACTION))
    load = abs(gravity_torque)
    wanted = max(omega**2 * inertia, load / SAG_ALLOWED + max(gravity_stiffness, 0.0))
    caps = {
        "one physics step": inertia * (STEP_LIMIT / physics_dt) ** 2,
        "the effort limit": effort_limit / SAG_ALLOWED,
    }
    limited_by = min(caps, key=caps.__getitem__)
    stiffness = min(wanted, caps[limited_by])
    net = stiffness - max(gravity_stiffness, 0.0)
    sag = math.inf if load > effort_limit or (load > 0 and net <= 0) else (load / net if load else 0.0)
    damping = 2 * DAMPING_RATIO * math.sqrt(stiffness * inertia)
    return JointGains(stiffness, damping, sag, limited_by if stiffness < wanted else "")


def actuator_tables(loads: list[JointLoad], physics_dt: float | None = None) -> list[str]:
    """Spec lines: ``[actuators.<group>]`` tables with :func:`suggested_gains` for ``loads``, joints whose stiffness
    lies within ``GROUP_RATIO`` (and that share an effort limit and a joint type) in one table with the stiffest
    one's gains (its lighter joints are then overdamped, never underdamped), and a comment per joint the gains do
    not hold within ``SAG_LIMIT``.

    ``physics_dt`` [s]: the step the gains are for; None: the largest of ``PHYSICS_STEPS`` at which they hold every
    joint within ``SAG_LIMIT`` (a robot on light feet needs a small one), named in a comment when it is not the
    default."""
    held = [dt for dt in PHYSICS_STEPS if all(_gains(load, dt).sag <= SAG_LIMIT for load in loads if load.inertia > 0)]
    step = physics_dt or (held[0] if held else PHYSICS_STEPS[-1])
    gains = {load.name: _gains(load, step) for load in loads if load.inertia > 0}
    inertia = {load.name: load.inertia for load in loads}
    groups: list[list[JointLoad]] = []
    for load in sorted(
        (load for load in loads if load.name in gains),
        key=lambda item: (item.prismatic, item.effort_limit, gains[item.name].stiffness),
    ):
        last = groups[-1][0] if groups else None
        same_kind = last is not None and (last.prismatic, last.effort_limit) == (load.prismatic, load.effort_limit)
        if same_kind and gains[load.name].stiffness <= GROUP_RATIO * gains[last.name].stiffness:
            groups[-1].append(load)
        else:
            groups.append([load])
    order = {load.name: index for index, load in enumerate(loads)}
    groups.sort(key=lambda members: min(order[m.name] for m in members))
    hz = min(TARGET_FREQUENCY, 1 / (step * RATE_FRACTION))
    lines = [
        "",
        "# gains from the robot's masses at the start pose (doctor checks them): stiffness",
        f"# max(({hz:.3g} Hz)²·inertia, gravity torque / {SAG_ALLOWED:g} rad), critically damped, for env.physics_dt "
        f"{step:.3g} s or less",
    ]
    if physics_dt is None and step != DEFAULT_PHYSICS_DT:
        lines.append(
            f"# [env] physics_dt = {step:g}  # needed: at {DEFAULT_PHYSICS_DT:.3g} s (the default) one physics step "
            f"cannot take the stiffness that holds its lightest loaded links (their inertia is small)"
        )
    massless = [load.name for load in loads if load.name not in gains]
    if massless:
        lines.append(f"# no gains for {', '.join(massless)}: they move no authored mass")
    used: set[str] = set()
    for members in groups:
        names = [m.name for m in sorted(members, key=lambda m: order[m.name])]
        stiffness = min(
            max(gains[n].stiffness for n in names),
            min(inertia[n] * (STEP_LIMIT / step) ** 2 for n in names),
        )
        damping = max(2 * DAMPING_RATIO * math.sqrt(stiffness * inertia[n]) for n in names)
        units = ("N/m", "N·s/m", "N") if members[0].prismatic else ("N·m/rad", "N·m·s/rad", "N·m")
        lines += [
            "",
            f"[actuators.{_group_name(names, used)}]",
            "joints = [" + ", ".join(f'"{n}"' for n in names) + "]",
        ]
        lines += [
            f"stiffness = {_round(stiffness)!r}  # {units[0]}",
            f"damping = {_round(damping, up=True)!r}  # {units[1]}",
        ]
        if math.isfinite(members[0].effort_limit):
            lines.append(f"effort_limit = {_round(members[0].effort_limit)!r}  # {units[2]}: the file's")
        for member in sorted(members, key=lambda m: order[m.name]):
            lines += _sag_note(member.name, gains[member.name], member, units[2])
    return lines


def _gains(load: JointLoad, physics_dt: float) -> JointGains:
    return suggested_gains(load.inertia, load.gravity_torque, load.effort_limit, physics_dt, load.gravity_stiffness)


def _sag_note(name: str, gains: JointGains, load: JointLoad, unit: str) -> list[str]:
    """A comment for a joint the suggested gains do not hold within ``SAG_LIMIT`` (``doctor`` would call it
    sagging), or whose effort limit cannot hold its load at all."""
    if math.isinf(gains.sag) and abs(load.gravity_torque) > load.effort_limit:
        return [
            f"# warning: {name}: its effort limit {load.effort_limit:g} {unit} cannot hold the "
            f"{abs(load.gravity_torque):.3g} {unit} gravity load of the start pose: it will sag; a lighter pose"
        ]
    if gains.sag > SAG_LIMIT:
        sags = "cannot hold the start pose" if math.isinf(gains.sag) else f"sags about {gains.sag:.2g}"
        smaller = "; a smaller env.physics_dt allows more" if gains.limited_by == "one physics step" else ""
        return [
            f"# warning: {name}: {sags} under the start pose's gravity load (its stiffness is capped by "
            f"{gains.limited_by}){smaller}"
        ]
    return []


def _round(value: float, up: bool = False) -> float:
    """Three significant figures; rounded up with ``up`` (a damping printed never below critical)."""
    rounded = float(f"{value:.3g}")
    if up and rounded < value:
        rounded = float(f"{rounded + 10 ** (math.floor(math.log10(value)) - 2):.3g}")
    return rounded


def _group_name(names: list[str], used: set[str]) -> str:
    """A table name for joints ``names``: their words but the side and "joint" (``hip_pitch`` for the left and right
    ``*_hip_pitch_joint``, ``HAA_HFE`` for ANYmal's ``LF_HAA``, ``LF_HFE``...), at most three kinds, else the first
    joint's name; unique among ``used`` (which it joins)."""
    kinds = []
    for name in names:
        words = [w for w in re.split(r"[_\W]+", name) if w and w.lower() not in _SIDE_WORDS]
        if words and "_".join(words) not in kinds:
            kinds.append("_".join(words))
    base = "_".join(kinds) if 0 < len(kinds) <= 3 and len(names) > 1 else re.sub(r"[^A-Za-z0-9_-]", "_", names[0])
    name, count = base, 2
    while name in used:
        name, count = f"{base}_{count}", count + 1
    used.add(name)
    return name


_SIDE_WORDS = {"joint", "left", "right", "l", "r", "lf", "rf", "lh", "rh", "fl", "fr", "rl", "rr"}
