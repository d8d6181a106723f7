"""Throughput benchmark: raw Newton stepping vs the workbench env vs full PPO training, side by side.

For each env count, one fresh process measures, on the same scene with the same substeps:
(a) ``raw``: the env's physics alone (``WorkbenchEnv.step_physics``: the physics substeps, replayed from a CUDA
    graph on a GPU) under random commands of the size the policy's actions have: efforts for a ``joint_effort``
    task, position targets around the default pose for a ``joint_position`` one (the ceiling);
(b) ``env``: ``WorkbenchEnv.step`` with random actions (actions, physics, health check, terms, resets,
    observations); then ``health_check_cost``: the share of env-step throughput the per-env health check costs,
    against an env without it on the same physics (median of 3 alternating runs each);
(c) ``train``: full PPO iterations (collection + update).
Env-steps/s count policy steps (``decimation`` physics steps each) summed over envs.

    python scripts/bench.py cartpole --device cuda --num-envs 1024 4096 16384 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from ..specs.overrides import parse_overrides


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _used_memory(device: torch.device) -> int:
    """Bytes in use on the GPU by every allocator (torch's and warp's), 0 on the CPU."""
    if device.type != "cuda":
        return 0
    free, total = torch.cuda.mem_get_info(device)
    return total - free


def _rate(fn, count: int, device: torch.device) -> float:
    """Calls per second of ``fn`` over ``count`` calls, after a GPU sync on both ends."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(count):
        fn()
    _sync(device)
    return count / (time.perf_counter() - start)


def _raw_step(env, spec, num_envs: int, dev: torch.device):
    """One env step of physics alone under the same kind of load as the env's: random commands of the action's size
    on the action's joints (16 drawn once, taken in turn). A ``joint_position`` task gets position targets around
    its default pose, which the solver's PD follows (the robot stands and moves as under a young policy); a
    ``joint_effort`` task gets efforts, clamped to the joints' limits."""
    biggest = dict(zip(spec.actions.joints, spec.actions.joint_scales(), strict=True))
    clip = spec.actions.clip or 1.0
    sizes = torch.tensor([abs(biggest.get(name, 0.0)) * clip for name in spec.joint_names], device=dev)  # (D,)
    if spec.actions.type == "joint_position":
        start, command = env.default_dof_pos, env.set_joint_position_targets
    else:
        sizes = torch.minimum(sizes, torch.tensor(spec.effort_limits, device=dev))
        start, command = torch.zeros(num_envs, len(spec.joint_names), device=dev), env.set_joint_efforts
    pool = [start + (torch.rand_like(start) * 2 - 1) * sizes for _ in range(16)]
    counter = iter(range(10**12))

    def raw_step() -> None:
        command(pool[next(counter) % 16])
        env.step_physics()

    return raw_step


def measure(task: str, num_envs: int, device: str, steps: int, iterations: int, overrides: dict) -> dict:
    """Measure raw, env and training throughput of ``task`` at ``num_envs`` envs in this process (``build_s``: the
    env's build, physics included)."""
    from ..envs.workbench_env import WorkbenchEnv
    from ..learn.trainer import Trainer
    from ..specs.loader import load_spec

    dev = torch.device(device)
    spec = load_spec(task, {**overrides, "env.num_envs": num_envs})
    torch.manual_seed(spec.seed)
    baseline = _used_memory(dev)
    built = time.perf_counter()
    env = WorkbenchEnv(spec, device)
    build_s = time.perf_counter() - built
    raw_step = _raw_step(env, spec, num_envs, dev)

    for _ in range(10):
        raw_step()
    raw = _rate(raw_step, steps, dev) * num_envs

    # (b) the env as trained (health check on), alone on its physics, as the figures before it were measured
    action_pool = [torch.rand(num_envs, env.num_actions, device=dev) * 2 - 1 for _ in range(16)]
    counter = iter(range(10**12))

    def step(each: WorkbenchEnv) -> None:
        each.step(action_pool[next(counter) % 16])

    for _ in range(10):  # includes the CUDA graph capture
        step(env)
    env_rate = _rate(lambda: step(env), steps, dev) * num_envs
    # the health check's cost: an env without it, on the same physics, 3 alternating runs each
    unchecked = env.sharing_physics(health_check=False)
    for _ in range(10):
        step(unchecked)
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for checked, each in ((False, unchecked), (True, env)):
            rates[checked].append(_rate(lambda e=each: step(e), steps, dev) * num_envs)
    health_cost = 1.0 - sorted(rates[True])[1] / sorted(rates[False])[1]
    del unchecked
    env.reset()

    trainer = Trainer(env, spec.ppo, device)
    warmup_s = []
    for _ in range(3):  # warm-up (and torch.compile's compilation), CUDA-graph capture, first replay
        begun = time.perf_counter()
        trainer.train_step()
        _sync(dev)
        warmup_s.append(time.perf_counter() - begun)
    started = time.perf_counter()
    rows = [trainer.train_step() for _ in range(iterations)]
    _sync(dev)
    # wall time of whole iterations: collection, update, the trainer's NaN checks and statistics
    iteration_s = (time.perf_counter() - started) / iterations
    train_rate = trainer.num_steps_per_env * num_envs / iteration_s
    return {
        "task": spec.name,
        "num_envs": num_envs,
        "device": device,
        "substeps": spec.env.decimation,
        "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "raw_env_steps_per_s": raw,
        "env_env_steps_per_s": env_rate,
        "env_over_raw": env_rate / raw,
        "health_check_cost": health_cost,
        "train_env_steps_per_s": train_rate,
        "iteration_s": iteration_s,
        "collect_s": sum(r["collect_s"] for r in rows) / len(rows),
        "update_s": sum(r["learn_s"] for r in rows) / len(rows),
        "build_s": build_s,
        "warmup_iterations_s": warmup_s,
        # the GPU memory the env, the networks, the rollout storage and the update took (0 on the CPU)
        "memory_per_env_bytes": (_used_memory(dev) - baseline) / num_envs,
        # of which the rollout storage (any device): steps x (observations, image groups' C x H x W included, ...)
        "rollout_storage_per_env_bytes": trainer.rollout_storage_bytes() / num_envs,
        # everything in use on the GPU at the end (CUDA context, warp, torch's cache, which keeps its peak)
        "gpu_memory_bytes": _used_memory(dev),
        "learner": spec.ppo.get("learner", "graphed"),
        "precision": spec.ppo.get("precision", "fp32"),
        "num_steps_per_env": spec.ppo["num_steps_per_env"],
        "mini_batches": spec.ppo["algorithm"].get("num_mini_batches"),
        "epochs": spec.ppo["algorithm"].get("num_learning_epochs"),
    }


def _run_worker(args, num_envs: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "isaac.rl.workbench.frontends.bench",
        "--worker",
        args.task,
        "--device",
        args.device,
        "--num-envs",
        str(num_envs),
        "--steps",
        str(args.steps),
        "--iterations",
        str(args.iterations),
        "--set",
        *args.set,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark of {num_envs} envs failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown_rows(results: list[dict], command: str) -> str:
    """Rows for docs/BENCHMARKS.md: one per env count."""
    lines = []
    for r in results:
        lines.append(
            f"| {r['gpu']} | {r['task']} | {r['num_envs']} | {r['raw_env_steps_per_s'] / 1e6:.2f}M | "
            f"{r['env_env_steps_per_s'] / 1e6:.2f}M | {100 * r['env_over_raw']:.0f}% | "
            f"{r['train_env_steps_per_s'] / 1e6:.2f}M | {1e3 * r['iteration_s']:.0f} ms | "
            f"{r['memory_per_env_bytes'] / 1024:.0f} KiB | `{command}` |"
        )
    return "\n".join(lines)


def plot_scaling(results: list[dict], out_png: Path) -> None:
    """env-steps/s against env count for raw physics, env step and training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    counts = [r["num_envs"] for r in results]
    for key, label in (("raw", "raw Newton step"), ("env", "workbench env step"), ("train", "PPO training")):
        ax.plot(counts, [r[f"{key}_env_steps_per_s"] for r in results], marker="o", label=label)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="envs",
        ylabel="env-steps/s",
        title=f"{results[0]['task']} on {results[0]['gpu']}",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[64])
    parser.add_argument("--steps", type=int, default=300, help="timed env steps for (a) and (b)")
    parser.add_argument("--iterations", type=int, default=10, help="timed PPO iterations for (c)")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="spec overrides, e.g. ppo.algorithm.num_mini_batches=2",
    )
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--markdown", help="append table rows to this markdown file")
    parser.add_argument("--plot", help="write a scaling plot (PNG) here")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: split one PPO iteration into physics, terms, inference, storage, advantages and the update, "
        "and count its host-device synchronisations (frontends/bench_profile.py)",
    )
    parser.add_argument(
        "--startup",
        action="store_true",
        help="instead: time the train command's start-up to its first iteration, phase by phase, in a fresh process "
        "per env count (frontends/bench_startup.py)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.startup:
        from .bench_startup import startup_main

        return startup_main(args.task, args.num_envs, args.device, args.set, args.out)
    if args.profile:
        from .bench_profile import format_profile, profile

        overrides = parse_overrides(args.set)
        results = [profile(args.task, n, args.device, args.iterations, overrides) for n in args.num_envs]
        print("\n\n".join(format_profile(r) for r in results))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2))
        return 0
    if args.worker:
        result = measure(
            args.task, args.num_envs[0], args.device, args.steps, args.iterations, parse_overrides(args.set)
        )
        print(json.dumps(result))
        return 0
    from ..learn.run_args import check_device
    from ..specs.loader import load_spec

    check_device(args.device)
    load_spec(args.task, parse_overrides(args.set))  # a bad task or override fails here, in one line, not per worker
    results = []
    for n in args.num_envs:
        r = _run_worker(args, n)
        results.append(r)
        print(
            f"{r['task']} {n:6d} envs: raw {r['raw_env_steps_per_s'] / 1e6:6.2f}M  env "
            f"{r['env_env_steps_per_s'] / 1e6:6.2f}M ({100 * r['env_over_raw']:.0f}%, health check "
            f"{100 * r['health_check_cost']:+.1f}%)  train "
            f"{r['train_env_steps_per_s'] / 1e6:6.2f}M "
            f"({100 * r['train_env_steps_per_s'] / r['env_env_steps_per_s']:.0f}% of env)  "
            f"iteration {1e3 * r['iteration_s']:.1f} ms  mem {r['memory_per_env_bytes'] / 1024:.0f} KiB/env "
            f"(rollout storage {r['rollout_storage_per_env_bytes'] / 1024:.0f} KiB/env), "
            f"{r['gpu_memory_bytes'] / 2**30:.1f} GiB in use",
            flush=True,
        )
    command = "python scripts/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.out:
        Path(args.out).write_text(json.dumps({"command": command, "results": results}, indent=2))
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(markdown_rows(results, command) + "\n")
    if args.plot:
        plot_scaling(results, Path(args.plot))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
