"""``isaac-rl-workbench go2-bridge`` (the simulated Go2 on the Go2's DDS topics) and ``isaac-rl-workbench deploy``
(the robot runtime driving a robot: a Unitree Go2 over DDS, or the simulator in-process).

``deploy`` exits 0 when the run ended with the policy in control, 1 when the safety layer's stop latched (the reason
is printed), 2 on bad input (a bundle, an argument, no robot answering, the ``go2`` extra missing).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..sim2real.go2_bridge_args import add_bridge_arguments
from .cli_common import positive_seconds

USER_ERRORS = (  # bad input: exit 2
    "isaac.rl.workbench.deploy.bundle_error.BundleError",
    "isaac.rl.workbench.deploy.unitree_go2.MissingExtraError",
    "isaac.rl.workbench.deploy.unitree_go2.RobotNotFoundError",
    "isaac.rl.workbench.deploy.observations.MissingStateError",
)


def _velocity(text: str) -> list[float]:
    """``vx,vy,wz`` -> three floats."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': expected vx,vy,wz (finite m/s, m/s, rad/s), e.g. 0.5,0,0")
    return values


def _serve_bridge(args: argparse.Namespace) -> int:
    """``go2-bridge``: the bridge (imported here, not when the parser is built) serves until stopped; 0."""
    from ..sim2real.go2_bridge import serve_from_args

    return serve_from_args(args)


def add_parsers(sub) -> None:
    """Register ``go2-bridge`` and ``deploy`` on ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "go2-bridge",
        help="simulate a Go2 task that answers rt/lowcmd with rt/lowstate over DDS, as the robot (Ctrl-C stops)",
    )
    add_bridge_arguments(p, seconds=positive_seconds)
    p.set_defaults(func=_serve_bridge)

    p = sub.add_parser("deploy", help="run an exported bundle's policy on a robot (a Go2 over DDS, or the simulator)")
    p.add_argument("bundle", metavar="BUNDLE", help="the bundle folder (export --deploy) or its deploy.json")
    p.add_argument("--robot", choices=("go2", "sim"), required=True, help="go2: over DDS; sim: the task in-process")
    p.add_argument("--interface", default="lo", help="go2: the robot's network interface (default lo: the bridge)")
    p.add_argument(
        "--domain-id", type=int, default=None, help="go2: DDS domain (default 1 on lo, the bridge's; else 0, a Go2's)"
    )
    p.add_argument("--seconds", type=positive_seconds, default=10.0, help="how long the policy runs (default 10)")
    p.add_argument(
        "--command", type=_velocity, default=None, metavar="VX,VY,WZ", help="velocity command (default 0,0,0)"
    )
    p.add_argument("--log", metavar="OUT.npz", help="write the robot log (state and command of every step)")
    p.add_argument("--task", help="sim: the task to simulate (default the bundle's task)")
    p.add_argument("--state-timeout", type=positive_seconds, default=5.0, help="go2: wait this long for a state")
    p.set_defaults(func=_deploy)


def operator_commands(bundle, velocity: list[float] | None) -> dict:
    """The operator's commands for ``bundle``: its velocity command set to ``velocity`` (zeros when None).

    Raises:
        BundleError: a velocity is given but the policy observes no 3-value velocity command, or the policy
            observes a command that is not a velocity (the runtime cannot make it up).
    """
    from ..deploy.bundle import BundleError

    commands = {}
    for name, table in bundle.commands.items():
        if table.get("type") != "velocity" or int(table.get("size", 3)) != 3:
            raise BundleError(f"command '{name}' is a {table.get('type')} command; deploy sets velocity commands only")
        commands[name] = list(velocity or [0.0, 0.0, 0.0])
    if velocity is not None and not commands:
        raise BundleError("--command given, but the bundle's policy observes no velocity command")
    return commands


def _deploy(args: argparse.Namespace) -> int:
    from ..deploy.runtime import Runtime

    runtime = Runtime(args.bundle)
    bundle = runtime.bundle
    commands = operator_commands(bundle, args.command)
    if args.robot == "go2":
        from ..deploy.unitree_go2 import Go2DdsDriver

        domain = args.domain_id if args.domain_id is not None else (1 if args.interface == "lo" else 0)
        driver = Go2DdsDriver(args.interface, domain, state_timeout_s=args.state_timeout)
        realtime = True
        print(f"deploy: Go2 on {args.interface}, DDS domain {domain}: {args.seconds:g} s", flush=True)
    else:
        from ..sim2real.sim_driver import SimDriver

        driver = SimDriver(args.task or bundle.task, motor_order=list(bundle.joints["motor_order"]))
        for name, values in commands.items():
            driver.set_command(name, values)
        realtime = False  # the simulator advances one control period per command
        print(f"deploy: simulated {args.task or bundle.task}: {args.seconds:g} s", flush=True)
    try:
        report = runtime.run(driver, args.seconds, commands, realtime=realtime, log_path=args.log)
        metrics = driver.metrics() if args.robot == "sim" else {}
    finally:
        driver.close()
    print(
        f"deploy: {report.steps} steps, {report.missed_deadlines} missed deadlines, compute "
        f"{report.compute_median_us:.0f} us median / {report.compute_p99_us:.0f} us p99"
    )
    for key, value in metrics.items():
        print(f"deploy: {key} = {value:.4g}")
    if report.log_path is not None:
        print(f"deploy: log written to {Path(report.log_path)}")
    if report.latched:
        print(f"deploy: safe stop latched at step {report.latch_step}: {report.latch_reason}", file=sys.stderr)
        return 1
    return 0
