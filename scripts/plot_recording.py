"""Plot what a `play --record` recording shows, from the USD file alone.

    python scripts/plot_recording.py REC.usda --reach panda_hand:ee_target --out reach.png
        the distance from a body to a position command's marker over time, per env, and the coordinates of env 0
    python scripts/plot_recording.py REC.usda --walk base:base_velocity --feet FL_foot FR_foot RL_foot RR_foot \
        --out walk.png
        env 0's base path, its planar velocity against the velocity command's (from the command marker, which
        sits where the command would take the base in 0.5 s, 0.15 m above it), and the feet's heights; on a
        recording made on a terrain, the path is drawn over the terrain's heights and the feet over the ground
        under the base

    python scripts/plot_recording.py REC.usda --paths robot:goal --obstacles obstacle_0 obstacle_1 --radius 0.3 \
        --out nav.png
        each env's first episode: the body's path, the command's target, and the obstacles (circles of --radius)
        where they stood

The recording must be able to find its scene (the path it references, relative to the file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib
import matplotlib.tri as mtri
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pxr import Usd, UsdGeom  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exts" / "isaac.rl.workbench"))
from isaac.rl.workbench.scene.read_recording import read_recording  # noqa: E402

VELOCITY_MARKER_AHEAD_S, VELOCITY_MARKER_UP_M = 0.5, 0.15  # as envs/term_state.recording_markers draws it
RESET_JUMP_M = 0.25  # [m] a body moving further than this in one frame was reset: a new episode began


def marker_path(stage: Usd.Stage, name: str, env: int, frames: int) -> np.ndarray:
    """(T, 3) world positions of marker ``name`` of env ``env``."""
    prim = UsdGeom.Xformable(stage.GetPrimAtPath(f"/World/markers/{name}_{env}"))
    return np.array(
        [list(prim.ComputeLocalToWorldTransform(Usd.TimeCode(t)).ExtractTranslation()) for t in range(frames)]
    )


def body_index(body_paths: list[str], name: str) -> int:
    return next(i for i, path in enumerate(body_paths) if path.rsplit("/", 1)[-1] == name)


def plot_reach(path: Path, body: str, command: str, out: Path) -> None:
    rec, stage = read_recording(path), Usd.Stage.Open(str(path))
    frames, envs = rec.poses.shape[:2]
    hand, t = body_index(rec.body_paths, body), np.arange(frames) / rec.fps
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    for env in range(envs):
        target = marker_path(stage, command, env, frames)
        left.plot(t, 100 * np.linalg.norm(rec.poses[:, env, hand, :3] - target, axis=1), label=f"env {env}")
    left.axhline(2.0, color="k", ls="--", lw=0.8)
    left.set(xlabel="time [s]", ylabel=f"{body} to target [cm]", title=f"{body} to the {command} target")
    left.legend()
    target = marker_path(stage, command, 0, frames)
    for k, axis in enumerate("xyz"):
        right.plot(t, rec.poses[:, 0, hand, k], label=f"{body} {axis}")
        right.plot(t, target[:, k], "--", label=f"target {axis}")
    right.set(xlabel="time [s]", ylabel="m", title="env 0: body and target coordinates")
    right.legend(ncol=3, fontsize="small")
    figure.savefig(out, dpi=90)


def plot_walk(path: Path, base: str, command: str, feet: list[str], out: Path) -> None:
    rec, stage = read_recording(path), Usd.Stage.Open(str(path))
    b = body_index(rec.body_paths, base)
    jumps = np.flatnonzero(np.linalg.norm(np.diff(rec.poses[:, 0, b, :3], axis=0), axis=1) > RESET_JUMP_M)
    frames = int(jumps[0]) + 1 if jumps.size else rec.poses.shape[0]  # env 0's first episode
    t, seconds = np.arange(frames) / rec.fps, frames / rec.fps
    position = rec.poses[:frames, 0, b, :3]
    marker = marker_path(stage, command, 0, frames)
    commanded = (marker - position - np.array([0.0, 0.0, VELOCITY_MARKER_UP_M])) / VELOCITY_MARKER_AHEAD_S
    velocity = np.gradient(position, 1.0 / rec.fps, axis=0)
    window = max(1, int(0.5 * rec.fps))
    mean = np.stack([np.convolve(velocity[:, k], np.ones(window) / window, mode="same") for k in range(2)], axis=1)
    figure, (ax_path, ax_vel, ax_feet) = plt.subplots(1, 3, figsize=(17, 4), layout="constrained")
    if rec.terrain is not None:  # the heights around the path, and the ground under the base over time
        triangles = mtri.Triangulation(rec.terrain.vertices[:, 0], rec.terrain.vertices[:, 1], rec.terrain.faces)
        shaded = ax_path.tripcolor(triangles, rec.terrain.vertices[:, 2], cmap="terrain", shading="gouraud")
        figure.colorbar(shaded, ax=ax_path, label="ground height [m]")
        ground = mtri.LinearTriInterpolator(triangles, rec.terrain.vertices[:, 2])(position[:, 0], position[:, 1])
        ax_feet.plot(t, ground, "k--", label=f"ground under {base}")
        low, high = position[:, :2].min(axis=0) - 1.5, position[:, :2].max(axis=0) + 1.5
        ax_path.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]))
    ax_path.plot(position[:, 0], position[:, 1], color="tab:red")
    ax_path.set(aspect="equal", xlabel="x [m]", ylabel="y [m]", title=f"{base} path over {seconds:.1f} s")
    for k, (axis, color) in enumerate((("x", "k"), ("y", "r"))):
        ax_vel.plot(t, commanded[:, k], f"{color}--", label=f"commanded v{axis} (world)")
        ax_vel.plot(t, mean[:, k], label=f"{base} v{axis} (0.5 s mean)")
    ax_vel.set(xlabel="time [s]", ylabel="m/s", title="commanded and actual planar velocity")
    ax_vel.legend(fontsize="small")
    for foot in feet:
        ax_feet.plot(t, rec.poses[:frames, 0, body_index(rec.body_paths, foot), 2], label=foot)
    middle = seconds / 2
    ax_feet.set(xlim=(middle - 1, middle + 1), xlabel="time [s]", ylabel="height [m]", title="feet: the gait")
    ax_feet.legend()
    figure.savefig(out, dpi=90)
    error = np.linalg.norm(mean[int(rec.fps) :] - commanded[int(rec.fps) :, :2], axis=1).mean()
    print(f"{path}: mean distance of the 0.5 s mean planar velocity to the command after 1 s: {error:.3f} m/s")


def plot_paths(path: Path, body: str, command: str, obstacles: list[str], radius: float, out: Path) -> None:
    rec, stage = read_recording(path), Usd.Stage.Open(str(path))
    frames, envs = rec.poses.shape[:2]
    b = body_index(rec.body_paths, body)
    columns = min(envs, 4)
    rows = -(-envs // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows), layout="constrained", squeeze=False)
    for env, ax in zip(range(envs), axes.flat, strict=False):
        origin = rec.env_origins[env]
        track = rec.poses[:, env, b, :2] - origin[:2]
        target = marker_path(stage, command, env, frames)[:, :2] - origin[:2]
        jumps = np.flatnonzero(np.linalg.norm(np.diff(track, axis=0), axis=1) > RESET_JUMP_M)
        end = int(jumps[0]) + 1 if len(jumps) else frames  # the first episode: up to the reset's jump
        ax.plot(track[:end, 0], track[:end, 1], label=f"{body} path")
        ax.plot(*track[0], "ko", label="start")
        ax.plot(target[end - 1, 0], target[end - 1, 1], "g*", markersize=14, label="target")
        for name in obstacles:
            centre = rec.poses[0, env, body_index(rec.body_paths, name), :2] - origin[:2]
            ax.add_patch(plt.Circle(tuple(centre), radius, color="tab:red", alpha=0.5))
        ax.set(aspect="equal", xlim=(-3, 3), ylim=(-3, 3), title=f"env {env}")
    axes.flat[0].legend(fontsize="small")
    figure.savefig(out, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording", type=Path)
    parser.add_argument("--reach", metavar="BODY:COMMAND", help="a body and the position command it reaches")
    parser.add_argument("--walk", metavar="BASE:COMMAND", help="the base and the velocity command it tracks")
    parser.add_argument("--feet", nargs="*", default=[], help="bodies whose height shows the gait (--walk)")
    parser.add_argument("--paths", metavar="BODY:COMMAND", help="a body's path to a position command's target")
    parser.add_argument("--obstacles", nargs="*", default=[], help="bodies drawn as circles (--paths)")
    parser.add_argument("--radius", type=float, default=0.3, help="the obstacles' radius [m] (--paths)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if sum(bool(mode) for mode in (args.reach, args.walk, args.paths)) != 1:
        parser.error("give one of --reach, --walk or --paths")
    if args.reach:
        plot_reach(args.recording, *args.reach.split(":", 1), args.out)
    elif args.walk:
        plot_walk(args.recording, *args.walk.split(":", 1), args.feet, args.out)
    else:
        plot_paths(args.recording, *args.paths.split(":", 1), args.obstacles, args.radius, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
