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

import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from . import start_pose
from .inspect import ArticulationInfo, SceneError, inspect_scene
from .joint_loads import joint_loads
from .mjcf_actuators import mjcf_actuators
from .mjcf_rewrite import rewrite_mjcf, scale_masses
from .suggested_gains import actuator_tables

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
    "g1": "g1_description/urdf/g1_29dof_rev_1_0.urdf",
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


@dataclass(frozen=True)
class ImportedRobot:
    """What :func:`convert_robot` made: the main USD file, the converter's warnings and what the MJCF rewrite
    changed (one line each, for the user)."""

    usd: Path
    warnings: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    created: Path | None = None  # the topmost folder the import created (the output or a parent), None: none

    def remove(self) -> None:
        """Undo the import: the output folder's files, and the folders it created (an output folder that
        existed, empty, stays)."""
        out_dir = self.usd.parent
        shutil.rmtree(out_dir, ignore_errors=True)
        if self.created is None:
            out_dir.mkdir(exist_ok=True)
        elif self.created != out_dir:
            _remove_empty_folders(out_dir.parent, self.created)


def import_robot(source: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Convert ``source``, a URDF (``<robot>`` root) or an MJCF file (``<mujoco>`` root, ``.xml``), into a USD
    robot in ``out_dir`` (created; it must not hold files yet) and return the main USD file. Meshes are converted
    into the output, so it does not depend on the source's files afterwards. :func:`convert_robot` also tells the
    converter's warnings.

    Raises:
        RobotImportError: a missing file, a file that is neither URDF nor MJCF, a mesh it names that cannot be
            read, a conversion failure, a result that is not one articulation to train, or an ``out_dir`` that
            holds files; nothing is written then.
    """
    return convert_robot(source, out_dir).usd


def convert_robot(source: str | os.PathLike, out_dir: str | os.PathLike) -> ImportedRobot:
    """:func:`import_robot`, telling the converter's warnings and the MJCF rewrite's changes
    (:mod:`.mjcf_rewrite`: a body's several joints split into a chain, joints to the world put under a fixed
    base). Raises as :func:`import_robot`."""
    source, out_dir = Path(source), Path(out_dir)
    description = _read_description(source)
    _check_files(source, description)
    if out_dir.exists() and not out_dir.is_dir():
        raise RobotImportError(f"{out_dir}: is a file; -o expects a folder (new, or empty)")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RobotImportError(f"{out_dir}: already holds files; choose another -o folder")
    converter = find_converter(description.tag)
    made = _make_folder(out_dir.parent)
    created = made or (None if out_dir.exists() else out_dir)
    staging = out_dir.parent / f".{out_dir.name}.importing"
    shutil.rmtree(staging, ignore_errors=True)
    moved = False
    try:
        with tempfile.TemporaryDirectory(prefix="isaac-rl-workbench-mjcf-") as rewritten:
            converted, changes, mass_scale = source.resolve(), (), 1.0
            if description.tag == "mujoco":
                copy = Path(rewritten) / source.name
                try:
                    rewrite = rewrite_mjcf(source, copy)
                except (OSError, ElementTree.ParseError) as exc:
                    raise RobotImportError(f"{source}: an included file cannot be read: {exc}") from None
                except ValueError as exc:  # MuJoCo cannot compile it to weigh it for settotalmass
                    raise RobotImportError(f"{source}: MuJoCo cannot compile it: {exc}") from None
                changes, mass_scale = tuple(rewrite.changes), rewrite.mass_scale
                converted = copy if changes else converted
            output = _convert(converter, source, converted, staging)
            if converted != source.resolve() and _failure(output):  # the file as written tells its own lines
                _raise_for_failure(
                    source, _convert(converter, source, source.resolve(), converted.parent / "as-written")
                )
        _raise_for_failure(source, output)
        main = sorted(staging.glob("*.usd*"))
        if len(main) != 1:
            raise RobotImportError(f"{source}: the converter wrote {len(main)} top-level USD files; expected one")
        if mass_scale != 1.0:
            scale_masses(main[0], mass_scale)
        try:
            inspect_scene(main[0]).find(None)  # one articulation, joined to the world only at its root
        except SceneError as exc:
            reason = str(exc).removeprefix(f"{main[0]}: ")
            raise RobotImportError(f"{source}: converted, but not a robot to train: {reason}") from None
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
        moved = True
        return ImportedRobot(out_dir / main[0].name, converter_warnings(output), changes, created)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not moved and made is not None:
            _remove_empty_folders(out_dir.parent, made)


def _convert(converter: Path, source: Path, description: Path, out: Path) -> str:
    """Run ``converter`` on ``description`` (``source`` or its rewritten copy) into ``out``; its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PXR_PLUGINPATH_NAME")}
    try:
        done = subprocess.run(
            [str(converter), str(description.resolve()), str(out.resolve())],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            cwd=out.resolve().parent,  # MuJoCo writes MUJOCO_LOG.TXT into the working folder: the staging one
        )
    except subprocess.TimeoutExpired:
        raise RobotImportError(f"{source}: conversion failed: the converter ran for more than 10 minutes") from None
    return done.stdout + done.stderr + ("" if done.returncode == 0 else f"\n[exit {done.returncode}]")


def _failure(output: str) -> str | None:
    """Why the conversion whose output is ``output`` failed, in one line; None when it did not."""
    failed = re.search(r"Conversion failed: (.*?)(?=\n\[|\Z)", output, re.DOTALL)
    if not failed and not re.search(r"\n\[exit \d+\]$", output):
        return None
    reason = failed.group(1) if failed else (output.strip().splitlines()[:-1] or ["no output"])[-1]
    reason = re.sub(r"^.*Python runtime error: '?(.*?)'?$", r"\1", reason.strip(), flags=re.DOTALL)
    return "; ".join(line.strip() for line in reason.splitlines() if line.strip())


def _raise_for_failure(source: Path, output: str) -> None:
    """A mesh the converter could not read, or a failed conversion, as one line naming ``source``."""
    for pattern, why in _MESH_ERRORS:
        if found := pattern.search(output):
            mesh = Path(found["file"].strip())
            if mesh.is_absolute() and mesh.is_relative_to(source.resolve().parent):
                mesh = mesh.relative_to(source.resolve().parent)
            why = why or ("no such file" if "No such file" in found["why"] else found["why"].strip())
            raise RobotImportError(f"{source}: mesh {mesh} cannot be read: {why}")
    if reason := _failure(output):
        raise RobotImportError(f"{source}: conversion failed: {reason}")


def converter_warnings(output: str) -> tuple[str, ...]:
    """The warnings in a converter's ``output``, one line each, in order, each once: its ``[Warning] [where]
    message`` lines and Python's ``UserWarning: message`` lines, without the logger or the source line."""
    found = re.findall(r"^\[Warning\] (?:\[[^\]]*\] )?(.*)$|^.*?\b\w*Warning: (.*)$", output, re.MULTILINE)
    return tuple(dict.fromkeys((a or b).strip() for a, b in found if (a or b).strip()))


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
    ``[actuators]``: the MJCF's position actuators' gains where it has them, else gains from the robot's masses
    (:mod:`.suggested_gains`)."""
    art = inspect_scene(usd_file).find(None)
    joints = [j for j in art.joints if j.num_dofs == 1]
    stance = start_pose.stance(art)
    positions = [f'"{name}" = {value}' for name, value in stance.items()]
    scene = os.path.relpath(usd_file.resolve(), spec_folder.resolve())
    floating = not art.fixed_base if floating_base is None else floating_base
    lines = [
        f'scene = "{scene}"',
        f'articulation = "{art.root_path}"',
        "",
        "[robot]",
        f'base = "{"floating" if floating else "fixed"}"',
    ]
    height = start_pose.standing_root_height(usd_file, art, stance) if floating else None
    if height is not None:
        lines.append(f"root_height = {height}  # m: the lowest collision point {start_pose.CLEARANCE * 1000:g} mm up")
    if positions:
        lines.append("joint_pos = { " + ", ".join(positions) + " }  # mid-range where 0 is outside the limits")
    lines += mjcf_actuator_tables(usd_file, art)
    carried = {name for line in lines if line.startswith("joints = [") for name in re.findall(r'"([^"]*)"', line)}
    rest = [j.name for j in joints if j.name not in carried]
    if rest and carried:  # an MJCF's joints without an actuator are passive there
        lines += ["", f"# passive in the MJCF (no actuator; leave them out of [actions] joints): {', '.join(rest)}"]
    elif rest:  # the converter authors no drives: gains from the robot's masses at the start pose
        lines += actuator_tables(joint_loads(usd_file, art, stance, floating, height))
    return "\n".join(lines)


def mjcf_actuator_tables(usd_file: Path, art: ArticulationInfo) -> list[str]:
    """Spec lines that carry the MJCF's position actuators and motors (:mod:`.mjcf_actuators`) as
    ``[actuators.<joint>]`` tables, joints of equal values in one, and the ``[actions]`` its motors ask for, as a
    comment (a spec has one action scale: where the gears differ, the largest, and the effort limits keep each
    joint within its own ``gear · ctrlrange``). Empty for a robot without them (a URDF's)."""
    actuators = [a for a in mjcf_actuators(usd_file, art) if a.kind != "other"]
    kinds = {j.name: j.type for j in art.joints}
    groups: dict[tuple[str, float, float, float], list[str]] = {}
    for actuator in actuators:
        groups.setdefault((actuator.kind, actuator.stiffness, actuator.damping, actuator.effort_limit), [])
        groups[actuator.kind, actuator.stiffness, actuator.damping, actuator.effort_limit].append(actuator.joint)
    lines = []
    for (kind, stiffness, damping, effort_limit), names in groups.items():
        units = ("N/m", "N·s/m", "N") if kinds[names[0]] == "prismatic" else ("N·m/rad", "N·m·s/rad", "N·m")
        key = names[0] if re.fullmatch(r"[A-Za-z0-9_-]+", names[0]) else f'"{names[0]}"'
        what = "position actuators: kp, kv (times gear squared)" if kind == "position" else "motors: effort only"
        lines += [
            "",
            f"[actuators.{key}]  # the MJCF's {what}",
            "joints = [" + ", ".join(f'"{n}"' for n in names) + "]",
        ]
        if kind == "position":
            lines += [f"stiffness = {stiffness!r}  # {units[0]}", f"damping = {damping!r}  # {units[1]}"]
        if effort_limit != float("inf"):
            lines += [
                f"effort_limit = {effort_limit!r}  # {units[2]}: gear times the largest |ctrlrange| or |forcerange|"
            ]
    motors = [a for a in actuators if a.kind == "motor"]
    if motors:
        gears = sorted({abs(a.gear) for a in motors})
        ctrl = max((max(map(abs, a.ctrl_range)) for a in motors if a.ctrl_range), default=None)
        joints = ", ".join(f'"{a.joint}"' for a in motors)
        lines += ["", "# [actions]  # the MJCF's motors: effort = gear x ctrl", '# type = "joint_effort"']
        if len(gears) > 1:  # one scale per joint: its gear
            scale = "{ " + ", ".join(f'"{a.joint}" = {a.gear!r}' for a in motors) + " }"
        else:
            scale = repr(gears[0])
        lines += [f"# joints = [{joints}]", f"# scale = {scale}"] + ([f"# clip = {ctrl!r}"] if ctrl else [])
    return lines
