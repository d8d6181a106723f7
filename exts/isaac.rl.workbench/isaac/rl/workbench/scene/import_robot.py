"""URDF and MJCF to USD with the Newton project's converters (``urdf-usd-converter``, ``mujoco-usd-converter``),
run in their own environment.

The converters depend on ``usd-exchange``, whose bundled OpenUSD crashes the interpreter when ``usd-core`` (which
the workbench and Newton use) is installed beside it, and ``mujoco-usd-converter`` wants an older ``mujoco`` than
Newton. So they live in a venv of their own (``.venv-convert``, made by ``scripts/setup.sh``) and run as a
subprocess; their output is plain USD that ``usd-core`` reads. The result is written to a temporary folder and moved
into place only when the conversion succeeded, with every mesh found.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from pxr import Usd

from .inspect import ArticulationInfo, inspect_scene

CONVERTERS = {  # root element (URDF, MJCF) -> (PyPI package, console script, env var that names another script)
    "robot": ("urdf-usd-converter", "urdf_usd_converter", "ISAAC_RL_WORKBENCH_URDF_CONVERTER"),
    "mujoco": ("mujoco-usd-converter", "mujoco_usd_converter", "ISAAC_RL_WORKBENCH_MJCF_CONVERTER"),
}
_REPO = Path(__file__).resolve().parents[6]  # <checkout>/exts/isaac.rl.workbench/isaac/rl/workbench/scene/x.py
CONVERTER_VENV = _REPO / ".venv-convert"
EXAMPLE_ROBOTS = {  # name -> URDF inside example-robot-data's robots/ folder
    "go2": "go2_description/urdf/go2.urdf",
    "panda": "panda_description/urdf/panda.urdf",
    "so101": "so_arm_description/urdf/so101.urdf",
}
_MESH_ERRORS = (  # a mesh the converter cannot read, in its output: the file, and why (None: as the output says)
    (re.compile(r"Failed to convert mesh: (?P<file>[^:]+): (?P<why>.*)"), None),  # urdf-usd-converter
    (re.compile(r"Mesh \S* file (?P<file>.+?) does not exist"), "no such file"),  # mujoco-usd-converter
    (re.compile(r"Mesh \S* from file (?P<file>.+?) has unsupported content_type"), "not STL or OBJ, which it reads"),
)


class RobotImportError(ValueError):
    """A robot description that cannot be imported; the message names the file and what was expected."""


def find_converter(root: str = "robot") -> Path:
    """The converter command for a description with root element ``root`` (``robot``: URDF, ``mujoco``: MJCF): its
    environment variable (``$ISAAC_RL_WORKBENCH_URDF_CONVERTER``, ``$ISAAC_RL_WORKBENCH_MJCF_CONVERTER``), then
    ``.venv-convert``, then the PATH."""
    package, script, env_var = CONVERTERS[root]
    candidates = [os.environ.get(env_var), CONVERTER_VENV / "bin" / script, shutil.which(script)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RobotImportError(
        f"{package} not found: run bash scripts/setup.sh (it makes .venv-convert), or point "
        f"{env_var} to a {script} installed in an environment without usd-core"
    )


def example_robot(name: str) -> Path:
    """The URDF of ``name`` (go2, panda, so101) in the ``example-robot-data`` that set-up installs."""
    if name not in EXAMPLE_ROBOTS:
        raise RobotImportError(f"'{name}': not an example robot; known: {', '.join(EXAMPLE_ROBOTS)}")
    found = sorted(CONVERTER_VENV.glob("lib/python*/site-packages/cmeel.prefix/share/example-robot-data/robots"))
    if not found:
        raise RobotImportError(f"example-robot-data is not installed in {CONVERTER_VENV}: run bash scripts/setup.sh")
    return found[0] / EXAMPLE_ROBOTS[name]


def import_robot(source: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Convert ``source``, a URDF (``<robot>`` root) or an MJCF file (``<mujoco>`` root, ``.xml``), into a USD
    robot in ``out_dir`` (created; it must not hold files yet) and return the main USD file. Meshes are converted
    into the output, so it does not depend on the source's files afterwards.

    Raises:
        RobotImportError: a missing file, a file that is neither URDF nor MJCF, a mesh it names that cannot be
            read, a conversion failure, or an ``out_dir`` that holds files; nothing is written then.
    """
    source, out_dir = Path(source), Path(out_dir)
    root = _root_element(source)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RobotImportError(f"{out_dir}: already holds files; choose another -o folder")
    converter = find_converter(root)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.importing"
    shutil.rmtree(staging, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PXR_PLUGINPATH_NAME")}
    try:
        done = subprocess.run(
            [str(converter), str(source.resolve()), str(staging)], capture_output=True, text=True, env=env, timeout=600
        )
        output = done.stdout + done.stderr
        for pattern, why in _MESH_ERRORS:
            if found := pattern.search(output):
                mesh = Path(found["file"].strip())
                if mesh.is_absolute() and mesh.is_relative_to(source.resolve().parent):
                    mesh = mesh.relative_to(source.resolve().parent)
                why = why or ("no such file" if "No such file" in found["why"] else found["why"].strip())
                raise RobotImportError(f"{source}: mesh {mesh} cannot be read: {why}")
        failed = re.search(r"Conversion failed: (.*?)(?=\n\[|\Z)", output, re.DOTALL)
        if done.returncode != 0 or failed:
            reason = failed.group(1) if failed else (output.strip().splitlines() or ["no output"])[-1]
            reason = re.sub(r"^.*Python runtime error: '?(.*?)'?$", r"\1", reason.strip(), flags=re.DOTALL)
            reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
            raise RobotImportError(f"{source}: conversion failed: {reason}")
        main = sorted(staging.glob("*.usd*"))
        if len(main) != 1:
            raise RobotImportError(f"{source}: the converter wrote {len(main)} top-level USD files; expected one")
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
        return out_dir / main[0].name
    finally:
        shutil.rmtree(staging, ignore_errors=True)


import_urdf = import_robot  # the name from before MJCF import; it converts both


def _root_element(source: Path) -> str:
    """``robot`` (URDF) or ``mujoco`` (MJCF): the root element of ``source``, which must be one of them."""
    if not source.exists():
        raise RobotImportError(f"{source}: no such file")
    if not source.is_file():
        raise RobotImportError(f"{source}: is a directory, not a URDF or MJCF file")
    try:
        root = ElementTree.parse(source).getroot()
    except ElementTree.ParseError as exc:
        kind = "an MJCF or URDF" if source.suffix.lower() == ".xml" else "a URDF"
        raise RobotImportError(f"{source}: not {kind} (not XML: {exc})") from None
    if root.tag not in CONVERTERS:
        raise RobotImportError(
            f"{source}: not a URDF: expected a <robot> root element, found <{root.tag}> (or <mujoco> for MJCF)"
        )
    if root.tag == "mujoco" and source.suffix.lower() != ".xml":
        raise RobotImportError(f"{source}: an MJCF file must end in .xml for mujoco-usd-converter; rename it")
    return root.tag


def spec_fragment(usd_file: Path, spec_folder: Path, floating_base: bool | None = None) -> str:
    """A starting spec for the imported robot: scene, articulation, ``[robot]`` (base as ``floating_base`` says, or
    as the scene has it when None; joint positions mid-range: the zero pose can lie outside the limits) and
    ``[actuators]``: the MJCF's position actuators' gains where it has them, else one group with gains to tune."""
    art = inspect_scene(usd_file).find(None)
    joints = [j for j in art.joints if j.num_dofs == 1]
    positions = []
    for joint in joints:
        if math.isfinite(joint.lower) and math.isfinite(joint.upper) and not joint.lower <= 0.0 <= joint.upper:
            positions.append(f'"{joint.name}" = {round((joint.lower + joint.upper) / 2, 4)}')
    scene = os.path.relpath(usd_file.resolve(), spec_folder.resolve())
    floating = not art.fixed_base if floating_base is None else floating_base
    lines = [
        f'scene = "{scene}"',
        f'articulation = "{art.root_path}"',
        "",
        "[robot]",
        f'base = "{"floating" if floating else "fixed"}"',
    ]
    if positions:
        lines.append("joint_pos = { " + ", ".join(positions) + " }  # mid-range where 0 is outside the limits")
    groups: dict[tuple[float, float], list[str]] = {}
    for name, gains in position_actuator_gains(usd_file, art).items():
        groups.setdefault(gains, []).append(name)
    for (stiffness, damping), names in groups.items():
        key = names[0] if re.fullmatch(r"[A-Za-z0-9_-]+", names[0]) else f'"{names[0]}"'
        lines += ["", f"[actuators.{key}]  # the MJCF's position actuators: kp, kv"]
        lines += ["joints = [" + ", ".join(f'"{n}"' for n in names) + "]"]
        slide = any(j.type == "prismatic" for j in joints if j.name in names)
        units = ("N/m", "N·s/m") if slide else ("N·m/rad", "N·m·s/rad")
        lines += [f"stiffness = {stiffness!r}  # {units[0]}", f"damping = {damping!r}  # {units[1]}"]
    rest = [j.name for j in joints if not any(j.name in names for names in groups.values())]
    if rest:
        lines += [
            "",
            f"[actuators.{'rest' if groups else 'all'}]  # the converter authors no drives: tune these gains per robot"
            " (doctor checks them)",
            ("joints = [" + ", ".join(f'"{n}"' for n in rest) + "]") if groups else 'joints = [".*"]',
            "stiffness = 20.0  # N·m/rad",
            "damping = 0.5  # N·m·s/rad",
        ]
    return "\n".join(lines)


def position_actuator_gains(usd_file: Path, art: ArticulationInfo) -> dict[str, tuple[float, float]]:
    """Joint name -> (kp [N·m/rad or N/m], kv [N·m·s/rad or N·s/m]) of the MJCF position actuators (``<position>``,
    or ``<general>`` of that shape: force = kp·(ctrl - q) - kv·q̇) that mujoco-usd-converter authors as
    ``MjcActuator`` prims on 1-DOF joints of ``art``. Newton's loader in the workbench reads no ``MjcActuator``, so
    the spec carries these. Motors and other kinds are left out; a URDF's robot has none."""
    names = {j.path: j.name for j in art.joints if j.num_dofs == 1}
    gains = {}
    stage = Usd.Stage.Open(str(usd_file))
    for prim in stage.Traverse():
        targets = prim.GetRelationship("mjc:target").GetTargets() if prim.GetTypeName() == "MjcActuator" else []
        if len(targets) != 1 or str(targets[0]) not in names:
            continue
        gain, bias = _mjc(prim, "gainPrm", [1.0]), _mjc(prim, "biasPrm", []) + [0.0] * 3
        kinds = [_mjc(prim, key, default) for key, default in (("gainType", "fixed"), ("biasType", "none"))]
        kinds += [_mjc(prim, "dynType", "none"), _mjc(prim, "gear", [1.0])[0]]
        if kinds == ["fixed", "affine", "none", 1.0] and bias[0] == 0.0 and bias[1] == -gain[0] and bias[2] <= 0.0:
            gains[names[str(targets[0])]] = (float(gain[0]), max(0.0, -float(bias[2])))
    return gains


def _mjc(prim: Usd.Prim, name: str, default):
    """The ``mjc:<name>`` attribute of ``prim`` (a list for an array), or ``default`` where it is not authored."""
    value = prim.GetAttribute(f"mjc:{name}").Get()
    if value is None:
        return default
    return value if isinstance(value, str) or not hasattr(value, "__len__") else list(value)
