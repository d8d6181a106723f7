"""The command line starts fast. Importing torch, warp and Newton alone takes seconds, so the commands that build no
env (``--help``, ``spec``, ``inspect`` and ``doctor`` on a scene) never import them; a command that does runs its
start-up with the garbage collector paused when it is a process of its own, and leaves an in-process caller's
collector as it was."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.utils.gc_pause import gc_paused

from ..conftest import REPO

HEAVY = ("torch", "warp", "newton", "mujoco", "mujoco_warp", "tensordict", "rsl_rl", "matplotlib", "onnx")
SCENE = str(REPO / "assets" / "usd" / "cartpole.usda")

# Runs the console script's main() (argv from sys.argv, as installed) in a fresh interpreter and prints its exit
# code, the heavy packages it imported and how many objects its start-up froze, as JSON.
PROBE = """
import contextlib, gc, io, json, sys
from isaac.rl.workbench.frontends.cli import main
sys.argv = ["isaac-rl-workbench", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code
heavy = json.loads(sys.stdin.read())
imported = [name for name in heavy if name in sys.modules]
print(json.dumps({"code": code, "imported": imported, "frozen": gc.get_freeze_count(), "gc": gc.isenabled()}))
"""


def _run(argv: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], input=json.dumps(HEAVY), capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["train", "--help"], ["spec", "--help-keys"], ["inspect", SCENE], ["doctor", SCENE]],
    ids=["help", "train-help", "spec", "inspect", "doctor-scene"],
)
def test_commands_that_build_no_env_import_no_physics_or_learning_stack(argv):
    result = _run(argv)
    assert result["code"] in (0, None), result
    assert result["imported"] == [], f"{' '.join(argv)} imported {result['imported']}"


def test_a_bad_scene_is_still_one_line_and_exit_2_without_the_stack(tmp_path):
    result = _run(["inspect", str(tmp_path / "missing.usda")])
    assert (result["code"], result["imported"]) == (2, [])


def test_a_command_of_its_own_process_freezes_what_its_start_up_imported():
    result = _run(["terms"])  # imports torch and the env for their docstrings
    assert result["code"] == 0 and "torch" in result["imported"], result
    assert result["frozen"] > 100_000 and result["gc"], result


def test_an_in_process_caller_keeps_its_garbage_collector(capsys):
    frozen = gc.get_freeze_count()
    assert main(["terms"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    assert "# Term reference" in capsys.readouterr().out


def test_gc_paused_holds_the_collector_off_then_freezes_what_was_built():
    was_frozen = gc.get_freeze_count()
    try:
        with gc_paused():
            assert not gc.isenabled()
            built = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= was_frozen + len(built)
    finally:
        gc.unfreeze()
