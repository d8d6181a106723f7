"""``doctor``'s first steps from the start pose: the spec's failure terminations that fire within ``FIRST_STEPS``
env steps (every episode would end at once), and :func:`hold`, the stepping every physics check shares."""

from __future__ import annotations

import torch

from ..specs.schema import TaskSpec
from .usd_checks import Finding

FIRST_STEPS = 5  # env steps from the start pose: a termination firing within them ends every episode at once


def hold(env, steps: int, actions: torch.Tensor) -> bool:
    """Step with fixed actions; False when the physics blew up."""
    for _ in range(steps):
        env.step(actions)
        if bool(env.unstable.any()) or not bool(torch.isfinite(env.dof_pos).all()):
            return False
    return True


def first_steps_check(
    env, spec: TaskSpec, start_height: float | None = None, root_height: float | None = None
) -> list[Finding]:
    """A problem per failure termination of ``spec`` that fires within ``FIRST_STEPS`` env steps of the start pose
    (zero actions): every episode would end at once. ``env``: :func:`doctor_env`'s (the terminations are its
    metrics). ``start_height``: the root height [m] to start at (None: the env's); ``root_height``: the fix."""
    if not env.metric_names:
        return []
    env.reset()
    if start_height is not None and env.floating_base:
        pose = torch.cat([env.root_pos_w, env.root_quat_w], dim=1)
        pose[:, 2] = start_height
        env.reset_physics(torch.ones(1, dtype=torch.bool), env.default_dof_pos, torch.zeros_like(env.dof_vel), pose)
    fired: dict[str, int] = {}
    for step in range(1, FIRST_STEPS + 1):
        if not hold(env, 1, torch.zeros(1, env.num_actions)):
            break
        for name, value in zip(env.metric_names, env.metric_values()[0].tolist(), strict=True):
            if value and name not in fired:
                fired[name] = step
    return [_early_termination(spec, name, step, root_height) for name, step in fired.items()]


def _early_termination(spec: TaskSpec, name: str, step: int, root_height: float | None) -> Finding:
    term = spec.terminations[name]
    params = ", ".join(f"{k} = {v!r}" for k, v in term.params.items())
    why = f"{term.func_name}({params})"
    fix = f"in [robot]: root_height = {root_height}, or " if root_height is not None else ""
    return Finding(
        "problem",
        "terminations",
        f"[terminations.{name}] {why} fires {step} env step(s) after the start pose: every episode would end at "
        f"once (in every env); {fix}change its params or the start pose ([robot] joint_pos)",
    )
