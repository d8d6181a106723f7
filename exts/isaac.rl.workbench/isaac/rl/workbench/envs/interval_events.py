"""The spec's interval events (``[events.<name>]`` with ``mode = "interval"``): each env keeps a timer per event,
drawn uniformly in the event's ``interval_s`` [s]; the step counts it down, and where it reaches zero the event runs
on that env and its timer is drawn again.

Shapes: N = num_envs, E = interval events.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..specs.schema import TermSpec


class IntervalEvents:
    """The interval events of one env; their first timers are drawn when built.

    Args:
        terms: the E interval events, in spec order.
        num_envs: N.
        device: where the timers (N, E) [s] live.
        call: ``call(term, env_mask)``: runs the event on the envs where ``env_mask`` (N,) is set.
    """

    def __init__(
        self,
        terms: list[TermSpec],
        num_envs: int,
        device: torch.device,
        call: Callable[[TermSpec, torch.Tensor], object],
    ):
        self._terms, self._num_envs, self._device, self._call = terms, num_envs, device, call
        self._intervals = {term.name: tuple(term.interval_s) for term in terms}  # the spec's, or a live edit's
        self._timers = torch.zeros(num_envs, len(terms), device=device)
        everywhere = torch.ones(num_envs, dtype=torch.bool, device=device)
        for i, term in enumerate(terms):
            self._draw(i, term, everywhere)

    def advance(self, step_dt: float) -> None:
        """Count every timer down by ``step_dt`` [s]; run each event where its timer ran out, and draw it again."""
        for i, term in enumerate(self._terms):
            self._timers[:, i] -= step_dt
            due = self._timers[:, i] <= 0.0
            self._call(term, due)
            self._draw(i, term, due)

    def set_interval(self, name: str, interval_s: tuple[float, float]) -> None:
        """Draw event ``name``'s timers in ``interval_s`` [s] (0 < min <= max) from their next draw on (a live edit;
        the timers running now run out first). A step captured as a CUDA graph must be captured again."""
        if name not in self._intervals:
            raise KeyError(f"no interval event '{name}'; interval events: {', '.join(self._intervals) or 'none'}")
        self._intervals[name] = (float(interval_s[0]), float(interval_s[1]))

    def _draw(self, i: int, term: TermSpec, mask: torch.Tensor) -> None:
        low, high = self._intervals[term.name]
        fresh = torch.rand(self._num_envs, device=self._device) * (high - low) + low
        self._timers[:, i] = torch.where(mask, fresh, self._timers[:, i])
