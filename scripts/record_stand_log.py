"""Record a system-identification log on a stand: the robot's base held fixed in the air, every joint driven by
position targets that sum four sines (0.5-4.7 Hz, a different phase per joint) around the pose it starts in, with
the trained PD gains, written in the runtime's robot-log format (``deploy.robot_log``).

Here the "robot" is a stand-in reality (``sim2real.reality``: hidden motor strength, joint friction, armature...),
so the log is what a team would record on its hardware before ``isaac-rl-workbench sysid``. Usage:

    python scripts/record_stand_log.py REALITY.toml --seconds 10 --out stand.npz [--amplitude 0.3] [--device cpu]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
from pathlib import Path

import numpy as np
from isaac.rl.workbench.deploy.driver import JointCommand
from isaac.rl.workbench.deploy.robot_log import RobotLog
from isaac.rl.workbench.deploy_manifest import trained_gains
from isaac.rl.workbench.sim2real.reality import load_reality, reality_driver
from isaac.rl.workbench.specs.loader import spec_from_table

FREQUENCIES_HZ = (0.5, 1.3, 2.9, 4.7)
"""The sines every joint's target sums; incommensurate, so the log excites a band of frequencies."""


def stand_reality(path: Path, stand_height: float):
    """The reality of ``path`` with its robot's base fixed ``stand_height`` [m] above the ground."""
    reality = load_reality(path)
    raw = copy.deepcopy(reality.spec.raw)
    raw.setdefault("robot", {}).update(base="fixed", root_height=stand_height)
    return dataclasses.replace(reality, spec=spec_from_table(raw, reality.spec.source))


def record(reality, seconds: float, amplitude: float, device: str) -> RobotLog:
    """Drive the stand-mounted ``reality`` for ``seconds`` and return the log (one row per control period)."""
    driver = reality_driver(reality, 0, device)
    spec = driver.env.spec
    dt = spec.env.physics_dt * spec.env.decimation
    names = list(spec.joint_names)
    stiffness, damping = (np.array(g, dtype=np.float64) for g in trained_gains(spec))
    order = [names.index(m) for m in driver.motor_names]
    kp, kd = stiffness[order], damping[order]
    rng = np.random.default_rng(0)
    phases = rng.uniform(0.0, 2.0 * math.pi, size=(len(order), len(FREQUENCIES_HZ)))
    log = RobotLog(driver.motor_names, dt)
    centre = driver.read_state().joint_pos.copy()
    for step in range(round(seconds / dt)):
        t = step * dt
        state = driver.read_state()
        wave = np.sin(2.0 * math.pi * np.array(FREQUENCIES_HZ) * t + phases).sum(axis=1) / len(FREQUENCIES_HZ)
        command = JointCommand(centre + amplitude * wave, np.zeros(len(order)), kp, kd, np.zeros(len(order)))
        log.append(t, state, command)
        driver.write_command(command)
    driver.close()
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reality", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--amplitude", type=float, default=0.3, help="rad: the largest target offset (default 0.3)")
    parser.add_argument("--stand-height", type=float, default=0.6, help="m: the base's height on the stand")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    log = record(stand_reality(args.reality, args.stand_height), args.seconds, args.amplitude, args.device)
    print(f"stand log: {len(log)} steps of {log.control_dt * 1000:.0f} ms -> {log.write(args.out)}")


if __name__ == "__main__":
    main()
