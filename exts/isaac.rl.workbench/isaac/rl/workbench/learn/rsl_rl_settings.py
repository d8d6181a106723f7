"""What PPO's and distillation's ``[ppo]`` tables share: PPO's default settings (distillation's start from them) and
the checks of a table against rsl-rl's constructors.

:mod:`.ppo_config` (PPO) and :mod:`.distill` (distillation) both build on this module; neither imports the other's
internals.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

PPO_DEFAULTS: dict[str, Any] = {
    "num_steps_per_env": 16,
    "max_iterations": 150,
    "save_interval": 50,
    "obs_groups": {},
    "check_for_nan": True,
    "learner": "graphed",
    "precision": "fp32",
    "actor": {
        "class_name": "MLPModel",
        "hidden_dims": [32, 32],
        "activation": "elu",
        "obs_normalization": False,
        "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"},
    },
    "critic": {"class_name": "MLPModel", "hidden_dims": [32, 32], "activation": "elu", "obs_normalization": False},
    "algorithm": {
        "class_name": "PPO",
        "num_learning_epochs": 5,
        "num_mini_batches": 4,
        "learning_rate": 1.0e-3,
        "schedule": "adaptive",
        "desired_kl": 0.01,
        "gamma": 0.99,
        "lam": 0.95,
        "entropy_coef": 0.005,
        "clip_param": 0.2,
        "value_loss_coef": 1.0,
        "max_grad_norm": 1.0,
        "use_clipped_value_loss": True,
    },
}
"""PPO's default ``[ppo]`` table (Isaac Lab's cartpole values). Read only: take a copy
(:func:`~.ppo_config.default_ppo_config`) to change it."""

RUNNER_COUNTS = ("num_steps_per_env", "max_iterations", "save_interval")
"""The runner's integer settings (each >= 1)."""


def check_model_config(cfg: dict, where: str) -> None:
    """Check an ``rsl_rl.models.MLPModel`` table (``[ppo.actor]``, ``[ppo.student]``, ...) and its Gaussian
    ``distribution_cfg`` against their constructors; ``where`` is its dotted key, for the message."""
    from rsl_rl.models import MLPModel
    from rsl_rl.modules.distribution import GaussianDistribution

    check_against(cfg, MLPModel.__init__, {"obs", "obs_groups", "obs_set", "output_dim"}, where)
    dist = cfg.get("distribution_cfg")
    if dist and dist.get("class_name", "GaussianDistribution") == "GaussianDistribution":
        check_against(dist, GaussianDistribution.__init__, {"output_dim"}, f"{where}.distribution_cfg")


def check_against(cfg: dict, func: Callable, skip: set[str], where: str) -> None:
    """Check that every key of ``cfg`` is an argument of ``func`` (or ``class_name``), ``skip`` left out.

    Raises:
        KeyError: the first key that is not, named with its dotted path ``where.key`` and the accepted ones.
    """
    accepted = [p for p in inspect.signature(func).parameters if p not in skip | {"self"}] + ["class_name"]
    for key in cfg:
        if key not in accepted:
            raise KeyError(
                f"'{where}.{key}' is not an argument of {func.__qualname__}; expected one of: "
                f"{', '.join(sorted(accepted))}"
            )


def check_runner_counts(cfg: dict[str, Any]) -> None:
    """Check the runner's :data:`RUNNER_COUNTS` of a ``[ppo]`` table.

    Raises:
        ValueError: one that is not an integer >= 1, named ``ppo.<key>``.
    """
    for key in RUNNER_COUNTS:
        if not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1:
            raise ValueError(f"'ppo.{key}' must be an integer >= 1, got {cfg[key]!r}")
