"""URDF to USD with the Newton project's ``urdf-usd-converter``, run in its own environment.

The converter depends on ``usd-exchange``, whose bundled OpenUSD crashes the interpreter when ``usd-core`` (which
the workbench and Newton use) is installed beside it. So it lives in a venv of its own (``.venv-convert``, made by
``scripts/setup.sh``) and runs as a subprocess; its output is plain USD that ``usd-core`` reads. The result is
written to a temporary folder and moved into place only when the conversion succeeded, with every mesh found.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .inspect import inspect_scene

CONVERTER_ENV_VAR = "ISAAC_RL_WORKBENCH_URDF_CONVERTER"
_REPO = Path(__file__).resolve().parents[6]  # <checkout>/exts/isaac.rl.workbench/isaac/rl/workbench/scene/x.py
CONVERTER_VENV = _REPO / ".venv-convert"
EXAMPLE_ROBOTS = {  # name -> URDF inside example-robot-data's robots/ folder
    "go2": "go2_description/urdf/go2.urdf",
    "panda": "panda_description/urdf/panda.urdf",
    "so101": "so_arm_description/urdf/so101.urdf",
}


class RobotImportError(ValueError):
    """A robot description that cannot be imported; the message names the file and what was expected."""


def find_converter() -> Path:
    """The ``urdf_usd_converter`` command: ``$ISAAC_RL_WORKBENCH_URDF_CONVERTER``, then ``.venv-convert``, then
    the PATH."""
    candidates = [os.environ.get(CONVERTER_ENV_VAR), CONVERTER_VENV / "bin" / "urdf_usd_converter"]
    candidates.append(shutil.which("urdf_usd_converter"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RobotImportError(
        "urdf-usd-converter not found: run bash scripts/setup.sh (it makes .venv-convert), or point "
        f"{CONVERTER_ENV_VAR} to a urdf_usd_converter installed in an environment without usd-core"
    )


def example_robot(name: str) -> Path:
    """The URDF of ``name`` (go2, panda, so101) in the ``example-robot-data`` that set-up installs."""
    if name not in EXAMPLE_ROBOTS:
        raise RobotImportError(f"'{name}': not an example robot; known: {', '.join(EXAMPLE_ROBOTS)}")
    found = sorted(CONVERTER_VENV.glob("lib/python*/site-packages/cmeel.prefix/share/example-robot-data/robots"))
    if not found:
        raise RobotImportError(f"example-robot-data is not installed in {CONVERTER_VENV}: run bash scripts/setup.sh")
    return found[0] / EXAMPLE_ROBOTS[name]


def import_urdf(urdf: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Convert ``urdf`` into a USD robot in ``out_dir`` (created; it must not hold files yet) and return the main
    USD file. Meshes are converted into the output, so it does not depend on the URDF's files afterwards.

    Raises:
        RobotImportError: a missing file, a file that is not a URDF, a mesh the URDF names that cannot be read, a
            conversion failure, or an ``out_dir`` that holds files; nothing is written then.
    """
    urdf, out_dir = Path(urdf), Path(out_dir)
    _check_urdf(urdf)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RobotImportError(f"{out_dir}: already holds files; choose another -o folder")
    converter = find_converter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.importing"
    shutil.rmtree(staging, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PXR_PLUGINPATH_NAME")}
    try:
        done = subprocess.run(
            [str(converter), str(urdf.resolve()), str(staging)], capture_output=True, text=True, env=env, timeout=600
        )
        output = done.stdout + done.stderr
        failed = re.search(r"Conversion failed: (.*)", output)
        if done.returncode != 0 or failed:
            reason = failed.group(1).strip() if failed else (output.strip().splitlines() or ["no output"])[-1]
            raise RobotImportError(f"{urdf}: conversion failed: {reason}")
        missing = re.search(r"Failed to convert mesh: ([^:]+): (.*)", output)
        if missing:
            raise RobotImportError(
                f"{urdf}: mesh {missing.group(1).strip()} cannot be read: "
                + ("no such file" if "No such file" in missing.group(2) else missing.group(2).strip())
            )
        main = sorted(staging.glob("*.usd*"))
        if len(main) != 1:
            raise RobotImportError(f"{urdf}: the converter wrote {len(main)} top-level USD files; expected one")
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
        return out_dir / main[0].name
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_urdf(urdf: Path) -> None:
    if not urdf.exists():
        raise RobotImportError(f"{urdf}: no such file")
    if not urdf.is_file():
        raise RobotImportError(f"{urdf}: is a directory, not a URDF file")
    try:
        root = ElementTree.parse(urdf).getroot()
    except ElementTree.ParseError as exc:
        raise RobotImportError(f"{urdf}: not a URDF (not XML: {exc})") from None
    if root.tag == "mujoco":
        raise RobotImportError(f"{urdf}: an MJCF file; MJCF import is not supported yet (convert it to URDF or USD)")
    if root.tag != "robot":
        raise RobotImportError(f"{urdf}: not a URDF: expected a <robot> root element, found <{root.tag}>")


def spec_fragment(usd_file: Path, spec_folder: Path, floating_base: bool) -> str:
    """A starting spec for the imported robot: scene, articulation, ``[robot]`` (base, joint positions mid-range:
    URDF's zero pose can lie outside the limits) and one ``[actuators]`` group with gains to tune."""
    art = inspect_scene(usd_file).find(None)
    joints = [j for j in art.joints if j.num_dofs == 1]
    positions = []
    for joint in joints:
        if math.isfinite(joint.lower) and math.isfinite(joint.upper) and not joint.lower <= 0.0 <= joint.upper:
            positions.append(f'"{joint.name}" = {round((joint.lower + joint.upper) / 2, 4)}')
    scene = os.path.relpath(usd_file.resolve(), spec_folder.resolve())
    lines = [
        f'scene = "{scene}"',
        f'articulation = "{art.root_path}"',
        "",
        "[robot]",
        f'base = "{"floating" if floating_base else "fixed"}"',
    ]
    if positions:
        lines.append("joint_pos = { " + ", ".join(positions) + " }  # mid-range where 0 is outside the limits")
    lines += [
        "",
        "[actuators.all]  # the converter authors no drives: tune these gains per robot (doctor checks them)",
        'joints = [".*"]',
        "stiffness = 20.0  # N·m/rad",
        "damping = 0.5  # N·m·s/rad",
    ]
    return "\n".join(lines)
