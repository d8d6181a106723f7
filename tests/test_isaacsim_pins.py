"""The workbench inside Isaac Sim 6.2: the extension's pip requirements leave the physics stack Isaac Sim ships as
it is, and the workbench trains, plays and exports on that stack.

Isaac Sim's pins are read from the metadata of its wheels on the index (isaacsim-core and isaacsim-kernel 6.2.0.0,
CPython 3.12 on manylinux_2_35 x86_64); pip resolves for that target without installing anything. The smoke test
runs in ``.venv-isaacsim-pins`` (scripts/setup_isaacsim_pins.sh): Isaac Sim's physics packages with .venv's others.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from .conftest import REPO

ISAACSIM_WHEELS = ("isaacsim-core==6.2.0.0", "isaacsim-kernel==6.2.0.0")
PHYSICS = ("newton", "newton-usd-schemas", "warp-lang", "mujoco", "mujoco-warp")
"""Isaac Sim's physics stack: the versions the extension must not replace."""
ISAAC_SIM_TARGET = [
    "--python-version=3.12",
    "--only-binary=:all:",
    "--ignore-requires-python",  # pip itself runs on .venv's Python
    *(f"--platform=manylinux_2_{minor}_x86_64" for minor in range(35, 16, -1)),
    "--platform=manylinux2014_x86_64",
]
"""pip's options for the wheels Isaac Sim 6.2 installs: CPython 3.12, glibc 2.35 and older, x86_64."""
MANIFEST = REPO / "exts" / "isaac.rl.workbench" / "config" / "extension.toml"
PINS_VENV = REPO / ".venv-isaacsim-pins"
PINS_PYTHON = PINS_VENV / "bin" / "python"


def pipapi_requirements() -> list[str]:
    """The extension's ``[python.pipapi] requirements`` (what Kit's pip installs when the extension is enabled)."""
    return tomllib.loads(MANIFEST.read_text())["python"]["pipapi"]["requirements"]


def _skip_or_fail(problem: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def _dry_run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``pip install --dry-run`` for Isaac Sim's target; its report goes to ``folder/report.json``."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--report", str(folder / "report.json"), "--target", str(folder / "target"), *ISAAC_SIM_TARGET]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=900)


def _installed(folder: Path) -> dict[str, str]:
    """Canonical name -> version of what the dry run in ``folder`` would install."""
    report = json.loads((folder / "report.json").read_text())
    return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}


@pytest.fixture(scope="module")
def isaacsim_requires(tmp_path_factory) -> list[Requirement]:
    """Requires-Dist of isaacsim-core and isaacsim-kernel 6.2.0.0, from their wheels on the index."""
    folder = tmp_path_factory.mktemp("isaacsim_metadata")
    done = _dry_run(folder, "--no-deps", *ISAACSIM_WHEELS)
    if done.returncode != 0:
        _skip_or_fail(f"the index did not give {' and '.join(ISAACSIM_WHEELS)}: {done.stderr.strip()[-300:]}")
    report = json.loads((folder / "report.json").read_text())
    return [Requirement(line) for item in report["install"] for line in item["metadata"].get("requires_dist") or []]


def _resolve(folder: Path, requirements: list[str], constraints: list[str]) -> dict[str, str]:
    folder.mkdir()
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (folder / "constraints.txt").write_text("\n".join(constraints) + "\n")
    done = _dry_run(folder, "-r", str(folder / "requirements.txt"), "-c", str(folder / "constraints.txt"))
    lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING: Location")]
    assert done.returncode == 0, f"pip cannot resolve {requirements} with Isaac Sim's pins:\n" + "\n".join(lines)
    return _installed(folder)


@pytest.mark.slow  # downloads about 750 MB of wheels to resolve (the index serves no metadata alone)
def test_the_extensions_requirements_leave_isaac_sims_physics_stack_as_it_is(isaacsim_requires, tmp_path):
    """Isaac Sim's physics requirements alone, then with the extension's [python.pipapi]: the same versions of
    newton, newton-usd-schemas, warp-lang, mujoco and mujoco-warp (so nothing of them is installed over Isaac Sim's),
    under every version pin of isaacsim-core and isaacsim-kernel (torch, numpy, scipy, ...) as a constraint."""
    unconditional = [r for r in isaacsim_requires if r.marker is None]
    physics = [str(r) for r in unconditional if canonicalize_name(r.name) in PHYSICS]
    assert {Requirement(r).name for r in physics} == {"newton", "newton-usd-schemas", "mujoco", "mujoco-warp"}, (
        f"isaacsim-core's physics requirements changed: {physics}"
    )
    constraints = [f"{r.name}{r.specifier}" for r in unconditional if r.specifier]  # constraints take no extras
    alone = _resolve(tmp_path / "isaac_sim", physics, constraints)
    together = _resolve(tmp_path / "with_extension", physics + pipapi_requirements(), constraints)
    isaac_sims = {name: alone[name] for name in PHYSICS}
    assert {name: together[name] for name in PHYSICS} == isaac_sims, "the extension's pip install replaces them"
    if PINS_PYTHON.exists():  # the smoke tests' venv holds exactly that stack
        held = subprocess.run(
            [str(PINS_PYTHON), "-c", f"import importlib.metadata as m; print({{n: m.version(n) for n in {PHYSICS}}})"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert held.strip() == str(isaac_sims), f"{PINS_VENV.name} holds {held.strip()}: rerun its set-up script"


def test_the_standalone_pins_and_the_backends_newton_range_lie_inside_the_extensions_ranges():
    """pyproject's tested versions satisfy every pipapi range, and the Newton range is the one the backend
    supports (backend/newton_compat.py)."""
    compat = ast.parse((REPO / "exts/isaac.rl.workbench/isaac/rl/workbench/backend/newton_compat.py").read_text())
    supported = next(
        ast.literal_eval(node.value)
        for node in compat.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "SUPPORTED_NEWTON"
    )
    project = {}
    for line in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        project[requirement.name] = requirement.specifier
    for line in pipapi_requirements():
        requirement = Requirement(line)
        pinned = [spec.version for spec in project[requirement.name] if spec.operator == "=="]
        if pinned:
            assert requirement.specifier.contains(pinned[0]), f"pyproject's {requirement.name}=={pinned[0]}: {line}"
    newton = next(Requirement(r) for r in pipapi_requirements() if Requirement(r).name == "newton")
    assert newton.specifier == SpecifierSet(supported)


SMOKE = r"""
import importlib.metadata, json, sys
from pathlib import Path
import newton
from isaac.rl.workbench.frontends.cli import main

physics = ("newton", "warp-lang", "mujoco", "mujoco-warp")
print("versions", json.dumps({name: importlib.metadata.version(name) for name in physics}))
print("newton.__version__", newton.__version__, flush=True)
runs, cartpole, contact_spec = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
commands = {
    "train cartpole": ["train", cartpole, "--device", "cpu", "--max-iterations", "2", "--num-envs", "16",
                       "--eval-episodes", "2", "--run-dir", str(runs / "cartpole")],
    "train ant": ["train", "ant", "--device", "cpu", "--max-iterations", "2", "--num-envs", "16",
                  "--eval-episodes", "2", "--run-dir", str(runs / "ant")],
    "play": ["play", str(runs / "cartpole"), "--episodes", "2"],
    "export": ["export", str(runs / "cartpole")],
    "train with contacts": ["train", contact_spec, "--device", "cpu", "--max-iterations", "1",
                            "--run-dir", str(runs / "contacts")],
}
for name, argv in commands.items():
    print("exit", name, "=", main(argv), flush=True)
"""


@pytest.mark.slow
def test_train_play_and_export_run_on_isaac_sims_newton(tmp_path, write_spec):
    """Cart-pole and ant train 2 iterations on the CPU, play and export (ONNX parity) in .venv-isaacsim-pins, on
    Newton 1.6.1; a task that reads contact forces is refused in one line naming the Newton release it needs."""
    if not PINS_PYTHON.exists():
        _skip_or_fail(f"{PINS_VENV} is missing: run bash scripts/setup_isaacsim_pins.sh")
    contact_metric = '[metrics.pole_touches]\nfunc = "illegal_contact"\nparams = { bodies = ["pole"] }\n'
    contact_spec = write_spec(append=contact_metric)
    done = subprocess.run(
        [str(PINS_PYTHON), "-c", SMOKE, str(tmp_path / "runs"), str(REPO / "tasks" / "cartpole.toml"), contact_spec],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "newton.__version__ 1.6.1" in done.stdout.splitlines()
    exits = dict(line[5:].split(" = ") for line in done.stdout.splitlines() if line.startswith("exit "))
    assert exits == {"train cartpole": "0", "train ant": "0", "play": "0", "export": "0", "train with contacts": "2"}
    runs = tmp_path / "runs"
    for task in ("cartpole", "ant"):
        assert {"spec.toml", "metrics.jsonl", "checkpoints", "curves.png"} <= {p.name for p in (runs / task).iterdir()}
        assert len((runs / task / "metrics.jsonl").read_text().splitlines()) == 2
    parity = json.loads((runs / "cartpole" / "export" / "parity.json").read_text())
    assert parity["max_abs_diff_onnx"] <= parity["atol"]
    assert (runs / "cartpole" / "export" / "policy.onnx").stat().st_size > 0
    refusal = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(refusal) == 1 and "contact sensing on the CPU" in refusal[0] and "Newton >= 1.8.0" in refusal[0], refusal
    assert "key 'metrics." in refusal[0] and "raised" not in refusal[0], "the key, and the physics' reason as it is"
    assert not (runs / "contacts").exists(), "a refused run writes nothing"
