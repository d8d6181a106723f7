"""What a start-up randomisation applied, summarised per changed column for the run folder's randomization.json."""

from __future__ import annotations

import torch


def summarize(before: torch.Tensor, after: torch.Tensor, env_mask: torch.Tensor, labels: list[str] | None) -> dict:
    """``{"envs": count, "values": {label: {min, mean, max}}}`` over the envs where ``env_mask`` (N,) is set.

    Args:
        before, after: a physics property (N, K[, 3]) before and after the write.
        env_mask: the envs written.
        labels: a name per column (bodies, joints); None summarises every changed column as "every shape".
    """
    changed = (after != before)[env_mask].reshape(-1, after.shape[1], after[0, 0].numel()).any(dim=2).any(dim=0)
    columns = changed.nonzero().flatten().tolist()
    applied = after[env_mask]
    groups = [(labels[c], [c]) for c in columns] if labels else [("every shape", columns)]
    stats = {}
    for label, cols in groups:
        values = applied[:, cols]
        if values.numel():
            stats[label] = {"min": values.min().item(), "mean": values.mean().item(), "max": values.max().item()}
    return {"envs": int(env_mask.sum().item()), "values": stats}


class RandomizedParams:
    """Each start-up draw per env, normalised to [-1, 1] over the range it was drawn from: the privileged
    observation ``randomized_params`` (a teacher policy's view of the randomised physics).

    An event that writes a physics property with ``bounds=(low, high)`` (the values its draw gives at the two ends of
    its range, each shaped like the property) adds one column per body, joint or component whose range is not empty
    (``high != low``), valued ``2 (value - low) / (high - low) - 1``; a shape property (one friction per collision
    shape) adds one column, the mean over its shapes. Columns follow the order of the writes (the spec's start-up
    events in order), then bodies or joints in scene order. A write without bounds adds nothing.

    Args:
        num_envs: N.
        device: where :attr:`values` lives.
    """

    def __init__(self, num_envs: int, device: torch.device):
        self.values = torch.zeros(num_envs, 0, device=device)
        """(N, K) the normalised draws."""
        self.names: list[str] = []
        """K names, ``<event>.<property>[<body or joint>]`` (``.x``/``.y``/``.z`` for a vector component)."""

    def add(
        self,
        event: str,
        prop: str,
        value: torch.Tensor,
        low: torch.Tensor,
        high: torch.Tensor,
        labels: list[str] | None,
    ) -> None:
        """Add the columns of one write of ``prop`` (N, C[, 3]) by ``event`` with the draw's bounds (same shape)."""
        n = value.shape[0]
        span = (high - low).reshape(n, -1)
        kept = (span != 0).any(dim=0).nonzero().flatten()
        if kept.numel() == 0:
            return
        safe = torch.where(span != 0, span, torch.ones_like(span))
        normalised = torch.where(span != 0, 2.0 * (value - low).reshape(n, -1) / safe - 1.0, torch.zeros_like(span))
        columns = normalised[:, kept]
        if labels is None:
            columns, names = columns.mean(dim=1, keepdim=True), [f"{event}.{prop}"]
        else:
            per_column = value[0].numel() // value.shape[1]
            axes = [f".{axis}" for axis in "xyz"] if per_column == 3 else [""] * per_column
            names = [f"{event}.{prop}[{labels[i // per_column]}]{axes[i % per_column]}" for i in kept.tolist()]
        self.values = torch.cat([self.values, columns.to(self.values.device, self.values.dtype)], dim=1)
        self.names += names
