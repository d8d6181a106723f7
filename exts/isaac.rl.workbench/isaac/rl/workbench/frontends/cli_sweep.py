"""``isaac-rl-workbench sweep SPEC --param KEY=SPACE ... --trials N``: a hyperparameter sweep with Optuna, each trial a
``train`` run in ``<out>/trial_NNN/`` (:mod:`..learn.sweep`); every ``--param`` is checked against the spec before
anything is written. The sweep folder gets ``results.csv``, ``best.toml`` (the spec with the best trial's params,
which ``train`` loads) and Optuna's ``optuna.db``; ``--resume`` continues its study."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .cli_common import positive_int

USER_ERRORS = ("isaac.rl.workbench.learn.sweep_space.SweepError",)  # bad input: exit 2 (SpecError, RunError: cli.py's)

EXAMPLE = "isaac-rl-workbench sweep cartpole --param ppo.algorithm.learning_rate=log:1e-4:1e-2 --trials 16"


def add_parsers(sub) -> None:
    """Register ``sweep`` on ``sub`` (argparse subparsers); Optuna is imported when the command runs."""
    p = sub.add_parser(
        "sweep",
        help="tune spec keys with Optuna: N training runs, the results table and the best spec",
        description=f"e.g. {EXAMPLE}",
    )
    p.add_argument("spec", metavar="SPEC", help="task name (tasks/<name>.toml) or spec file")
    p.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="KEY=SPACE",
        help="a spec key to tune (any key train --set takes) and its space: log:LOW:HIGH (log-uniform), LOW:HIGH "
        "(uniform), int:LOW:HIGH or choice:A,B,...; repeatable",
    )
    p.add_argument("--trials", type=positive_int, required=True, help="trials in the study (a resume's total)")
    p.add_argument(
        "--parallel", type=positive_int, default=1, help="trials at once (default 1; on the CPU they share the cores)"
    )
    p.add_argument(
        "--objective",
        metavar="KEY",
        help="the metrics.jsonl key to optimise, its last value in a run (default: eval/<the task's first metric> "
        "when logged, else metric/<it>, else mean_reward)",
    )
    p.add_argument(
        "--direction",
        choices=("maximize", "minimize"),
        help="default: minimize an objective whose name holds 'error', else maximize",
    )
    p.add_argument("--out", metavar="DIR", help="sweep folder (default runs/<task>/sweep_<date_time>)")
    p.add_argument("--num-envs", type=positive_int, help="envs of every trial")
    p.add_argument("--max-iterations", type=positive_int, help="iterations of every trial")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i] (every trial on it)")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default 0)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the study in --out (default: the newest runs/<task>/sweep_*) up to --trials",
    )
    p.set_defaults(func=sweep)


def sweep(args: argparse.Namespace) -> int:
    """Check the params against the spec, then run the sweep; 0 when done, 3 when no trial finished, 130 on Ctrl-C."""
    from ..learn.run_args import check_device, safe_name
    from ..learn.sweep import Sweep, SweepConfig, default_direction
    from ..learn.sweep_space import SweepError, parse_param
    from ..specs.loader import load_spec, save_spec
    from ..specs.overrides import parse_overrides
    from ..specs.schema import SpecError

    params = [parse_param(text) for text in args.param]
    keys = [p.key for p in params]
    given = {"env.num_envs": args.num_envs, "ppo.max_iterations": args.max_iterations}
    for p in params:
        if keys.count(p.key) > 1:
            raise SweepError(f"--param '{p.text}': {p.key} is swept twice; give one space per key")
        if given.get(p.key) is not None:
            raise SweepError(f"--param '{p.text}': {p.key} is also fixed by --{p.key.split('.')[-1].replace('_', '-')}")
    check_device(args.device)
    base = {key: value for key, value in given.items() if value is not None}
    spec = load_spec(args.spec, base)
    for p in params:
        for probe in p.probes():
            try:
                load_spec(args.spec, {**base, **parse_overrides([f"{p.key}={probe}"])})
            except SpecError as exc:
                raise SweepError(f"--param '{p.text}': {p.key}={probe}: {exc}") from None
    metric_names = list(spec.metrics)
    out = _sweep_folder(args, safe_name(spec.name))

    def write_best(sets: list[str]) -> Path:
        path = out / "best.toml"
        save_spec(load_spec(args.spec, {**base, **parse_overrides(sets)}), path)
        return path

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    train_args = ["--device", args.device]
    for flag, value in (("--num-envs", args.num_envs), ("--max-iterations", args.max_iterations)):
        train_args += [flag, str(value)] if value is not None else []
    config = SweepConfig(
        spec=str(args.spec),
        params=params,
        trials=args.trials,
        out=out,
        metric_names=metric_names,
        objective=args.objective,
        direction=args.direction or default_direction(args.objective, metric_names),
        train_args=train_args,
        parallel=args.parallel,
        threads=max(1, cores // args.parallel) if args.device == "cpu" else 1,
        seed=args.seed,
        warmup_steps=int(spec.ppo.get("max_iterations", 0)) // 4,
    )
    study = Sweep(config, args.resume, write_best, say=lambda line: print(line, flush=True))
    objective = args.objective or (f"the task metric ({metric_names[0]})" if metric_names else "mean_reward")
    done = study.counted()
    print(
        f"sweep of {spec.name}: {args.trials} trials ({done} done before), {args.parallel} at once on {args.device}, "
        f"{config.direction} {objective}; folder {out}",
        flush=True,
    )
    started = time.monotonic()
    code = study.run()
    results = study.write_results()
    print(f"{study.summary()}; {time.monotonic() - started:.0f} s", flush=True)
    print(f"results: {results}")
    if code == 130:
        print(f"interrupted; continue it with the same command and --resume --out {out}", flush=True)
        return 130
    if study.best_number is None:
        print(f"error: no trial finished; their logs are in {out / 'logs'}", file=sys.stderr)
        return 3
    print(f"best spec: {out / 'best.toml'} (train it: isaac-rl-workbench train {out / 'best.toml'})")
    return 0


def _sweep_folder(args: argparse.Namespace, task: str) -> Path:
    """``--out``; without it a new ``runs/<task>/sweep_<date_time>`` (``_2``, ``_3``... for another in that
    second), or with ``--resume`` the newest sweep of the task (the folder of the last ``optuna.db`` written)."""
    from ..learn.sweep import DB_FILE
    from ..learn.sweep_space import SweepError
    from ..run_writer import default_run_dir

    if args.out:
        return Path(args.out)
    root = Path("runs") / task
    if not args.resume:
        return default_run_dir(Path("runs"), task, prefix="sweep_")
    found = sorted(root.glob(f"sweep_*/{DB_FILE}"), key=lambda db: db.stat().st_mtime)
    if not found:
        raise SweepError(f"--resume: no sweep of {task} in {root} (sweep_*/{DB_FILE}); name its folder with --out")
    return found[-1].parent
