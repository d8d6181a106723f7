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
  a fallen robot's fix is the ``[actuators]`` tables ``import`` prints from its masses, where gains are the fix;
- sag (``joint_position`` specs, robots that did not fall): a PD joint whose swing over the last ``TAIL_SECONDS``
  stays on one side of its target, more than ``SAG_LIMIT`` from it, sags under its load: a steady error, not
  ringing; its fix is the gain rule ``import`` prints gains by (:func:`..scene.suggested_gains.suggested_gains`),
  on the load the joint holds and the inertia it moves;
- drive test (``joint_position`` specs, robots that did not fall): each action joint that does not sag in turn gets
  a step target and must follow it; a miss is told as a saturated drive (its effort limit), too little damping
  (it overshoots) or too little stiffness (too slow) (:mod:`.drive_test`).

Every problem and warning says what to paste; per-joint gains come back as ``[actuators.<joint>]`` tables, a fallen
robot's as the ``[actuators.<group>]`` tables ``import`` prints.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import torch

from ..backend.registry import load_engine
from ..envs.backend_request import backend_request, explicit_actuators
from ..scene.inspect import inspect_scene
from ..scene.suggested_gains import SAG_LIMIT, suggested_gains
from ..specs.robot_tables import per_joint
from ..specs.schema import TaskSpec
from .drive_test import DRIVE_SECONDS, drive_test
from .drop_test import DROP_SECONDS, drop_test
from .first_steps import first_steps_check
from .gain_check import CRITICAL, SpecJoints, check_gains, step_growth, suggested_actuators
from .start_pose_check import spec_root_height, start_pose_check
from .usd_checks import Finding


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
    tables: list[str] = []
    physics = physics_checks(tested, env, joints, suggestions, root_height, tables)
    if inside:
        note = f" (tested at [robot] root_height = {root_height}, the start pose fix)"
        physics = [replace(f, message=f.message + note) if f.check == "drop test" else f for f in physics]
    findings += physics
    groups = {name: group.joints for name, group in spec.actuators.items()}
    fragment = "\n\n".join(tables) or suggested_actuators(suggestions, groups)
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
    joints: SpecJoints | None = None,
    suggestions: dict[str, tuple[float, float]] | None = None,
    root_height: float | None = None,
    tables: list[str] | None = None,
) -> list[Finding]:
    """The drop test, then (``joint_position`` actions, a robot that did not fall) the sag check and the drive test,
    as findings.

    Args:
        env: the env to test (:func:`doctor_env`; built when None).
        suggestions: joint name -> (stiffness, damping) to paste; the tests add theirs.
        root_height: the root height [m] that puts the start pose on the ground, for the fixes (None: unknown).
        tables: spec tables to paste in place of the spec's ``[actuators]`` (a fallen robot's); the tests add
            theirs.
    """
    env = env or doctor_env(spec)
    joints = joints or _joints(spec, env)
    suggestions = {} if suggestions is None else suggestions
    drop = drop_test(env, spec, joints, root_height)
    findings = list(drop.findings)
    if drop.tables and tables is not None:
        tables.append(drop.tables)
    if spec.actions.type == "joint_position" and not drop.fell:
        sag_findings, sagging = _sag_findings(
            joints, drop.centre - env.default_dof_pos[0], drop.swing, spec.env.physics_dt, suggestions
        )
        findings += sag_findings
        findings += drive_test(env, spec, joints, sagging, suggestions)
    return findings


def _joints(spec: TaskSpec, env) -> SpecJoints:
    drives = {j.name: j.drive for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    names = spec.joint_names
    return SpecJoints(
        names=list(names),
        stiffness=per_joint(spec.actuators, names, drives, "stiffness", lambda d: d.stiffness if d else 0.0),
        damping=per_joint(spec.actuators, names, drives, "damping", lambda d: d.damping if d else 0.0),
        inertia=env.joint_inertias()[0].tolist(),
        explicit=[m is not None for m in explicit_actuators(spec.actuators, names)],
        effort_limit=per_joint(spec.actuators, names, drives, "effort_limit", lambda d: d.max_force if d else math.inf),
    )


def _gain_findings(spec: TaskSpec, joints: SpecJoints) -> tuple[list[Finding], dict[str, tuple[float, float]]]:
    gains = [joints.gains(column) for column in range(len(joints.names))]
    return check_gains(gains, spec.env.physics_dt, spec.env.physics_dt * spec.env.decimation)


def _sag_findings(
    joints: SpecJoints,
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
        while inertia > 0 and step_growth(joints.gains(column, stiffness, damping), physics_dt) > 1:
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
