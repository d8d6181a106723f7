"""Time the CPU build (``WorkbenchEnv(spec)``) of an imported robot at several env counts.

    python scripts/time_build.py anymal --num-envs 1 4 16 [--folder /tmp/time_build] [--profile out.prof]

The robot (``anymal``: ANYmal C, ``g1``: Unitree G1 29-DOF, ``panda``, ``ur5``) is imported from
example-robot-data as a user would (``isaac-rl-workbench import URDF -o NAME``, once per folder); the spec is the
fragment ``import`` prints plus a minimal env, actions, observations and rewards table. Each build runs in this
process, one after the other; the seconds printed are wall-clock for the whole constructor, followed by the
start-up phases the backend reports. ``--profile`` writes a cProfile of the last build.
"""

from __future__ import annotations

import argparse
import cProfile
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROBOTS = {  # name -> (URDF under example-robot-data's robots/, import flags)
    "ur5": ("ur_description/urdf/ur5_robot.urdf", []),
    "panda": ("panda_description/urdf/panda.urdf", []),
    "anymal": ("anymal_c_simple_description/urdf/anymal.urdf", ["--floating-base"]),
    "g1": ("g1_description/urdf/g1_29dof_rev_1_0.urdf", ["--floating-base"]),
}


def printed_fragment(name: str, folder: Path) -> str:
    """The spec fragment ``import`` prints for robot ``name``, imported into ``folder`` (kept there for reuse)."""
    from isaac.rl.workbench.scene.import_robot import example_robot

    saved = folder / f"{name}.fragment.toml"
    if saved.exists():
        return saved.read_text()
    folder.mkdir(parents=True, exist_ok=True)
    urdf = example_robot("panda").parents[2] / ROBOTS[name][0]
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "import", str(urdf), "-o", name]
    done = subprocess.run([*command, *ROBOTS[name][1]], capture_output=True, text=True, cwd=folder, check=False)
    if done.returncode not in (0, 1):
        sys.exit(done.stdout + done.stderr)
    fragment = done.stdout.split("A spec to start from")[1].split("\n", 2)[2]
    saved.write_text(fragment)
    return fragment


def spec_for(name: str, folder: Path, num_envs: int):
    """A task spec of ``num_envs`` envs for the robot imported into ``folder``."""
    from isaac.rl.workbench.specs.loader import spec_from_table

    fragment = printed_fragment(name, folder)
    raw = tomllib.loads(fragment)
    advised = [line for line in fragment.splitlines() if line.startswith("# [env] physics_dt = ")]
    physics = {"physics_dt": float(advised[0].split("=")[1].split("#")[0])} if advised else {}
    raw |= {
        "env": {"num_envs": num_envs, "episode_seconds": 10.0, **physics},
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return spec_from_table(raw, folder / "spec.toml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("robot", choices=sorted(ROBOTS))
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/time_build"))
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last build here")
    args = parser.parse_args()

    from isaac.rl.workbench.envs import workbench_env
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    for i, num_envs in enumerate(args.num_envs):
        spec = spec_for(args.robot, args.folder, num_envs)
        phases: list[tuple[str, float]] = []  # (phase, when it ended [s, perf_counter])
        mark = workbench_env.startup_timer.mark
        workbench_env.startup_timer.mark = lambda phase, phases=phases: phases.append((phase, time.perf_counter()))
        profiler = cProfile.Profile() if args.profile and i == len(args.num_envs) - 1 else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        env = WorkbenchEnv(spec)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        seconds = time.perf_counter() - start
        workbench_env.startup_timer.mark = mark
        steps, last = [], start
        for phase, at in phases:
            steps.append(f"{phase} {at - last:.1f}")
            last = at
        print(f"{args.robot} {num_envs} envs: {seconds:.1f} s ({', '.join(steps)}); {len(env.body_names)} bodies/env")
        del env


if __name__ == "__main__":
    main()
