"""The robustness report's files: ``robustness.csv`` (one row per sweep point), ``robustness.md`` (the same as a
table) and ``robustness.png`` (one panel per parameter: the metric's mean ± std against the value, the training
range shaded). Drawing uses matplotlib's Agg backend, so no display is needed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..utils.atomic import write_atomically
from .robustness import SweepPoint

CSV_COLUMNS = (
    "parameter",
    "value",
    "inside_training_range",
    "training_lo",
    "training_hi",
    "metric",
    "metric_mean",
    "metric_std",
    "return_mean",
    "return_std",
    "terminated_share",
    "episode_length",
    "episodes",
    "physics_failed",
)


def _by_parameter(points: list[SweepPoint]) -> dict[str, list[SweepPoint]]:
    groups: dict[str, list[SweepPoint]] = {}
    for point in points:
        groups.setdefault(point.parameter, []).append(point)
    return groups


def write_csv(points: list[SweepPoint], metric: str, path: Path) -> Path:
    """One row per point, columns :data:`CSV_COLUMNS` (``inside_training_range`` 1 or 0)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in points:
        lo, hi = p.training_range
        writer.writerow(
            [p.parameter, f"{p.value:.6g}", int(p.inside), f"{lo:.6g}", f"{hi:.6g}", metric]
            + [f"{v:.6g}" for v in (p.metric_mean, p.metric_std, p.return_mean, p.return_std)]
            + [f"{p.terminated_share:.4f}", f"{p.episode_length:.2f}", p.episodes, int(p.physics_failure is not None)]
        )
    text = out.getvalue()
    return write_atomically(Path(path), lambda tmp: tmp.write_text(text))


def markdown_table(points: list[SweepPoint], metric: str, title: str = "") -> str:
    """A Markdown table: parameter, value, inside the training range (yes / **no**), metric mean ± std, terminated
    share, mean episode length ("physics failed" where the simulation failed)."""
    lines = [f"# Robustness: {title}\n"] if title else []
    lines += [
        f"Task metric: `{metric}` (mean ± std over the episodes of each point); every other parameter at its "
        "nominal value.\n",
        f"| parameter | value | training range | inside? | {metric} | terminated | episode length |",
        "|---|---:|---|:---:|---:|---:|---:|",
    ]
    for p in points:
        lo, hi = p.training_range
        inside = "yes" if p.inside else "**no**"
        if p.physics_failure:
            lines.append(f"| {p.parameter} | {p.value:.4g} | [{lo:.4g}, {hi:.4g}] | {inside} | physics failed | | |")
            continue
        lines.append(
            f"| {p.parameter} | {p.value:.4g} | [{lo:.4g}, {hi:.4g}] | {inside} | {p.metric_mean:.4g} ± "
            f"{p.metric_std:.3g} | {100 * p.terminated_share:.0f}% | {p.episode_length:.1f} |"
        )
    return "\n".join(lines) + "\n"


def write_plot(points: list[SweepPoint], metric: str, path: Path, title: str = "") -> Path:
    """One subplot per parameter: the metric's mean with a ± std band against the value; the training range shaded
    (a line where it is a single value); points outside it drawn as open circles."""
    groups = _by_parameter(points)
    columns = min(3, max(1, len(groups)))
    rows = -(-len(groups) // columns)
    figure = Figure(figsize=(5.0 * columns, 3.8 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    for axes, (name, group) in zip(axes_grid.flat, groups.items(), strict=False):
        xs = [p.value for p in group]
        mean = [p.metric_mean for p in group]
        low = [p.metric_mean - p.metric_std for p in group]
        high = [p.metric_mean + p.metric_std for p in group]
        lo, hi = group[0].training_range
        if hi > lo:
            axes.axvspan(lo, hi, color="tab:green", alpha=0.15, label="training range")
        else:
            axes.axvline(lo, color="tab:green", alpha=0.6, label="training value")
        axes.fill_between(xs, low, high, color="tab:blue", alpha=0.2, label="± std")
        axes.plot(xs, mean, color="tab:blue")
        inside = [(p.value, p.metric_mean) for p in group if p.inside]
        outside = [(p.value, p.metric_mean) for p in group if not p.inside]
        if inside:
            axes.plot(*zip(*inside, strict=True), "o", color="tab:blue")
        if outside:
            axes.plot(*zip(*outside, strict=True), "o", mfc="white", color="tab:red", label="outside")
        axes.set(title=name, xlabel="value", ylabel=metric)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    for axes in list(axes_grid.flat)[len(groups) :]:
        axes.set_visible(False)
    if title:
        figure.suptitle(title)
    return write_atomically(Path(path), lambda tmp: figure.savefig(tmp, format="png", dpi=100))


def write_report(points: list[SweepPoint], metric: str, out_dir: Path, title: str = "") -> dict[str, Path]:
    """``robustness.csv``, ``robustness.md`` and ``robustness.png`` in ``out_dir``; returns their paths by kind."""
    out_dir = Path(out_dir)
    table = markdown_table(points, metric, title)
    return {
        "csv": write_csv(points, metric, out_dir / "robustness.csv"),
        "md": write_atomically(out_dir / "robustness.md", lambda tmp: tmp.write_text(table)),
        "png": write_plot(points, metric, out_dir / "robustness.png", title),
    }
