"""``doctor``'s drive test (``joint_position`` specs, a robot that did not fall): each action joint in turn gets a
step target and must follow it. The step is ``DRIVE_STEP`` [rad or m], or ``RANGE_SHARE`` of the joint's range
where that is smaller (a gripper's 0.04 m fingers get 0.01 m), toward the middle of its limits. Over
``DRIVE_SECONDS`` the joint must not pass the target by more than half the step (it overshoots) and must cover at
least half of it (it follows).

A joint that misses either gets its cause: where the PD's commanded effort ``|k·e − d·v|`` reached the joint's
effort limit during the step, the drive saturated (a saturated drive overshoots or lags whatever its gains: the step
asks more than the motor gives, which a smaller step or a larger ``effort_limit`` fixes, not gains); else too
little damping (overshoot: critical damping to paste) or stiffness (too slow: a stiffer drive to paste).
"""

from __future__ import annotations

import math

import torch

from ..scene.inspect import inspect_scene
from ..specs.schema import TaskSpec
from .first_steps import hold
from .gain_check import CRITICAL, SpecJoints
from .usd_checks import Finding

DRIVE_SECONDS = 1.0  # [s] each joint is given to follow its step
DRIVE_STEP = 0.2  # [rad or m] the step target, where the joint's range allows
RANGE_SHARE = 0.25  # a joint whose range is under DRIVE_STEP / RANGE_SHARE is stepped by this share of it
OVERSHOOT = 1.5  # a peak beyond this many steps overshoots
FOLLOWED = 0.5  # a joint that covers less than this share of its step in DRIVE_SECONDS is too slow


def drive_step(lower: float, upper: float) -> float:
    """The step [rad or m] the drive test gives a joint with limits ``lower``..``upper`` (inf: unlimited)."""
    span = upper - lower
    return min(DRIVE_STEP, RANGE_SHARE * span) if math.isfinite(span) and span > 0 else DRIVE_STEP


def drive_test(
    env, spec: TaskSpec, joints: SpecJoints, sagging: set[str], suggestions: dict[str, tuple[float, float]]
) -> list[Finding]:
    """A finding per action joint (not in ``sagging``) that blows up, overshoots, saturates or is too slow on its
    step, or one "ok" finding when all follow; the gains to paste join ``suggestions`` (joint name -> (stiffness,
    damping)). ``env``: :func:`.physics_checks.doctor_env`'s, reset before each joint."""
    by_name = {j.name: j for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    steps = max(1, round(DRIVE_SECONDS / env.step_dt))
    names = [n for n in spec.actions.joints if n not in sagging]
    start = env.default_dof_pos[0].clone()
    findings, sizes = [], {}
    for name in names:
        env.reset()
        a, column = spec.actions.joints.index(name), spec.joint_names.index(name)
        info = by_name.get(name)
        lower, upper = (info.lower, info.upper) if info else (-math.inf, math.inf)
        prismatic = info is not None and info.type == "prismatic"
        step = sizes[name] = drive_step(lower, upper)
        middle = 0.0 if math.isinf(lower) or math.isinf(upper) else (lower + upper) / 2
        sign = 1.0 if middle >= float(start[column]) else -1.0
        target = float(start[column]) + sign * step
        k, d = joints.stiffness[column], joints.damping[column]
        actions = torch.zeros(1, env.num_actions)
        actions[0, a] = sign * step / spec.actions.joint_scales()[a]
        peak, demand, ok = 0.0, k * step, True  # demand: the largest |k·e − d·v| the PD asks for [N·m or N]
        for _ in range(steps):
            ok = hold(env, 1, actions)
            if not ok:
                break
            position, velocity = float(env.dof_pos[0, column]), float(env.dof_vel[0, column])
            peak = max(peak, sign * (position - float(start[column])))
            demand = max(demand, abs(k * (target - position) - d * velocity))
        moved = sign * float(env.dof_pos[0, column] - start[column])
        units = ("m", "N") if prismatic else ("rad", "N·m")
        finding = _verdict(joints, column, step, units, ok, peak, moved, demand, suggestions)
        if finding is not None:
            findings.append(finding)
    if not findings and names:
        findings.append(Finding("ok", "drive test", _all_follow(names, sizes, by_name)))
    return findings


def _verdict(
    joints: SpecJoints,
    column: int,
    step: float,
    units: tuple[str, str],
    ok: bool,
    peak: float,
    moved: float,
    demand: float,
    suggestions: dict[str, tuple[float, float]],
) -> Finding | None:
    """Joint ``column``'s finding on its ``step`` (None: it followed), from the furthest it went (``peak``), where it
    ended (``moved``), both from its start toward the target [rad or m], and the largest effort its PD commanded
    (``demand``) [N·m or N]. ``units``: (position, effort)."""
    name, k, d, inertia = joints.names[column], joints.stiffness[column], joints.damping[column], joints.inertia[column]
    limit = joints.effort_limit[column]
    what = f"a {step:g} {units[0]} step"
    if not ok:
        return Finding("problem", "drive test", f"{name}: {what} target blew it up")
    overshot, slow = peak > OVERSHOOT * step, moved < FOLLOWED * step
    if not overshot and not slow:
        return None
    if demand >= limit:
        missed = (
            f"overshot to {peak:.3f} whatever its damping"
            if overshot
            else f"covered {moved:.3f} in {DRIVE_SECONDS:g} s whatever its stiffness"
        )
        asked = k * step  # at rest, the step's whole error
        needs = f"the step needs {asked:.3g} {units[1]} (stiffness {k:g} times the step)"
        if asked < limit:
            needs = f"its PD asked up to {demand:.3g} {units[1]} as it moved"
        return Finding(
            "warning",
            "drive test",
            f"{name}: saturates at its effort limit {limit:g} {units[1]} on {what}: {needs}, so it {missed}; a "
            f"smaller step is fine (the policy's targets move less at a time), or raise effort_limit if the motor "
            f"allows",
        )
    if overshot:
        damping = CRITICAL * math.sqrt(k * inertia)
        suggestions[name] = (k, damping)
        return Finding(
            "warning",
            "drive test",
            f"{name}: overshot {what} to {peak:.3f} (it rings): try damping {damping:.3g} (critical for stiffness "
            f"{k:g} on {inertia:.3g} {'kg' if units[0] == 'm' else 'kg·m²'})",
        )
    stiffness = 4 * k
    damping = CRITICAL * math.sqrt(stiffness * inertia) if inertia > 0 else d
    suggestions[name] = (stiffness, damping)
    return Finding(
        "warning",
        "drive test",
        f"{name}: covered {moved:.3f} of {what} in {DRIVE_SECONDS:g} s without reaching its effort limit: too "
        f"slow for its load; try stiffness {stiffness:.3g}, damping {damping:.3g}",
    )


def _all_follow(names: list[str], sizes: dict[str, float], by_name: dict) -> str:
    """The "ok" line: the step the joints got, and those whose small range got a smaller one."""

    def units(joints: list[str]) -> str:
        kinds = {"m" if n in by_name and by_name[n].type == "prismatic" else "rad" for n in joints}
        return " or ".join(sorted(kinds, reverse=True))

    full = [n for n in names if sizes[n] >= DRIVE_STEP]
    smaller = ", ".join(f"{n} {sizes[n]:.3g} {units([n])}" for n in names if sizes[n] < DRIVE_STEP)
    if not smaller:
        return f"all {len(names)} action joints follow a {DRIVE_STEP:g} step ({units(names)})"
    said = f"all {len(names)} action joints follow their step: "
    if full:
        said += f"{DRIVE_STEP:g} ({units(full)}) for {len(full)}, "
    return said + f"{RANGE_SHARE:g} of the range where that is smaller: {smaller}"
