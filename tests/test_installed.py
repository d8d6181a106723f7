"""Installed from a wheel (not editable) into a fresh venv and run from an empty folder, the workbench finds its
shipped tasks and scenes: ``inspect`` and short ``train cartpole`` / ``train ant`` runs work."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ISAAC_RL_WORKBENCH_TASKS")}
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh venv's bin folder, an empty working folder). The venv gets the wheel of this checkout; its
    dependencies come from the test venv's site-packages through a path file (no download, no editable finder:
    a path file's folder is not a site folder, so the editable install's own path files are not run)."""
    tmp = tmp_path_factory.mktemp("installed")
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", REPO, "-w", tmp / "wheel"],
        tmp,
    )
    wheel = next((tmp / "wheel").glob("isaac_rl_workbench-*.whl"))
    run([sys.executable, "-m", "venv", tmp / "venv"], tmp)
    venv_site = next((tmp / "venv" / "lib").glob("python3*/site-packages"))
    (venv_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run([tmp / "venv" / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    return tmp / "venv" / "bin", work


def test_the_installed_package_is_not_the_checkout(installed):
    bin_dir, work = installed
    where = run([bin_dir / "python", "-c", "import isaac.rl.workbench as w; print(w.__file__)"], work).stdout
    assert str(bin_dir.parent) in where and str(REPO) not in where, where


def test_inspect_a_shipped_scene(installed):
    bin_dir, work = installed
    scene = run(
        [
            bin_dir / "python",
            "-c",
            "from isaac.rl.workbench.specs.task_files import shipped_tasks_dir as d; "
            "print(d().parent / 'assets' / 'usd' / 'cartpole.usda')",
        ],
        work,
    ).stdout.strip()
    assert str(bin_dir.parent) in scene and Path(scene).is_file(), scene
    out = run([bin_dir / "isaac-rl-workbench", "inspect", scene], work).stdout
    assert "/cartpole" in out and "slider" in out and "hinge" in out, out


@pytest.mark.parametrize("task", ["cartpole", "ant"])
def test_train_a_shipped_task_from_an_empty_folder(installed, task):
    bin_dir, work = installed
    out = run(
        [
            bin_dir / "isaac-rl-workbench",
            "train",
            task,
            "--max-iterations",
            "2",
            "--num-envs",
            "4",
            "--eval-episodes",
            "1",
        ],
        work,
    ).stdout
    assert "it     2/2" in out, out
    runs = list((work / "runs" / task).iterdir())
    assert len(runs) == 1 and (runs[0] / "checkpoints" / "model_000002.pt").is_file(), out
    spec = (runs[0] / "spec.toml").read_text()
    assert str(bin_dir.parent) in spec and str(REPO) not in spec, "the scene comes from the installed package"
