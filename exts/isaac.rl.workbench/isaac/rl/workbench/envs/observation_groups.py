"""The env's observation groups (``[observations.<group>]``): each group's terms called, noised and concatenated,
with each term's last H values where the group keeps a history (:mod:`.observation_history`).

Shapes: N = num_envs; a group of vector terms gives (N, dim), dim the sum of its terms' sizes (times the history
length with a history); a group of image terms (each (N, C, height, width)) gives (N, C, height, width), its terms'
channels concatenated in order (all of one height and width), and with a history of length L (N, L x C, height,
width): each term's channels of its last L frames, oldest first (frame stacking, as for Atari). A group holds
vectors or images, not both (rsl-rl's CNN models take image groups and vector groups apart).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from tensordict import TensorDict

from ..specs.schema import SpecError, TermSpec
from .observation_history import ObservationHistory


class ObservationGroups:
    """Every observation group of a spec, computed together.

    Args:
        groups: the spec's ``observations``: group name -> its terms, in order.
        history_lengths: the spec's ``observation_history``: group name -> H (1 where absent: no history).
        num_envs: N.
        device: where the observations live.
        call: ``call(term)``: the term's value on the env now, (N,), (N, k) or an image (N, C, H, W).
        source: the spec file, named by the errors about a group's shapes.
    """

    def __init__(
        self,
        groups: dict[str, list[TermSpec]],
        history_lengths: dict[str, int],
        num_envs: int,
        device: torch.device,
        call: Callable[[TermSpec], torch.Tensor],
        source: Path | None = None,
    ):
        self._groups, self._history_lengths = groups, history_lengths
        self._num_envs, self._device, self._call, self._source = num_envs, device, call, source
        self._noise = {id(t): t.noise for terms in groups.values() for t in terms if t.noise is not None}
        self._histories: dict[str, ObservationHistory] = {}
        self._checked: set[str] = set()  # groups whose term shapes have been checked

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
        ``restart`` (N,) is set.

        Raises:
            SpecError: at the first compute, a group that mixes images with vectors or holds images of different
                sizes; naming the group and its terms.
        """
        out = {}
        for name, terms in self._groups.items():
            values = [self._observe(t) for t in terms]
            if name not in self._checked:
                self._check_shapes(name, terms, values)
                self._checked.add(name)
            frame = torch.cat(values, dim=1)
            history_length = self._history_lengths.get(name, 1)
            if history_length > 1:
                out[name] = self._push_history(name, values, frame, history_length, restart)
            else:
                out[name] = frame
        return TensorDict(out, batch_size=[self._num_envs], device=self._device)

    def _push_history(
        self, name: str, values: list[torch.Tensor], frame: torch.Tensor, history_length: int, restart: torch.Tensor
    ) -> torch.Tensor:
        """The group's observation with its history: (N, H x D) for vectors; for images (N, H x C, height, width),
        each term's channels of its H frames, oldest first (frame stacking), the terms in order."""
        pixels = frame.shape[2] * frame.shape[3] if frame.dim() == 4 else 1
        if name not in self._histories:
            sizes = [v.shape[1] * pixels for v in values]
            self._histories[name] = ObservationHistory(history_length, sizes, self._num_envs, self._device)
        stacked = self._histories[name].push(frame.reshape(self._num_envs, -1), restart)
        return stacked if frame.dim() != 4 else stacked.reshape(self._num_envs, -1, *frame.shape[2:])

    def _check_shapes(self, group: str, terms: list[TermSpec], values: list[torch.Tensor]) -> None:
        images = [value.dim() == 4 for value in values]
        if not any(images):
            return
        described = ", ".join(f"{t.func_name} {tuple(v.shape[1:])}" for t, v in zip(terms, values, strict=True))
        where = f"observations.{group}"
        if not all(images):
            problem = (
                f"mixes images (N, C, H, W) with vectors: {described}; put the image terms in a group of their own "
                "(a CNN policy reads an image group and a vector group side by side)"
            )
        elif len({tuple(v.shape[2:]) for v in values}) > 1:
            problem = f"holds images of different sizes: {described}; expected one height and width"
        else:
            return
        raise SpecError(f"{self._source or 'the spec'}: key '{where}': the group {problem}", key=where)

    def _observe(self, term: TermSpec) -> torch.Tensor:
        value = self._call(term)
        if value.dim() != 4:  # an image (N, C, H, W) keeps its shape
            value = value.reshape(self._num_envs, -1)
        noise = self._noise.get(id(term))
        if noise is None:
            return value
        low, high = noise
        return value + torch.rand_like(value) * (high - low) + low
