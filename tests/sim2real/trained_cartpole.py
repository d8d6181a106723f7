"""Cart-pole policies trained once per test session, with a start-up randomisation of the pole's mass so that a
robustness sweep has a randomised parameter: a balancing policy (about 25 s on the CPU), and a one-iteration teacher
that observes the randomisation's draws (``randomized_params``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from isaac.rl.workbench.frontends.cli import main

from ..conftest import REPO

POLE_MASS_EVENT = """
[events.pole_mass]
func = "randomize_body_mass"
mode = "startup"
params = { bodies = ["pole"], mass_range = [0.8, 1.25], operation = "scale" }
"""
POLE_MASS = 0.25
"""[kg] the pole's mass in assets/usd/cartpole.usda."""


TEACHER = """
[observations.privileged]
terms = ["randomized_params"]
"""
TEACHER_GROUPS = 'obs_groups = { actor = ["policy", "privileged"], critic = ["policy", "privileged"] }\n'


_RUNS: dict[str, Path] = {}
"""Runs trained in this session, by fixture: both test modules import the fixtures, and pytest keeps a session
fixture per module that defines it, so the cache here is what trains each run once."""


def _train(folder: Path, extra: str, iterations: int, num_envs: int, ppo: str = "") -> Path:
    text = (REPO / "tasks" / "cartpole.toml").read_text()
    text = text.replace('"../assets/usd/cartpole.usda"', f'"{REPO / "assets/usd/cartpole.usda"}"')
    spec = folder / "cartpole_mass.toml"
    spec.write_text(text.replace("[ppo]\n", f"[ppo]\n{ppo}") + extra)
    run_dir = folder / "run"
    args = ["train", str(spec), "--run-dir", str(run_dir), "--max-iterations", str(iterations)]
    assert main([*args, "--num-envs", str(num_envs), "--eval-episodes", "2"]) == 0
    return run_dir


@pytest.fixture(scope="session")
def trained_cartpole(tmp_path_factory) -> Path:
    """The run folder of a cart-pole policy that balances (80 PPO iterations, 32 envs)."""
    if "trained" not in _RUNS:
        _RUNS["trained"] = _train(tmp_path_factory.mktemp("cartpole_run"), POLE_MASS_EVENT, 80, 32)
    return _RUNS["trained"]


@pytest.fixture(scope="session")
def cartpole_teacher(tmp_path_factory) -> Path:
    """The run folder of a cart-pole teacher after one iteration: it observes the pole mass's draw."""
    if "teacher" not in _RUNS:
        folder = tmp_path_factory.mktemp("cartpole_teacher")
        _RUNS["teacher"] = _train(folder, POLE_MASS_EVENT + TEACHER, 1, 4, TEACHER_GROUPS)
    return _RUNS["teacher"]
