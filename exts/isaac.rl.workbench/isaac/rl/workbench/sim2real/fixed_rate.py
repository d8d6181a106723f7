"""A loop that calls ``step()`` on a fixed grid of wall-clock time, as a robot's firmware runs its own loop, never in
lockstep with whoever commands it; with a record of how far behind the grid it ran.

Step ``k`` is due to end by ``anchor + k * period_s`` (``time.perf_counter``). A step that ends early sleeps until
then; one that ends late makes the next start at once, so a short delay is caught up. A lag over ``max_lag_s`` is not
caught up: the loop re-anchors its grid on that moment (a "resync") and the lost time is given up, so the stepped
process runs slower than the wall clock rather than in a fast-forward burst.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class LoopTiming:
    """How a :func:`run_at_fixed_rate` call kept its grid.

    Attributes:
        steps: ``step()`` calls; wall_seconds: the loop's duration [s].
        late_steps: steps that ended after their slot; max_lag_ms: the furthest behind the grid [ms].
        resyncs: lags over ``max_lag_s`` given up (the grid re-anchored).
        step_median_ms, step_p99_ms: the duration of one ``step()`` [ms].
    """

    steps: int = 0
    wall_seconds: float = 0.0
    late_steps: int = 0
    max_lag_ms: float = 0.0
    resyncs: int = 0
    step_median_ms: float = math.nan
    step_p99_ms: float = math.nan


def run_at_fixed_rate(
    step: Callable[[], None],
    period_s: float,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    max_lag_s: float = 0.02,
    progress: Callable[[LoopTiming], None] | None = None,
    progress_every_s: float | None = None,
) -> LoopTiming:
    """Call ``step()`` every ``period_s`` seconds until ``seconds`` pass or ``stop`` is set; ``progress(timing)``
    every ``progress_every_s`` seconds. Returns the :class:`LoopTiming`."""
    stop = stop or threading.Event()
    timing = LoopTiming()
    durations: list[float] = []
    start = anchor = time.perf_counter()
    k = 0
    next_progress = start + (progress_every_s if progress and progress_every_s else math.inf)

    def finish() -> LoopTiming:
        timing.wall_seconds = time.perf_counter() - start
        timing.steps = len(durations)
        if durations:
            timing.step_median_ms = float(np.median(durations) * 1e3)
            timing.step_p99_ms = float(np.percentile(durations, 99) * 1e3)
        return timing

    while not stop.is_set() and (seconds is None or time.perf_counter() - start < seconds):
        began = time.perf_counter()
        step()
        done = time.perf_counter()
        durations.append(done - began)
        k += 1
        lag = done - (anchor + k * period_s)
        if lag > 0:
            timing.late_steps += 1
            timing.max_lag_ms = max(timing.max_lag_ms, lag * 1e3)
            if lag > max_lag_s:
                anchor, k = done, 0
                timing.resyncs += 1
        else:
            _sleep_until(anchor + k * period_s, stop)
        if done >= next_progress:
            progress(finish())
            next_progress += progress_every_s
    return finish()


def _sleep_until(deadline: float, stop: threading.Event) -> None:
    """Sleep until ``time.perf_counter()`` reaches ``deadline`` (the last 0.3 ms spinning: ``time.sleep`` overshoots
    by up to a scheduler tick), or ``stop`` is set."""
    while not stop.is_set():
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return
        if remaining > 3e-4:
            time.sleep(remaining - 3e-4)
