"""``isaac-rl-workbench sysid``: fit the simulator's joint friction, damping, armature, mass and actuator gain to joint
data recorded on the robot (a ROS 2 bag in MCAP or a robot log ``.npz``), and write the fitted spec.

Writes into ``--out``: ``sysid.json`` (fitted values, their spread, the RMS joint position error before and after,
the per-iteration history), ``sysid.png`` (recorded against simulated joint positions) and ``<task>_sysid.toml``
(the task spec with the fitted values, loadable with ``train``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from .cli_common import add_threads, finite_number, positive_int, set_threads

USER_ERRORS = (  # bad input: exit 2
    "isaac.rl.workbench.sim2real.robot_data.RobotDataError",
    "isaac.rl.workbench.sim2real.sysid.SysidError",
)


_PARAMS_HELP = (
    "comma-separated parameters to fit: joint_friction [N m], joint_damping [N m s/rad], armature [kg m^2] (one "
    "value per joint group), mass_scale (x every body's mass), actuator_gain (x the effort, or the PD gains), "
    "latency [s] (from a command to the motors)"
)


def add_parsers(sub) -> None:
    """Add the ``sysid`` command to ``sub`` (argparse subparsers)."""
    p = sub.add_parser("sysid", help="fit joint friction, damping, armature, mass and actuator gain to a robot log")
    p.add_argument("task", metavar="SPEC", help="task name (tasks/<name>.toml) or spec file")
    p.add_argument("--data", required=True, metavar="LOG", help="a ROS 2 bag (.mcap) or a robot log (.npz)")
    p.add_argument("--params", required=True, metavar="A,B,...", help=_PARAMS_HELP)
    p.add_argument("--num-envs", type=positive_int, default=1024, help="candidates replayed in parallel (default 1024)")
    p.add_argument("--iterations", type=positive_int, default=30, help="cross-entropy iterations (default 30)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/sysid/<task>_<date_time>)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument(
        "--joints",
        nargs="+",
        metavar="REGEX",
        help="joint groups, one per regular expression, each with its own friction, damping and armature "
        "(default: one group of the action joints)",
    )
    p.add_argument(
        "--bounds", nargs="+", default=[], metavar="NAME=LO:HI", help="search bounds of a parameter (or NAME[group])"
    )
    p.add_argument("--state-topic", default="/joint_states", help="ROS 2 bag: the JointState readings' topic")
    p.add_argument("--command-topic", default="/joint_commands", help="ROS 2 bag: the JointState commands' topic")
    p.add_argument("--fixed-base", action="store_true", help="replay with the root fixed (a robot on a stand)")
    p.add_argument("--velocity-weight", type=_weight, default=0.05, help="weight of velocity errors [s] (default 0.05)")
    p.add_argument("--seed", type=int, default=0)
    add_threads(p)
    p.set_defaults(func=handle_sysid)


def parse_bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    """``["joint_friction=0.1:5"]`` -> ``{"joint_friction": (0.1, 5.0)}``.

    Raises:
        SysidError: an item not of the form NAME=LO:HI with numbers.
    """
    from ..sim2real.sysid import SysidError

    out = {}
    for item in items:
        name, _, span = item.partition("=")
        low, _, high = span.partition(":")
        try:
            out[name.strip()] = (float(low), float(high))
        except ValueError:
            raise SysidError(
                f"--bounds '{item}': expected NAME=LO:HI with numbers, e.g. joint_friction=0.01:2"
            ) from None
        if not all(math.isfinite(v) for v in out[name.strip()]):
            raise SysidError(f"--bounds '{item}': expected finite numbers, e.g. joint_friction=0.01:2")
    return out


def _weight(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    return finite_number(text, "a finite number >= 0", lambda value: value >= 0)


def handle_sysid(args) -> int:
    """Run the fit and write sysid.json, sysid.png and the fitted spec; 0 when done."""
    from ..learn.run_args import check_device, safe_name
    from ..sim2real.robot_data import read_joint_log
    from ..sim2real.sysid import PARAMETERS, SysidError, SysidSettings, identify
    from ..sim2real.sysid_plot import plot_sysid
    from ..sim2real.sysid_spec import write_fitted_spec
    from ..specs.loader import load_spec

    set_threads(args)
    device = check_device(args.device)
    params = [name.strip() for name in args.params.split(",") if name.strip()]
    unknown = [name for name in params if name not in PARAMETERS]
    if unknown or not params:
        raise SysidError(f"unknown parameter(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(PARAMETERS)}")
    settings = SysidSettings(
        params=params,
        num_envs=args.num_envs,
        iterations=args.iterations,
        joint_groups=args.joints,
        bounds=parse_bounds(args.bounds),
        velocity_weight=args.velocity_weight,
        seed=args.seed,
        fixed_base=args.fixed_base,
    )
    spec = load_spec(args.task)
    log = read_joint_log(args.data, args.state_topic, args.command_topic)
    out = Path(args.out or Path("runs") / "sysid" / f"{safe_name(spec.name)}_{time.strftime('%Y-%m-%d_%H-%M-%S')}")
    print(
        f"sysid of {spec.name}: {len(log.t)} readings over {log.duration:.2f} s from {args.data}; "
        f"{args.iterations} iterations of {args.num_envs} envs on {device}",
        flush=True,
    )
    if spec.robot.base == "floating" and not args.fixed_base:
        print("note: the base floats, so the open-loop replay drifts; record on a stand and pass --fixed-base")
    result = identify(spec, log, settings, device, progress=lambda line: print(line, flush=True))
    spec_file = out / f"{safe_name(spec.name)}_sysid.toml"
    write_fitted_spec(spec, result, spec_file)
    plot_sysid(
        out / "sysid.png",
        result.t,
        result.joint_names,
        result.recorded,
        result.simulated_nominal,
        result.simulated_fitted,
        result.rms_before,
        result.rms_after,
    )
    report = {"task": spec.name, "spec": str(spec.source), "data": str(args.data), "fitted_spec": str(spec_file)}
    (out / "sysid.json").write_text(json.dumps({**report, **result.to_dict()}, indent=2) + "\n")
    for p, value, spread in zip(result.parameters, result.fitted, result.spread, strict=True):
        print(f"{p.label} = {value:.5g} ± {spread:.2g} (spec {p.nominal:.4g}; searched {p.low:.3g} .. {p.high:.3g})")
    print(
        f"RMS joint position error: {result.rms_before:.4g} with the spec's values, {result.rms_after:.4g} fitted; "
        f"{result.iterations} iterations x {result.num_envs} envs in {result.fit_seconds:.1f} s "
        f"(+{result.build_seconds:.1f} s to build)"
    )
    print(f"wrote {out / 'sysid.json'}, {out / 'sysid.png'} and {spec_file}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m isaac.rl.workbench.frontends.cli_sysid SPEC --data LOG --params ...``: exit 2 on bad input."""
    parser = argparse.ArgumentParser(prog="isaac-rl-workbench")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sysid", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except Exception as exc:
        names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__}
        user_errors = {*USER_ERRORS, "isaac.rl.workbench.specs.schema.SpecError"}
        if not names & {*user_errors, "isaac.rl.workbench.learn.run_dir.RunError"}:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
