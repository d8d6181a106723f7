"""Warnings a training run gives once each, read from an iteration's metrics: physics that blew up in many envs,
and termination terms that end most episodes at once."""

from __future__ import annotations

from ..specs.schema import TaskSpec
from .episode_stats import early_end_notice

UNSTABLE_WARNING_SHARE = 0.05  # warn once when more than this share of an iteration's ended episodes blew up
EARLY_END_WARNING_SHARE = 0.5  # warn once when a termination term ends this share of an iteration's episodes at once


class TrainingWarnings:
    """Each warning once per run.

    Args:
        spec: the run's task spec (the time step and action scale a warning names).
        env: the training env (its ``early_terminations`` of the last iteration).
    """

    def __init__(self, spec: TaskSpec, env):
        self._spec, self._env = spec, env
        self._warned_unstable = self._warned_early_end = False

    def check(self, metrics: dict) -> list[str]:
        """The warnings iteration ``metrics`` calls for that were not given yet."""
        out = []
        ended = metrics.get("episodes", 0) + metrics.get("unstable_envs", 0)
        if not self._warned_unstable and ended and metrics["unstable_envs"] > UNSTABLE_WARNING_SHARE * ended:
            self._warned_unstable = True
            env, actions = self._spec.env, self._spec.actions
            out.append(
                f"the physics blew up in {metrics['unstable_envs']} envs in iteration {metrics['iteration']} (they "
                f"are reset and counted as failures); likely causes: too large a time step (env.physics_dt = "
                f"{env.physics_dt:g} s), too large an action scale (actions.scale = {actions.scale_text()}), or "
                f"drive gains too stiff for that step"
            )
        notice = early_end_notice(self._env.early_terminations, EARLY_END_WARNING_SHARE, metrics["iteration"])
        if notice and not self._warned_early_end:
            self._warned_early_end = True
            out.append(notice)
        return out
