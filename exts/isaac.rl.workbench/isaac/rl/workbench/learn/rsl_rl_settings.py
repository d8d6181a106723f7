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


MODEL_CLASSES = ("MLPModel", "RNNModel")
"""The rsl-rl models a ``[ppo.actor]`` / ``[ppo.critic]`` table may name (``class_name``); ``RNNModel`` is the
recurrent one (an LSTM or GRU, ``rnn_type``, before the MLP head)."""

RNN_TYPES = ("lstm", "gru")


def check_model_config(cfg: dict, where: str) -> None:
    """Check an ``rsl_rl.models.MLPModel`` (or ``RNNModel``) table (``[ppo.actor]``, ``[ppo.student]``, ...) and its
    Gaussian ``distribution_cfg`` against their constructors; ``where`` is its dotted key, for the message.

    Raises:
        KeyError: a key the model's constructor does not take.
        ValueError: an unknown ``class_name`` or ``rnn_type``, or an RNN size that is not an integer >= 1.
    """
    import rsl_rl.models
    from rsl_rl.modules.distribution import GaussianDistribution

    class_name = cfg.get("class_name", "MLPModel")
    if class_name not in MODEL_CLASSES:
        raise ValueError(f"'{where}.class_name' must be one of {', '.join(MODEL_CLASSES)}, got {class_name!r}")
    check_against(
        cfg, getattr(rsl_rl.models, class_name).__init__, {"obs", "obs_groups", "obs_set", "output_dim"}, where
    )
    if class_name == "RNNModel":
        if cfg.get("rnn_type", "lstm") not in RNN_TYPES:
            raise ValueError(f"'{where}.rnn_type' must be one of {', '.join(RNN_TYPES)}, got {cfg['rnn_type']!r}")
        for key in ("rnn_hidden_dim", "rnn_num_layers"):
            value = cfg.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"'{where}.{key}' must be an integer >= 1, got {value!r}")
    dist = cfg.get("distribution_cfg")
    if dist and dist.get("class_name", "GaussianDistribution") == "GaussianDistribution":
        check_against(dist, GaussianDistribution.__init__, {"output_dim"}, f"{where}.distribution_cfg")


def is_recurrent(model_cfg: dict) -> bool:
    """True for a model table (``[ppo.actor]``, ``[ppo.critic]``, ...) that names rsl-rl's ``RNNModel``."""
    return model_cfg.get("class_name", "MLPModel") == "RNNModel"


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
