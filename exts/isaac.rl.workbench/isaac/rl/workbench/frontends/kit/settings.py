"""The extension's settings, in one table: ``config/extension.toml`` declares each of them under
``[settings] exts."isaac.rl.workbench".<name>`` with the same default, and the code reads them only through
:func:`read_settings`. Override one on the command line with ``--/exts/isaac.rl.workbench/<name>=<value>``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EXTENSION_NAME = "isaac.rl.workbench"
SETTINGS_ROOT = f"/exts/{EXTENSION_NAME}"


@dataclass(frozen=True)
class Setting:
    """One setting: its name under ``SETTINGS_ROOT``, its default (which also fixes its type) and what it does."""

    name: str
    default: Any
    doc: str


SETTINGS = (
    Setting("autostart", False, "train at startup without the window, one line per iteration, then quit the app"),
    Setting("task", "cartpole", "what autostart trains: a task name or the path of a spec file"),
    Setting("num_envs", 0, "env count of an autostart run; 0 keeps the spec's"),
    Setting("max_iterations", 0, "total PPO iterations of an autostart run; 0 keeps the spec's"),
    Setting("run_dir", "", "the run folder of an autostart run; empty: <runs_dir>/<task>/<time>, as the CLI"),
    Setting("runs_dir", "runs", "where runs go (autostart and the window), relative to the app's working folder"),
    Setting("device", "cuda", "torch and physics device: cpu, cuda or cuda:<index>"),
    Setting(
        "physics",
        "",
        "the physics engine of the runs started here (the spec's env.physics, overridden): newton (Newton in Kit's "
        "Python) or physx (PhysX tensor views on the stage's clones); empty keeps the spec's",
    ),
    Setting("view_envs", 4, "envs the window's Play shows in the viewport"),
)


def read_settings(get: Callable[[str], Any]) -> dict[str, Any]:
    """Every setting's value, ``get("/exts/isaac.rl.workbench/<name>")`` or its default where unset, cast to the
    default's type (Kit's command line may hand a number as a string)."""
    values = {}
    for setting in SETTINGS:
        value = get(f"{SETTINGS_ROOT}/{setting.name}")
        if value is None:
            value = setting.default
        elif isinstance(setting.default, bool):
            value = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes")
        else:
            value = type(setting.default)(value)
        values[setting.name] = value
    return values
