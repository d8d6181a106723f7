"""``isaac-rl-workbench``: inspect or check a USD robot, train a task, play, export (and deploy), benchmark, list
spec keys; sysid, robustness, transfer and the Go2 DDS bridge (their commands live in the cli_*.py modules).

Exit codes: 0 done; 1 ``doctor`` (or ``import``'s check) found a problem; 2 bad input (a bad spec, file, checkpoint,
argument or device: one line naming the file, key or value and what was expected, no traceback, nothing written); 3
training or export failed (the physics failed for every env, NaN in the policy or its loss: the message names the
last good checkpoint; an exported model that disagrees with the training policy); 130 stopped by Ctrl-C.
docs/troubleshooting.md lists every message.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..utils import startup_timer
from . import cli_bridge, cli_deploy, cli_runs, cli_sim2real, cli_sweep, cli_sysid, cli_train
from .cli_common import Parser, add_threads, positive_int, set_threads, start_up

# The errors that end a command with a message, by exit code. Named, not imported: the modules that raise them
# pull in torch, pxr or ONNX, which ``--help``, ``spec`` or ``inspect`` do not need (seconds of start-up).
USER_ERRORS = (  # bad input: exit 2
    "isaac.rl.workbench.scene.inspect.SceneError",
    "isaac.rl.workbench.specs.schema.SpecError",
    "isaac.rl.workbench.learn.checkpoint.CheckpointError",
    "isaac.rl.workbench.learn.rsl_rl_settings.NetworkConfigError",
    "isaac.rl.workbench.backend.base.BackendError",
    "isaac.rl.workbench.scene.import_robot.RobotImportError",
    "isaac.rl.workbench.learn.run_dir.RunError",
    "isaac.rl.workbench.learn.distributed.LaunchError",
)
COMMAND_MODULES = (cli_deploy, cli_bridge, cli_sysid, cli_sim2real, cli_runs, cli_sweep)
"""Commands that live in modules of their own: each has ``add_parsers(sub)`` and its ``USER_ERRORS`` (names, as
above); they import :mod:`.cli_common`, never this module."""

FAILURES = (  # exit 3
    "isaac.rl.workbench.workbench.TrainingFailed",
    "isaac.rl.workbench.learn.export.ExportError",
    "isaac.rl.workbench.learn.distributed.RankLost",
)


def _doctor(args) -> int:
    """Exit 0 when the robot is ready to train, 1 when a check found a problem."""
    from ..doctor.usd_checks import Finding, check_robot, format_findings

    suggested = ""
    if Path(args.target).suffix.lower() in (".usd", ".usda", ".usdc"):
        findings = check_robot(args.target, args.articulation)
        if args.articulation is None:
            from ..scene.import_robot import spec_fragment

            suggested = spec_fragment(Path(args.target), Path.cwd())
    else:
        with start_up(args):  # a short command: its checks build envs, and are part of the start-up
            from ..specs.loader import load_spec

            spec = load_spec(args.target)
            actuated = {joint for group in spec.actuators.values() for joint in group.joints}
            findings = check_robot(spec.scene, spec.articulation, actuated)
            if spec.robot.base:
                findings.append(Finding("ok", "base", f"the spec makes the base {spec.robot.base} ([robot] base)"))
            if not any(f.level == "problem" for f in findings):
                from ..doctor.physics_checks import spec_checks

                flagged = [f.message.split(":")[0] for f in findings if f.check == "inertia"]
                physics, suggested = spec_checks(spec, flagged)
                findings += physics
    print(format_findings(args.target, findings))
    if suggested and Path(args.target).suffix.lower().startswith(".usd"):
        print(f"\nA spec to start from (add [env], [actions], rewards; doctor the spec too):\n\n{suggested}")
    elif suggested:
        print(f"\nSuggested fixes (replace these keys of your spec's tables):\n\n{suggested}")
    return 1 if any(f.level == "problem" for f in findings) else 0


def _import(args) -> int:
    from ..doctor.usd_checks import check_robot, format_findings
    from ..scene.import_robot import EXAMPLE_ROBOTS, convert_robot, example_robot, spec_fragment
    from ..scene.inspect import format_scene, inspect_scene

    source = Path(args.robot)
    if not source.exists() and args.robot in EXAMPLE_ROBOTS:
        source = example_robot(args.robot)
    out_dir = Path(args.out or Path("assets") / "robots" / source.stem)
    imported = convert_robot(source, out_dir)
    usd = imported.usd
    try:
        print(f"imported {source} -> {usd}\n")
        print("".join(f"rewritten for USD: {change}\n" for change in imported.changes), end="")
        print("".join(f"converter warning: {warning}\n" for warning in imported.warnings), end="")
        print(format_scene(inspect_scene(usd)))
        print()
        findings = check_robot(usd)
        print(format_findings(usd, findings))
        print("\nA spec to start from (save it beside the folder you imported into, add [env], [actions], rewards):\n")
        floating = True if args.floating_base else False if args.fixed_base else None  # None: as the scene has it
        print(spec_fragment(usd, Path.cwd(), floating_base=floating))
    except BaseException:
        imported.remove()  # a failure after the conversion (bad input, Ctrl-C) leaves nothing behind
        raise
    return 1 if any(f.level == "problem" for f in findings) else 0  # as doctor: 1 when it found a problem


def _inspect(args) -> int:
    from ..scene.inspect import format_scene, inspect_scene

    print(format_scene(inspect_scene(args.scene)))
    return 0


def _terms(args) -> int:
    with start_up(args):  # imports torch and the env for their docstrings
        from .term_docs import terms_markdown

    print(terms_markdown(), end="")
    return 0


def _spec(args) -> int:
    from ..specs.key_docs import spec_key_docs

    for item in spec_key_docs():
        default = "" if item.default is None else f" (default {item.default!r})"
        print(f"{item.key}{default}\n    " + " ".join(item.doc.split()))
    print(
        "ppo.*\n    rsl-rl's own keys: [ppo] runner keys, [ppo.actor] / [ppo.critic] (rsl_rl.models.MLPModel), "
        "[ppo.algorithm] (rsl_rl.algorithms.PPO); see tasks/cartpole.toml\n"
        'ppo.learner\n    "graphed" (default: rsl-rl\'s PPO without host syncs, as CUDA graphs on the GPU) or '
        '"rsl_rl" (rsl-rl\'s PPO itself)\n'
        'ppo.precision\n    "fp32" (default), "bf16" or "fp16" for the actor and critic networks\n'
        'ppo.torch_compile_mode\n    rsl-rl\'s key; with the graphed learner "default" or "max-autotune-no-cudagraphs" '
        "compiles the update's losses, clipping, returns and policy step on CUDA (the CPU stays eager); "
        '"none": off'
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="isaac-rl-workbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="list the articulations, joints and bodies of a USD scene")
    p.add_argument("scene")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("import", help="convert a URDF or MJCF robot to USD, check it, suggest a spec")
    p.add_argument("robot", metavar="ROBOT.urdf|.xml", help="a URDF or MJCF file, or go2 / panda / so101 / g1 (URDF)")
    p.add_argument("-o", "--out", metavar="DIR", help="output folder (default assets/robots/<name>)")
    base = p.add_mutually_exclusive_group()
    base.add_argument("--floating-base", action="store_true", help="suggest [robot] base = floating (legged robots)")
    base.add_argument("--fixed-base", action="store_true", help="suggest [robot] base = fixed (arms)")
    p.set_defaults(func=_import)  # neither flag: the base as the scene has it (URDF: fixed, MJCF free joint: floating)

    p = sub.add_parser("doctor", help="check a robot (a USD scene, or a task's) before training; exit 1 on a problem")
    p.add_argument("target", metavar="SCENE_OR_SPEC")
    p.add_argument("--articulation", help="articulation root prim path, when the scene has several")
    p.set_defaults(func=_doctor)

    cli_train.add_parsers(sub)

    sub.add_parser("bench", help="measure raw physics, env step and training throughput (bench --help)")

    p = sub.add_parser("terms", help="print the term reference (docs/terms.md): every term and what env offers")
    p.set_defaults(func=_terms)

    p = sub.add_parser("spec", help="list the keys a task spec accepts, with units and ranges")
    p.add_argument("--help-keys", action="store_true", help="print every key with its default and meaning")
    p.set_defaults(func=_spec)

    p = sub.add_parser("serve", help="the Workbench panel in a browser (viser): edit, train, watch, play, export")
    p.add_argument("task", nargs="?", help="task name or spec file to open")
    p.add_argument("--host", default="127.0.0.1", help="address to bind; any but loopback requires the printed token")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument(
        "--scenes",
        nargs="+",
        metavar="DIR",
        help="folders the page may open scenes and specs from (default: the task folders and the shipped scenes)",
    )
    p.add_argument("--runs", default="runs", metavar="DIR", help="folder for runs (default ./runs)")
    p.add_argument("--view-envs", type=positive_int, default=4, help="envs shown in the 3D view")
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        type=_allowed_origin,
        metavar="ORIGIN",
        help="another origin whose pages may open the panel (repeatable), e.g. https://lab.example.com behind a "
        "reverse proxy; '*' turns the Origin and Host checks off",
    )
    add_threads(p)
    p.set_defaults(func=_serve)
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def _allowed_origin(text: str) -> str:
    """An argparse type: an origin for serve --allow-origin (scheme://host[:port]), or '*'."""
    from .web.own_origins import parse_origin

    try:
        return parse_origin(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve(args) -> int:
    from ..learn.run_args import check_device
    from .web.app import serve

    set_threads(args)
    check_device(args.device)
    where = (args.task, args.host, args.port, args.device, args.scenes, Path(args.runs), args.view_envs)
    serve(*where, block=True, allow_origins=args.allow_origin)  # until Ctrl-C or SIGTERM (ctrl_c.serve_until_stopped)
    if getattr(args, "own_process", False):
        # everything is saved and the server is down; a native thread a panel job left running (USD, torch) can
        # abort the interpreter's own teardown ("terminate called without an active exception"), so end here
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def exit_code(exc: Exception) -> int | None:
    """2 for bad input, 3 for a failed training or export (see :data:`USER_ERRORS`, :data:`FAILURES`), None for
    any other exception (a bug: its traceback is shown)."""
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__}
    user_errors = set(USER_ERRORS).union(*(module.USER_ERRORS for module in COMMAND_MODULES))
    return 2 if names.intersection(user_errors) else 3 if names.intersection(FAILURES) else None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (see the module docstring).

    ``argv`` None: the console script, a process of its own, whose start-up may pause the garbage collector and
    freeze the objects it built until the process ends (see :func:`~.cli_common.start_up`). A caller that passes
    ``argv`` (a test, a script, many commands in one process) keeps its collector as it is.
    """
    startup_timer.mark("main")
    own_process, argv = argv is None, sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["bench"]:
            from .bench import main as bench_main

            return bench_main(argv[1:])
        args = build_parser().parse_args(argv)
        if args.command == "train" and not args.task and not args.resume:
            build_parser().error("train needs a TASK or --resume RUN_DIR")
        args.own_process = own_process
        return args.func(args)
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        rank = f"rank {os.environ.get('RANK', '?')}: " if os.environ.get("WORLD_SIZE", "1") != "1" else ""
        print(f"error: {rank}{exc}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("\naborted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
