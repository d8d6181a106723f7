"""Evaluation beside training: the last E envs of the training batch run the deterministic policy at every step.

The trainer sees the first N envs only (its rollout storage, its statistics, its observation normaliser); the E
evaluation envs step with them in the same physics step, so on a GPU, where a step costs about the same for a few
more envs, evaluation costs next to nothing. Their whole episodes are summed apart by the env
(``pop_eval_stats()``) and read as ``eval/*`` rows every ``train.eval_every`` iterations
(:class:`~.train_monitor.TrainMonitor`).

What such a row measures: the deterministic policy over the episodes that ended since the last row. An episode
longer than an iteration is acted by the policies of the iterations it spans, so the row lags the policy by up to
one episode; the evaluation after training (``train --eval-episodes``) measures one policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from tensordict import TensorDict

EVAL_MAX_ENVS = 1024
"""Evaluation envs at most: a setting that asks for more gets fewer episodes per row."""


def eval_env_count(eval_every: int, eval_episodes: int, steps_per_iteration: int, max_episode_length: int) -> int:
    """How many evaluation envs end about ``eval_episodes`` whole episodes of ``max_episode_length`` env steps in
    ``eval_every`` iterations of ``steps_per_iteration`` steps (episodes that end sooner make more); 0 when
    ``eval_every`` is 0 (no evaluation), at most :data:`EVAL_MAX_ENVS`."""
    if eval_every <= 0:
        return 0
    steps = eval_every * steps_per_iteration
    return min(EVAL_MAX_ENVS, max(1, math.ceil(eval_episodes * max_episode_length / steps)))


class TrainingEnvs:
    """The first N of an env's N + E envs, as the trainer sees them (rsl-rl's ``VecEnv`` interface); each step
    also steps the last E with :attr:`policy`'s deterministic actions.

    Args:
        env: the env of N + E envs, as ``WorkbenchEnv`` built with ``eval_envs=E`` (``get_observations``, ``step``,
            ``reset``, ``spread_episode_starts``, ``pop_episode_stats``, ``pop_eval_stats``).
        eval_envs: E, at least 1.

    :attr:`policy` (observations of the E envs -> actions (E, A), deterministic) is set once the trainer has built
    its networks (:meth:`use_policy`), before the first step.
    """

    def __init__(self, env, eval_envs: int):
        if not 0 < eval_envs < env.num_envs:
            raise ValueError(f"eval_envs must be in 1..{env.num_envs - 1}, got {eval_envs}")
        self.env = env
        self.eval_envs = eval_envs
        self.num_envs = env.num_envs - eval_envs
        self.num_actions = env.num_actions
        self.max_episode_length = env.max_episode_length
        self.device = env.device
        self.cfg = env.cfg
        self.policy: Callable[[TensorDict], torch.Tensor] | None = None
        self._eval_obs: TensorDict | None = None

    def symmetry_augmentation(self):
        """The env's mirror function (``[ppo.algorithm.symmetry]``): the first N envs' observations are laid out as
        all of the env's."""
        return self.env.symmetry_augmentation()

    def use_policy(self, model) -> None:
        """Act on the evaluation envs with ``model`` (rsl-rl's ``MLPModel``: its forward is the deterministic
        action, normaliser included); a recurrent model is refused (its hidden state is the training envs')."""
        if getattr(model, "is_recurrent", False):
            raise ValueError("evaluation beside training needs a feed-forward policy: set train.eval_every = 0")
        self.policy = model

    @property
    def episode_length_buf(self) -> torch.Tensor:
        """Env steps since each training env's episode began (N,)."""
        return self.env.episode_length_buf[: self.num_envs]

    def get_observations(self) -> TensorDict:
        return self._split(self.env.get_observations())

    def reset(self) -> TensorDict:
        return self._split(self.env.reset())

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Step the N training envs with ``actions`` (N, A) and the E evaluation envs with the deterministic
        policy; returns the training envs' observations, rewards (N,), dones (N,) and extras (``time_outs`` (N,))."""
        eval_actions = self.policy(self._eval_obs)
        obs, rewards, dones, extras = self.env.step(torch.cat([actions, eval_actions.to(actions.dtype)]))
        n = self.num_envs
        extras = {**extras, "time_outs": extras["time_outs"][:n]}
        return self._split(obs), rewards[:n], dones[:n], extras

    def spread_episode_starts(self) -> None:
        self.env.spread_episode_starts()

    def pop_episode_stats(self) -> dict[str, float]:
        return self.env.pop_episode_stats()

    def pop_eval_stats(self) -> dict[str, float]:
        return self.env.pop_eval_stats()

    def _split(self, obs: TensorDict) -> TensorDict:
        """Keep the evaluation envs' rows for the next step; return the training envs'."""
        self._eval_obs = obs[self.num_envs :]
        return obs[: self.num_envs]
