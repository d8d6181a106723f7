"""Episode statistics accumulated on the device and read once per iteration.

Only whole episodes count: an episode that began at a random length (rsl-rl's ``init_at_random_ep_len``, which
spreads episode ends over the iterations; :meth:`EpisodeStats.mark_partial`) is shorter than its counter says, so
its return and length would misreport the policy; such episodes are left out. Envs that blew up (see
:mod:`.health`) are counted apart. Each termination term's episodes that ended within their first
:data:`EARLY_STEPS` steps are counted too: a spec whose robot starts where a term fires ends nearly every episode so.
"""

from __future__ import annotations

import torch

EARLY_STEPS = 2
"""An episode that a termination term ends within this many env steps of its start ended "at once"."""


def early_end_notice(shares: dict[str, float], min_share: float, iteration: int) -> str | None:
    """The warning for the termination terms that ended at least ``min_share`` (0 to 1) of iteration
    ``iteration``'s episodes at once (``shares``: :attr:`EpisodeStats.early_terminations`), most first; None when
    none did."""
    ending = sorted((-share, name) for name, share in shares.items() if share >= min_share)
    if not ending:
        return None
    named = ", ".join(f"[terminations.{name}] ended {-share:.0%}" for share, name in ending)
    return (
        f"{named} of episodes within their first {EARLY_STEPS} steps in iteration {iteration}: the envs start where "
        "the term fires; check its params, or [robot] root_height / joint_pos (the start pose)"
    )


class EpisodeStats:
    """Per-env running sums, and sums over the episodes that ended since the last :meth:`pop`.

    Args:
        num_envs: N.
        term_names: the reward terms' names, T of them (``reward/<name>`` keys).
        device: where the sums live.
        track_root_vel_x: also average the root's world x velocity over every env and step (floating bases).
        metrics: the metrics' names and reductions, K of them (``metric/<name>`` keys): ``"final"`` keeps the value
            of an episode's last step, ``"mean"`` averages the episode's steps.
        termination_names: the termination terms' names (time-outs left out), M of them, in the row order of the
            ``fired`` tensor that :meth:`end_episodes` takes.
        eval_envs: the last ``eval_envs`` of the N envs run the deterministic policy for evaluation: their episodes
            are summed apart (:meth:`pop_eval`) and left out of :meth:`pop` and :attr:`early_terminations`.
    """

    def __init__(
        self,
        num_envs: int,
        term_names: list[str],
        device: torch.device,
        track_root_vel_x: bool,
        metrics: dict[str, str] | None = None,
        termination_names: list[str] | None = None,
        eval_envs: int = 0,
    ):
        self.term_names = list(term_names)
        self.termination_names = list(termination_names or [])
        self._early = torch.zeros(len(self.termination_names), device=device)  # episodes each term ended at once
        self._ended_by = torch.zeros(len(self.termination_names), device=device)  # episodes each term ended
        self.early_terminations: dict[str, float] = {}
        """Termination term -> the share of the whole episodes ended in the last :meth:`pop`'s span that the term
        ended within their first :data:`EARLY_STEPS` steps (0 to 1; an episode several terms end counts for each);
        empty when no episode ended."""
        self.metric_names = list(metrics or {})
        self.track_root_vel_x = track_root_vel_x
        self.sums = torch.zeros(num_envs, 1 + len(term_names), device=device)  # return, then each term
        self.partial = torch.zeros(num_envs, dtype=torch.bool, device=device)  # episode began part-way
        k = len(self.metric_names)
        self._metric_sums = torch.zeros(num_envs, k, device=device)
        self._metric_last = torch.zeros(num_envs, k, device=device)
        self.ended_metrics = torch.zeros(num_envs, k, device=device)
        """Each env's metrics (N, K) for the episode that ended at the last step (valid where that step's done is
        set), for the envs whose whole episode counts or not."""
        self._metric_is_mean = torch.tensor(
            [r == "mean" for r in (metrics or {}).values()], dtype=torch.bool, device=device
        )
        # over ended real episodes: count, return, each term, length, each metric; then unstable env-steps, root x
        # velocity
        self._totals = torch.zeros(5 + len(term_names) + k, device=device)
        self._eval_totals = torch.zeros(3 + len(term_names) + k, device=device)  # the same, over evaluation envs
        self._is_eval = torch.arange(num_envs, device=device) >= num_envs - eval_envs  # (N,) bool
        self._steps_since_pop = 0
        self._num_train_envs = num_envs - eval_envs

    def add_step(
        self, rewards: torch.Tensor, terms: torch.Tensor, unstable: torch.Tensor, root_vel_x: torch.Tensor
    ) -> None:
        """Add one step: rewards (N,), weighted term values (N, T), unstable envs (N,) bool, root x velocity (N,)
        [m/s] (summed only when ``track_root_vel_x``)."""
        self.sums += torch.cat([rewards.unsqueeze(1), terms], dim=1)
        self._totals[-2] += unstable.sum()
        if self.track_root_vel_x:
            self._totals[-1] += root_vel_x[: self._num_train_envs].sum()

    def add_metrics(self, values: torch.Tensor) -> None:
        """Add one step's metric values (N, K), before the envs that end this step reset."""
        self._metric_sums += values
        self._metric_last.copy_(values)

    def count_step(self) -> None:
        """Count one env step for ``mean_root_vel_x`` (on the host: call it outside a captured CUDA graph)."""
        self._steps_since_pop += 1

    def mark_partial(self) -> None:
        """The running episodes did not start at step 0 (their length counters were set at random): leave them out."""
        self.partial.fill_(True)

    def end_episodes(
        self, dones: torch.Tensor, episode_length: torch.Tensor, fired: torch.Tensor | None = None
    ) -> None:
        """Record the whole episodes ending where ``dones`` (N,) is set, of ``episode_length`` (N,) env steps;
        ``fired`` (M, N) bool: where each termination term fired this step (None: no termination term)."""
        whole = dones & ~self.partial
        real = (whole & ~self._is_eval).float()
        if fired is not None:
            early = real.masked_fill(episode_length > EARLY_STEPS, 0.0)
            self._early.addmv_(fired.float(), early)
            self._ended_by.addmv_(fired.float(), real)
        length = episode_length.float().unsqueeze(1)
        metrics = torch.where(self._metric_is_mean, self._metric_sums / length.clamp(min=1.0), self._metric_last)
        self.ended_metrics.copy_(metrics)
        columns = torch.cat([torch.ones_like(real).unsqueeze(1), self.sums, length, metrics], 1)
        self._totals[:-2] += real @ columns
        self._eval_totals += (whole & self._is_eval).float() @ columns

    def clear(self, env_mask: torch.Tensor) -> None:
        """Start new episodes where ``env_mask`` (N,) is set: zero their sums; they are whole episodes."""
        self.sums.masked_fill_(env_mask.unsqueeze(1), 0.0)
        self._metric_sums.masked_fill_(env_mask.unsqueeze(1), 0.0)
        self.partial.logical_and_(~env_mask)

    def pop(self) -> dict[str, float]:
        """Means over the training envs' episodes since the last call (one device sync), then start again.

        Keys: ``episodes`` (real episodes ended), ``unstable_envs`` (env-steps that blew up), and when an episode
        ended: ``mean_reward`` (undiscounted return), ``mean_episode_length`` (env steps), ``reward/<term>``,
        ``metric/<name>``, ``termination/<name>`` (the share of those episodes each termination term ended, as
        Isaac Lab's ``Episode_Termination/<name>``; time-outs are the rest); for a floating base
        ``mean_root_vel_x`` (world x velocity of the root [m/s] over every training env and step). Sets
        :attr:`early_terminations` for the same episodes.
        """
        values = torch.cat([self._totals, self._early, self._ended_by]).tolist()
        self._totals.zero_()
        self._early.zero_()
        self._ended_by.zero_()
        t, m = self._totals.numel(), len(self.termination_names)
        totals, early, ended_by = values[:t], values[t : t + m], values[t + m :]
        count = totals[0]
        self.early_terminations = (
            {n: e / count for n, e in zip(self.termination_names, early, strict=True)} if count else {}
        )
        out: dict[str, float] = {"episodes": int(count), "unstable_envs": int(totals[-2])}
        if count:
            out |= {f"termination/{n}": e / count for n, e in zip(self.termination_names, ended_by, strict=True)}
        if self.track_root_vel_x:
            steps = self._steps_since_pop * self._num_train_envs
            out["mean_root_vel_x"] = totals[-1] / steps if steps else 0.0
        self._steps_since_pop = 0
        return out | self._means(totals[:-2])

    def pop_eval(self) -> dict[str, float]:
        """The evaluation envs' whole episodes since the last call (one device sync), then start again: ``episodes``,
        and when one ended ``mean_reward``, ``mean_episode_length``, ``reward/<term>`` and ``metric/<name>``."""
        totals = self._eval_totals.tolist()
        self._eval_totals.zero_()
        return {"episodes": int(totals[0])} | self._means(totals)

    def _means(self, totals: list[float]) -> dict[str, float]:
        """Per-episode means of ``totals`` (count, return, each term, length, each metric); {} for no episode."""
        count, num_terms = totals[0], len(self.term_names)
        if not count:
            return {}
        out = {"mean_reward": totals[1] / count, "mean_episode_length": totals[2 + num_terms] / count}
        for name, total in zip(self.term_names, totals[2 : 2 + num_terms], strict=True):
            out[f"reward/{name}"] = total / count
        for name, total in zip(self.metric_names, totals[3 + num_terms :], strict=True):
            out[f"metric/{name}"] = total / count
        return out
