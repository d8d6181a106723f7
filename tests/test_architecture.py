"""The layers and import rules of docs/architecture.md hold, checked by import-linter, and the check can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "exts" / "isaac.rl.workbench" / "isaac"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "500"}  # one line per contract
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_import_contracts_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("learn/trainer.py", "from ..specs.loader import TaskSpec", "learn sees only a VecEnv"),
        ("specs/loader.py", "import warp", "only backend imports newton and warp"),
        ("terms/rewards.py", "from ..envs import commands", "terms are functions over tensors"),
        ("learn/curves.py", "import omni.ui", "only frontends.kit imports omni"),
        ("envs/workbench_env.py", "from ..frontends import cli", "layers"),
        ("backend/newton_backend.py", "from ..utils import atomic", "backend imports no other package module"),
        ("workbench.py", "from .assets import write_all", "runtime code never imports assets"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    """The same check on a copy of the package with one forbidden import added fails and names the contract."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "isaac", ignore=shutil.ignore_patterns("__pycache__", "shipped"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    path = tmp_path / "src" / "isaac" / "rl" / "workbench" / module
    path.write_text(f"{line}  # the forbidden import\n" + path.read_text())
    result = lint_imports(tmp_path, tmp_path / "src")
    assert result.returncode != 0, result.stdout[-3000:]
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout[-3000:]
    assert f"{module.replace('/', '.').removesuffix('.py')} ->" in result.stdout, "the report names the import"


def test_nothing_above_the_env_reaches_into_its_backend():
    """The Workbench, the learners and the CLI use the env's own properties, never ``env.backend``."""
    root = PACKAGE / "rl" / "workbench"
    for path in [root / "workbench.py", *root.glob("learn/*.py"), root / "frontends" / "cli.py"]:
        assert "env.backend" not in path.read_text(), path
