"""``bench --startup``: where a training command's start-up goes, phase by phase, in a fresh process.

For each env count one child process runs the train command as a user would,
``python -X importtime -m isaac.rl.workbench.frontends.cli train TASK --max-iterations 1 --eval-episodes 1`` into a
temporary run folder, with ``ISAAC_RL_WORKBENCH_STARTUP_PROFILE=1``: the train path then writes a line to stderr as
each phase ends (``utils/startup_timer.py``), between the import times Python writes there. The phases, in seconds:

- ``imports``: every module import, wherever in the path it happens (Python's own ``-X importtime`` figures);
- ``python``: the interpreter's start, up to the CLI's ``main``;
- ``spec``: loading and checking the task spec (the scene read with pxr, the terms resolved);
- ``scene``: Newton loading the robot from USD, cloning it ``num_envs`` times and finalizing the model;
- ``solver``: MuJoCo's model converted from Newton's (MuJoCo-Warp's too on CUDA);
- ``kernels``: on CUDA, the first physics step, which loads the solver's warp kernel modules;
- ``env``: the rest of the env: the physics CUDA graph, state views, resets, the terms' first evaluation, and (on
  CUDA, during the first iteration) the capture of the env step's CUDA graph;
- ``trainer``: rsl-rl's ``OnPolicyRunner`` (networks, optimiser, rollout storage);
- ``iteration``: the first PPO iteration, less the env graph capture;
- ``log``: writing the first iteration's metrics (``metrics.jsonl``, TensorBoard);
- ``total``: from the child's launch to the first iteration logged. The phases add up to it; each but ``imports``
  leaves out the imports made during it.

    python scripts/bench.py cartpole --startup --device cuda --num-envs 4096 --out startup.json
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..utils.startup_timer import ENV_VAR, MARK_PREFIX

PHASES = ("imports", "python", "spec", "scene", "solver", "kernels", "env", "trainer", "iteration", "log")
# a mark ends the stretch since the one before; the stretch counts to the phase of the mark's name, except:
MARK_PHASES = {"main": "python", "eager steps": "iteration", "env graph": "env"}
LAST_MARK = "log"
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")  # self, cumulative [us], nesting, module
TOP_PACKAGES = 12  # the packages slowest to import kept in the result


def parse_startup(stderr: str, launched: float) -> dict:
    """The phases of one child's start-up from its stderr.

    Args:
        stderr: what the child wrote: ``-X importtime`` lines and ``startup-mark <name> <epoch s>`` lines, in order.
        launched: [s since the epoch] when the child was started.

    Returns:
        ``phases`` (name -> seconds, in :data:`PHASES` order), ``total_s``, ``imports`` (the packages slowest to
        import: top-level package -> seconds in its own modules, the packages it imports left out), ``marks``
        (name -> seconds after launch).

    Raises:
        ValueError: the child never wrote the last mark (it failed before its first iteration was logged).
    """
    phases = dict.fromkeys(PHASES, 0.0)
    imports: dict[str, float] = {}
    marks: dict[str, float] = {}
    begin, imported = launched, 0.0  # the stretch since the last mark, and the seconds spent importing in it
    for line in stderr.splitlines():
        if found := _IMPORT_LINE.match(line):
            own_us, cumulative_us, nesting, module = found.groups()
            if not nesting:  # imported by no module being imported: its cumulative time is new
                imported += int(cumulative_us) / 1e6
            package = module.split(".")[0]
            imports[package] = imports.get(package, 0.0) + int(own_us) / 1e6
        elif line.startswith(MARK_PREFIX + " "):
            name, _, stamp = line[len(MARK_PREFIX) + 1 :].rpartition(" ")
            end = float(stamp)
            phase = MARK_PHASES.get(name, name)
            phases[phase] = phases.get(phase, 0.0) + (end - begin) - imported
            phases["imports"] += imported
            marks[name] = end - launched
            begin, imported = end, 0.0
            if name == LAST_MARK:
                break
    if LAST_MARK not in marks:
        raise ValueError(f"the command wrote no '{MARK_PREFIX} {LAST_MARK}' line: it ended before its first iteration")
    slowest = sorted(imports.items(), key=lambda item: -item[1])[:TOP_PACKAGES]
    return {"phases": phases, "total_s": marks[LAST_MARK], "imports": dict(slowest), "marks": marks}


def measure_startup(task: str, num_envs: int, device: str, overrides: list[str]) -> dict:
    """Start the train command for ``task`` with ``num_envs`` envs on ``device`` in a fresh process and time its
    start-up (:func:`parse_startup`'s result, plus the command, ``process_s``: until the child exited, evaluation
    and curves included, and what was measured).

    Raises:
        RuntimeError: the command failed; the message holds its error output (import times left out).
    """
    args = ["train", task, "--device", device, "--num-envs", str(num_envs), "--max-iterations", "1"]
    args += ["--eval-episodes", "1", *(["--set", *overrides] if overrides else [])]
    with tempfile.TemporaryDirectory(prefix="startup_") as tmp:
        command = [sys.executable, "-X", "importtime", "-m", "isaac.rl.workbench.frontends.cli", *args]
        launched = time.time()
        proc = subprocess.run(
            [*command, "--run-dir", str(Path(tmp) / "run")],
            capture_output=True,
            text=True,
            env={**os.environ, ENV_VAR: "1"},
        )
        process_s = time.time() - launched
    if proc.returncode != 0:
        errors = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
        raise RuntimeError(f"the train command exited with {proc.returncode}:\n{errors[-3000:]}")
    result = parse_startup(proc.stderr, launched)
    return {
        "task": task,
        "num_envs": num_envs,
        "device": device,
        "command": f"{ENV_VAR}=1 python -X importtime -m isaac.rl.workbench.frontends.cli {' '.join(args)}",
        **result,
        "process_s": process_s,
    }


def format_startup(result: dict) -> str:
    """One table line: the task, env count and device, each phase's seconds, the total."""
    phases = " | ".join(f"{name} {seconds:.2f}" for name, seconds in result["phases"].items())
    head = f"{result['task']} {result['num_envs']} envs on {result['device']}"
    return f"{head}: {phases} | total {result['total_s']:.2f} s (process {result['process_s']:.1f} s)"


def startup_main(task: str, env_counts: list[int], device: str, overrides: list[str], out: str | None) -> int:
    """``bench --startup``: one child per env count, a table line each; the results as JSON to ``out``."""
    results = []
    for num_envs in env_counts:
        try:
            results.append(measure_startup(task, num_envs, device, overrides))
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(format_startup(results[-1]), flush=True)
    if out:
        Path(out).write_text(json.dumps({"results": results}, indent=2))
    return 0
