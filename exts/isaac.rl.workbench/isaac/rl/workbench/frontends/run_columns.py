"""The columns both run lists show (``isaac-rl-workbench runs`` and the panel's Runs section), as text cells."""

from __future__ import annotations

from ..learn.run_index import RunSummary
from .panel_layout import duration
from .spec_diff import SpecChange

COLUMNS = ("run", "task", "status", "iterations", "metric", "last", "best", "time", "engine", "parent", "changed")
"""The column titles; ``changed`` is what the run's spec sets otherwise than its task's spec file."""


def summary_cells(summary: RunSummary, changes: list[SpecChange] | None, why: str) -> tuple[str, ...]:
    """The cells of one run in :data:`COLUMNS` order; ``changes`` (None: unknown, ``why`` says why) fill
    ``changed``."""
    changed = "; ".join(str(c) for c in changes) if changes is not None else f"? ({why})"
    return (
        summary.name,
        summary.task,
        summary.status + (f" ({summary.reason})" if summary.reason else ""),
        f"{summary.iterations}/{summary.planned}",
        summary.metric.removeprefix("metric/"),
        _number(summary.last),
        _number(summary.best),
        duration(summary.train_seconds),
        "/".join(x for x in (summary.engine, summary.device) if x),
        summary.parent or "-",
        changed or "-",
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
