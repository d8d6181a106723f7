"""URDF and MJCF to USD with the Newton project's converters (``urdf-usd-converter``, ``mujoco-usd-converter``),
run in their own environment.

The converters depend on ``usd-exchange``, whose bundled OpenUSD crashes the interpreter when ``usd-core`` (which
the workbench and Newton use) is installed beside it, and ``mujoco-usd-converter`` wants an older ``mujoco`` than
Newton. So they live in a venv of their own (``.venv-convert``, made by ``scripts/setup.sh``) and run as a
subprocess; their output is plain USD that ``usd-core`` reads. The result is written to a temporary folder and moved
into place only when the conversion succeeded, with every mesh found and an articulation to train.

Every file the description names (meshes, textures, MJCF includes) must lie inside the robot's folder (the
description's folder, or the package folder above a ROS ``urdf/`` folder) or, for ``package://`` paths, inside
its package: a description cannot pull other files of the machine into the output.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from pxr import Usd

from .inspect import ArticulationInfo, SceneError, inspect_scene

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
    description = _read_description(source)
    _check_files(source, description)
    if out_dir.exists() and not out_dir.is_dir():
        raise RobotImportError(f"{out_dir}: is a file; -o expects a folder (new, or empty)")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RobotImportError(f"{out_dir}: already holds files; choose another -o folder")
    converter = find_converter(description.tag)
    made = _make_folder(out_dir.parent)
    staging = out_dir.parent / f".{out_dir.name}.importing"
    shutil.rmtree(staging, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PXR_PLUGINPATH_NAME")}
    moved = False
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
        try:
            inspect_scene(main[0])
        except SceneError as exc:
            reason = str(exc).removeprefix(f"{main[0]}: ")
            raise RobotImportError(f"{source}: converted, but not a robot to train: {reason}") from None
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
        moved = True
        return out_dir / main[0].name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not moved and made is not None:
            _remove_empty_folders(out_dir.parent, made)


import_urdf = import_robot  # the name from before MJCF import; it converts both


def _make_folder(folder: Path) -> Path | None:
    """Create ``folder`` with its parents; returns the topmost folder created (None when it existed).

    Raises:
        RobotImportError: a file stands where a folder is needed, or the folder cannot be created.
    """
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise RobotImportError(f"{existing}: is a file; -o expects a folder (new, or empty)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RobotImportError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    return missing[-1] if missing else None


def _remove_empty_folders(folder: Path, top: Path) -> None:
    """Remove ``folder`` and its parents up to ``top``, each only while empty (what :func:`_make_folder` made)."""
    for path in (folder, *folder.parents):
        try:
            path.rmdir()
        except OSError:
            return
        if path == top:
            return


def _read_description(source: Path) -> ElementTree.Element:
    """The root element of ``source``: ``<robot>`` (URDF) or ``<mujoco>`` (MJCF), which it must be."""
    if not source.exists():
        raise RobotImportError(f"{source}: no such file")
    if not source.is_file():
        raise RobotImportError(f"{source}: is a directory, not a URDF or MJCF file")
    try:
        root = ElementTree.parse(source).getroot()
    except (ElementTree.ParseError, RecursionError) as exc:
        kind = "an MJCF or URDF" if source.suffix.lower() == ".xml" else "a URDF"
        raise RobotImportError(f"{source}: not {kind} (not XML: {exc})") from None
    if root.tag not in CONVERTERS:
        raise RobotImportError(
            f"{source}: not a URDF: expected a <robot> root element, found <{root.tag}> (or <mujoco> for MJCF)"
        )
    if root.tag == "mujoco" and source.suffix.lower() != ".xml":
        raise RobotImportError(f"{source}: an MJCF file must end in .xml for mujoco-usd-converter; rename it")
    return root


_EXPECTED_FILE = (
    "expected a file inside the robot's folder {folder}, or a package://<package>/<path> that resolves inside the "
    "package"
)


def _robot_folder(source: Path) -> Path:
    """The folder whose files a robot description may name: the description's folder, or its parent when that
    folder is a ROS package's ``urdf/`` (meshes in ``<package>/meshes``, named ``../meshes/...``)."""
    folder = source.resolve().parent  # where the converter, given the resolved file, resolves relative paths from
    return folder.parent if folder.name == "urdf" else folder


def _check_files(source: Path, description: ElementTree.Element) -> None:
    """Every file that the URDF or MJCF ``description`` (read from ``source``) names lies inside
    :func:`_robot_folder` or, for a ``package://`` path, inside its package. Paths are compared as written
    (``..`` resolved, symbolic links not followed).

    Raises:
        RobotImportError: naming the file as written, the link (or material, or MJCF element) that names it, and
            what was expected.
    """
    folder = _robot_folder(source)
    named = _urdf_files(description) if description.tag == "robot" else _mjcf_files(description)
    for owner, kind, filename, base in named:
        problem = _outside(filename, source.resolve().parent / base, folder)
        if problem:
            expected = _EXPECTED_FILE.format(folder=folder)
            raise RobotImportError(f"{source}: {owner}: {kind} '{filename}' {problem}; {expected}")


def _urdf_files(robot: ElementTree.Element) -> list[tuple[str, str, str, str]]:
    """(owner, kind, filename, base folder relative to the URDF's) of every mesh and texture of a URDF."""
    out = []
    for link in robot.iter("link"):
        for mesh in link.iterfind("./*/geometry/mesh"):
            out.append((f"link '{link.get('name')}'", "mesh", mesh.get("filename", ""), "."))
    for material in robot.iter("material"):
        for texture in material.iterfind("texture"):
            out.append((f"material '{material.get('name')}'", "texture", texture.get("filename", ""), "."))
    return out


def _mjcf_files(mujoco: ElementTree.Element) -> list[tuple[str, str, str, str]]:
    """(owner, kind, file, base folder relative to the MJCF's) of every file an MJCF names: meshes and skins
    (under ``meshdir``), textures and height fields (under ``texturedir``), includes and models (the MJCF's
    folder); ``assetdir`` sets both folders, as in MuJoCo."""
    compiler = {k: v for element in mujoco.iter("compiler") for k, v in element.attrib.items()}
    asset_dir = compiler.get("assetdir", ".")
    folders = {
        "mesh": compiler.get("meshdir", asset_dir),
        "skin": compiler.get("meshdir", asset_dir),
        "texture": compiler.get("texturedir", asset_dir),
        "hfield": compiler.get("texturedir", asset_dir),
    }
    out = []
    for element in mujoco.iter():
        if "file" in element.attrib and element.tag != "compiler":
            owner = f"<{element.tag}{' name=' + repr(element.get('name')) if element.get('name') else ''}>"
            out.append((owner, "file", element.get("file", ""), folders.get(element.tag, ".")))
    return out


def _outside(filename: str, base: Path, folder: Path) -> str | None:
    """Why ``filename``, resolved from ``base`` as the converters do, is not a file the robot may name (see
    :func:`_check_files`); None where it is one. A ``package://<package>/<path>`` resolves, as urdf-usd-converter
    does, in the first of ``base`` and its parents that holds ``<path>``: that folder is the package."""
    if filename.startswith("package://"):
        inner = filename.removeprefix("package://").partition("/")[2]
        inner = posixpath.normpath(inner) if inner else ""
        if inner in ("", ".", "..") or inner.startswith(("/", "../")):
            return "does not name a file inside its package"
        package = next((p for p in (base, *base.parents) if (p / inner).exists()), None)
        if package is None or _inside(package / inner, folder) or (package / "package.xml").is_file():
            return None  # not found: the converter reports the missing file
        return f"resolves to {package / inner}, which is outside the robot's folder and not in a ROS package"
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", filename)
    if scheme and scheme[1] != "file":
        return f"uses {scheme[1]}://, which the converters do not read"
    path = "/" + filename.removeprefix("file:///") if filename.startswith("file:///") else filename
    path = path.removeprefix("file://")
    if not path:
        return "names no file"
    return None if _inside(base / path, folder) else "is outside the robot's folder"


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies under it, compared as written: ``..`` resolved, symbolic links not followed."""
    return Path(os.path.normpath(path)).is_relative_to(os.path.normpath(folder))


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
