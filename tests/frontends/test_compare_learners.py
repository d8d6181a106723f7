"""``scripts/compare_learners.py`` runs learners one after another on one env: each run must start clean, so a run
repeated with the same seed gives the same metrics, whatever ran (and was evaluated) before it on that env."""

from __future__ import annotations

import sys

from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec

from ..conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import compare_learners  # noqa: E402


def test_a_repeated_run_reports_the_same_metrics_as_the_first():
    spec = load_spec("cartpole", {"env.num_envs": 8})
    env = WorkbenchEnv(spec, "cpu")
    first = compare_learners.run_one(env, spec.ppo, "cpu", seed=1, iterations=4, eval_episodes=8)
    again = compare_learners.run_one(env, spec.ppo, "cpu", seed=1, iterations=4, eval_episodes=8)
    keys = ("iteration", "episodes", "mean_reward", "mean_episode_length")

    def metrics(run: dict) -> list[list]:
        return [[row.get(key) for key in keys] for row in run["rows"]]

    assert metrics(again) == metrics(first)
    assert first["eval"]["mean_return"] == again["eval"]["mean_return"]
