"""An env step replayed as one CUDA graph: run eagerly for a few warm-up calls, captured once, then replayed, so a
step costs one graph launch instead of its hundreds of kernel launches (the step is launch-bound on a GPU)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
from tensordict import TensorDict

from ..utils import startup_timer

WARMUP_STEPS = 3  # eager steps before the capture (lazy allocations and kernel choices settle first)

StepResult = tuple[TensorDict, torch.Tensor, torch.Tensor, dict]
"""What a step returns: observations (each group (N, dim)), rewards (N,), dones (N,), extras (``time_outs`` (N,),
``log``)."""


class GraphedStep:
    """``step(actions)`` run eagerly, or replayed from a CUDA graph after :data:`WARMUP_STEPS` eager calls.

    Args:
        step: the eager step: actions (N, A) -> :data:`StepResult`; captured whole (terms, resets and physics).
        device: the CUDA device it runs on.
        capture_context: entered around the capture (the backend's ``graph_capture``).
        enabled: capture at all; False: every call is eager (the CPU, or a caller that changes the env between
            steps).
    """

    def __init__(
        self,
        step: Callable[[torch.Tensor], StepResult],
        device: torch.device,
        capture_context: Callable[[], AbstractContextManager[None]],
        enabled: bool,
    ):
        self._step, self._device, self._capture_context, self._enabled = step, device, capture_context, enabled
        self._graph: torch.cuda.CUDAGraph | None = None
        self._eager_steps = 0

    def __call__(self, actions: torch.Tensor) -> StepResult:
        """One step under ``actions`` (N, A). Replayed, it returns fresh copies of the graph's static outputs: rsl-rl
        keeps the observation it acted on until after the next step."""
        if not self._enabled or self._graph is None and self._eager_steps < WARMUP_STEPS:
            self._eager_steps += 1
            return self._step(actions)
        if self._graph is None:
            self._capture(actions)
        self._static_actions.copy_(actions)
        self._graph.replay()
        obs, rewards, dones, extras = self._static_out
        return obs.clone(), rewards.clone(), dones.clone(), {"time_outs": extras["time_outs"].clone(), "log": {}}

    def recapture(self) -> None:
        """Capture the step again before its next replay, after :data:`WARMUP_STEPS` eager calls: for a change the
        captured graph cannot see (a Python number the step reads, such as a live-edited event parameter)."""
        self._graph, self._eager_steps = None, 0

    def _capture(self, actions: torch.Tensor) -> None:
        startup_timer.mark("eager steps")
        self._static_actions = actions.clone()
        self._graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize(self._device)
        # An env of an earlier run (a panel trains many in one process) may wait in a reference cycle for the garbage
        # collector; freeing its CUDA graph during this capture would break the capture. Collect now, and not during.
        gc.collect()
        gc.disable()
        try:
            with torch.cuda.graph(self._graph, capture_error_mode="thread_local"), self._capture_context():
                self._static_out = self._step(self._static_actions)
        finally:
            gc.enable()
        startup_timer.mark("env graph")
