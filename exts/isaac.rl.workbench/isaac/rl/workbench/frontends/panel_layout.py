"""What both panels show of the panel model the same way, with no UI toolkit: the spec keys of each setup
section with their labels, inline-TOML editing of a value, durations and the training speed. The browser panel
(``web/``) and the Isaac Sim panel (``kit/``) render these."""

from __future__ import annotations

import math
import re
import tomllib
from typing import Any

ENV_KEYS = [
    ("env.num_envs", "num_envs"),
    ("env.episode_seconds", "episode_seconds [s]"),
    ("env.physics_dt", "physics_dt [s]"),
    ("env.decimation", "decimation"),
    ("env.spacing", "spacing [m]"),
    ("seed", "seed"),
]
"""(spec key, label) of the environments section."""
ACTION_KEYS = [("actions.type", "action type"), ("actions.joints", "joints"), ("actions.scale", "scale")]
"""(spec key, label) of the actions section."""
PPO_KEYS = [
    ("ppo.max_iterations", "max_iterations"),
    ("ppo.num_steps_per_env", "num_steps_per_env"),
    ("ppo.save_interval", "save_interval"),
    ("ppo.algorithm.learning_rate", "learning_rate"),
    ("ppo.algorithm.num_mini_batches", "num_mini_batches"),
    ("ppo.algorithm.num_learning_epochs", "num_learning_epochs"),
    ("ppo.algorithm.entropy_coef", "entropy_coef"),
    ("ppo.algorithm.gamma", "gamma"),
    ("ppo.actor.hidden_dims", "actor hidden_dims"),
    ("ppo.critic.hidden_dims", "critic hidden_dims"),
]
"""(spec key, label) of the PPO section."""


def command_keys(raw: dict) -> list[tuple[str, str]]:
    """(spec key, label) of the commands section: each command's ``ranges`` table of spec table ``raw`` (live while
    a run trains: a range reaches it at the command's next draw)."""
    return [(f"commands.{name}.ranges", f"{name} ranges") for name in raw.get("commands", {})]


def to_toml(value: Any) -> str:
    """``value`` as an inline TOML value (numbers keep full precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = [k if re.fullmatch(r"[A-Za-z0-9_-]+", str(k)) else to_toml(str(k)) for k in value]
        return "{ " + ", ".join(f"{k} = {to_toml(v)}" for k, v in zip(keys, value.values(), strict=True)) + " }"
    return str(value)


def from_toml(text: str) -> Any:
    """Parse an inline TOML value; a bare word that is not TOML is a string."""
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def duration(seconds: float | None) -> str:
    """``"42s"`` or ``"1:02:03"``; ``"-"`` for None."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s}s"


def throughput(run: Any) -> str:
    """The progress line's training speed: ``"2,345 env-steps/s"``, and for a distributed run every rank's own,
    ``"2,345 env-steps/s (2 ranks: 1.2k, 1.1k)"``. ``run`` is the panel model's ``RunState``."""
    total = f"{run.env_steps_per_s:,.0f} env-steps/s"
    ranks = run.rank_env_steps_per_s
    if not ranks:
        return total
    return f"{total} ({len(ranks)} ranks: {', '.join(_short(rate) for rate in ranks)})"


def _short(value: float) -> str:
    """``"950"``, ``"1.2k"``, ``"3.4M"``."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{suffix}"
    return f"{value:.0f}"


def policy_status(run: Any) -> list[str]:
    """What the panel says of the policy: the play in progress, the last evaluation, the last export (a line each,
    for those there are). ``run`` is the panel model's ``RunState``."""
    lines = []
    if run.play:
        mean = run.play["mean_return"]
        lines.append(
            f"playing: step {run.play['steps']}, {run.play['episodes']} episodes ended, mean return "
            f"{'-' if mean is None else f'{mean:.3g}'}"
        )
    if run.evaluation:
        ev = run.evaluation
        lines.append(
            f"evaluation: {ev['episodes']} episodes, mean return {ev['mean_return']:.3g}, mean length "
            f"{ev['mean_episode_length']:.1f} / {ev['max_episode_length']}"
        )
    if run.export:
        ex = run.export
        lines.append(
            f"export: {run.run_dir}/export/policy.onnx, policy.pt; max action difference ONNX "
            f"{ex['max_abs_diff_onnx']:.2g}, TorchScript {ex['max_abs_diff_torchscript']:.2g} "
            f"(tolerance {ex['atol']:g}) on {ex['num_observations']} observations"
        )
    return lines
