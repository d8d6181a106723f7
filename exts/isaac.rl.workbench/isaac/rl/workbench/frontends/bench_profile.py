"""``bench --profile``: where one PPO iteration's time goes, and how often the host waits for the GPU in it.

One process builds the task's env (a second env shares its physics) and measures two ways:

1. **split**: the env runs eagerly (no CUDA graph, so physics and terms can be told apart) and every section is
   bracketed by device synchronisations, its exclusive wall time summed per iteration:

   - ``physics``: ``WorkbenchEnv.step_physics`` (the physics substeps);
   - ``env terms``: the rest of ``WorkbenchEnv.step`` (actions, health check, rewards, terminations, resets,
     observations);
   - ``policy inference``: ``PPO.act`` (actor and critic forward, sampling);
   - ``storage``: ``PPO.process_env_step``;
   - ``advantages``: ``PPO.compute_returns`` (GAE);
   - ``update: forward``: the actor's and critic's forward passes inside ``PPO.update``;
   - ``update: optimiser step``: ``optimizer.step`` inside it;
   - ``update: losses, backward, rest``: the rest of ``PPO.update``.

   The syncs slow the split iteration down; its total is reported beside the plain iteration's time. With the
   graphed learner (``ppo.learner = "graphed"``) the whole update is one CUDA-graph replay: it is all counted under
   ``update: losses, backward, rest``, and ``policy inference`` is the replay of the step's captured graph.
2. **syncs**: plain iterations (the env's CUDA graph on, nothing bracketed) under
   ``torch.cuda.set_sync_debug_mode("warn")``: the synchronising calls torch reports per iteration, by the line of
   code that made them. Work warp launches is not counted (it never synchronises in a step).
"""

from __future__ import annotations

import collections
import time
import warnings
from pathlib import Path

import torch

SECTIONS = (
    "physics",
    "env terms",
    "policy inference",
    "storage",
    "advantages",
    "update: forward",
    "update: optimiser step",
    "update: losses, backward, rest",
)


class _SectionTimer:
    """Exclusive wall time per section: a section's time minus the sections timed inside it."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self._stack: list[list] = []  # [label, child seconds]

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def wrap(self, owner, attribute: str, label: str, only_inside: str | None = None) -> None:
        """Time ``owner.attribute(...)`` as ``label``; with ``only_inside``, only when called inside that section."""
        call = getattr(owner, attribute)

        def timed(*args, **kwargs):
            if only_inside is not None and not (self._stack and self._stack[-1][0] == only_inside):
                return call(*args, **kwargs)
            self._sync()
            start = time.perf_counter()
            self._stack.append([label, 0.0])
            try:
                return call(*args, **kwargs)
            finally:
                self._sync()
                took = time.perf_counter() - start
                _, inside = self._stack.pop()
                self.seconds[label] += took - inside
                if self._stack:
                    self._stack[-1][1] += took

        setattr(owner, attribute, timed)


def profile(task: str, num_envs: int, device: str, iterations: int, overrides: dict) -> dict:
    """The split and the sync count of ``iterations`` PPO iterations of ``task`` (after 3 warm-up iterations each).

    Returns:
        ``sections`` (seconds per iteration for each of :data:`SECTIONS`), ``split_iteration_s`` (an iteration
        with every section synchronised), ``plain_iteration_s`` (one without), ``syncs_per_iteration`` (None on
        the CPU) and ``sync_sites`` (the code lines that synchronise, with their counts per iteration).
    """
    from ..envs.workbench_env import WorkbenchEnv
    from ..learn.trainer import Trainer
    from ..specs.loader import load_spec

    dev = torch.device(device)
    spec = load_spec(task, {**overrides, "env.num_envs": num_envs})
    torch.manual_seed(spec.seed)
    env = WorkbenchEnv(spec, device)

    plain = Trainer(env, spec.ppo, device)
    for _ in range(3):
        plain.train_step()
    start = time.perf_counter()
    for _ in range(iterations):
        plain.train_step()
    plain_s = (time.perf_counter() - start) / iterations
    syncs, sites = _count_syncs(plain, iterations) if dev.type == "cuda" else (None, {})

    eager = env.sharing_physics(cuda_graph=False)
    trainer = Trainer(eager, spec.ppo, device)
    for _ in range(3):
        trainer.train_step()
    timer = _SectionTimer(dev)
    alg = trainer.alg
    timer.wrap(eager, "step", "env terms")
    timer.wrap(eager, "step_physics", "physics")
    timer.wrap(alg, "act", "policy inference")
    timer.wrap(alg, "process_env_step", "storage")
    timer.wrap(alg, "compute_returns", "advantages")
    timer.wrap(alg, "update", "update: losses, backward, rest")
    for model in (alg.actor, alg.critic):
        timer.wrap(model, "forward", "update: forward", only_inside="update: losses, backward, rest")
    timer.wrap(alg.optimizer, "step", "update: optimiser step", only_inside="update: losses, backward, rest")
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.train_step()
    split_s = (time.perf_counter() - start) / iterations
    return {
        "task": spec.name,
        "num_envs": num_envs,
        "device": device,
        "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "sections": {name: timer.seconds[name] / iterations for name in SECTIONS},
        "split_iteration_s": split_s,
        "plain_iteration_s": plain_s,
        "learner": spec.ppo.get("learner", "graphed"),
        "syncs_per_iteration": syncs,
        "sync_sites": sites,
    }


def _count_syncs(trainer, iterations: int) -> tuple[float, dict[str, float]]:
    """Synchronising torch calls per iteration, and per code line that made them (the warning's origin)."""
    sites: collections.Counter = collections.Counter()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        for _ in range(iterations):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                trainer.train_step()
            for warning in caught:
                if "synchroniz" in str(warning.message):
                    sites[f"{Path(warning.filename).parent.name}/{Path(warning.filename).name}:{warning.lineno}"] += 1
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    return sum(sites.values()) / iterations, {site: count / iterations for site, count in sites.most_common(12)}


def format_profile(result: dict) -> str:
    """The split as a table, then the sync count and its sites."""
    total = sum(result["sections"].values())
    lines = [
        f"{result['task']}, {result['num_envs']} envs on {result['gpu']}: one PPO iteration "
        f"(learner {result.get('learner', 'graphed')})",
        f"  {'section':32s} {'ms':>8s} {'share':>6s}",
    ]
    for name, seconds in result["sections"].items():
        lines.append(f"  {name:32s} {seconds * 1e3:8.2f} {100 * seconds / total:5.1f}%")
    lines.append(
        f"  {'sum (every section synchronised)':32s} {total * 1e3:8.2f}   (the iteration: "
        f"{result['split_iteration_s'] * 1e3:.1f} ms so, {result['plain_iteration_s'] * 1e3:.1f} ms without syncs)"
    )
    if result["syncs_per_iteration"] is not None:
        lines.append(f"  host-device synchronisations per iteration: {result['syncs_per_iteration']:.0f}")
        lines += [f"    {count:6.0f}  {site}" for site, count in result["sync_sites"].items()]
    return "\n".join(lines)
