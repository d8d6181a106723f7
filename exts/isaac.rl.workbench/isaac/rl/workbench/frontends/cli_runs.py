"""``isaac-rl-workbench runs``: the run folders under a runs folder, newest first (task, status, iterations, the
task metric's last and best value, training time, engine and device, parent, what differs from the task's spec);
``runs diff A B`` compares two runs' specs, ``runs delete RUN`` moves a run to ``<root>/.trash/`` and ``runs restore
NAME`` brings it back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

USER_ERRORS = ("isaac.rl.workbench.learn.run_dir.RunError", "isaac.rl.workbench.specs.schema.SpecError")  # exit 2


def add_parsers(sub) -> None:
    """Register ``runs`` (with ``diff``, ``delete``, ``restore``) on ``sub`` (argparse subparsers); the modules that
    do the work are imported when a command runs."""
    root = argparse.ArgumentParser(add_help=False)
    root.add_argument("--root", default=argparse.SUPPRESS, help="the runs folder (default runs)")
    p = sub.add_parser("runs", parents=[root], help="list runs (newest first), compare, delete and restore them")
    p.set_defaults(root="runs", func=list_runs)
    p.add_argument("--task", help="only this task's runs")
    p.add_argument("--json", action="store_true", help="print JSON (one object per run) instead of a table")
    actions = p.add_subparsers(dest="action", metavar="{diff,delete,restore}")
    diff = actions.add_parser("diff", parents=[root], help="the spec keys two runs set differently")
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    diff.set_defaults(func=diff_two)
    delete = actions.add_parser("delete", parents=[root], help="move a run to ROOT/.trash (undo: runs restore)")
    delete.add_argument("run")
    delete.set_defaults(func=delete_run)
    restore = actions.add_parser("restore", parents=[root], help="bring a deleted run back from ROOT/.trash")
    restore.add_argument("name")
    restore.set_defaults(func=restore_run)


def list_runs(args: argparse.Namespace) -> int:
    """Print the runs under ``--root`` as a table or JSON; returns 0."""
    from ..learn.run_dir import RunError
    from ..learn.run_index import index_runs
    from .run_columns import summary_cells
    from .spec_diff import changes_from_task

    root = Path(args.root)
    if not root.is_dir():
        raise RunError(f"{root}: no such folder (train writes runs into ./runs; --root DIR names another)")
    rows = []
    for summary in index_runs(root, args.task):
        changes, why = changes_from_task(summary.path, summary.task)
        rows.append((summary, changes, why))
    if args.json:
        out = [
            {
                **s.as_json(),
                "changes": None if c is None else [{"key": x.key, "task": x.old, "run": x.new} for x in c],
                "changes_note": why,
            }
            for s, c, why in rows
        ]
        print(json.dumps(out, indent=1, default=str))
        return 0
    if not rows:
        print(f"no runs under {root}" + (f" of task {args.task}" if args.task else ""))
        return 0
    print(format_table([summary_cells(s, c, why) for s, c, why in rows]))
    return 0


def format_table(rows: list[tuple[str, ...]]) -> str:
    """A header and one line per row, columns padded to their widest cell (the last column is not padded)."""
    from .run_columns import COLUMNS

    widths = [max(len(str(r[i])) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, str(row[-1])]).rstrip())
    return "\n".join(lines)


def diff_two(args: argparse.Namespace) -> int:
    """Print the dotted keys ``run_b`` sets otherwise than ``run_a``; returns 0."""
    from ..learn.run_index import find_run
    from .spec_diff import diff_runs

    a, b = find_run(Path(args.root), args.run_a), find_run(Path(args.root), args.run_b)
    changes = diff_runs(a, b)
    print(f"{a} -> {b}:")
    print("\n".join(f"  {c}" for c in changes) if changes else "  no differences")
    return 0


def delete_run(args: argparse.Namespace) -> int:
    """Move a run into the trash; returns 0."""
    from ..learn.run_index import TRASH, move_to_trash

    root = Path(args.root)
    target = move_to_trash(root, args.run)
    name = target.relative_to(root / TRASH).as_posix()
    print(f"moved {args.run} to {target}; undo: isaac-rl-workbench runs restore {name} --root {root}")
    return 0


def restore_run(args: argparse.Namespace) -> int:
    """Move a run back out of the trash; returns 0."""
    from ..learn.run_index import restore

    print(f"restored {restore(Path(args.root), args.name)}")
    return 0
