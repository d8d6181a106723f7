"""Warp's start on a machine without an NVIDIA driver: its native no-driver notice is dropped, any other line it
writes to standard error still reaches the user, and a command run as a user would shows no notice."""

from __future__ import annotations

import os
import subprocess
import sys

import warp as wp
from isaac.rl.workbench.backend import warp_start

NOTICE = b"Warp CUDA warning: Could not find or load the NVIDIA CUDA driver. GPU execution will not be available.\n"


def test_the_driver_notice_is_dropped_and_other_start_up_lines_are_kept(monkeypatch, capfd):
    def native_init() -> None:  # what Warp's C++ start-up does: write straight to file descriptor 2
        os.write(2, NOTICE + b"Warp: some other start-up problem\n")

    monkeypatch.setattr(wp, "init", native_init)
    warp_start.start_warp()
    err = capfd.readouterr().err
    assert "Could not find or load the NVIDIA CUDA driver" not in err
    assert "Warp: some other start-up problem" in err


def test_a_cpu_command_prints_no_driver_notice(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import isaac.rl.workbench.backend.newton_backend; import warp; warp.zeros(1)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "NVIDIA CUDA driver" not in done.stderr + done.stdout
