"""``doctor``'s drop test: held at its start pose (zero actions) for ``DROP_SECONDS``, the robot must stay finite
and, with a floating base, stand. The base's motion from its start pose decides (:func:`drop_verdict`): below the
ground (it sank through it), tilted past ``TILT_LIMIT`` (on its side, face down: fallen), down to less than
``HEIGHT_FRACTION`` of its start height (its legs folded: fallen), thrown up by more than ``THROWN_HEIGHT`` (it
started inside the ground), drifted more than ``DRIFT_LIMIT`` (it slides or steps), still moving. Each verdict
says what to paste into the spec; a fallen robot's fix (:func:`stand_fix`) is the gains ``import`` prints from the
robot's masses (:func:`..scene.suggested_gains.actuator_tables`), or says why gains are not the fix.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..scene.inspect import inspect_scene
from ..scene.joint_loads import joint_loads
from ..scene.suggested_gains import DEFAULT_PHYSICS_DT, actuator_tables
from ..specs.schema import TaskSpec
from .first_steps import FIRST_STEPS, hold
from .gain_check import SpecJoints
from .start_pose_check import HIGH_START
from .usd_checks import Finding

DROP_SECONDS = 2.0  # [s] the robot is held at its start pose
SETTLED_SPEED = 0.5  # [rad/s or m/s] largest joint speed at the end of the drop test
TAIL_SECONDS = 1.0  # [s] the end of the drop test whose swing centre is a joint's steady position
TILT_LIMIT = math.radians(45.0)
"""A base tilted further than this from its start orientation has fallen [rad]."""
HEIGHT_FRACTION = 0.5
"""A base that ends below this fraction of its start height has fallen (its legs folded under it)."""
THROWN_HEIGHT = 0.5
"""A base that ends this much above its start height was thrown up by the ground [m]."""
DRIFT_LIMIT = 0.25
"""A base that ends further than this from its start, horizontally, does not stand still [m]."""


@dataclass(frozen=True)
class BaseMotion:
    """Where a floating base went during the drop test."""

    start_height: float  # root height above the ground at the start [m]
    end_height: float  # root height above the ground at the end [m]
    tilt: float  # angle between the base's up axis at the start and at the end [rad]
    drift: float  # horizontal distance from the start [m]


def drop_verdict(motion: BaseMotion, seconds: float, stand_fix: str | Callable[[], str], height_fix: str) -> Finding:
    """The drop test's finding for a floating base that stayed finite.

    Args:
        seconds: how long it was held [s].
        stand_fix: what to paste when it fell or drifted (stiffer legs, or a termination that ends fallen
            episodes), or a function that says it (called only then).
        height_fix: what to paste when it started inside or far above the ground (a root height).
    """

    def fix() -> str:
        return stand_fix() if callable(stand_fix) else stand_fix

    where = f"base at {motion.end_height:.3f} m (started at {motion.start_height:.3f} m)"
    if motion.end_height < 0.0:
        return Finding(
            "problem",
            "drop test",
            f"the base ended {motion.end_height:.3f} m below the ground: its links have no colliders, or the feet "
            f"pass through the ground (doctor's collisions lines name the bodies without one)",
        )
    if motion.end_height > motion.start_height + THROWN_HEIGHT:
        return Finding(
            "problem",
            "drop test",
            f"thrown up by the ground within {seconds:g} s, {where}: it started inside the ground; {height_fix}",
        )
    if motion.tilt > TILT_LIMIT:
        return Finding(
            "problem",
            "drop test",
            f"fallen: the base tilted {math.degrees(motion.tilt):.0f} deg from its start pose within {seconds:g} s "
            f"({where}); {fix()}",
        )
    if motion.end_height < HEIGHT_FRACTION * motion.start_height:
        return Finding(
            "problem",
            "drop test",
            f"fallen: the base sank to {motion.end_height:.3f} m from {motion.start_height:.3f} m within "
            f"{seconds:g} s (its legs fold under its weight); {fix()}",
        )
    if motion.drift > DRIFT_LIMIT:
        return Finding(
            "warning",
            "drop test",
            f"the base drifted {motion.drift:.2f} m from its start within {seconds:g} s ({where}): its feet slip or "
            f"it steps; {fix()}",
        )
    return Finding(
        "ok",
        "drop test",
        f"stands for {seconds:g} s: {where}, tilted {math.degrees(motion.tilt):.0f} deg, drifted {motion.drift:.2f} m",
    )


@dataclass(frozen=True)
class DropResult:
    """What the drop test found."""

    findings: list[Finding]
    centre: torch.Tensor  # (D,) centre of each joint's swing over the last TAIL_SECONDS [rad or m]
    swing: torch.Tensor  # (D,) half-width of that swing [rad or m]
    fell: bool  # it fell, or blew up: the joint tests after it would only find that again
    tables: str  # spec tables to paste in place of the spec's [actuators] ("" when gains are not the fix)


def drop_test(env, spec: TaskSpec, joints: SpecJoints, root_height: float | None) -> DropResult:
    """Hold ``env`` (:func:`.physics_checks.doctor_env`'s, its metrics the spec's failure terminations) at its start
    pose for ``DROP_SECONDS`` and judge it. ``root_height``: the root height [m] that puts the start pose on the
    ground, for the fixes (None: unknown)."""
    env.reset()
    steps = max(1, round(DROP_SECONDS / env.step_dt))
    tail_steps = min(steps, max(1, round(TAIL_SECONDS / env.step_dt)))
    start_pos, start_up = env.root_pos_w[0].clone(), -env.projected_gravity_b[0].clone()
    actions = torch.zeros(1, env.num_actions)
    low = torch.full_like(env.dof_pos[0], math.inf)
    high = torch.full_like(env.dof_pos[0], -math.inf)
    ended: dict[str, float] = {}  # failure termination -> the first time [s] it fired during the drop
    for step in range(1, steps + 1):
        if not hold(env, 1, actions):
            blown = Finding(
                "problem",
                "drop test",
                f"held at its start pose, the simulation blew up within {DROP_SECONDS:g} s: check masses, inertias, "
                f"the start pose ([robot] joint_pos within the limits), gains, and env.physics_dt",
            )
            return DropResult([blown], env.default_dof_pos[0], torch.zeros_like(env.dof_pos[0]), True, "")
        if step > steps - tail_steps:
            low, high = torch.minimum(low, env.dof_pos[0]), torch.maximum(high, env.dof_pos[0])
        if env.metric_names:
            for name, value in zip(env.metric_names, env.metric_values()[0].tolist(), strict=True):
                if value and name not in ended:
                    ended[name] = step * env.step_dt
    centre, swing = (low + high) / 2, (high - low) / 2
    if not env.floating_base:
        return DropResult([_settled(env, joints)], centre, swing, False, "")
    end_pos, end_up = env.root_pos_w[0], -env.projected_gravity_b[0]
    tilt = math.acos(max(-1.0, min(1.0, float(torch.dot(start_up, end_up)))))
    motion = BaseMotion(
        start_height=float(start_pos[2]),
        end_height=float(end_pos[2]),
        tilt=tilt,
        drift=float((end_pos[:2] - start_pos[:2]).norm()),
    )
    height_fix = f"in [robot]: root_height = {root_height}" if root_height is not None else "raise [robot] root_height"
    fix = ("", "")

    def said() -> str:
        nonlocal fix
        fix = stand_fix(env, spec, joints, motion.start_height, root_height)
        return fix[0]

    verdict = drop_verdict(motion, DROP_SECONDS, said, height_fix)
    caught = [name for name in ended if ended[name] > FIRST_STEPS * env.step_dt]  # first steps: first_steps_check
    if verdict.level == "problem" and verdict.message.startswith("fallen") and caught:
        name = caught[0]
        verdict = replace(
            verdict,
            level="warning",
            message=f"{verdict.message.split('; ')[0]}; [terminations.{name}] ends such episodes "
            f"(it fired {ended[name]:.2f} s into the drop), so training resets them: fine for a robot that cannot "
            "stand unaided at zero action (a humanoid); if it should stand, stiffer gains: the [actuators] "
            "fragment `import` prints",
        )
        return DropResult([verdict], centre, swing, True, "")
    if verdict.level == "ok":
        verdict = _settled(env, joints) if _speed(env) > SETTLED_SPEED else verdict
    return DropResult([verdict], centre, swing, verdict.level == "problem", fix[1])


def stand_fix(
    env, spec: TaskSpec, joints: SpecJoints, start_height: float, root_height: float | None
) -> tuple[str, str]:
    """What to paste for a floating robot that fell (or drifted) at zero action, and the spec tables that go with it
    ("" when none): where gains are not why (its joints hold nothing at zero action, it was dropped from above the
    ground, its gains already are the rule's), that; else the ``[actuators]`` tables ``import`` prints, from the
    robot's masses at this start pose (:func:`..scene.suggested_gains.actuator_tables` on
    :func:`..scene.joint_loads.joint_loads`). Either way, for a robot that cannot stand unaided, a termination that
    ends fallen episodes.

    Args:
        start_height: the root's height [m] the drop started at.
        root_height: the root height [m] that puts the start pose on the ground (None: unknown).
    """
    end = (
        'if it cannot stand unaided, end fallen episodes: [terminations.fallen] func = "bad_orientation", '
        "params = { limit_angle = 1.0 }"
    )
    if root_height is not None and start_height > root_height + HIGH_START:
        return (
            f"it was dropped from {start_height - root_height:.2f} m above where it stands, so gains are not the "
            f"first fix: in [robot]: root_height = {root_height}, then doctor again",
            "",
        )
    if spec.actions.type == "joint_effort" or not any(k > 0 for k in joints.stiffness):
        why = "joint_effort actions: zero action is zero effort" if spec.actions.type == "joint_effort" else "no PD"
        return (
            f"its joints hold nothing at zero action ({why}), so gains are not why it falls; {end}; to hold it with "
            f"PD, joint_position actions and the [actuators] tables `import` prints",
            "",
        )
    art = inspect_scene(spec.scene).find(spec.articulation)
    start = dict(zip(spec.joint_names, env.default_dof_pos[0].tolist(), strict=True))
    lines = actuator_tables(joint_loads(spec.scene, art, start, True, spec.robot.root_height))
    rule = tomllib.loads("\n".join(lines)).get("actuators", {})
    if not rule:
        return f"its links carry no authored mass to derive gains from; {end}", ""
    advised = [line for line in lines if line.startswith("# [env] physics_dt = ")]
    physics_dt = float(advised[0].split("=")[1].split("#")[0]) if advised else DEFAULT_PHYSICS_DT
    stiffness = dict(zip(joints.names, joints.stiffness, strict=True))
    weaker = [
        f"[actuators.{group}] stiffness {table['stiffness']:g}"
        for group, table in rule.items()
        if any(stiffness.get(joint, 0.0) < 0.99 * table["stiffness"] for joint in table["joints"])
    ]
    if spec.env.physics_dt > physics_dt * 1.001:
        weaker.append(f"[env] physics_dt = {physics_dt:g}")
    if not weaker:
        return f"its gains already are those `import` prints from its masses (or stiffer); {end}", ""
    tables = "\n".join(["# in place of your [actuators] tables (the drop test's fix)", *lines]).strip()
    return (
        f"stiffer legs: replace your [actuators] tables with those `import` prints from its masses (below: "
        f"{', '.join(weaker)}); or {end}",
        tables,
    )


def _speed(env) -> float:
    return float(env.dof_vel.abs().max()) if env.dof_vel.numel() else 0.0


def _settled(env, joints: SpecJoints) -> Finding:
    speed = _speed(env)
    if speed <= SETTLED_SPEED:
        where = f", base at {float(env.root_pos_w[0, 2]):.3f} m" if env.floating_base else ""
        return Finding("ok", "drop test", f"settles within {DROP_SECONDS:g} s{where}")
    column = int(env.dof_vel[0].abs().argmax())
    name, k, inertia = joints.names[column], joints.stiffness[column], joints.inertia[column]
    moving = f"still moving after {DROP_SECONDS:g} s ({name} at {speed:.2f} rad/s)"
    if k <= 0:
        return Finding(
            "warning",
            "drop test",
            f"{moving}: it has no PD to hold it (no stiffness; joint_effort actions: zero action is zero effort): "
            "fine for a robot that cannot hold still unaided; else stiffness and damping in [actuators] and "
            "joint_position actions",
        )
    fix = f"; critical damping for it: damping = {2 * math.sqrt(k * inertia):.3g}" if inertia > 0 else ""
    return Finding("warning", "drop test", f"{moving}: damping too low{fix}")
