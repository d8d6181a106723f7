"""Write the project's USD assets: ``python scripts/make_assets.py [--out assets/usd] [--robots] [--gym]``.

Without ``--robots`` or ``--gym`` it writes the robots authored in code (cart-pole, ant). With ``--robots`` it
converts the real robots of the worked examples (Unitree Go2, Franka Panda, SO-101, Unitree G1) from
``example-robot-data`` into ``<out>/robots/<name>/<name>.usda`` with the URDF converter in ``.venv-convert`` (both
made by ``scripts/setup.sh``). With ``--gym`` it converts Gymnasium's MuJoCo robots (the reference suite
``tasks/gym/``) from the XMLs shipped in the installed ``gymnasium`` wheel into ``<out>/gym/<name>/<name>.usda``
with the MJCF converter. A robot whose USD is already there is kept, so running set-up again is fast. The converted
robots are build output, not committed (``.gitignore``).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

from isaac.rl.workbench.assets import write_all
from isaac.rl.workbench.scene.import_robot import EXAMPLE_ROBOTS, RobotImportError, convert_robot, example_robot
from isaac.rl.workbench.scene.inspect import inspect_scene

REPO_ROOT = Path(__file__).resolve().parents[1]


GYM_ROBOTS = {  # name in tasks/gym -> the XML Gymnasium's v5 task loads (Walker2d-v5: both feet with friction 1.9)
    "ant": "ant.xml",
    "half_cheetah": "half_cheetah.xml",
    "hopper": "hopper.xml",
    "walker2d": "walker2d_v5.xml",
    "humanoid": "humanoid.xml",
    "reacher": "reacher.xml",
    "inverted_pendulum": "inverted_pendulum.xml",
}


def robot_usd(out: Path, name: str, folder: str = "robots") -> Path:
    """The main USD file of robot ``name`` under ``out/folder`` (the tasks name this path)."""
    return out / folder / name / f"{name}.usda"


def gymnasium_xml(name: str) -> Path:
    """The MJCF of Gymnasium robot ``name`` (a key of :data:`GYM_ROBOTS`) where the ``gymnasium`` wheel installed it.

    Raises:
        RobotImportError: gymnasium is not installed, or its wheel lacks the file.
    """
    spec = importlib.util.find_spec("gymnasium")
    if spec is None or not spec.submodule_search_locations:
        raise RobotImportError("gymnasium is not installed: pip install -e '.[test]' (scripts/setup.sh does)")
    xml = Path(spec.submodule_search_locations[0]) / "envs" / "mujoco" / "assets" / GYM_ROBOTS[name]
    if not xml.is_file():
        raise RobotImportError(f"{xml}: not in the installed gymnasium; expected Gymnasium 1.x's MuJoCo assets")
    return xml


def convert_robots(
    out: Path, sources: dict[str, Path] | None = None, folder: str = "robots"
) -> list[tuple[Path, bool]]:
    """Convert each robot whose USD is not yet under ``out/folder``; returns (main USD, converted now).

    Args:
        sources: robot name -> its URDF or MJCF; default the example robots from example-robot-data.
        folder: the folder under ``out`` that gets one folder per robot.

    The converter names its main file after the robot in the file (``so101_new_calib.usda``); nothing in its
    output refers to that file, so it is renamed to ``<name>.usda``. Each robot is converted into a temporary folder
    beside its own and moved into place only when converted and renamed, so an interrupted run leaves no half robot.

    Raises:
        RobotImportError: the converter or example-robot-data is missing, a conversion failed, or a robot's folder
            holds files but not its USD.
    """
    names = list(sources) if sources is not None else list(EXAMPLE_ROBOTS)
    todo = [name for name in names if not robot_usd(out, name, folder).is_file()]
    if sources is None:  # fails before converting anything when set-up is missing
        sources = {name: example_robot(name) for name in todo}
    done = []
    for name in names:
        usd = robot_usd(out, name, folder)
        if name not in todo:
            done.append((usd, False))
            continue
        if usd.parent.exists() and any(usd.parent.iterdir()):
            raise RobotImportError(f"{usd.parent}: holds files but no {usd.name}; delete the folder and run again")
        usd.parent.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=usd.parent.parent))
        try:
            converted = convert_robot(sources[name], staging / "robot").usd
            converted.rename(converted.parent / usd.name)
            inspect_scene(converted.parent / usd.name).find(None)  # the renamed robot still loads, articulation and all
            if usd.parent.exists():
                usd.parent.rmdir()
            (staging / "robot").rename(usd.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        done.append((usd, True))
    return done


def main(argv: list[str] | None = None) -> int:
    """Write the assets into ``--out`` and print one line per file; exit 2 with one line when a robot fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "assets" / "usd", help="output folder")
    parser.add_argument(
        "--robots",
        action="store_true",
        help=f"convert the example robots ({', '.join(EXAMPLE_ROBOTS)}) into <out>/robots instead",
    )
    parser.add_argument(
        "--gym",
        action="store_true",
        help=f"convert Gymnasium's MuJoCo robots ({', '.join(GYM_ROBOTS)}) into <out>/gym instead",
    )
    args = parser.parse_args(argv)
    if not args.robots and not args.gym:
        for path in write_all(args.out):
            print(f"wrote {path} ({path.stat().st_size} bytes)")
        return 0
    done = []
    for flag, wanted in (("--robots", args.robots), ("--gym", args.gym)):
        if not wanted:
            continue
        try:
            if flag == "--robots":
                done += convert_robots(args.out)
            else:
                done += convert_robots(args.out, {name: gymnasium_xml(name) for name in GYM_ROBOTS}, "gym")
        except RobotImportError as exc:
            print(f"make_assets.py {flag}: {exc}", file=sys.stderr)
            return 2
    for usd, converted in done:
        print(f"{'converted' if converted else 'kept'} {usd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
