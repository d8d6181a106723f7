"""Live edits: the spec keys a run takes while it trains, without a rebuild, each logged as a row
``{"iteration": i, "edit": key, "value": v}`` of its ``metrics.jsonl`` (after ``i`` iterations) and replayed when the
run resumes.

=========================================  ==========================================================================
key                                        applies
=========================================  ==========================================================================
``rewards.<term>.weight``                  from the next iteration (0 switches the term off)
``events.<event>.params.<param>``          a number or a [min, max] range of the event: a start-up event's at each
                                           env's next reset (the env draws its start-up randomisation again then),
                                           a reset event's at the next reset, an interval event's at its next firing
``events.<event>.interval_s``              an interval event's timers, from their next draw
``commands.<command>.ranges.<component>``  from the command's next draw (its resample, or the env's reset)
``ppo.algorithm.learning_rate``            from the next update (with ``schedule = "adaptive"`` the KL schedule goes
                                           on adapting it from the edited value)
``ppo.algorithm.entropy_coef``             from the next update (PPO, not a distillation)
=========================================  ==========================================================================

Every other key keeps its value while the run trains; :func:`refusal` says why, in a line that ends in what to do
(a shape, such as ``env.num_envs``, an observation term, a network size or the scene: use Fork).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from .learn.ppo_config import is_distillation
from .learn.run_dir import RunDir, RunError
from .terms import REGISTRIES

LEARNING_RATE = "ppo.algorithm.learning_rate"
ENTROPY_COEF = "ppo.algorithm.entropy_coef"
SELECTIONS = ("joints", "bodies", "body", "operation", "command")
"""Event parameters that select what an event changes (names, an operation), not a number or range."""
FORK = "use Fork"
_SHAPES = (
    (("env.num_envs",), "changes the number of envs (the shape of every buffer)"),
    (("observations", "observation_history"), "changes the observation's shape"),
    (("actions",), "changes the actions (their shape and mapping)"),
    (("ppo.actor", "ppo.critic", "ppo.student", "ppo.teacher", "ppo.obs_groups"), "changes the networks"),
    (("ppo.num_steps_per_env",), "changes the rollout buffer's shape"),
    (("scene", "articulation", "robot", "actuators", "env.physics", "env.spacing", "env.ground"), "changes the scene"),
)


class LiveEditRefused(ValueError):
    """A key that cannot change while the run trains, or a value it cannot take; the message names the key."""


def refusal(key: str, raw: dict) -> str | None:
    """None when spec key ``key`` may change while a run of the spec table ``raw`` trains; otherwise why not, one
    line ending in what to do (``"changes the observation's shape: use Fork"``)."""
    parts = key.split(".")
    head = parts[0]
    for prefixes, reason in _SHAPES:
        if any(key == p or key.startswith(f"{p}.") for p in prefixes):
            return f"{reason}: {FORK}"
    if head == "rewards" and len(parts) == 3 and parts[2] == "weight":
        return None if parts[1] in raw.get("rewards", {}) else f"no reward term '{parts[1]}' in the run: {FORK}"
    if head == "events" and len(parts) >= 3:
        return _event_refusal(parts, raw)
    if head == "commands" and parts[2:] == ["ranges"]:  # the whole table, as a panel's field edits it
        return None if parts[1] in raw.get("commands", {}) else f"no command '{parts[1]}' in the run: {FORK}"
    if head == "commands" and len(parts) == 4 and parts[2] == "ranges":
        command = raw.get("commands", {}).get(parts[1])
        if command is None:
            return f"no command '{parts[1]}' in the run: {FORK}"
        if parts[3] == "heading" and "heading" not in command.get("ranges", {}):
            return f"turns heading tracking on: {FORK}"
        return None
    if key == ENTROPY_COEF and is_distillation(raw.get("ppo", {})):
        return f"a distillation's loss has no entropy bonus: {FORK}"
    if key in (LEARNING_RATE, ENTROPY_COEF):
        return None
    return (
        "keeps its value while the run trains (live: reward weights, event and command ranges, learning_rate, "
        f"entropy_coef): Stop, then {FORK}"
    )


def _event_refusal(parts: list[str], raw: dict) -> str | None:
    table = raw.get("events", {}).get(parts[1])
    if table is None:
        return f"no event '{parts[1]}' in the run: {FORK}"
    mode = table.get("mode", "reset")
    if parts[2:] == ["interval_s"]:
        return None if mode == "interval" else f"only an interval event has interval_s: {FORK}"
    if parts[2:] == ["params"]:  # the whole table, as a panel's field edits it: live when one entry is
        reasons = [_event_refusal([*parts, param], raw) for param in table.get("params", {})]
        return None if None in reasons else f"has no number or range to change: {FORK}"
    if len(parts) != 4 or parts[2] != "params":
        return f"changes which code the event runs, or when: {FORK}"
    param = parts[3]
    current = table.get("params", {}).get(param, _default(table.get("func", parts[1]), param))
    if param in SELECTIONS or _numbers(current) is None:
        return f"selects what the event changes, not a number or range: {FORK}"
    return None


def _default(func: str, param: str) -> Any:
    """A library event's default for ``param`` (None for a custom one, or a parameter without a default)."""
    function = REGISTRIES["events"].get(func)
    parameter = inspect.signature(function).parameters.get(param) if function is not None else None
    return None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default


def _numbers(value: Any) -> float | list[float] | None:
    """``value`` as a finite number or a [min, max] pair of finite numbers with min <= max; None otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, list | tuple) and len(value) == 2 and all(_numbers(v) is not None for v in value):
        low, high = float(value[0]), float(value[1])
        return [low, high] if low <= high else None
    return None


def expand(key: str, value: Any, raw: dict) -> list[tuple[str, Any]]:
    """A panel's edit as live keys: a whole ``events.<event>.params`` or ``commands.<command>.ranges`` table becomes
    one ``(key, value)`` per entry that differs from ``raw``'s; any other key stays as it is."""
    parts = key.split(".")
    tables = {("events", "params"): "events", ("commands", "ranges"): "commands"}
    kind = tables.get((parts[0], parts[-1])) if len(parts) == 3 else None
    if kind is None or not isinstance(value, dict):
        return [(key, value)]
    current = raw.get(kind, {}).get(parts[1], {}).get(parts[2], {})
    removed = [(f"{key}.{k}", None) for k in current if k not in value]
    return removed + [(f"{key}.{k}", v) for k, v in value.items() if current.get(k) != v]


def check_value(key: str, value: Any, raw: dict) -> float | list[float]:
    """``value`` as live key ``key`` takes it: a number, or a [min, max] range where the spec has one
    (:class:`LiveEditRefused` naming the key and what was expected otherwise)."""
    parts = key.split(".")
    numbers = _numbers(value)
    if parts[0] in ("rewards", "ppo"):
        bound = "" if parts[0] == "rewards" else " > 0" if key == LEARNING_RATE else " >= 0"
        fits = {"": True, " > 0": numbers is not None and numbers > 0, " >= 0": numbers is not None and numbers >= 0}
        if not isinstance(numbers, float) or not fits[bound]:
            raise LiveEditRefused(f"{key}: expected a finite number{bound}, got {value!r}")
        return numbers
    ranged = parts[0] == "commands" or parts[-1] == "interval_s"
    if not ranged:  # an event's parameter: a range where the spec (or the function's default) has one
        table = raw["events"][parts[1]]
        current = table.get("params", {}).get(parts[3], _default(table.get("func", parts[1]), parts[3]))
        ranged = isinstance(current, list | tuple)
    if isinstance(numbers, list) != ranged or numbers is None:
        shape = "[min, max] with finite min <= max" if ranged else "a finite number"
        raise LiveEditRefused(f"{key}: expected {shape}, got {value!r}")
    if parts[-1] == "interval_s" and numbers[0] <= 0:
        raise LiveEditRefused(f"{key}: expected [min, max] seconds with 0 < min <= max, got {value!r}")
    return numbers


def when(key: str, raw: dict) -> str:
    """When live key ``key`` takes effect, in words."""
    parts = key.split(".")
    if parts[0] == "events":
        mode = raw["events"][parts[1]].get("mode", "reset")
        if mode == "startup":
            return "each env draws its start-up randomisation again at its next reset"
        return "at the next reset" if mode == "reset" else "at the event's next firing"
    if parts[0] == "commands":
        return "at the command's next draw"
    return "from the next iteration"


class LiveEdits:
    """The live edits of one built run: applied to its env and learner, logged, replayed on resume.

    Args:
        raw: the run's resolved spec table (``TaskSpec.raw``), what :func:`refusal` reads.
        env: the run's :class:`~.envs.workbench_env.WorkbenchEnv`.
        trainer: its :class:`~.learn.trainer.Trainer`.
        run: its run folder (``metrics.jsonl``).
        emit: ``emit(event, data)``: the Workbench's listeners hear ``"edited"`` with ``key``, ``value``,
            ``iteration``.
    """

    def __init__(self, raw: dict, env, trainer, run: RunDir, emit: Callable[[str, dict], Any]):
        self._raw, self._env, self._trainer, self._run, self._emit = raw, env, trainer, run, emit

    def apply(self, key: str, value: Any, iteration: int) -> str:
        """Apply live key ``key`` = ``value`` after ``iteration`` iterations, log it, and say what changed and when
        (``"events.push.params.velocity = 1 from iteration 5: at the event's next firing"``). Between iterations
        only (the thread that trains). :class:`LiveEditRefused` (nothing applied or logged): a key that cannot
        change live, or a value it cannot take."""
        reason = refusal(key, self._raw)
        if reason is not None:
            raise LiveEditRefused(f"{key}: {reason}")
        number = check_value(key, value, self._raw)
        try:
            self._apply(key, number, at_once=False)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise LiveEditRefused(f"{key}: {value!r} refused: {exc}") from None
        self._run.log_edit(iteration, key, number)
        self._emit("edited", {"key": key, "value": number, "iteration": iteration})
        shown = f"{number:g}" if isinstance(number, float) else f"[{number[0]:g}, {number[1]:g}]"
        return f"{key} = {shown} from iteration {iteration + 1}: {when(key, self._raw)}"

    def replay(self, rows: list[dict], checkpoint_iteration: int) -> None:
        """After a resume from the checkpoint of ``checkpoint_iteration``: apply the edit rows of ``rows`` (the run's
        ``metrics.jsonl``, cut at that checkpoint) again, in order; start-up events draw again at once. A learning
        rate edited before the checkpoint was saved is in its optimiser state already (with what the KL schedule
        made of it), so only one edited after it (at the checkpoint's iteration) is applied again."""
        for row in rows:
            key = row.get("edit")
            if not isinstance(key, str) or refusal(key, self._raw) is not None:
                continue  # "forked_from" and other notes
            if key == LEARNING_RATE and row["iteration"] < checkpoint_iteration:
                continue
            try:
                self._apply(key, check_value(key, row["value"], self._raw), at_once=True)
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                raise RunError(
                    f"{self._run.metrics_file}: the edit of {key} at iteration {row['iteration']} cannot be applied "
                    f"again: {exc}"
                ) from None

    def _apply(self, key: str, value: float | list[float], at_once: bool) -> None:
        parts = key.split(".")
        if parts[0] == "rewards":
            self._env.set_reward_weight(parts[1], value)
        elif parts[0] == "events":
            self._env.set_event_param(parts[1], parts[-1], value, at_once=at_once)
        elif parts[0] == "commands":
            self._env.set_command_range(parts[1], parts[3], (value[0], value[1]))
        elif key == LEARNING_RATE:
            self._trainer.set_learning_rate(value)
        else:
            self._trainer.set_entropy_coef(value)
