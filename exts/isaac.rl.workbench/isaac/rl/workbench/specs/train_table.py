"""The ``[train]`` table of a spec (evaluation during training, the best checkpoint, early stop), read into
:class:`.schema.TrainSpec`."""

from __future__ import annotations

import math
import re
from typing import Any

from .schema import BEST_MODES, STOP_OPERATORS, StopCondition, TrainSpec
from .tables import SpecTable

DEFAULT_EVAL_EVERY = 50
"""``train.eval_every`` of a task with a ``[metrics.success]`` that does not set it [iterations]."""
SUCCESS_METRIC = "success"
"""The metric whose presence turns evaluation on by default and picks the best checkpoint."""
TRAINING_KEYS = (
    "iteration",
    "episodes",
    "unstable_envs",
    "mean_root_vel_x",
    "mean_reward",
    "mean_episode_length",
    "env_steps_per_s",
    "collect_s",
    "learn_s",
    "total_env_steps",
    "learning_rate",
    "action_std",
    "train_seconds",
)
"""The keys of every training row besides ``reward/<term>``, ``metric/<name>`` and ``loss/<name>``."""
EVAL_KEYS = ("mean_reward", "mean_episode_length", "episodes", "seconds")
"""``eval/<key>`` of an evaluated row besides ``eval/<metric>``."""
_CONDITION = re.compile(r"\s*(\S+?)\s*(>=|<=|>|<)\s*(\S+)\s*")


def load_train(t: SpecTable, metrics: list[str], rewards: list[str]) -> TrainSpec:
    """``[train]``, validated: integers in range, ``stop_when`` parsed, the keys it and ``best`` name logged by this
    spec (its metrics and reward terms; ``eval/`` keys only with evaluation on); the defaults filled in.

    Args:
        t: the ``[train]`` table.
        metrics: the spec's ``[metrics.<name>]`` names.
        rewards: the spec's ``[rewards.<name>]`` names.

    Raises:
        SpecError: naming the key (``train.stop_when``) and what was expected.
    """
    t.check_keys(TrainSpec.__dataclass_fields__)
    d = TrainSpec()
    has_success = SUCCESS_METRIC in metrics
    eval_every = t.number("eval_every", DEFAULT_EVAL_EVERY if has_success else 0, minimum=0, integer=True)
    evaluating = eval_every > 0
    prefix = "eval/" if evaluating else "metric/"
    default_best = f"{prefix}{SUCCESS_METRIC}" if has_success else ("eval/" if evaluating else "") + "mean_reward"
    best = t.get("best", str, "") or default_best
    _check_key(t, "best", best, evaluating, metrics, rewards)
    best_mode = t.get("best_mode", str, d.best_mode)
    if best_mode not in BEST_MODES:
        raise t.error("best_mode", f"expected one of {', '.join(BEST_MODES)}, got {best_mode!r}")
    stop_when = parse_stop_when(t, t.get("stop_when", str, ""))
    if stop_when is not None:
        _check_key(t, "stop_when", stop_when.key, evaluating, metrics, rewards)
    return TrainSpec(
        eval_every=eval_every,
        eval_episodes=t.number("eval_episodes", d.eval_episodes, minimum=1, integer=True),
        stop_when=stop_when,
        stop_patience=t.number("stop_patience", d.stop_patience, minimum=1, integer=True),
        best=best,
        best_mode=best_mode,
    )


def parse_stop_when(t: SpecTable, text: str) -> StopCondition | None:
    """``train.stop_when`` (``"eval/success >= 0.95"``) as a :class:`.schema.StopCondition`; None for ``""``."""
    if not text.strip():
        return None
    match = _CONDITION.fullmatch(text)
    number = _finite(match.group(3)) if match else None
    if match is None or number is None or match.group(1)[-1] in "<>=!":
        raise t.error(
            "stop_when",
            f'expected KEY OP NUMBER with OP one of {", ".join(STOP_OPERATORS)}, e.g. "eval/success >= 0.95", '
            f"got {text!r}",
        )
    return StopCondition(match.group(1), match.group(2), number)


def resolved_train(train: TrainSpec) -> dict[str, Any]:
    """``[train]`` as a run folder's ``spec.toml`` records it: every key with the value the run used."""
    out: dict[str, Any] = {
        "eval_every": train.eval_every,
        "eval_episodes": train.eval_episodes,
        "stop_patience": train.stop_patience,
        "best": train.best,
        "best_mode": train.best_mode,
    }
    if train.stop_when is not None:
        out["stop_when"] = train.stop_when.text
    return out


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _check_key(t: SpecTable, field: str, key: str, evaluating: bool, metrics: list[str], rewards: list[str]) -> None:
    """``key`` is one the spec's rows carry, else an error naming ``train.<field>`` and what the rows hold."""
    family, _, name = key.partition("/")
    if family == "eval" and name and not evaluating:
        raise t.error(field, f"{key!r} is an evaluation key, but evaluation is off: set train.eval_every > 0")
    known = (
        (family == "eval" and (name in metrics or name in EVAL_KEYS))
        or (family == "metric" and name in metrics)
        or (family == "reward" and name in rewards)
        or (family == "loss" and bool(name))
        or key in TRAINING_KEYS
    )
    if not known:
        listed = [
            *TRAINING_KEYS,
            *(f"reward/{n}" for n in rewards),
            *(f"metric/{n}" for n in metrics),
            "loss/<name>",
        ]
        if evaluating:
            listed += [f"eval/{n}" for n in (*EVAL_KEYS, *metrics)]
        raise t.error(field, f"{key!r} is not a logged key; the rows carry: {', '.join(listed)}")
