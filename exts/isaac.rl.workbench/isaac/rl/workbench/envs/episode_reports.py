"""What an env reports of its episodes, and the reward weights a live edit changes: the episode statistics read once
per iteration (:class:`~.episode_stats.EpisodeStats`), the metric terms, the terrain curriculum's levels.

Shapes: N = num_envs, K = metric terms.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..specs.schema import TermSpec
from .episode_stats import EpisodeStats
from .terrain_curriculum import TerrainCurriculum


class EpisodeReports:
    """Episode statistics, metrics and reward weights of an env (a mixin of the env: the attributes below are the
    env's)."""

    num_envs: int
    device: torch.device
    max_episode_length: int
    episode_length_buf: torch.Tensor
    metric_terms: list[TermSpec]
    reward_terms: list[TermSpec]
    step_dt: float
    _reward_scales: torch.Tensor
    _stats: EpisodeStats
    _terrain_curriculum: TerrainCurriculum | None
    _call: Callable[..., torch.Tensor]  # a term called as the env calls it

    def metric_values(self) -> torch.Tensor:
        """The spec's metric terms at the current state, (N, K) float, columns in :attr:`metric_names` order."""
        if not self.metric_terms:
            return torch.zeros(self.num_envs, 0, device=self.device)
        return torch.stack([self._call(t).float() for t in self.metric_terms], 1)

    def set_reward_weight(self, name: str, weight: float) -> None:
        """Change the weight of reward term ``name`` from the next step on (0 switches it off); the step, CUDA graph
        included, reads the weights from a device tensor, so nothing is rebuilt."""
        index = next((i for i, term in enumerate(self.reward_terms) if term.name == name), None)
        if index is None:
            raise KeyError(f"no reward term '{name}'; terms: {', '.join(t.name for t in self.reward_terms)}")
        self._reward_scales[index] = float(weight) * self.step_dt

    def spread_episode_starts(self) -> None:
        """Set every env's episode length counter at random in [0, max_episode_length), as rsl-rl's
        ``init_at_random_ep_len`` does, so episodes end (and are reported) every iteration rather than all at once;
        the episodes running now are left out of the statistics."""
        self.episode_length_buf.random_(0, int(self.max_episode_length))
        self._stats.mark_partial()

    @property
    def metric_names(self) -> list[str]:
        """The spec's metrics (``[metrics.<name>]``), K of them, in the column order of :attr:`episode_metrics`."""
        return [t.name for t in self.metric_terms]

    @property
    def episode_metrics(self) -> torch.Tensor:
        """Each env's metrics for the episode that ended at the last step, shape (N, K); valid where that step's
        ``dones`` is set (each metric reduced as its ``reduce`` says)."""
        return self._stats.ended_metrics

    @property
    def early_terminations(self) -> dict[str, float]:
        """Over the episodes the last :meth:`pop_episode_stats` counted: :attr:`.EpisodeStats.early_terminations`."""
        return self._stats.early_terminations

    def pop_episode_stats(self) -> dict[str, float]:
        """Statistics of the episodes that ended since the last call (one device sync); see
        :meth:`.episode_stats.EpisodeStats.pop` for the keys."""
        curriculum = self._terrain_curriculum.log() if self._terrain_curriculum is not None else {}
        return self._stats.pop() | curriculum

    def pop_eval_stats(self) -> dict[str, float]:
        """The evaluation envs' episodes since the last call: :meth:`.episode_stats.EpisodeStats.pop_eval`."""
        return self._stats.pop_eval()
