"""The search :func:`.sysid.identify` runs: the cross-entropy method over a box of positive parameters, in log
space, on the device of the replay. Shapes: N candidates, P parameters."""

from __future__ import annotations

import math

import torch


class CrossEntropySearch:
    """The cross-entropy method over the parameters' logarithms scaled to [0, 1] by their bounds: a normal
    distribution with a full covariance, refitted each iteration to the best 15 % of the candidates with
    log-rank weights, its covariance measured from the previous mean (CMA-ES's rank-mu update, which keeps the
    distribution wide while its mean is still travelling), blended 80 % new to 20 % old.

    Args:
        bounds: (low, high) of each of the P parameters, 0 < low < high.
        num_envs: N candidates per iteration (the mean and the best so far among them).
        elite_fraction: share of the N - 2 draws the distribution is refitted to.
        seed: the draws' seed.
        device: where the search runs.
    """

    def __init__(
        self,
        bounds: list[tuple[float, float]],
        num_envs: int,
        elite_fraction: float,
        seed: int,
        device: torch.device,
    ):
        self.low = torch.tensor([math.log(low) for low, _ in bounds], dtype=torch.float64, device=device)
        self.high = torch.tensor([math.log(high) for _, high in bounds], dtype=torch.float64, device=device)
        dims, self.num_envs = len(bounds), num_envs
        self.mean = torch.full((dims,), 0.5, dtype=torch.float64, device=device)
        self.cov = torch.eye(dims, dtype=torch.float64, device=device) / 16
        self.best, self.best_cost = self.mean.clone(), math.inf
        count = max(2, round(elite_fraction * (self.num_envs - 2)))
        weights = math.log(count + 0.5) - torch.log(torch.arange(1, count + 1, dtype=torch.float64, device=device))
        self.weights = weights / weights.sum()
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def rows(self) -> torch.Tensor:
        """(N, P) in [0, 1]: the mean, the best so far, then N - 2 draws."""
        dims = self.mean.shape[0]
        chol = torch.linalg.cholesky(self.cov + 1e-12 * torch.eye(dims, dtype=self.cov.dtype, device=self.cov.device))
        noise = torch.randn(self.num_envs, dims, generator=self.generator, dtype=torch.float64, device=self.mean.device)
        rows = (self.mean + noise @ chol.T).clamp(0.0, 1.0)
        rows[0], rows[1] = self.mean, self.best
        return rows

    def values(self, rows: torch.Tensor) -> torch.Tensor:
        """The parameter values (N, P) of ``rows``."""
        return (self.low + rows * (self.high - self.low)).exp().float()

    def update(self, rows: torch.Tensor, cost: torch.Tensor, final: bool) -> torch.Tensor:
        """Refit the distribution to the elite of ``rows`` by ``cost`` (N,); returns the elite's row indices."""
        cost = cost.to(torch.float64)
        order = torch.argsort(cost)
        if float(cost[order[0]]) < self.best_cost:
            self.best_cost, self.best = float(cost[order[0]]), rows[order[0]].clone()
        candidates = order[order >= 2][: len(self.weights)]
        if not final:
            elite = rows[candidates]
            mean = (self.weights[:, None] * elite).sum(0)
            step = elite - self.mean
            cov = (self.weights[:, None, None] * step[:, :, None] * step[:, None, :]).sum(0)
            self.mean = 0.8 * mean + 0.2 * self.mean
            self.cov = 0.8 * cov + 0.2 * self.cov
        return candidates
