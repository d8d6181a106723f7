"""Where an env step's GPU time goes: the kernels of STEPS eager env steps, by part of the step and by term.

The env runs without its CUDA graph (so torch's profiler can tell its parts apart) under random actions; each part
of ``WorkbenchEnv._step`` and each term call is a profiler range. Printed per env step: the GPU time of the kernels
each range launched (its children's included), its host time and how often it ran, and the most costly kernels by
name. Kernel time is what a CUDA-graph replay still pays; the eager launch gaps it removes are not
counted. Warp's kernels (the physics) are counted by name only when the profiler does not link them to a range.

    python scripts/step_kernels.py go2_flat --device cuda --num-envs 4096 --steps 50 [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools

import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.overrides import parse_overrides
from torch.profiler import ProfilerActivity, profile, record_function

PARTS = {  # range label -> (attribute path on the env, method name)
    "physics": ("", "step_physics"),
    "actions": ("", "_apply_actions"),
    "action mapping": ("_action_mapping", "take"),
    "health check": ("", "physics_failure"),
    "terminations": ("", "_compute_terminations"),
    "rewards": ("", "_compute_rewards"),
    "episode stats: step": ("_stats", "add_step"),
    "episode stats: ends": ("_stats", "end_episodes"),
    "episode stats: clear": ("_stats", "clear"),
    "metrics": ("_stats", "add_metrics"),
    "contact time": ("_contact_time", "update"),
    "commands: advance": ("commands", "advance"),
    "resets": ("", "_reset"),
    "interval events": ("_interval_events", "advance"),
    "observations": ("", "_compute_observations"),
}


def _device_us(event) -> float:
    """An event's kernel time in microseconds, its children's included (the attribute's name varies by torch)."""
    for name in ("device_time_total", "cuda_time_total"):
        if hasattr(event, name):
            return float(getattr(event, name))
    return 0.0


def _wrap(owner, attribute: str, label: str) -> None:
    call = getattr(owner, attribute)

    @functools.wraps(call)
    def ranged(*args, **kwargs):
        with record_function(label):
            return call(*args, **kwargs)

    setattr(owner, attribute, ranged)


def _term_label(term) -> str:
    return f"term {getattr(term, 'name', None) or getattr(term.func, '__name__', term.func)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--top", type=int, default=25, help="kernels listed by name")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    spec = load_spec(args.task, {**parse_overrides(args.set), "env.num_envs": args.num_envs})
    torch.manual_seed(spec.seed)
    env = WorkbenchEnv(spec, args.device).sharing_physics(cuda_graph=False)
    for label, (path, method) in PARTS.items():
        owner = functools.reduce(getattr, path.split("."), env) if path else env
        if owner is not None and hasattr(owner, method):
            _wrap(owner, method, label)
    call = env._call

    def labelled_call(term, *rest):
        with record_function(_term_label(term)):
            return call(term, *rest)

    env._call = labelled_call
    actions = [torch.rand(args.num_envs, env.num_actions, device=args.device) * 2 - 1 for _ in range(8)]

    def sync() -> None:
        if torch.device(args.device).type == "cuda":
            torch.cuda.synchronize()

    env.reset()
    for i in range(10):
        env.step(actions[i % 8])
    sync()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for i in range(args.steps):
            with record_function("env step"):
                env.step(actions[i % 8])
        sync()
    events = prof.events()
    per_range: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0, 0.0])
    for event in events:
        on_host = getattr(event, "device_type", None) == torch.autograd.DeviceType.CPU
        if on_host and (event.name in PARTS or event.name.startswith("term ") or event.name == "env step"):
            per_range[event.name][0] += _device_us(event)
            per_range[event.name][1] += 1
            per_range[event.name][2] += event.cpu_time_total
    kernels: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for event in events:
        if getattr(event, "device_type", None) == torch.autograd.DeviceType.CUDA and event.name not in per_range:
            kernels[event.name][0] += _device_us(event)
            kernels[event.name][1] += 1
    steps = args.steps
    total_kernel_us = sum(us for us, _ in kernels.values()) / steps
    gpu = torch.cuda.get_device_name() if torch.device(args.device).type == "cuda" else "cpu"
    print(f"{spec.name} at {args.num_envs} envs on {gpu}: {steps} eager steps profiled")
    print(f"all kernels: {total_kernel_us:.0f} us per step, {sum(n for _, n in kernels.values()) / steps:.0f} launches")
    print("range: kernel us per step (children included), host us per step, calls per step")
    for name, (us, calls, host_us) in sorted(per_range.items(), key=lambda item: (-item[1][0], -item[1][2])):
        print(f"  {name:40s} {us / steps:9.1f} us  {host_us / steps:9.1f} us  {calls / steps:5.1f}")
    print(f"top {args.top} kernels: us per step, launches per step")
    for name, (us, count) in sorted(kernels.items(), key=lambda item: -item[1][0])[: args.top]:
        print(f"  {us / steps:9.1f} us  {count / steps:6.1f}  {name[:110]}")
    with contextlib.suppress(Exception):
        env.close()


if __name__ == "__main__":
    main()
