"""Starts Isaac Sim 6.2's REAL Kit kernel for a test: headless, in a subprocess of a Python 3.12 venv made by
``scripts/setup_kit.sh`` (``.venv-kit``; ``.venv-kit-autostart`` with ``--autostart``). The wheels ship no ``kit``
executable: the kernel starts in-process through the wheel's ``isaacsim/kit/kit_app.py`` (``KitApp().run()``: startup,
``update()`` while the app runs, shutdown, whose code is the process's exit code) with Kit's empty app, this
repository's ``exts``, Isaac Sim's own extension folders (nothing of theirs enabled), no extension registry
(unreachable here), and ``--exec`` of a script that writes what it saw as JSON to ``$WORKBENCH_KIT_REPORT``.

Running Isaac Sim means accepting NVIDIA's Omniverse licence: the Kit processes started here get
``OMNI_KIT_ACCEPT_EULA=YES`` (NVIDIA's switch for non-interactive use); nothing else is set outside them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[3]
EXTS = REPO / "exts"
VENV_KIT = REPO / ".venv-kit"
VENV_KIT_AUTOSTART = REPO / ".venv-kit-autostart"
KIT_RUN_S = 240  # [s] the most one kernel run may take (the checks take seconds, an autostart run a minute or two)


@dataclass
class KitRun:
    """One kernel run: what its script reported (None when it wrote nothing), the exit code, stdout + stderr."""

    report: dict | None
    exit_code: int
    output: str
    seconds: float


def isaacsim_root(venv: Path) -> Path | None:
    """The installed ``isaacsim`` package of ``venv`` (``kit/``, ``exts/``, ``extscache/``), None when absent."""
    found = sorted(venv.glob("lib/python3.12/site-packages/isaacsim/kit/kit_app.py"))
    return found[-1].parents[1] if found else None


def kernel_or_skip(venv: Path = VENV_KIT, setup: str = "bash scripts/setup_kit.sh", required: bool = False) -> Path:
    """The ``isaacsim`` package of ``venv``; without it the test skips, and fails under CI (``CI`` set) or when
    ``required``."""
    root = isaacsim_root(venv)
    if root is None:
        problem = f"{venv} has no Isaac Sim 6.2 kernel: run {setup} (it needs Python 3.12)"
        if required or os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return root


def run_kit(
    script: Path,
    work: Path,
    kit_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    venv: Path = VENV_KIT,
    ext_folders: list[Path] | None = None,
    timeout_s: float = KIT_RUN_S,
) -> KitRun:
    """Run ``script`` inside the real kernel of ``venv`` (``--exec``), with ``ext_folders`` (default: this
    repository's ``exts``) and ``kit_args`` (settings: ``--/path=value``) on Kit's command line, ``env`` added to the
    environment, ``work`` as the working folder and portable root; wait for the app to quit."""
    root = kernel_or_skip(venv)
    report = work / "kit_report.json"
    command = [
        str(venv / "bin" / "python"),
        "-m",
        "isaacsim.kit.kit_app",
        str(root / "kit" / "apps" / "omni.app.empty.kit"),
    ]
    command += ["--no-window", "--allow-root", "--portable-root", str(work / "kit_portable")]
    command += ["--/app/extensions/registryEnabled=0", "--/app/runLoops/main/rateLimitEnabled=false"]
    for folder in [*(ext_folders or [EXTS]), root / "exts", root / "extscache"]:  # extscache: the physics wheel's
        command += ["--ext-folder", str(folder)] if folder.is_dir() else []
    command += ["--enable", "omni.kit.loop-isaac", "--enable", "omni.kit.async_engine"]  # the loop, Kit's asyncio
    command += [*(kit_args or []), "--exec", str(script)]
    full_env = {**os.environ, "OMNI_KIT_ACCEPT_EULA": "YES", "WORKBENCH_KIT_REPORT": str(report), **(env or {})}
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=full_env, cwd=work)
    seconds = time.monotonic() - started
    seen = json.loads(report.read_text()) if report.is_file() else None
    return KitRun(seen, done.returncode, done.stdout + done.stderr, seconds)


def run_checks(
    work: Path, mode: str, ext_folder: Path = EXTS, kit_args: list[str] | None = None, **kwargs: Any
) -> KitRun:
    """``in_kit_checks.py`` in ``mode`` (``solve``, ``lifecycle`` or ``autostart``) in a kernel run with
    ``ext_folder`` (``kwargs``: :func:`run_kit`'s); fails with Kit's output when the checks inside wrote nothing or
    hit an error. Its stand-in extensions are written under ``work``."""
    stubs = work / "stand_ins"
    stubs.mkdir()
    env = {
        "WORKBENCH_KIT_MODE": mode,
        "WORKBENCH_KIT_STUBS": str(stubs),
        "WORKBENCH_KIT_STUB_MODULES": str(HERE / "stub_modules"),
    }
    run = run_kit(HERE / "in_kit_checks.py", work, kit_args, env, ext_folders=[ext_folder], **kwargs)
    assert run.report is not None, f"the checks inside Kit wrote nothing (exit {run.exit_code}):\n{run.output[-4000:]}"
    assert not run.report["errors"], "\n".join(run.report["errors"]) + run.output[-4000:]
    return run
