"""Warp's runtime, started once without its driver notice on machines that have no NVIDIA driver.

Warp's native code writes "Warp CUDA warning: Could not find or load the NVIDIA CUDA driver" to the process's
standard error when it starts on a machine without a driver, on every command, though the CPU is all such a machine
is asked for (a CUDA request there is refused by the backend in a line of its own). :func:`start_warp` runs
``wp.init()`` with file descriptor 2 captured, drops that one line and passes everything else on unchanged.
"""

from __future__ import annotations

import os
import sys
import tempfile

import warp as wp

DRIVER_NOTICE = "Could not find or load the NVIDIA CUDA driver"
"""The part of Warp's start-up line that says a machine has no NVIDIA driver."""


def start_warp() -> None:
    """``wp.init()``, without Warp's no-driver notice; other start-up output reaches standard error as written."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            wp.init()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        text = captured.read().decode(errors="replace")
    kept = "".join(line for line in text.splitlines(keepends=True) if DRIVER_NOTICE not in line)
    if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()
