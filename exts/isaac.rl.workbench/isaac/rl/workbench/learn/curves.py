"""Training curves as a PNG: mean episode return, mean episode length, each reward term and each metric against
iteration.

Rows are the objects of a ``metrics.jsonl`` file (one JSON object per line) with the keys ``iteration``,
``mean_reward``, ``mean_episode_length``, ``env_steps_per_s``, ``reward/<term>`` per reward term and
``metric/<name>`` per metric (a panel of its own each). Any key may be
missing or null in a row; such points are left out. Drawing uses matplotlib's Agg backend, so no display is needed.
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
_MAX_LABEL = 160
"""Longest title or legend label drawn [characters]; longer ones are cut (drawing a huge one takes minutes)."""


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
    metrics = sorted({key for row in rows for key in row if key.startswith(_METRIC_PREFIX)})

    figure = Figure(figsize=(5.0 * (3 + len(metrics)), 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes_return, axes_length, axes_terms, *axes_metrics = figure.subplots(1, 3 + len(metrics), squeeze=False)[0]
    _plot(axes_return, rows, "mean_reward", color="tab:blue")
    axes_return.set(title="Mean episode return", xlabel="iteration", ylabel="return")
    _plot(axes_length, rows, "mean_episode_length", color="tab:orange")
    axes_length.set(title="Mean episode length", xlabel="iteration", ylabel="steps")
    for term in terms:
        _plot(axes_terms, rows, term, label=_plain(term[len(_REWARD_PREFIX) :]))
    axes_terms.set(title="Reward terms", xlabel="iteration", ylabel="reward")
    if terms:
        axes_terms.legend(fontsize="small")
    for axes, metric in zip(axes_metrics, metrics, strict=True):
        _plot(axes, rows, metric, color="tab:green")
        axes.set(title=_plain(f"Metric: {metric[len(_METRIC_PREFIX) :]}"), xlabel="iteration")
    for axes in (axes_return, axes_length, axes_terms, *axes_metrics):
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(_plain(title))

    return write_atomically(Path(out_png), lambda tmp: figure.savefig(tmp, format="png", dpi=100))


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
    axes.plot(xs, ys, marker="o" if len(xs) == 1 else None, **style)
