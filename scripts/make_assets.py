"""Write the project's USD assets: ``python scripts/make_assets.py [--out assets/usd] [--robots]``.

Without ``--robots`` it writes the robots authored in code (cart-pole, ant). With ``--robots`` it converts the real
robots of the worked examples (Unitree Go2, Franka Panda, SO-101) from ``example-robot-data`` into
``<out>/robots/<name>/<name>.usda`` with the URDF converter in ``.venv-convert`` (both made by
``scripts/setup.sh``); a robot whose USD is already there is kept, so running set-up again is fast. The converted
robots are build output, not committed (``.gitignore``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from isaac.rl.workbench.assets import write_all
from isaac.rl.workbench.scene.import_robot import EXAMPLE_ROBOTS, RobotImportError, example_robot, import_urdf
from isaac.rl.workbench.scene.inspect import inspect_scene

REPO_ROOT = Path(__file__).resolve().parents[1]


def robot_usd(out: Path, name: str) -> Path:
    """The main USD file of example robot ``name`` under ``out`` (the tasks name this path)."""
    return out / "robots" / name / f"{name}.usda"


def convert_robots(out: Path) -> list[tuple[Path, bool]]:
    """Convert each example robot whose USD is not yet under ``out/robots``; returns (main USD, converted now).

    The converter names its main file after the URDF's robot (``so101_new_calib.usda``); nothing in its output
    refers to that file, so it is renamed to ``<name>.usda``. Each robot is converted into a temporary folder
    beside its own and moved into place only when converted and renamed, so an interrupted run leaves no half robot.

    Raises:
        RobotImportError: the converter or example-robot-data is missing, a conversion failed, or a robot's folder
            holds files but not its USD.
    """
    todo = [name for name in EXAMPLE_ROBOTS if not robot_usd(out, name).is_file()]
    urdfs = {name: example_robot(name) for name in todo}  # fails before converting anything when set-up is missing
    done = []
    for name in EXAMPLE_ROBOTS:
        usd = robot_usd(out, name)
        if name not in urdfs:
            done.append((usd, False))
            continue
        if usd.parent.exists() and any(usd.parent.iterdir()):
            raise RobotImportError(f"{usd.parent}: holds files but no {usd.name}; delete the folder and run again")
        usd.parent.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=usd.parent.parent))
        try:
            converted = import_urdf(urdfs[name], staging)
            converted.rename(staging / usd.name)
            inspect_scene(staging / usd.name).find(None)  # the renamed robot still loads, with its articulation
            if usd.parent.exists():
                usd.parent.rmdir()
            staging.rename(usd.parent)
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
    args = parser.parse_args(argv)
    if not args.robots:
        for path in write_all(args.out):
            print(f"wrote {path} ({path.stat().st_size} bytes)")
        return 0
    try:
        robots = convert_robots(args.out)
    except RobotImportError as exc:
        print(f"make_assets.py --robots: {exc}", file=sys.stderr)
        return 2
    for usd, converted in robots:
        print(f"{'converted' if converted else 'kept'} {usd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
