"""The env's observation groups (``[observations.<group>]``): each group's terms called, noised and concatenated,
with each term's last H values where the group keeps a history (:mod:`.observation_history`).

Shapes: N = num_envs; a group's observation is (N, dim), dim the sum of its terms' sizes (times H with a history).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tensordict import TensorDict

from ..specs.schema import TermSpec
from .observation_history import ObservationHistory


class ObservationGroups:
    """Every observation group of a spec, computed together.

    Args:
        groups: the spec's ``observations``: group name -> its terms, in order.
        history_lengths: the spec's ``observation_history``: group name -> H (1 where absent: no history).
        num_envs: N.
        device: where the observations live.
        call: ``call(term)``: the term's value on the env now, (N,) or (N, k).
    """

    def __init__(
        self,
        groups: dict[str, list[TermSpec]],
        history_lengths: dict[str, int],
        num_envs: int,
        device: torch.device,
        call: Callable[[TermSpec], torch.Tensor],
    ):
        self._groups, self._history_lengths = groups, history_lengths
        self._num_envs, self._device, self._call = num_envs, device, call
        self._noise = {id(t): t.noise for terms in groups.values() for t in terms if t.noise is not None}
        self._histories: dict[str, ObservationHistory] = {}

    def set_noise_scale(self, group: str, scale: float) -> None:
        """From the next :meth:`compute` on, the noise of every noisy term of ``group`` is its spec range times
        ``scale`` (1: as the spec says)."""
        for term in self._groups[group]:
            if term.noise is not None:
                low, high = term.noise
                self._noise[id(term)] = (low * scale, high * scale)

    def compute(self, restart: torch.Tensor) -> TensorDict:
        """Each group's terms concatenated, each with uniform noise in its ``noise`` range where it has one; a group
        with ``history_length`` H > 1 gives each term's last H values, its history restarted for the envs where
        ``restart`` (N,) is set."""
        out = {}
        for name, terms in self._groups.items():
            values = [self._observe(t) for t in terms]
            frame = torch.cat(values, dim=1)
            history_length = self._history_lengths.get(name, 1)
            if history_length > 1 and name not in self._histories:
                sizes = [v.shape[1] for v in values]
                self._histories[name] = ObservationHistory(history_length, sizes, self._num_envs, self._device)
            out[name] = self._histories[name].push(frame, restart) if history_length > 1 else frame
        return TensorDict(out, batch_size=[self._num_envs], device=self._device)

    def _observe(self, term: TermSpec) -> torch.Tensor:
        value = self._call(term).reshape(self._num_envs, -1)
        noise = self._noise.get(id(term))
        if noise is None:
            return value
        low, high = noise
        return value + torch.rand_like(value) * (high - low) + low
