"""An observation group's history: each term's last H values, oldest first, term by term (Isaac Lab's flattening).

For a group of terms a (size 2) and b (size 1) with ``history_length = 3`` the group's observation is
``[a(t-2), a(t-1), a(t), b(t-2), b(t-1), b(t)]`` (each a(.) two values): 9 values. When an env's episode starts,
every slot of its history holds the episode's first value, so the first observation of an episode is that value
repeated. The robot runtime (``deploy/observations.py``) builds the same from a ``deploy.json`` whose
``history_length`` is H: a history per term, oldest first, term by term, filled with the first reading at start.
"""

from __future__ import annotations

import torch


class ObservationHistory:
    """The last ``history_length`` frames of one observation group, on the device, updated without host syncs
    (the env's CUDA graph replays :meth:`push`).

    Args:
        history_length: H >= 1, frames kept.
        term_sizes: values per frame of each term of the group, in order; D = their sum.
        num_envs: N.
        device: where the history lives.
    """

    def __init__(self, history_length: int, term_sizes: list[int], num_envs: int, device: torch.device | str):
        if history_length < 1:
            raise ValueError(f"history_length must be >= 1, got {history_length}")
        self.history_length = history_length
        self.term_sizes = list(term_sizes)
        self.frames = torch.zeros(num_envs, history_length, sum(term_sizes), device=device)
        """(N, H, D): the frames, oldest first."""

    @property
    def dim(self) -> int:
        """Length of the group's observation: H x D."""
        return self.history_length * self.frames.shape[2]

    def push(self, frame: torch.Tensor, restart: torch.Tensor) -> torch.Tensor:
        """Append this step's frame and return the group's observation.

        Args:
            frame: (N, D) the terms' values this step, concatenated in term order.
            restart: (N,) bool, envs whose episode starts with this frame: their every slot becomes ``frame``.

        Returns:
            (N, H x D): per term, its H values oldest first; the terms in order.
        """
        frame = frame.unsqueeze(1)
        shifted = torch.cat([self.frames[:, 1:], frame], dim=1)
        self.frames.copy_(torch.where(restart.view(-1, 1, 1), frame.expand_as(self.frames), shifted))
        n = self.frames.shape[0]
        return torch.cat([block.reshape(n, -1) for block in self.frames.split(self.term_sizes, dim=2)], dim=1)
