"""rsl-rl PPO settings: defaults, validation against rsl-rl's own constructors, and the runner config dict.

The ``[ppo]`` table of a task spec uses rsl-rl's key names: top-level runner keys, ``[ppo.actor]`` and
``[ppo.critic]`` (``rsl_rl.models.MLPModel`` arguments), ``[ppo.algorithm]`` (``rsl_rl.algorithms.PPO``
arguments). Keys are checked against those signatures, so a misspelt key fails when the spec loads.

``torch_compile_mode`` is rsl-rl's key (``"none"`` turns it off); under the graphed learner it compiles the
update on CUDA (:meth:`~.graphed_ppo.GraphedPPO.compile`).

Two keys are the workbench's own: ``learner`` (``"graphed"``, the default: :class:`~.graphed_ppo.GraphedPPO`,
rsl-rl's PPO run as CUDA graphs without host syncs; ``"rsl_rl"``: rsl-rl's ``PPO`` itself, step by step) and
``precision`` (``"fp32"``, ``"bf16"`` or ``"fp16"`` for the actor's and critic's networks).

``[ppo.algorithm] class_name = "Distillation"`` makes the table rsl-rl's teacher-student distillation instead, with
``[ppo.student]``, ``[ppo.teacher]`` and ``teacher_checkpoint`` (:mod:`.distill`).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

PPO_TOP_KEYS = (
    "num_steps_per_env",
    "max_iterations",
    "save_interval",
    "obs_groups",
    "check_for_nan",
    "torch_compile_mode",
    "learner",
    "precision",
    "actor",
    "critic",
    "algorithm",
    "student",
    "teacher",
    "teacher_checkpoint",
)
_DISTILLATION_ONLY = ("student", "teacher", "teacher_checkpoint")

_DEFAULT = {
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


def default_ppo_config(algorithm: str = "PPO") -> dict[str, Any]:
    """A fresh copy of the default settings of ``algorithm``: PPO's (Isaac Lab's cartpole values), or
    ``"Distillation"``'s (:func:`.distill.default_distillation_config`)."""
    if algorithm == "Distillation":
        from .distill import default_distillation_config

        return default_distillation_config()
    return copy.deepcopy(_DEFAULT)


def algorithm_name(table: dict[str, Any]) -> str:
    """``[ppo.algorithm] class_name`` of a ``[ppo]`` table, ``"PPO"`` when not given."""
    algorithm = table.get("algorithm")
    return str(algorithm.get("class_name", "PPO")) if isinstance(algorithm, dict) else "PPO"


def is_distillation(cfg: dict[str, Any]) -> bool:
    """True for a ``[ppo]`` table that names rsl-rl's ``Distillation`` algorithm."""
    return algorithm_name(cfg) == "Distillation"


def policy_groups(cfg: dict[str, Any], obs_group_names: list[str]) -> list[str]:
    """The observation groups the trained policy reads, in the order it concatenates them: PPO's actor, or the
    distillation's student (the network that is exported)."""
    sets = runner_config(cfg, obs_group_names)["obs_groups"]
    return list(sets["student"] if is_distillation(cfg) else sets["actor"])


def check_model_config(cfg: dict, where: str) -> None:
    """Check an ``rsl_rl.models.MLPModel`` table (``[ppo.actor]``, ``[ppo.student]``, ...) and its Gaussian
    ``distribution_cfg`` against their constructors; ``where`` is its dotted key, for the message."""
    from rsl_rl.models import MLPModel
    from rsl_rl.modules.distribution import GaussianDistribution

    check_against(cfg, MLPModel.__init__, {"obs", "obs_groups", "obs_set", "output_dim"}, where)
    dist = cfg.get("distribution_cfg")
    if dist and dist.get("class_name", "GaussianDistribution") == "GaussianDistribution":
        check_against(dist, GaussianDistribution.__init__, {"output_dim"}, f"{where}.distribution_cfg")


def check_against(cfg: dict, func, skip: set[str], where: str) -> None:
    accepted = [p for p in inspect.signature(func).parameters if p not in skip | {"self"}] + ["class_name"]
    for key in cfg:
        if key not in accepted:
            raise KeyError(
                f"'{where}.{key}' is not an argument of {func.__qualname__}; expected one of: "
                f"{', '.join(sorted(accepted))}"
            )


def validate_ppo_config(cfg: dict[str, Any]) -> None:
    """Check every key of a PPO config against rsl-rl's constructors and the numbers against their ranges.

    Raises:
        KeyError: an unknown key, named with its dotted path.
        ValueError: a number out of range.
    """
    from rsl_rl.algorithms import PPO

    if is_distillation(cfg):
        from .distill import validate_distillation_config

        validate_distillation_config(cfg)
        return
    for key in cfg:
        if key not in PPO_TOP_KEYS:
            raise KeyError(f"'ppo.{key}' is not a runner setting; expected one of: {', '.join(PPO_TOP_KEYS)}")
        if key in _DISTILLATION_ONLY:
            raise KeyError(
                f"'ppo.{key}' is a distillation setting: it needs [ppo.algorithm] class_name = \"Distillation\""
            )
    for name in ("actor", "critic"):
        check_model_config(cfg[name], f"ppo.{name}")
    check_against(
        cfg["algorithm"], PPO.__init__, {"actor", "critic", "storage", "device", "multi_gpu_cfg"}, "ppo.algorithm"
    )
    for key in ("num_steps_per_env", "max_iterations", "save_interval"):
        if not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1:
            raise ValueError(f"'ppo.{key}' must be an integer >= 1, got {cfg[key]!r}")
    _check_learner(cfg)
    alg = cfg["algorithm"]
    for key in ("num_learning_epochs", "num_mini_batches"):
        if key in alg and (not isinstance(alg[key], int) or alg[key] < 1):
            raise ValueError(f"'ppo.algorithm.{key}' must be an integer >= 1, got {alg[key]!r}")
    for key in ("learning_rate", "clip_param"):
        if key in alg and not alg[key] > 0:
            raise ValueError(f"'ppo.algorithm.{key}' must be > 0, got {alg[key]!r}")
    for key in ("gamma", "lam"):
        if key in alg and not 0 <= alg[key] <= 1:
            raise ValueError(f"'ppo.algorithm.{key}' must be in [0, 1], got {alg[key]!r}")


LEARNERS = ("graphed", "rsl_rl")
COMPILE_MODES = ("none", "default", "max-autotune-no-cudagraphs")


def _check_learner(cfg: dict[str, Any]) -> None:
    """``ppo.learner`` and ``ppo.precision``: known values, and settings the chosen learner runs."""
    from .graphed_ppo import PRECISIONS, unsupported

    learner, precision = cfg.get("learner", "graphed"), cfg.get("precision", "fp32")
    if learner not in LEARNERS:
        raise ValueError(f"'ppo.learner' must be one of {', '.join(LEARNERS)}, got {learner!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"'ppo.precision' must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if learner == "rsl_rl":
        if precision == "fp16":
            raise ValueError('\'ppo.precision\' = "fp16" needs ppo.learner = "graphed" (rsl-rl\'s PPO has bf16 only)')
        return
    bad = unsupported(cfg["algorithm"], cfg["actor"], cfg["critic"])
    mode = cfg.get("torch_compile_mode")
    if mode is not None and mode not in COMPILE_MODES:
        raise ValueError(
            f"'ppo.torch_compile_mode' must be one of {', '.join(COMPILE_MODES)} with ppo.learner = \"graphed\" "
            f"(it captures the update in CUDA graphs itself), got {mode!r}"
        )
    if bad:
        raise ValueError(f'{", ".join(bad)}: not supported by ppo.learner = "graphed"; set ppo.learner = "rsl_rl"')


def runner_config(cfg: dict[str, Any], obs_group_names: list[str]) -> dict[str, Any]:
    """The dict rsl-rl's ``OnPolicyRunner`` (or ``DistillationRunner``) takes (a deep copy: rsl-rl pops keys from
    it); ``learner`` and ``precision`` become the algorithm's class and its arguments."""
    if is_distillation(cfg):
        from .distill import distillation_runner_config

        return distillation_runner_config(cfg)
    out = copy.deepcopy(cfg)
    out.pop("max_iterations", None)
    learner, precision = out.pop("learner", "graphed"), out.pop("precision", "fp32")
    if out.get("torch_compile_mode") == "none":  # TOML has no None: "none" turns a task's compilation off
        del out["torch_compile_mode"]
    if learner == "graphed":
        out["algorithm"]["class_name"] = "isaac.rl.workbench.learn.graphed_ppo:GraphedPPO"
        out["algorithm"]["precision"] = precision
    elif precision == "bf16":
        out["algorithm"]["use_mixed_precision"] = True
    if not out.get("obs_groups"):
        critic = ["critic"] if "critic" in obs_group_names else ["policy"]
        out["obs_groups"] = {"actor": ["policy"], "critic": critic}
    out.setdefault("logger", "tensorboard")
    return out
