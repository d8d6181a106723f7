"""The real robots' tasks train on the CPU: the SO-101 and the Panda learn to reach and hold their posture, the Go2
stands on its stance.

Each trains its shipped task (tasks/<name>.toml; set-up converts the robots into assets/usd/robots) briefly with a
fixed seed. The arms are checked on the return of 16 deterministic episodes (the posture terms, the squared distance
of the joints to the target summed over an episode, and a small action-rate penalty): the trained policy against
the policy the training started from (the same seed), so that dropping the exploration noise alone cannot pass.
Measured with seed 1 (16 envs), the share of the untrained policy's error left by the checkpoints of iterations
20, 40, ..., 200 was 0.86, 0.81, 0.67, 0.92, 0.91, 0.50, 0.53, 0.67, 0.48, 0.45 for the SO-101 and 0.86, 0.61, 0.23,
0.24, 0.29, 0.37, 0.32, 0.25 (up to 160) for the Panda.
"""

from __future__ import annotations

import json
import re
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest
from isaac.rl.workbench.frontends.cli import main

from .conftest import robot_or_fail

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SEED = 1
EPISODES = 16  # deterministic episodes evaluated: one per env
# Few envs: on the CPU every clone shares one MuJoCo model, whose build by Newton grows steeply with the clones
# (16 Go2s: 17 s, 64: over 15 min), so the tests use what builds fast.
ARGS = ["--seed", str(SEED)]
ARMS = {  # task -> (robot, iterations, the share of the untrained policy's error the trained one may leave)
    "so101_pose": ("so101", 120, 0.65),
    "panda_pose": ("panda", 80, 0.5),
}


def _train(task: str, run_dir: Path, num_envs: int, iterations: int, episodes: int) -> tuple[list[dict], str]:
    """Train ``task`` into ``run_dir``; return the metrics rows and the last printed line (the evaluation of
    ``episodes`` deterministic episodes)."""
    out = StringIO()
    with redirect_stdout(out):
        argv = ["train", task, "--run-dir", str(run_dir), "--num-envs", str(num_envs), *ARGS]
        assert main([*argv, "--max-iterations", str(iterations), "--eval-episodes", str(episodes)]) == 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert not any(row.get("unstable_envs", 0) for row in rows), "the simulation stays sound"
    return rows, out.getvalue().strip().splitlines()[-1]


def _untrained_return(task: str, run_dir: Path, num_envs: int) -> float:
    """The mean return of ``EPISODES`` deterministic episodes of the policy a training of ``task`` with ``SEED``
    starts from, as the train command evaluates its trained one."""
    from isaac.rl.workbench.workbench import Workbench

    wb = Workbench.new(task, {"seed": SEED, "env.num_envs": num_envs}, run_dir=run_dir)
    wb.build()
    try:
        return wb.evaluate(EPISODES)["mean_return"]
    finally:
        wb.close()


@pytest.mark.parametrize("task", list(ARMS))
def test_an_arm_learns_to_reach_and_hold_its_posture(task, tmp_path):
    robot, iterations, left = ARMS[task]
    robot_or_fail(robot)
    untrained = _untrained_return(task, tmp_path / "untrained", num_envs=EPISODES)
    rows, evaluation = _train(task, tmp_path / task, EPISODES, iterations, EPISODES)
    assert sum(row.get("episodes", 0) > 0 for row in rows) >= 10, "whole episodes end in most iterations"
    assert f"over {EPISODES} deterministic episodes" in evaluation, evaluation
    trained = float(re.search(r"mean return (-?\d+\.\d+)", evaluation).group(1))
    print(f"{task}: mean return {untrained:.2f} untrained, {trained:.2f} trained ({trained / untrained:.2f} left)")
    assert untrained < 0 and trained > untrained * left, (
        f"{task}: deterministic episodes returned {untrained:.2f} untrained and {trained:.2f} trained; expected at "
        f"most {left:.0%} of the untrained policy's error left"
    )


def test_go2_stands_on_its_stance_for_the_whole_episode(tmp_path):
    """A smoke test more than a learning test: the PD stance alone already stands (see the report), so what this
    checks is that the floating-base task builds, trains stably, and its policy keeps the robot up for 4 s."""
    robot_or_fail("go2")
    _, evaluation = _train("go2_stand", tmp_path / "go2_stand", num_envs=4, iterations=40, episodes=4)
    length, limit = evaluation.split("mean episode length ")[1].split(" (")[0].split(" / ")
    assert float(length) == float(limit), evaluation


def test_a_missing_robot_scene_says_that_set_up_makes_it():
    from isaac.rl.workbench.specs.loader import SpecError, load_spec

    with pytest.raises(SpecError, match=r"go3\.usda: no such file \(the example robots are converted at set-up"):
        load_spec("go2_stand", {"scene": "../assets/usd/robots/go3/go3.usda"})
