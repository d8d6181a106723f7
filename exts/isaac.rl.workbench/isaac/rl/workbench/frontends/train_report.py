"""What the ``train`` command prints besides its progress lines: how long the build took, whether a run to resume
ended early already, and the end of a run (early stop, best checkpoint, the final evaluation with its time).

Imports nothing heavy at module level (the CLI's parser must not pull in torch)."""

from __future__ import annotations

import time

BUILD_NOTE_S = 20.0  # [s] a build this long says why: the physics kernels were compiled


def built_line(seconds: float) -> str:
    """The line after the env build: how long it took, and why when it took long."""
    why = " (the first run on a machine compiles the physics kernels; later runs find them cached)"
    return f"built in {seconds:.1f} s{why if seconds > BUILD_NOTE_S else ''}"


def stopped_already(wb, done: int) -> str | None:
    """The "nothing to do" line for the run ``wb`` (opened to resume, not built) that ended early at its latest
    checkpoint, iteration ``done``: ``train.stop_when`` held at its last ``stop_patience`` checks (it stopped there
    and the condition is unchanged, or a condition given now holds there already); None to train on. The checks
    are counted from ``metrics.jsonl``, so a resume with another condition or patience goes on with its streak."""
    from ..learn.train_monitor import stop_reason, stop_streak

    condition, patience = wb.spec.train.stop_when, wb.spec.train.stop_patience
    rows = [row for row in wb.run.read_metrics() if row["iteration"] <= done]
    if condition is None or not rows or stop_streak(rows, condition) < patience:
        return None
    return (
        f"nothing to do: {wb.run_dir} stopped early: {stop_reason(condition, patience, done)}; to train on, give "
        f"another condition or none: isaac-rl-workbench train --resume {wb.run_dir} --set 'train.stop_when=\"\"'"
    )


def finish_and_evaluate(wb, episodes: int | None) -> dict:
    """End the trained run ``wb`` (:meth:`~..workbench.Workbench.finish`), saying why it stopped early and where
    its best checkpoint is; then evaluate the policy over ``episodes`` deterministic episodes (None: one per env,
    a single round), with a line before and after (its time). Returns the evaluation's statistics."""
    if wb.stopped:
        print(f"stopped early: {wb.stopped}", flush=True)
    best = wb.monitor.best
    if best is not None:
        print(f"best {wb.monitor.best_key} {best[0]:.4g} at iteration {best[1]}: {wb.monitor.best_path}")
    wb.finish()
    print(f"curves: {wb.run.curves_file}")
    num_envs = wb.env.num_envs
    episodes = episodes or num_envs
    rounds = -(-episodes // num_envs)
    print(
        f"evaluating {episodes} deterministic episodes ({rounds} round{'s' if rounds > 1 else ''} of up to "
        f"{wb.env.max_episode_length} steps on {num_envs} envs) ...",
        flush=True,
    )
    started = time.perf_counter()
    result = wb.evaluate(num_episodes=episodes)
    print(f"... {time.perf_counter() - started:.1f} s", flush=True)
    return result
