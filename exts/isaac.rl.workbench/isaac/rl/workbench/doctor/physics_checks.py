"""The checks ``doctor`` runs in the physics for a task spec: the robot as the spec sets it up (base, actuators,
start pose) is built once, in one env on the CPU, with no events and no terminations acting (nothing resets it):

- start pose (floating base, before the physics): the lowest collision point of the start pose against the ground
  (:mod:`.start_pose_check`); one inside the ground is fixed by a root height, at which the tests below run;
- first steps: each failure termination of the spec that fires within ``FIRST_STEPS`` env steps of the spec's own
  start pose (zero actions), named with its function and params: every episode would end at once;
- mass check: the bodies whose mass or inertia the physics engine's own validation corrects when it loads the robot
  (Newton's; an engine without one checks nothing);
- gain check: each PD joint's gains against the inertia it moves at the start pose (:mod:`.gain_check`);
- drop test: held at its start pose (zero actions) for ``DROP_SECONDS``, it must stay finite and, with a floating
  base, stand: not below the ground, not tilted or sunk (fallen), not thrown up, not drifting (:mod:`.drop_test`);
- sag (``joint_position`` specs, robots that did not fall): a PD joint whose swing over the last ``TAIL_SECONDS``
  stays on one side of its target, more than ``SAG_LIMIT`` from it, sags under its load: a steady error, not
  ringing; its fix is the gain rule ``import`` prints gains by (:func:`..scene.suggested_gains.suggested_gains`),
  on the load the joint holds and the inertia it moves;
- drive test (``joint_position`` specs, robots that did not fall): each action joint that does not sag in turn gets
  a step target ``DRIVE_STEP`` (toward the middle of its limits) and must not overshoot by more than half of it
  (it rings) and must cover at least half of it in ``DRIVE_SECONDS`` (too slow).

Every problem and warning says what to paste; per-joint gains come back as ``[actuators.<joint>]`` tables.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch

from ..backend.registry import load_engine
from ..envs.backend_request import backend_request, explicit_actuators
from ..scene.inspect import inspect_scene
from ..scene.suggested_gains import SAG_LIMIT, suggested_gains
from ..specs.robot_tables import per_joint
from ..specs.schema import TaskSpec
from .drop_test import BaseMotion, drop_verdict
from .first_steps import FIRST_STEPS, first_steps_check, hold
from .gain_check import JointGains, check_gains, step_growth, suggested_actuators
from .start_pose_check import spec_root_height, start_pose_check
from .usd_checks import Finding

DROP_SECONDS = 2.0
DRIVE_SECONDS = 1.0
DRIVE_STEP = 0.2  # [rad or m]
SETTLED_SPEED = 0.5  # [rad/s or m/s] largest joint speed at the end of the drop test
TAIL_SECONDS = 1.0  # [s] the end of the drop test whose swing centre is a joint's steady position
CRITICAL = 2.02  # damping = CRITICAL * sqrt(stiffness * inertia): critical, rounded up (3 digits are printed)


@dataclass(frozen=True)
class _Joints:
    """The spec's joints as the checks see them: gains, inertia at the start pose, explicit motor or not."""

    names: list[str]
    stiffness: list[float]  # [N·m/rad or N/m]
    damping: list[float]  # [N·m·s/rad or N·s/m]
    inertia: list[float]  # [kg·m² or kg]
    explicit: list[bool]
    effort_limit: list[float]  # [N·m or N], inf where neither the spec nor the scene limits it


def spec_checks(spec: TaskSpec, flagged: Iterable[str] = ()) -> tuple[list[Finding], str]:
    """Everything ``doctor`` checks of a spec beyond its USD: the start pose, the engine's inertia corrections, the
    gain check, the drop test and the drive test, on one env built once; and the suggested ``[actuators]`` and
    ``[robot]`` keys to paste ("" when none). The engine's notes are shown once each.

    Args:
        flagged: prim paths of the bodies whose inertia the USD checks already named (the engine's corrections of
            them are left out).
    """
    with _each_warning_once():
        return _spec_checks(spec, tuple(flagged))


@contextmanager
def _each_warning_once() -> Iterator[None]:
    """Show each warning text once (the engine loads the robot more than once, and its own catching of warnings
    resets Python's registry of those already shown)."""
    shown: set[tuple[str, type]] = set()
    with warnings.catch_warnings():
        show = warnings.showwarning

        def once(message, category, *args, **kwargs) -> None:
            if (str(message), category) not in shown:
                shown.add((str(message), category))
                show(message, category, *args, **kwargs)

        warnings.showwarning = once
        yield


def _spec_checks(spec: TaskSpec, flagged: tuple[str, ...]) -> tuple[list[Finding], str]:
    """A start pose inside the ground gets its terminations checked where the spec starts the robot, and the other
    tests at the root height that fixes it (they would only find the collision again)."""
    findings, root_height = start_pose_check(spec)
    findings += [f for f in mass_checks(spec) if not any(f"'{path}'" in f.message for path in flagged)]
    inside = root_height is not None and any(f.check == "start pose" and f.level == "problem" for f in findings)
    tested = replace(spec, robot=replace(spec.robot, root_height=root_height)) if inside else spec
    env = doctor_env(tested)
    joints = _joints(tested, env)  # the inertias at the start pose, before any step
    findings += first_steps_check(env, spec, *((spec_root_height(spec), root_height) if inside else (None, None)))
    gains, suggestions = _gain_findings(tested, joints)
    findings += gains
    physics = physics_checks(tested, env, joints, suggestions, root_height)
    if inside:
        note = f" (tested at [robot] root_height = {root_height}, the start pose fix)"
        physics = [replace(f, message=f.message + note) if f.check == "drop test" else f for f in physics]
    findings += physics
    groups = {name: group.joints for name, group in spec.actuators.items()}
    fragment = suggested_actuators(suggestions, groups)
    if root_height is not None and any(f.check == "start pose" and f.level != "ok" for f in findings):
        fragment = f"[robot]\nroot_height = {root_height}\n\n{fragment}".strip()
    return findings, fragment


def doctor_env(spec: TaskSpec):
    """One env of ``spec`` on the CPU, as the checks use it: no events, no terminations (nothing resets it),
    episodes longer than the tests, and the spec's failure terminations as metrics (evaluated, never acted on)."""
    from ..envs.workbench_env import WorkbenchEnv

    seconds = max(spec.env.episode_seconds, 2 * (DROP_SECONDS + DRIVE_SECONDS))
    watched = {name: replace(term, reduce="final") for name, term in spec.terminations.items() if not term.time_out}
    one = replace(
        spec,
        env=replace(spec.env, num_envs=1, episode_seconds=seconds),
        events={},
        terminations={},
        metrics=watched,
    )
    return WorkbenchEnv(one, "cpu", health_check=True)


def mass_checks(spec: TaskSpec) -> list[Finding]:
    """A warning per body whose mass or inertia the spec's physics engine (``env.physics``) had to correct when
    loading the robot; none where the engine validates nothing. The engine's libraries must be here
    (:class:`~..backend.base.BackendError` otherwise)."""
    engine = load_engine(spec.env.physics)
    if engine.inertia_corrections is None:
        return []
    name = spec.env.physics.capitalize()
    return [
        Finding("warning", "inertia", f"{name}: {message} (fine for a massless frame link; else author its inertia)")
        for message in engine.inertia_corrections(backend_request(spec, "cpu"))
    ]


def gain_checks(spec: TaskSpec, env=None) -> tuple[list[Finding], str]:
    """The gain check at the robot's start pose, and the suggested ``[actuators]`` keys ("" when none)."""
    findings, suggestions = _gain_findings(spec, _joints(spec, env or doctor_env(spec)))
    groups = {name: group.joints for name, group in spec.actuators.items()}
    return findings, suggested_actuators(suggestions, groups)


def physics_checks(
    spec: TaskSpec,
    env=None,
    joints: _Joints | None = None,
    suggestions: dict[str, tuple[float, float]] | None = None,
    root_height: float | None = None,
) -> list[Finding]:
    """The drop test, then (``joint_position`` actions, a robot that did not fall) the sag check and the drive test,
    as findings.

    Args:
        env: the env to test (:func:`doctor_env`; built when None).
        suggestions: joint name -> (stiffness, damping) to paste; the tests add theirs.
        root_height: the root height [m] that puts the start pose on the ground, for the fixes (None: unknown).
    """
    env = env or doctor_env(spec)
    joints = joints or _joints(spec, env)
    suggestions = {} if suggestions is None else suggestions
    findings, (centre, swing), fell = _drop_test(env, spec, joints, root_height)
    if spec.actions.type == "joint_position" and not fell:
        sag_findings, sagging = _sag_findings(
            joints, centre - env.default_dof_pos[0], swing, spec.env.physics_dt, suggestions
        )
        findings += sag_findings
        findings += _drive_test(env, spec, joints, sagging, suggestions)
    return findings


def _joints(spec: TaskSpec, env) -> _Joints:
    drives = {j.name: j.drive for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    names = spec.joint_names
    return _Joints(
        names=list(names),
        stiffness=per_joint(spec.actuators, names, drives, "stiffness", lambda d: d.stiffness if d else 0.0),
        damping=per_joint(spec.actuators, names, drives, "damping", lambda d: d.damping if d else 0.0),
        inertia=env.joint_inertias()[0].tolist(),
        explicit=[m is not None for m in explicit_actuators(spec.actuators, names)],
        effort_limit=per_joint(spec.actuators, names, drives, "effort_limit", lambda d: d.max_force if d else math.inf),
    )


def _gain_findings(spec: TaskSpec, joints: _Joints) -> tuple[list[Finding], dict[str, tuple[float, float]]]:
    gains = [
        JointGains(name=n, stiffness=k, damping=d, inertia=i, explicit=e)
        for n, k, d, i, e in zip(
            joints.names, joints.stiffness, joints.damping, joints.inertia, joints.explicit, strict=True
        )
    ]
    return check_gains(gains, spec.env.physics_dt, spec.env.physics_dt * spec.env.decimation)


def _gains(joints: _Joints, column: int, stiffness: float, damping: float) -> JointGains:
    """Joint ``column`` of ``joints`` with other gains."""
    name, inertia, explicit = joints.names[column], joints.inertia[column], joints.explicit[column]
    return JointGains(name=name, stiffness=stiffness, damping=damping, inertia=inertia, explicit=explicit)


def _drop_test(
    env, spec: TaskSpec, joints: _Joints, root_height: float | None
) -> tuple[list[Finding], tuple[torch.Tensor, torch.Tensor], bool]:
    """The drop test's findings; the centre and the half-width of each joint's swing over the last ``TAIL_SECONDS``
    (D,) each [rad or m]; and whether the robot fell (or blew up)."""
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
            return [blown], (env.default_dof_pos[0], torch.zeros_like(env.dof_pos[0])), True
        if step > steps - tail_steps:
            low, high = torch.minimum(low, env.dof_pos[0]), torch.maximum(high, env.dof_pos[0])
        if env.metric_names:
            for name, value in zip(env.metric_names, env.metric_values()[0].tolist(), strict=True):
                if value and name not in ended:
                    ended[name] = step * env.step_dt
    findings: list[Finding] = []
    swing = ((low + high) / 2, (high - low) / 2)
    if not env.floating_base:
        return findings + [_settled(env, joints)], swing, False
    end_pos, end_up = env.root_pos_w[0], -env.projected_gravity_b[0]
    tilt = math.acos(max(-1.0, min(1.0, float(torch.dot(start_up, end_up)))))
    motion = BaseMotion(
        start_height=float(start_pos[2]),
        end_height=float(end_pos[2]),
        tilt=tilt,
        drift=float((end_pos[:2] - start_pos[:2]).norm()),
    )
    height_fix = f"in [robot]: root_height = {root_height}" if root_height is not None else "raise [robot] root_height"
    verdict = drop_verdict(motion, DROP_SECONDS, _stand_fix(spec), height_fix)
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
        return findings + [verdict], swing, True
    if verdict.level == "ok":
        verdict = _settled(env, joints) if _speed(env) > SETTLED_SPEED else verdict
    return findings + [verdict], swing, verdict.level == "problem"


def _speed(env) -> float:
    return float(env.dof_vel.abs().max()) if env.dof_vel.numel() else 0.0


def _settled(env, joints: _Joints) -> Finding:
    speed = _speed(env)
    if speed <= SETTLED_SPEED:
        where = f", base at {float(env.root_pos_w[0, 2]):.3f} m" if env.floating_base else ""
        return Finding("ok", "drop test", f"settles within {DROP_SECONDS:g} s{where}")
    column = int(env.dof_vel[0].abs().argmax())
    name, k, inertia = joints.names[column], joints.stiffness[column], joints.inertia[column]
    fix = f"; critical damping for it: damping = {2 * math.sqrt(k * inertia):.3g}" if k > 0 and inertia > 0 else ""
    return Finding(
        "warning",
        "drop test",
        f"still moving after {DROP_SECONDS:g} s ({name} at {speed:.2f} rad/s): damping too low{fix}",
    )


def _stand_fix(spec: TaskSpec) -> str:
    """What to paste for a robot that fell: stiffer actuator groups, or terminations that end fallen episodes."""
    stiffer = [
        f"in [actuators.{name}]: stiffness = {4 * group.stiffness:g}, damping = {2 * group.damping:g}"
        for name, group in spec.actuators.items()
        if group.stiffness
    ]
    end = '[terminations.fallen] func = "bad_orientation", params = { limit_angle = 1.0 }'
    if not stiffer:
        return f"give its joints PD gains in [actuators], or if it cannot stand unaided end fallen episodes: {end}"
    return f"stiffer legs: {'; '.join(stiffer)}; or if it cannot stand unaided end fallen episodes: {end}"


def _sag_findings(
    joints: _Joints,
    errors: torch.Tensor,
    swing: torch.Tensor,
    physics_dt: float,
    suggestions: dict[str, tuple[float, float]],
) -> tuple[list[Finding], set[str]]:
    """A warning per PD joint that sags: the centre of its swing misses its target by more than ``SAG_LIMIT``
    and the swing stays on one side of the target (``errors``, ``swing``: (D,) centre minus target, half-width), a
    steady error in one direction under its load (gravity), not ringing; with the gains the rule ``import`` uses
    (:func:`..scene.suggested_gains.suggested_gains`) for the load it holds there (stiffness times error) and the
    inertia it moves (halved further until one physics step of an explicit actuator is stable); and those joints'
    names."""
    findings, sagging = [], set()
    for column, name in enumerate(joints.names):
        k, inertia = joints.stiffness[column], joints.inertia[column]
        error = float(errors[column])
        if k <= 0 or abs(error) <= max(SAG_LIMIT, float(swing[column])):
            continue
        load = k * abs(error)
        if inertia > 0:
            gains = suggested_gains(inertia, load, joints.effort_limit[column], physics_dt)
            stiffness, damping, capped = gains.stiffness, gains.damping, gains.limited_by
        else:
            stiffness, damping, capped = 2 * load / SAG_LIMIT, joints.damping[column], ""
        while inertia > 0 and step_growth(_gains(joints, column, stiffness, damping), physics_dt) > 1:
            stiffness /= 2
            damping = CRITICAL * math.sqrt(stiffness * inertia)
            capped = "one physics step"
        limit = joints.effort_limit[column]
        why = {
            "one physics step": " (the most one physics step holds stably: a smaller env.physics_dt allows more)",
            "the effort limit": f" (capped by its effort_limit {limit:g}: raise it to hold more)",
        }.get(capped, "")
        if load > limit:
            why = f"; its effort_limit {limit:g} cannot hold that load: raise it, or choose a lighter pose"
        findings.append(
            Finding(
                "warning",
                "sag",
                f"{name}: sags {error:+.3f} from its target when held (a steady error in one direction: the load, "
                f"gravity, outweighs stiffness {k:g}, which holds {load:.3g} there); try stiffness "
                f"{stiffness:.3g}, damping {damping:.3g}{why}",
            )
        )
        suggestions[name] = (stiffness, damping)
        sagging.add(name)
    return findings, sagging


def _drive_test(
    env, spec: TaskSpec, joints: _Joints, sagging: set[str], suggestions: dict[str, tuple[float, float]]
) -> list[Finding]:
    limits = {j.name: (j.lower, j.upper) for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    steps = max(1, round(DRIVE_SECONDS / env.step_dt))
    names = [n for n in spec.actions.joints if n not in sagging]
    start = env.default_dof_pos[0].clone()
    findings = []
    for name in names:
        env.reset()
        a, column = spec.actions.joints.index(name), spec.joint_names.index(name)
        k, d, inertia = joints.stiffness[column], joints.damping[column], joints.inertia[column]
        lower, upper = limits.get(name, (-math.inf, math.inf))
        middle = 0.0 if math.isinf(lower) or math.isinf(upper) else (lower + upper) / 2
        sign = 1.0 if middle >= float(start[column]) else -1.0
        actions = torch.zeros(1, env.num_actions)
        actions[0, a] = sign * DRIVE_STEP / spec.actions.joint_scales()[a]
        peak, ok = 0.0, True
        for _ in range(steps):
            ok = hold(env, 1, actions)
            if not ok:
                break
            peak = max(peak, sign * float(env.dof_pos[0, column] - start[column]))
        moved = sign * float(env.dof_pos[0, column] - start[column])
        if not ok:
            findings.append(Finding("problem", "drive test", f"{name}: a {DRIVE_STEP:g} step target blew it up"))
        elif peak > 1.5 * DRIVE_STEP:
            damping = CRITICAL * math.sqrt(k * inertia)
            findings.append(
                Finding(
                    "warning",
                    "drive test",
                    f"{name}: overshot a {DRIVE_STEP:g} step to {peak:.3f} (it rings): try damping "
                    f"{damping:.3g} (critical for stiffness {k:g} on {inertia:.3g} kg·m²)",
                )
            )
            suggestions[name] = (k, damping)
        elif moved < 0.5 * DRIVE_STEP:
            stiffness = 4 * k
            damping = CRITICAL * math.sqrt(stiffness * inertia) if inertia > 0 else d
            findings.append(
                Finding(
                    "warning",
                    "drive test",
                    f"{name}: covered {moved:.3f} of a {DRIVE_STEP:g} step in {DRIVE_SECONDS:g} s: too slow for its "
                    f"load; try stiffness {stiffness:.3g}, damping {damping:.3g}, or raise its effort_limit",
                )
            )
            suggestions[name] = (stiffness, damping)
    if not findings and names:
        findings.append(Finding("ok", "drive test", f"all {len(names)} action joints follow a {DRIVE_STEP:g} step"))
    return findings
