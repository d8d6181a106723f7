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
