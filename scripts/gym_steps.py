"""A run's training return and training time when it first reached each of the given env-step counts.

Usage: python scripts/gym_steps.py RUN_DIR STEPS... (e.g. 1000000 10000000). Reads RUN_DIR/metrics.jsonl; the
return is the mean over the episodes that ended in that iteration (the exploring policy, as CleanRL's and
Stable-Baselines3's training curves report it) and, beside it, the mean of the 5 iterations up to it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(run: str, *steps: str) -> None:
    rows = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "total_env_steps" in r]
    for target in map(int, steps):
        hit = next((i for i, r in enumerate(rows) if r["total_env_steps"] >= target), None)
        if hit is None:
            print(f"{run}: never reached {target:,} env steps (last: {rows[-1]['total_env_steps']:,})")
            continue
        row = rows[hit]
        recent = [r["mean_reward"] for r in rows[max(0, hit - 4) : hit + 1] if r.get("mean_reward") is not None]
        smoothed = sum(recent) / len(recent) if recent else float("nan")
        print(
            f"{run}: {row['total_env_steps']:,} env steps at iteration {row['iteration']}: training return "
            f"{row.get('mean_reward', float('nan')):.1f} (5-iteration mean {smoothed:.1f}), episode length "
            f"{row.get('mean_episode_length', float('nan')):.0f}, {row['train_seconds']:.1f} s of training"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
