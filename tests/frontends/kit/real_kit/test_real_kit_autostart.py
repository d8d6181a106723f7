"""OPT-IN (``ISAAC_RL_WORKBENCH_KIT_AUTOSTART=1``, after ``bash scripts/setup_kit.sh --autostart``, which puts
Isaac Sim 6.2's torch, a CUDA build of several GB, and the extension's ``[python.pipapi]`` requirements into
``.venv-kit-autostart``): the extension's headless autostart inside the REAL Kit kernel's process. Kit enables the
extension with the ``autostart`` settings on its command line; the extension's own code (``on_startup`` ->
``headless.train_and_quit`` on Kit's asyncio loop: settings -> Workbench -> one PPO iteration per app update -> run
folder -> ``quit_app``) trains cart-pole 2 iterations on Newton's CPU backend, one per app update, and quits the
app with 0. Only the
Kit SDK extensions not obtainable here are stand-ins (``in_kit_checks.py``)."""

from __future__ import annotations

import json
import os
import re

import pytest

from .kit_launcher import VENV_KIT_AUTOSTART, kernel_or_skip, run_checks

OPT_IN = "ISAAC_RL_WORKBENCH_KIT_AUTOSTART"
SETUP = "bash scripts/setup_kit.sh --autostart"
ITERATIONS = 2
AUTOSTART_RUN_S = 600  # [s] Kit, torch and Newton start, warp kernels compile on first use, 2 iterations on 2 cores

pytestmark = pytest.mark.skipif(
    os.environ.get(OPT_IN) != "1", reason=f"opt-in: {OPT_IN}=1 after {SETUP} (several GB: torch for Python 3.12)"
)


@pytest.mark.slow
def test_autostart_trains_cartpole_on_newton_cpu_in_kits_process_and_quits_with_0(tmp_path):
    kernel_or_skip(VENV_KIT_AUTOSTART, SETUP, required=True)
    run_dir = tmp_path / "run"
    settings = {
        "autostart": "true",
        "task": "cartpole",
        "max_iterations": ITERATIONS,
        "device": "cpu",
        "physics": "newton",
        "run_dir": run_dir,
        "runs_dir": tmp_path / "runs",
    }
    kit_args = [f"--/exts/isaac.rl.workbench/{name}={value}" for name, value in settings.items()]
    run = run_checks(tmp_path, "autostart", kit_args=kit_args, venv=VENV_KIT_AUTOSTART, timeout_s=AUTOSTART_RUN_S)
    assert run.report["enable"]["enabled"]
    held = run.report["carb_settings"]
    assert held["autostart"] is True and held["max_iterations"] == ITERATIONS and held["device"] == "cpu"
    assert run.exit_code == 0, f"the autostart run quit with {run.exit_code}:\n{run.output[-6000:]}"
    lines = re.findall(rf"^it +\d+/{ITERATIONS} \|.*$", run.output, flags=re.MULTILINE)
    assert len(lines) == ITERATIONS, run.output[-6000:]
    assert f"run folder: {run_dir}" in run.output
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == list(range(1, ITERATIONS + 1))
    by_update = run.report["iterations_by_update"]  # [app update number, iterations in metrics.jsonl] at each change
    assert [count for _, count in by_update if count] == list(range(1, ITERATIONS + 1)), "one iteration at a time"
    assert all(a[0] < b[0] for a, b in zip(by_update, by_update[1:], strict=False)), "each in an app update of its own"
    assert list((run_dir / "checkpoints").glob("model_*.pt")), "a checkpoint in the run folder"
    print(f"autostart run: {run.seconds:.0f} s on {run.report['physics_versions']}")
