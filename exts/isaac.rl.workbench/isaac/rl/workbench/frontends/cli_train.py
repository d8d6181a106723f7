"""``isaac-rl-workbench train`` and ``play``: train a task with PPO (alone, or as one rank under ``torchrun``), and
run a trained policy deterministically (with ``--record``, a USD animation and the camera frames). Their errors are
:mod:`.cli`'s (``SpecError``, ``CheckpointError``, ``RunError``... exit 2; ``TrainingFailed``, ``RankLost`` exit 3)."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

from ..specs.overrides import parse_overrides
from ..utils import startup_timer
from .cli_common import add_threads, format_iteration, positive_int, set_threads, start_up
from .ctrl_c import StopOnCtrlC
from .train_report import built_line, finish_and_evaluate, stopped_already


def add_parsers(sub) -> None:
    """Register ``train`` and ``play`` on ``sub`` (argparse subparsers); the Workbench is imported when one runs."""
    p = sub.add_parser("train", help="train a task with PPO")
    p.add_argument("task", nargs="?", help="task name (tasks/<name>.toml) or spec file")
    p.add_argument("--num-envs", type=positive_int)
    p.add_argument("--max-iterations", type=positive_int, help="total iterations (a resumed run stops at this count)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument(
        "--run-dir", help="run folder (default runs/<task>/<date_time>, with _2, _3... for a second run in that second)"
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override spec keys, e.g. ppo.algorithm.num_mini_batches=2 env.spacing=2.5",
    )
    p.add_argument(
        "--eval-episodes",
        type=positive_int,
        help="deterministic episodes to evaluate at the end (default: one per env, a single round)",
    )
    p.add_argument(
        "--dist-backend",
        choices=("nccl", "gloo"),
        help="under torchrun: the collective backend (default: nccl for --device cuda, one GPU per rank; gloo for "
        "the CPU or a shared cuda:i; or $ISAAC_RL_WORKBENCH_DIST_BACKEND)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="insist on a torchrun launch (refused without it); a torchrun launch is detected without the flag",
    )
    add_threads(p)
    p.set_defaults(func=train)

    p = sub.add_parser("play", help="run a trained policy deterministically")
    p.add_argument("run_dir")
    p.add_argument("--checkpoint")
    p.add_argument("--episodes", type=positive_int, default=16)
    p.add_argument("--num-envs", type=positive_int, help="default: one env per episode")
    p.add_argument("--device", default="cpu")
    p.add_argument("--record", metavar="OUT_USDA", help="write a USD animation of the rollout")
    p.add_argument("--overwrite", action="store_true", help="let --record replace an existing file")
    add_threads(p)
    p.set_defaults(func=play)


def _overrides(args) -> dict:
    out = parse_overrides(getattr(args, "set", None) or [])
    if getattr(args, "num_envs", None) is not None:
        out["env.num_envs"] = args.num_envs
    if getattr(args, "max_iterations", None) is not None:
        out["ppo.max_iterations"] = args.max_iterations
    if getattr(args, "seed", None) is not None:
        out["seed"] = args.seed
    return out


def _print_warnings(event: str, data: dict) -> None:
    """Workbench listener: warnings go to stderr as they happen."""
    if event == "warning":
        print(f"warning: {data['message']}", file=sys.stderr, flush=True)


def train(args) -> int:
    """Train; under ``torchrun`` as one rank of a distributed run (``learn/distributed.py``): this rank's device,
    and only rank 0 prints its progress (every rank's errors go to stderr)."""
    with start_up(args):
        from ..learn import distributed

        args.device = distributed.start(args.device, args.dist_backend, required=args.distributed)
    try:
        with contextlib.nullcontext() if distributed.writes() else contextlib.redirect_stdout(io.StringIO()):
            return _train_rank(args)
    finally:
        distributed.stop()


def _train_rank(args) -> int:
    from ..learn.distributed import RankLost, any_rank, current, wait_for_every_rank

    with start_up(args):
        from ..workbench import TrainingFailed, Workbench

        set_threads(args)
        if args.resume:
            wb = Workbench.open(Path(args.resume), _overrides(args), args.device)
            done = wb.run.latest_iteration()
            if done >= wb.max_iterations:
                print(
                    f"nothing to do: {wb.run_dir} has done {done} iterations and max_iterations is "
                    f"{wb.max_iterations}; to train on, give a larger total: isaac-rl-workbench train --resume "
                    f"{wb.run_dir} --max-iterations {done + wb.max_iterations}"
                )
                return 0
            stopped = stopped_already(wb, done)
            if stopped:
                print(stopped)
                return 0
        else:
            wb = Workbench.new(args.task, _overrides(args), args.run_dir and Path(args.run_dir), args.device)
        startup_timer.mark("spec")
        wb.add_listener(_print_warnings)
        print(f"run folder: {wb.run_dir}")
        print(f"building {wb.spec.env.num_envs} envs of {wb.spec.scene.name} on {args.device} ...", flush=True)
        started = time.perf_counter()
        wb.build(resume=bool(args.resume))
        print(built_line(time.perf_counter() - started), flush=True)
        for notice in (wb.eval_notice, wb.compile_notice):
            if notice:
                print(notice, flush=True)
    if args.resume:
        print(f"resuming at iteration {wb.iteration} of {wb.max_iterations}")
    max_len, steps = wb.env.max_episode_length, int(wb.spec.ppo["num_steps_per_env"])
    stop = StopOnCtrlC(wb)
    with stop:
        try:
            while True:  # every rank stops at the same iteration, for the same reason (Ctrl-C on any rank: all)
                finished, interrupted = any_rank(wb.done, stop.requested)
                if finished or interrupted:
                    break
                metrics = wb.train_step()
                line = format_iteration(metrics, wb.max_iterations, max_len)
                print(line + wb.monitor.progress(metrics, max_len, steps), flush=True)
                startup_timer.report()  # the phases up to the first iteration (ISAAC_RL_WORKBENCH_STARTUP_PROFILE=1)
        except (TrainingFailed, RankLost):  # RankLost between iterations: the checkpoint holds a whole iteration
            wb.finish()  # logs closed, curves drawn, no checkpoint of the failed state
            raise
        if interrupted or not wb.writes:
            wb.finish()
    if interrupted:
        if wb.writes:
            resume = "torchrun ... train --resume" if current().distributed else "isaac-rl-workbench train --resume"
            print(
                f"interrupted at iteration {wb.iteration}; checkpoint saved; resume with: {resume} {wb.run_dir}",
                flush=True,
            )
        wait_for_every_rank()  # no rank exits 130 before rank 0 saved: torchrun ends every rank when one fails
        return 130
    if not wb.writes:  # the other ranks of a distributed run: rank 0 reports and evaluates
        return 0
    print(f"trained {wb.iteration - wb.start_iteration} iterations in {wb.train_seconds:.1f} s", flush=True)
    result = finish_and_evaluate(wb, args.eval_episodes)
    share = 100.0 * result["mean_episode_length"] / max_len
    why = f"; stopped early: {wb.stopped}" if wb.stopped else ""
    print(
        f"{wb.spec.name}: mean episode length {result['mean_episode_length']:.1f} / {max_len} ({share:.1f}%), "
        f"mean return {result['mean_return']:.2f}{_speed(wb, result)}{_metrics(result)} over {result['episodes']} "
        f"deterministic episodes{_blowups(result)}{why}; run: {wb.run_dir}"
    )
    return 0


def _blowups(result: dict) -> str:
    """', 3 of them blew up' when the physics failed in some evaluated episodes, '' otherwise."""
    return f", {result['unstable_episodes']} of them blew up" if result.get("unstable_episodes") else ""


def _metrics(result: dict) -> str:
    """', success 0.97, ee_error 0.0123' for the spec's metrics, '' without any."""
    return "".join(f", {k.split('/', 1)[1]} {v:.3g}" for k, v in result.items() if k.startswith("metric/"))


def _speed(wb, result: dict) -> str:
    """', forward speed 2.31 m/s' for a floating-base robot, '' otherwise."""
    return f", forward speed {result['mean_root_vel_x']:.2f} m/s" if wb.env.floating_base else ""


def play(args) -> int:
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    with start_up(args):
        from ..learn.run_dir import RunError, writing
        from ..utils.writable import check_writable
        from ..workbench import Workbench

        if args.record:  # before the rollout, not after it
            if Path(args.record).exists() and not args.overwrite:
                raise RunError(f"{args.record} exists; --overwrite replaces it, or --record another file")
            with writing(Path(args.record)):
                check_writable(Path(args.record).resolve().parent)
        set_threads(args)
        wb = Workbench.for_play(Path(args.run_dir), args.episodes, _overrides(args), args.device, checkpoint)
    result = wb.evaluate(num_episodes=args.episodes, record=Path(args.record) if args.record else None)
    max_len = result["max_episode_length"]
    print(
        f"{wb.spec.name} (iteration {wb.iteration}): mean return {result['mean_return']:.2f}, mean episode "
        f"length {result['mean_episode_length']:.1f} / {max_len}{_speed(wb, result)}{_metrics(result)} over "
        f"{result['episodes']} episodes"
        f"{_blowups(result)}"
    )
    if "recording" in result:
        print(f"recording: {result['recording']}")
    if "frames" in result:
        print(f"camera frames: {result['frames']} (PNG per env and frame; depth in millimetres, 16-bit)")
    return 0
