"""Envs for a tool that drives them itself (a simulated robot, a log replay, a DDS bridge, a system
identification): built from a spec without a trainer or a run folder."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from .learn.run_args import check_device
from .specs.schema import TaskSpec

if TYPE_CHECKING:  # built on first use: importing a tool never pays for the physics' start-up
    from .envs.workbench_env import WorkbenchEnv


def tool_env(
    spec: TaskSpec, num_envs: int, device: str = "cpu", seed: int | None = None, physics_only: bool = False
) -> WorkbenchEnv:
    """``num_envs`` envs of ``spec`` for a tool that drives them itself: no trainer and no run folder; eager steps
    (the tool writes physics properties and steps the physics between env steps) and no health check (the tool
    watches what it needs). Torch is seeded with ``seed`` (default ``spec.seed``) first, as a run seeds its env.

    ``physics_only``: without the spec's events, rewards, terminations and metrics: the nominal robot, as the
    scene and the ``[robot]`` and ``[actuators]`` tables set it up, for a tool that steps the physics alone
    (:meth:`~.envs.physics_access.PhysicsAccess.step_physics`, never the env's ``step``)."""
    from .envs.workbench_env import WorkbenchEnv

    check_device(device)
    torch.manual_seed(spec.seed if seed is None else seed)
    sized = replace(spec, env=replace(spec.env, num_envs=num_envs))
    if physics_only:
        sized = replace(sized, events={}, rewards={}, terminations={}, metrics={})
    return WorkbenchEnv(sized, device, cuda_graph=False, health_check=False)
