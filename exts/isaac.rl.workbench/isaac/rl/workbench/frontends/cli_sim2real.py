"""``isaac-rl-workbench robustness`` and ``transfer``: how a trained policy holds up past its training range, and
how it does on a stand-in reality (a robot it never saw) compared with its own simulation.

    isaac-rl-workbench robustness RUN_DIR [--episodes N] [--points K] [--beyond 0.5] [--params NAME...] [--out DIR]
    isaac-rl-workbench transfer RUN_DIR... --reality REALITY.toml [--seconds S] [--episodes N]
        [--command base_velocity=0.5,0,0] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..specs.overrides import parse_overrides
from .cli_common import add_threads, positive_int, positive_seconds, set_threads

USER_ERRORS = (
    "isaac.rl.workbench.sim2real.robustness_params.ParameterError",
    "isaac.rl.workbench.sim2real.reality.RealityError",
    "isaac.rl.workbench.sim2real.transfer.TransferError",
    "isaac.rl.workbench.specs.schema.SpecError",
    "isaac.rl.workbench.learn.run_dir.RunError",
    "isaac.rl.workbench.learn.checkpoint.CheckpointError",
    "isaac.rl.workbench.deploy.bundle_error.BundleError",
)
"""Errors that mean bad input (exit 2): a parameter name, a reality file, a run folder, a checkpoint, a bundle."""


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got '{text}'") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _command(text: str) -> tuple[str, list[float]]:
    """``base_velocity=0.5,0,0`` -> (name, values)."""
    name, sep, values = text.partition("=")
    try:
        numbers = [float(v) for v in values.split(",")]
    except ValueError:
        numbers = []
    if not sep or not name or not numbers:
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,V3 (e.g. base_velocity=0.5,0,0), got '{text}'")
    return name, numbers


def _robustness(args) -> int:
    from ..sim2real.robustness import RobustnessSweep
    from ..sim2real.robustness_plot import write_report

    set_threads(args)
    run_dir = Path(args.run_dir)
    print(f"building the sweep env of {run_dir} on {args.device} ...", flush=True)
    sweep = RobustnessSweep(
        run_dir,
        episodes=args.episodes,
        points=args.points,
        beyond=args.beyond,
        params=args.params,
        overrides=parse_overrides(args.set),
        device=args.device,
        checkpoint=Path(args.checkpoint) if args.checkpoint else None,
    )
    names = ", ".join(p.name for p in sweep.parameters)
    print(f"sweeping {names}; {args.episodes} episodes per point; metric: {sweep.metric}", flush=True)
    points = sweep.run(lambda line: print(line, flush=True))
    out = Path(args.out) if args.out else run_dir / "robustness"
    files = write_report(points, sweep.metric, out, f"{sweep.spec.name} ({run_dir.name}, iteration {sweep.iteration})")
    print(f"robustness report: {files['md']}, {files['csv']}, {files['png']}")
    return 0


def _transfer(args) -> int:
    from ..sim2real.reality import describe, load_reality
    from ..sim2real.transfer import markdown_table, transfer, write_tables

    set_threads(args)
    reality = load_reality(args.reality)
    summary = describe(reality)
    print(f"reality {reality.name}: {summary}", flush=True)
    errors = _row_errors()
    rows = transfer(
        [Path(r) for r in args.run_dirs],
        reality,
        episodes=args.episodes,
        seconds=args.seconds,
        commands=dict(args.command or []),
        device=args.device,
        progress=lambda line: print(line, flush=True),
        errors=errors,
    )
    print()
    print(markdown_table(rows, reality, summary))
    out = Path(args.out) if args.out else Path(args.run_dirs[0]) / "transfer" / reality.name
    files = write_tables(rows, reality, summary, out)
    print(f"transfer table: {files['md']}, {files['json']}")
    return 0 if any(row.error is None for row in rows) else 2


def _row_errors() -> tuple[type[Exception], ...]:
    """What makes one run unusable for a robot without stopping the others: it cannot be exported for a robot (it
    observes what a robot cannot measure), its bundle, checkpoint or spec is bad, or its robot is not the
    reality's."""
    from ..deploy.bundle import BundleError
    from ..deploy_manifest import DeployError
    from ..learn.checkpoint import CheckpointError
    from ..learn.export import ExportError
    from ..learn.run_dir import RunError
    from ..specs.schema import SpecError

    return (BundleError, CheckpointError, DeployError, ExportError, RunError, SpecError)


def add_parsers(sub) -> None:
    """Add ``robustness`` and ``transfer`` to the CLI's subparsers ``sub``."""
    p = sub.add_parser("robustness", help="sweep each randomised parameter past its training range; table and plot")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--episodes", type=positive_int, default=16, help="episodes per sweep point (default 16)")
    p.add_argument("--points", type=positive_int, default=5, help="values per parameter (default 5)")
    p.add_argument(
        "--beyond", type=_non_negative, default=0.5, help="how far past the training range, in range widths (0.5)"
    )
    p.add_argument("--params", nargs="+", metavar="NAME", help="parameters to sweep (names or patterns; default all)")
    p.add_argument("--checkpoint", help="default: the run's latest")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--out", metavar="DIR", help="output folder (default RUN_DIR/robustness)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="override keys of the run's spec")
    add_threads(p)
    p.set_defaults(func=_robustness)

    p = sub.add_parser("transfer", help="run exported policies on a stand-in reality and compare with simulation")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="one table row per run")
    p.add_argument("--reality", required=True, metavar="REALITY.toml", help="the stand-in robot (sim2real/reality.py)")
    p.add_argument("--episodes", type=positive_int, default=4, help="episodes per run and side (default 4)")
    p.add_argument(
        "--seconds", type=positive_seconds, help="length of each episode [s] (default the task's episode_seconds)"
    )
    p.add_argument(
        "--command",
        type=_command,
        action="append",
        metavar="NAME=V1,V2,V3",
        help="fix a command for every episode, e.g. base_velocity=0.5,0,0 (default: each episode's seed draws one)",
    )
    p.add_argument("--device", default="cpu", help="where the simulations run")
    p.add_argument("--out", metavar="DIR", help="output folder (default FIRST_RUN_DIR/transfer/<reality's name>)")
    add_threads(p)
    p.set_defaults(func=_transfer)
