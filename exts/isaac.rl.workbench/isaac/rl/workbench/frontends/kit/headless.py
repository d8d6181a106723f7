"""Autostart: train the task the settings name when the app starts, one PPO iteration per app update, printing the
command line's progress line for each, into the same run folder the command line would write; then quit the app
with the command line's exit code (0, 2 for bad input, 3 for a failed run, 1 for anything else). The app steps no
physics of its own meanwhile."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from ...workbench import EVAL_EPISODES, Workbench
from ..cli import exit_code
from ..cli_common import format_iteration
from . import isaacsim_adapter as isaacsim


def overrides(settings: dict[str, Any]) -> dict[str, Any]:
    """The spec overrides the settings ask for: ``num_envs`` and ``max_iterations`` (0 keeps the spec's), the
    physics engine ``env.physics`` ("" keeps the spec's)."""
    out: dict[str, Any] = {}
    if settings["physics"]:
        out["env.physics"] = settings["physics"]
    if settings["num_envs"] > 0:
        out["env.num_envs"] = settings["num_envs"]
    if settings["max_iterations"] > 0:
        out["ppo.max_iterations"] = settings["max_iterations"]
    return out


async def train_and_quit(settings: dict[str, Any]) -> int:
    """Train ``settings["task"]`` to the end, then ask the app to quit; returns the exit code it quits with."""
    wb = None
    isaacsim.hold_app_physics(True)
    try:
        run_dir = Path(settings["run_dir"]) if settings["run_dir"] else None
        wb = Workbench.new(
            settings["task"], overrides(settings), run_dir, settings["device"], Path(settings["runs_dir"])
        )
        print(f"run folder: {wb.run_dir}", flush=True)
        print(f"building {wb.spec.env.num_envs} envs of {wb.spec.scene.name} on {settings['device']} ...", flush=True)
        wb.build()
        max_len = wb.env.max_episode_length
        while not wb.done:
            await isaacsim.next_update()
            print(format_iteration(wb.train_step(), wb.max_iterations, max_len), flush=True)
        result = wb.finish(evaluate_episodes=EVAL_EPISODES)
        print(
            f"{wb.spec.name}: mean episode length {result['mean_episode_length']:.1f} / {max_len}, mean return "
            f"{result['mean_return']:.2f} over {result['episodes']} deterministic episodes; run: {wb.run_dir}",
            flush=True,
        )
        code = 0
    except Exception as exc:
        code = exit_code(exc) or 1
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if code == 1:
            traceback.print_exc()
        if wb is not None and wb.trainer is not None and wb.state != "finished":
            wb.finish()
    isaacsim.hold_app_physics(False)
    isaacsim.quit_app(code)
    return code
