"""The checks ``doctor`` runs in the physics for a task spec: the robot as the spec sets it up (base, actuators,
start pose) is simulated in one env, on the CPU.

- mass check: the bodies whose mass or inertia the physics engine's own validation corrects when it loads the robot
  (Newton's; an engine without one checks nothing);
- gain check: each PD joint's gains against the inertia it moves at the start pose (:mod:`.gain_check`);

- drop test: held at its start pose for ``DROP_SECONDS``, it must stay finite, settle (joint speeds small at the
  end) and, with a floating base, rest above the ground rather than sink through it;
- drive test (``joint_position`` specs): each action joint in turn gets a step target ``DRIVE_STEP`` (toward the
  middle of its limits) and must cover at least half of it in ``DRIVE_SECONDS`` without overshooting by more than
  half again.
"""

from __future__ import annotations

import math

import torch

from ..backend.registry import load_engine
from ..envs.backend_request import backend_request, explicit_actuators
from ..scene.inspect import inspect_scene
from ..specs.robot_tables import per_joint
from ..specs.schema import TaskSpec
from .gain_check import JointGains, check_gains, suggested_actuators
from .usd_checks import Finding

DROP_SECONDS = 2.0
DRIVE_SECONDS = 1.0
DRIVE_STEP = 0.2  # [rad or m]
SETTLED_SPEED = 0.5  # [rad/s or m/s] largest joint speed at the end of the drop test


def physics_checks(spec: TaskSpec) -> list[Finding]:
    """The drop test, then (for ``joint_position`` actions) the drive test, each as findings."""
    from dataclasses import replace

    from ..envs.workbench_env import WorkbenchEnv

    # no resets hiding a fall: no events, no terminations, episodes longer than the tests
    seconds = max(spec.env.episode_seconds, 2 * (DROP_SECONDS + DRIVE_SECONDS))
    one = replace(spec, env=replace(spec.env, num_envs=1, episode_seconds=seconds), events={}, terminations={})
    findings = [_drop_test(WorkbenchEnv(one, "cpu", health_check=True))]
    if spec.actions.type == "joint_position":
        findings += _drive_test(WorkbenchEnv(one, "cpu", health_check=True), spec)
    return findings


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


def gain_checks(spec: TaskSpec) -> tuple[list[Finding], str]:
    """The gain check at the robot's start pose, and the suggested ``[actuators]`` keys ("" when none)."""
    from dataclasses import replace

    from ..envs.workbench_env import WorkbenchEnv

    env = WorkbenchEnv(replace(spec, env=replace(spec.env, num_envs=1), events={}), "cpu", health_check=False)
    inertias = env.joint_inertias()[0].tolist()
    drives = {j.name: j.drive for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    names = spec.joint_names
    stiffness = per_joint(spec.actuators, names, drives, "stiffness", lambda d: d.stiffness if d else 0.0)
    damping = per_joint(spec.actuators, names, drives, "damping", lambda d: d.damping if d else 0.0)
    models = explicit_actuators(spec.actuators, names)
    joints = [
        JointGains(name=n, stiffness=k, damping=d, inertia=i, explicit=m is not None)
        for n, k, d, i, m in zip(names, stiffness, damping, inertias, models, strict=True)
    ]
    findings, suggestions = check_gains(joints, spec.env.physics_dt, spec.env.physics_dt * spec.env.decimation)
    groups = {name: group.joints for name, group in spec.actuators.items()}
    return findings, suggested_actuators(suggestions, groups)


def _hold(env, steps: int, actions: torch.Tensor) -> bool:
    """Step with fixed actions; False when the physics blew up or an episode ended early."""
    for _ in range(steps):
        env.step(actions)
        if bool(env.unstable.any()) or not bool(torch.isfinite(env.dof_pos).all()):
            return False
    return True


def _drop_test(env) -> Finding:
    steps = max(1, round(DROP_SECONDS / env.step_dt))
    if not _hold(env, steps, torch.zeros(1, env.num_actions)):
        return Finding(
            "problem",
            "drop test",
            f"held at its start pose, the simulation blew up within {DROP_SECONDS:g} s: check masses, inertias, "
            f"the start pose ([robot] joint_pos within the limits), gains, and env.physics_dt",
        )
    speed = float(env.dof_vel.abs().max()) if env.dof_vel.numel() else 0.0
    if env.floating_base and float(env.root_pos_w[0, 2]) < 0.0:
        return Finding(
            "problem",
            "drop test",
            f"the base ended {float(env.root_pos_w[0, 2]):.3f} m below the ground: its links have no colliders, or "
            f"the feet pass through the ground",
        )
    if speed > SETTLED_SPEED:
        return Finding(
            "warning",
            "drop test",
            f"still moving after {DROP_SECONDS:g} s (joint speed {speed:.2f}): damping too low, or it is falling",
        )
    where = f", base at {float(env.root_pos_w[0, 2]):.3f} m" if env.floating_base else ""
    return Finding("ok", "drop test", f"settles at its start pose in {DROP_SECONDS:g} s{where}")


def _drive_test(env, spec: TaskSpec) -> list[Finding]:
    limits = {j.name: (j.lower, j.upper) for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    steps = max(1, round(DRIVE_SECONDS / env.step_dt))
    names = spec.actions.joints
    start = env.default_dof_pos[0].clone()
    findings = []
    for a, name in enumerate(names):
        env.reset()
        column = spec.joint_names.index(name)
        lower, upper = limits.get(name, (-math.inf, math.inf))
        middle = 0.0 if math.isinf(lower) or math.isinf(upper) else (lower + upper) / 2
        sign = 1.0 if middle >= float(start[column]) else -1.0
        actions = torch.zeros(1, env.num_actions)
        actions[0, a] = sign * DRIVE_STEP / spec.actions.scale
        peak, ok = 0.0, True
        for _ in range(steps):
            ok = _hold(env, 1, actions)
            if not ok:
                break
            peak = max(peak, sign * float(env.dof_pos[0, column] - start[column]))
        moved = sign * float(env.dof_pos[0, column] - start[column])
        if not ok:
            findings.append(Finding("problem", "drive test", f"{name}: a {DRIVE_STEP:g} step target blew it up"))
        elif moved < 0.5 * DRIVE_STEP:
            findings.append(
                Finding(
                    "warning",
                    "drive test",
                    f"{name}: covered {moved:.3f} of a {DRIVE_STEP:g} step in {DRIVE_SECONDS:g} s: stiffness too low "
                    f"for its load (raise [actuators] stiffness), or an effort limit too small",
                )
            )
        elif peak > 1.5 * DRIVE_STEP:
            findings.append(
                Finding(
                    "warning",
                    "drive test",
                    f"{name}: overshot a {DRIVE_STEP:g} step to {peak:.3f}: raise damping (about 2 * sqrt(stiffness "
                    f"* inertia) for no overshoot)",
                )
            )
    if not findings:
        findings.append(Finding("ok", "drive test", f"all {len(names)} action joints follow a {DRIVE_STEP:g} step"))
    return findings
