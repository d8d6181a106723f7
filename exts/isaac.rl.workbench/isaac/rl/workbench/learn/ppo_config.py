"""rsl-rl PPO settings: defaults, validation against rsl-rl's own constructors, and the runner config dict.

The ``[ppo]`` table of a task spec uses rsl-rl's key names: top-level runner keys, ``[ppo.actor]`` and
``[ppo.critic]`` (``rsl_rl.models.MLPModel`` arguments), ``[ppo.algorithm]`` (``rsl_rl.algorithms.PPO``
arguments). Keys are checked against those signatures, so a misspelt key fails when the spec loads.

``torch_compile_mode`` is rsl-rl's key (``"none"`` turns it off); under the graphed learner it compiles the
update on CUDA (:meth:`~.graphed_ppo.GraphedPPO.compile`).

Two keys are the workbench's own: ``learner`` (``"graphed"``, the default: :class:`~.graphed_ppo.GraphedPPO`,
rsl-rl's PPO run as CUDA graphs without host syncs; ``"rsl_rl"``: rsl-rl's ``PPO`` itself, step by step) and
``precision`` (``"fp32"``, ``"bf16"`` or ``"fp16"`` for the actor's and critic's networks).
``[ppo.algorithm.symmetry]`` (:mod:`.symmetry`) is rsl-rl's symmetry extension with mirror maps made from the
spec; it needs ``learner = "rsl_rl"``. ``[ppo.actor] class_name = "RNNModel"`` (``rnn_type`` ``"lstm"`` or
``"gru"``, ``rnn_hidden_dim``, ``rnn_num_layers``) is rsl-rl's recurrent model; it needs ``learner = "rsl_rl"`` too.
``class_name = "CNNModel"`` with ``[ppo.actor.cnn_cfg]`` (rsl-rl's ``CNN`` arguments: ``output_channels``,
``kernel_size``, ``stride``, ...) reads image groups (N, C, H, W) through a CNN beside the vector groups; both
learners train it, ``precision`` included.

``[ppo.algorithm] class_name = "Distillation"`` makes the table rsl-rl's teacher-student distillation instead, with
``[ppo.student]``, ``[ppo.teacher]`` and ``teacher_checkpoint`` (:mod:`.distill`); this module hands such a table
to that one. PPO's defaults, :data:`PPO_DEFAULTS`, and the checks against rsl-rl's constructors live in
:mod:`.rsl_rl_settings`, which distillation builds on too.
"""

from __future__ import annotations

import copy
from typing import Any

from .distill import DISTILLATION, default_distillation_config, distillation_runner_config, validate_distillation_config
from .rsl_rl_settings import PPO_DEFAULTS, check_against, check_model_config, check_runner_counts, is_recurrent
from .symmetry import SymmetryAugmentation, symmetry_cfg, validate_symmetry

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


def default_ppo_config(algorithm: str = "PPO") -> dict[str, Any]:
    """A fresh copy of the default settings of ``algorithm``: PPO's (:data:`~.rsl_rl_settings.PPO_DEFAULTS`, Isaac
    Lab's cartpole values), or ``"Distillation"``'s (:func:`.distill.default_distillation_config`)."""
    if algorithm == DISTILLATION:
        return default_distillation_config()
    return copy.deepcopy(PPO_DEFAULTS)


def algorithm_name(table: dict[str, Any]) -> str:
    """``[ppo.algorithm] class_name`` of a ``[ppo]`` table, ``"PPO"`` when not given."""
    algorithm = table.get("algorithm")
    return str(algorithm.get("class_name", "PPO")) if isinstance(algorithm, dict) else "PPO"


def is_distillation(cfg: dict[str, Any]) -> bool:
    """True for a ``[ppo]`` table that names rsl-rl's ``Distillation`` algorithm."""
    return algorithm_name(cfg) == DISTILLATION


def policy_groups(cfg: dict[str, Any], obs_group_names: list[str]) -> list[str]:
    """The observation groups the trained policy reads, in the order it concatenates them: PPO's actor, or the
    distillation's student (the network that is exported)."""
    sets = runner_config(cfg, obs_group_names)["obs_groups"]
    return list(sets["student"] if is_distillation(cfg) else sets["actor"])


def validate_ppo_config(cfg: dict[str, Any]) -> None:
    """Check every key of a PPO config against rsl-rl's constructors and the numbers against their ranges.

    Raises:
        KeyError: an unknown key, named with its dotted path.
        ValueError: a number out of range.
    """
    from rsl_rl.algorithms import PPO

    if is_distillation(cfg):
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
    rsl_rl_keys = {k: v for k, v in cfg["algorithm"].items() if k != "symmetry"}  # [ppo.algorithm.symmetry]
    check_against(rsl_rl_keys, PPO.__init__, {"actor", "critic", "storage", "device", "multi_gpu_cfg"}, "ppo.algorithm")
    if "symmetry" in cfg["algorithm"]:
        validate_symmetry(cfg["algorithm"]["symmetry"])
    check_runner_counts(cfg)
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
    if "symmetry" in cfg["algorithm"] and learner != "rsl_rl":
        raise ValueError(
            "'ppo.algorithm.symmetry' needs ppo.learner = \"rsl_rl\" (rsl-rl's PPO runs the mirror augmentation and "
            "loss; the graphed learner does not)"
        )
    recurrent = [f"ppo.{name}" for name in ("actor", "critic") if is_recurrent(cfg[name])]
    if recurrent and "symmetry" in cfg["algorithm"]:
        raise ValueError(f"'ppo.algorithm.symmetry' does not work with a recurrent {recurrent[0]} (rsl-rl refuses it)")
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


def runner_config(
    cfg: dict[str, Any], obs_group_names: list[str], mirror: SymmetryAugmentation | None = None
) -> dict[str, Any]:
    """The dict rsl-rl's ``OnPolicyRunner`` (or ``DistillationRunner``) takes (a deep copy: rsl-rl pops keys from
    it); ``learner`` and ``precision`` become the algorithm's class and its arguments; ``[ppo.algorithm.symmetry]``
    becomes rsl-rl's ``symmetry_cfg`` with ``mirror`` as its augmentation function (left out without one)."""
    if is_distillation(cfg):
        return distillation_runner_config(cfg)
    out = copy.deepcopy(cfg)
    symmetry = out["algorithm"].pop("symmetry", None)
    if symmetry is not None and mirror is not None:
        out["algorithm"]["symmetry_cfg"] = symmetry_cfg(symmetry, mirror)
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
