"""Start-up timing: the moments a training command reaches on its way to its first iteration.

The train path calls :func:`mark` as each start-up phase ends (the spec loaded, the scene built, ...) and the CLI
calls :func:`report` once the first iteration is printed. Both do nothing unless the environment variable
``ISAAC_RL_WORKBENCH_STARTUP_PROFILE`` is ``1``. Then each mark writes one line to stderr at once,
``startup-mark <phase> <time>`` (``time``: seconds since the epoch, so that ``bench --startup``, which starts the
command, can set it against its own clock and against the import times ``python -X importtime`` writes between
the marks), and :func:`report` writes each phase's seconds, counted from this module's import (the CLI imports it
first), and stops recording: marks after it (later iterations, more runs in one process) are ignored.
"""

from __future__ import annotations

import os
import sys
import time
from itertools import pairwise

ENV_VAR = "ISAAC_RL_WORKBENCH_STARTUP_PROFILE"
MARK_PREFIX = "startup-mark"

_enabled = os.environ.get(ENV_VAR) == "1"
_marks: list[tuple[str, float]] = [("start", time.time())]  # (phase, [s] since the epoch when it ended)


def mark(phase: str) -> None:
    """Note that ``phase`` ends now (one stderr line; nothing when profiling is off)."""
    if not _enabled:
        return
    now = time.time()
    _marks.append((phase, now))
    print(f"{MARK_PREFIX} {phase} {now:.6f}", file=sys.stderr, flush=True)


def report() -> None:
    """Write each phase's seconds since the previous mark, and their total, to stderr; then stop recording."""
    global _enabled
    if not _enabled:
        return
    _enabled = False
    lines = [f"  {phase:12s} {end - begin:7.2f} s" for (_, begin), (phase, end) in pairwise(_marks)]
    total = _marks[-1][1] - _marks[0][1]
    print("start-up phases (seconds):", *lines, f"  {'total':12s} {total:7.2f} s", sep="\n", file=sys.stderr)
