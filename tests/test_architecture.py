"""The layers and import rules of docs/architecture.md hold, checked by import-linter, and the check can fail."""

from __future__ import annotations

import ast
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
        ("learn/curves.py", "import omni.ui", "only frontends.kit and backend import omni"),
        ("envs/workbench_env.py", "import omni.physics.tensors", "only frontends.kit and backend import omni"),
        ("backend/physx_stage.py", "import carb.settings", "backend imports no Kit app API"),
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


KIT_APP_API = ("omni.ui", "omni.kit", "omni.ext", "carb")
"""Kit's app: widgets, app updates, menus, the extension base class, settings. Only ``frontends/kit`` imports it."""
PHYSX_API = ("omni.physics", "omni.physx", "omni.usd", "isaacsim")
"""Isaac Sim's PhysX tensors API, its stage and its cloner. Only ``backend`` imports them."""


def misplaced_isaac_sim_imports(package: Path) -> list[str]:
    """``module -> import`` for each import of Isaac Sim's PhysX outside ``backend/`` and of Kit's app outside
    ``frontends/kit/`` (import-linter forbids whole outside packages only, and ``omni`` holds both); the in-Kit
    test suites are left out."""
    found = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).parts
        if "tests" in where:
            continue
        own = PHYSX_API if where[0] == "backend" else KIT_APP_API if where[:2] == ("frontends", "kit") else ()
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]  # from omni import ui: omni.ui
            for name in names:
                if _within(name, PHYSX_API + KIT_APP_API) and not _within(name, own):
                    found.append(f"{'/'.join(where)} -> {name}")
    return found


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in packages)


def test_only_backend_imports_physx_and_only_the_kit_front_end_imports_kits_app():
    assert misplaced_isaac_sim_imports(PACKAGE / "rl" / "workbench") == []


@pytest.mark.parametrize(
    ("module", "line", "name"),
    [
        ("frontends/kit/window.py", "import omni.physics.tensors", "omni.physics.tensors"),
        ("frontends/kit/isaacsim_adapter.py", "from isaacsim.core import cloner", "isaacsim.core.cloner"),
        ("backend/physx_stage.py", "import omni.kit.app", "omni.kit.app"),
        ("backend/physx_backend.py", "from omni import ui", "omni.ui"),
    ],
)
def test_a_physx_import_outside_backend_or_a_kit_app_import_inside_it_is_found(tmp_path, module, line, name):
    package = tmp_path / "workbench"
    shutil.copytree(PACKAGE / "rl" / "workbench", package, ignore=shutil.ignore_patterns("__pycache__", "shipped"))
    path = package / module
    path.write_text(f"{line}\n" + path.read_text())
    assert misplaced_isaac_sim_imports(package) == [f"{module} -> {name}"]


def test_nothing_above_the_env_reaches_into_its_backend():
    """The Workbench, the learners and the CLI use the env's own properties, never ``env.backend``."""
    root = PACKAGE / "rl" / "workbench"
    for path in [
        *(root / name for name in ("workbench.py", "trained_policy.py", "tool_env.py")),
        *root.glob("learn/*.py"),
        root / "frontends" / "cli.py",
    ]:
        assert "env.backend" not in path.read_text(), path


ABOVE_THE_ENV = (
    "workbench.py",
    "trained_policy.py",
    "run_writer.py",
    "tool_env.py",
    "live_edits.py",
    "deploy_manifest.py",
    "sim2real",
    "frontends",
    "doctor",
)
"""The modules above ``envs/``: they use the env through its public methods only."""
PUBLIC_UNDERSCORED = {"_asdict", "_replace", "_fields", "_make"}  # namedtuple's public API


def reach_ins(root: Path) -> list[str]:
    """``"<module>:<line>: <what>"`` for every reach-in of the modules above the env (:data:`ABOVE_THE_ENV` under
    ``root``, the package folder): an attribute ``.backend`` (``env.backend``, ``self.env.backend``, a backend of
    its own), a private name imported from a module of the package (``from .cli import _seconds``), and a
    leading-underscore attribute the module does not define itself (as a function, class or name, or on ``self`` /
    ``cls``) read from anything but ``self``, ``cls`` or a module from outside the package (``model._lock``,
    ``super()._apply_actions``; ``os._exit`` is fine)."""
    private = lambda name: name.startswith("_") and not name.startswith("__")  # noqa: E731
    found = []
    paths = [
        p
        for entry in ABOVE_THE_ENV
        for p in ([root / entry] if entry.endswith(".py") else (root / entry).rglob("*.py"))
    ]
    for path in sorted(paths):
        tree = ast.parse(path.read_text(), str(path))
        where = path.relative_to(root).as_posix()
        own, outside = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    own.add(node.attr)
            elif isinstance(node, ast.ImportFrom):
                ours = node.level > 0 or (node.module or "").startswith("isaac.rl.workbench")
                for alias in node.names:
                    if ours and private(alias.name):
                        found.append(f"{where}:{node.lineno}: imports the private name {alias.name}")
                    elif not ours:
                        outside.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                theirs = [a for a in node.names if not a.name.startswith("isaac.rl.workbench")]
                outside |= {alias.asname or alias.name.split(".")[0] for alias in theirs}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr == "backend":
                found.append(f"{where}:{node.lineno}: reaches into a backend: {ast.unparse(node)}")
            if not private(node.attr) or node.attr in own or node.attr in PUBLIC_UNDERSCORED:
                continue
            root_name = node.value
            while isinstance(root_name, ast.Attribute | ast.Call | ast.Subscript):
                root_name = root_name.func if isinstance(root_name, ast.Call) else root_name.value
            if isinstance(root_name, ast.Name) and (
                (root_name.id in ("self", "cls") and node.value is root_name) or root_name.id in outside
            ):
                continue
            found.append(f"{where}:{node.lineno}: uses another module's private name: {ast.unparse(node)}")
    return found


def test_nothing_above_the_env_reaches_into_it():
    """sim2real, the front ends, the Workbench, the deploy manifest and the doctor use the env's public methods
    (physics, properties, joint commands) and other modules' public names only."""
    assert reach_ins(PACKAGE / "rl" / "workbench") == []


@pytest.mark.parametrize(
    ("module", "line", "found"),
    [
        ("sim2real/robustness.py", "wb.env.backend.set_property('body_mass', mask, mass)", "backend: wb.env.backend"),
        ("frontends/bench.py", "self.env.backend.step()", "backend: self.env.backend"),
        ("workbench.py", "mode = self.trainer.alg._compiled", "private name: self.trainer.alg._compiled"),
        ("sim2real/sim_driver.py", "super()._apply_actions()", "private name: super()._apply_actions"),
        ("doctor/physics_checks.py", "from ..envs.workbench_env import _call", "imports the private name _call"),
    ],
)
def test_a_reach_in_is_found(tmp_path, module, line, found):
    """The same check on a copy of the package with one reach-in added finds it, naming the module and line."""
    shutil.copytree(
        PACKAGE / "rl" / "workbench", tmp_path / "workbench", ignore=shutil.ignore_patterns("__pycache__", "shipped")
    )
    path = tmp_path / "workbench" / module
    lines = len(path.read_text().splitlines())
    path.write_text(path.read_text() + f"{line}  # the reach-in\n")
    assert any(
        f.startswith(f"{module}:{lines + 1}: ") and f.endswith(found) for f in reach_ins(tmp_path / "workbench")
    ), reach_ins(tmp_path / "workbench")
