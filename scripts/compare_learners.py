"""Learning curves of PPO learners and precisions over seeds, in one process on one env (built once).

    python scripts/compare_learners.py cartpole --device cuda --num-envs 4096 --iterations 100 --seeds 1 2 3 \
        --configs graphed:fp32 graphed:bf16 graphed:fp16 rsl_rl:fp32 --threshold mean_episode_length=270 \
        --out cartpole_learners.json --plot cartpole_learners.png

A config ``graphed:fp32:default`` also sets ``ppo.torch_compile_mode`` (``eager``: none).
Each run (config x seed) re-seeds torch, resets every env, builds a fresh ``Trainer`` with ``ppo.learner`` and
``ppo.precision`` set, trains ``--iterations`` iterations and evaluates the deterministic policy. The env (and its
CUDA graph) is shared by the runs, so start-up is paid once. Reported per run: the training seconds
(``train_seconds``: collection + update) when the threshold was first reached, the median training env-steps/s,
the last iteration's mean return and the evaluation's; per config the mean over seeds.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path

import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv, make_backend
from isaac.rl.workbench.learn.ppo_config import validate_ppo_config
from isaac.rl.workbench.learn.rollout import evaluate
from isaac.rl.workbench.learn.trainer import Trainer
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.overrides import parse_overrides


def run_one(env, ppo: dict, device: str, seed: int, iterations: int, eval_episodes: int) -> dict:
    """Train one fresh learner on ``env`` from ``seed``; its metrics per iteration and its evaluation."""
    torch.manual_seed(seed)
    env.reset()
    trainer = Trainer(env, ppo, device)
    env.pop_episode_stats()  # episodes the previous run (or its evaluation) left behind
    rows = []
    for _ in range(iterations):
        metrics = trainer.train_step()
        rows.append({**metrics, "train_seconds": trainer.train_seconds})
    result = {"rows": rows}
    if eval_episodes:
        policy = trainer.runner.get_inference_policy(device)
        evaluated = evaluate(env, policy, eval_episodes)
        result["eval"] = {k: v for k, v in evaluated.items() if k != "episode_lengths"}
    return result


def first_reaching(rows: list[dict], key: str, threshold: float) -> dict | None:
    """The first iteration whose ``key`` is at least ``threshold``, or None."""
    return next((r for r in rows if (r.get(key) if r.get(key) is not None else -1e30) >= threshold), None)


def summary(config: str, seed: int, run: dict, threshold: tuple[str, float] | None) -> dict:
    rows = run["rows"]
    hit = first_reaching(rows, *threshold) if threshold else None
    rewards = [r["mean_reward"] for r in rows if r.get("mean_reward") is not None]
    return {
        "config": config,
        "seed": seed,
        "time_to_threshold_s": hit["train_seconds"] if hit else None,
        "iteration_at_threshold": hit["iteration"] if hit else None,
        "median_env_steps_per_s": statistics.median(r["env_steps_per_s"] for r in rows[3:] or rows),
        "final_mean_return": rewards[-1] if rewards else None,
        "eval_mean_return": run.get("eval", {}).get("mean_return"),
        "eval_mean_episode_length": run.get("eval", {}).get("mean_episode_length"),
        "eval_mean_root_vel_x": run.get("eval", {}).get("mean_root_vel_x"),
        "train_seconds": rows[-1]["train_seconds"],
    }


def plot(runs: dict, out_png: Path, task: str) -> None:
    """Mean return against training seconds, one line per run, one colour per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for index, (config, seeds) in enumerate(runs.items()):
        for n, run in enumerate(seeds.values()):
            rows = [r for r in run["rows"] if r.get("mean_reward") is not None]
            ax.plot(
                [r["train_seconds"] for r in rows],
                [r["mean_reward"] for r in rows],
                color=f"C{index}",
                alpha=0.8,
                label=config if n == 0 else None,
            )
    ax.set(xlabel="training seconds (collection + update)", ylabel="mean episode return", title=task)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["graphed:fp32", "rsl_rl:fp32"],
        help="LEARNER:PRECISION[:COMPILE_MODE] (torch.compile mode, or eager)",
    )
    parser.add_argument("--threshold", help="KEY=VALUE: report the training seconds when KEY first reaches VALUE")
    parser.add_argument("--eval-episodes", type=int, default=256)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="spec overrides")
    parser.add_argument("--out")
    parser.add_argument("--plot")
    args = parser.parse_args(argv)
    threshold = None
    if args.threshold:
        key, value = args.threshold.split("=")
        threshold = (key, float(value))
    spec = load_spec(args.task, {**parse_overrides(args.set), "env.num_envs": args.num_envs})
    env = WorkbenchEnv(spec, args.device, backend=make_backend(spec, args.device))
    runs: dict[str, dict[int, dict]] = {}
    summaries = []
    for config in args.configs:
        learner, precision, *compile_mode = config.split(":")
        ppo = copy.deepcopy(spec.ppo)
        ppo.update(learner=learner, precision=precision)
        if compile_mode:
            ppo["torch_compile_mode"] = None if compile_mode[0] == "eager" else compile_mode[0]
        validate_ppo_config(ppo)
        for seed in args.seeds:
            run = run_one(env, ppo, args.device, seed, args.iterations, args.eval_episodes)
            runs.setdefault(config, {})[seed] = run
            summaries.append(summary(config, seed, run, threshold))
            s = summaries[-1]
            print(
                f"{args.task} {config} seed {seed}: "
                + (
                    f"{threshold[0]} >= {threshold[1]:g} after {s['time_to_threshold_s']:.2f} s "
                    f"(iteration {s['iteration_at_threshold']}); "
                    if s["time_to_threshold_s"] is not None
                    else (f"{threshold[0]} never reached {threshold[1]:g}; " if threshold else "")
                )
                + f"median {s['median_env_steps_per_s'] / 1e6:.2f}M env-steps/s; final return "
                f"{s['final_mean_return']:.2f}; evaluation return {s['eval_mean_return'] or float('nan'):.2f}",
                flush=True,
            )
    for config in args.configs:
        mine = [s for s in summaries if s["config"] == config]
        times = [s["time_to_threshold_s"] for s in mine if s["time_to_threshold_s"] is not None]
        finals = [s["final_mean_return"] for s in mine if s["final_mean_return"] is not None]
        evals = [s["eval_mean_return"] for s in mine if s["eval_mean_return"] is not None]
        print(
            f"{args.task} {config}: "
            + (
                f"time to threshold mean {statistics.mean(times):.2f} s ({len(times)}/{len(mine)} seeds); "
                if times
                else ""
            )
            + f"final return mean {statistics.mean(finals):.2f}"
            + (f"; evaluation return mean {statistics.mean(evals):.2f}" if evals else ""),
            flush=True,
        )
    gpu = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu"
    if args.out:
        command = "python scripts/compare_learners.py " + " ".join(sys.argv[1:] if argv is None else argv)
        Path(args.out).write_text(
            json.dumps(
                {
                    "command": command,
                    "gpu": gpu,
                    "summaries": summaries,
                    "runs": {c: {str(s): r for s, r in v.items()} for c, v in runs.items()},
                }
            )
        )
    if args.plot:
        plot(runs, Path(args.plot), f"{args.task}, {args.num_envs} envs, {gpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
