"""Training curves as a PNG: mean episode return, mean episode length, each reward term and each metric against
iteration.

Rows are the objects of a ``metrics.jsonl`` file (one JSON object per line) with the keys ``iteration``,
``mean_reward``, ``mean_episode_length``, ``env_steps_per_s``, ``reward/<term>`` per reward term and
``metric/<name>`` per metric (a panel of its own each), and ``terrain/mean_level`` (a panel of its own, where
present); the evaluations of the deterministic policy during training (``eval/mean_reward``,
``eval/mean_episode_length``, ``eval/<metric>``) are drawn with markers beside the training curve of the same
quantity, labelled apart. Any key may be missing or null in a row; such points are left out.
While no whole episode has ended (a run shorter than an episode), the empty panels say so. Drawing uses
matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..utils.atomic import write_atomically

_REWARD_PREFIX = "reward/"
_METRIC_PREFIX = "metric/"
_EVAL_PREFIX = "eval/"
_EVAL_OTHER = ("eval/mean_reward", "eval/mean_episode_length", "eval/episodes", "eval/seconds")
TRAINING_LABEL = "training (sampled actions)"
EVAL_LABEL = "evaluation (deterministic)"
_MAX_LABEL = 160
"""Longest title or legend label drawn [characters]; longer ones are cut (drawing a huge one takes minutes)."""
_PANELS = {"terrain/mean_level": "Terrain level (mean over envs)"}
"""Other logged keys drawn in a panel of their own (key -> title) when a row has them."""


def write_curves(metrics: list[dict] | Path, out_png: Path, title: str = "") -> Path:
    """Draw the panels (return, episode length, reward terms, then one per metric, each against iteration) and
    write them atomically.

    Args:
        metrics: The rows, or the path of a ``metrics.jsonl`` file holding them (blank lines are ignored).
        out_png: Where to write the PNG; its folder is created when missing.
        title: Figure title, drawn as plain text (no math) and cut to 160 characters; empty for none.

    Returns:
        ``out_png``.
    """
    rows = _read_rows(metrics) if isinstance(metrics, (str, Path)) else list(metrics)
    terms = sorted({key for row in rows for key in row if key.startswith(_REWARD_PREFIX)})
    names = {key.split("/", 1)[1] for row in rows for key in row if key.startswith(_METRIC_PREFIX)}
    names |= {k.split("/", 1)[1] for row in rows for k in row if k.startswith(_EVAL_PREFIX) and k not in _EVAL_OTHER}
    metrics = sorted(names)
    panels = [key for key in _PANELS if any(key in row for row in rows)]

    columns = 3 + len(metrics) + len(panels)
    figure = Figure(figsize=(5.0 * columns, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes_return, axes_length, axes_terms, *axes_more = figure.subplots(1, columns, squeeze=False)[0]
    axes_metrics, axes_panels = axes_more[: len(metrics)], axes_more[len(metrics) :]
    _pair(axes_return, rows, "mean_reward", "tab:blue")
    axes_return.set(title="Mean episode return", xlabel="iteration", ylabel="return")
    _pair(axes_length, rows, "mean_episode_length", "tab:orange")
    axes_length.set(title="Mean episode length", xlabel="iteration", ylabel="steps")
    note = no_episode_note(rows)
    for axes in (axes_return, axes_length, axes_terms) if note else ():
        axes.text(0.5, 0.5, note, ha="center", va="center", wrap=True, transform=axes.transAxes, color="0.35")
    for term in terms:
        _plot(axes_terms, rows, term, label=_plain(term[len(_REWARD_PREFIX) :]))
    axes_terms.set(title="Reward terms", xlabel="iteration", ylabel="reward")
    if terms:
        axes_terms.legend(fontsize="small")
    for axes, name in zip(axes_metrics, metrics, strict=True):
        _plot(axes, rows, f"{_METRIC_PREFIX}{name}", color="tab:green", label=TRAINING_LABEL)
        _plot(axes, rows, f"{_EVAL_PREFIX}{name}", color="black", marker="o", label=EVAL_LABEL)
        axes.set(title=_plain(f"Metric: {name}"), xlabel="iteration")
        if _points(rows, f"{_EVAL_PREFIX}{name}")[0]:
            axes.legend(fontsize="small")
    for axes, key in zip(axes_panels, panels, strict=True):
        _plot(axes, rows, key, color="tab:purple")
        axes.set(title=_PANELS[key], xlabel="iteration")
    for axes in (axes_return, axes_length, axes_terms, *axes_more):
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(_plain(title))

    return write_atomically(Path(out_png), lambda tmp: figure.savefig(tmp, format="png", dpi=100))


def no_episode_note(rows: list[dict]) -> str:
    """The text the return and length panels show when no row has a return (no whole episode ended in the run:
    episodes longer than the iterations it ran), else ''."""
    if any(_number(row.get("mean_reward")) is not None for row in rows):
        return ""
    trained = [row for row in rows if _number(row.get("iteration")) is not None and "edit" not in row]
    return (
        f"No whole episode ended in these {len(trained)} iterations:\nepisodes last longer than the run so far\n"
        "(the episodes running at the start are left out).\nTrain longer to see the return and episode length."
    )


def _pair(axes: Axes, rows: list[dict], key: str, color: str) -> None:
    """``key`` during training, and its evaluations (``eval/<key>``) with markers when the rows have any."""
    _plot(axes, rows, key, color=color, label=TRAINING_LABEL)
    if _points(rows, f"{_EVAL_PREFIX}{key}")[0]:
        _plot(axes, rows, f"{_EVAL_PREFIX}{key}", color="black", marker="o", label=EVAL_LABEL)
        axes.legend(fontsize="small")


def _plain(text: str) -> str:
    """``text`` drawn as it is: dollar signs escaped (matplotlib reads ``$...$`` as math, and fails on bad math),
    cut to :data:`_MAX_LABEL` characters."""
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1] + "…"
    return text.replace("$", r"\$")


def _read_rows(path: Path) -> list[dict]:
    """Parse a JSON-lines file into its rows."""
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def _points(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    """(iterations, values) of the rows where both ``iteration`` and ``key`` are finite numbers."""
    xs, ys = [], []
    for row in rows:
        x, y = _number(row.get("iteration")), _number(row.get(key))
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys


def _number(value: object) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, or not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _plot(axes: Axes, rows: list[dict], key: str, **style: object) -> None:
    """Draw ``key`` against iteration on ``axes``; a single point still shows as a marker."""
    xs, ys = _points(rows, key)
    if len(xs) == 1:
        style.setdefault("marker", "o")
    axes.plot(xs, ys, **style)
