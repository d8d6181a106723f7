"""Teacher-student distillation settings: rsl-rl's ``Distillation`` named in a spec's ``[ppo]`` table.

A teacher trained with PPO on privileged observations (the randomised physics, the base's true velocity) acts well
but needs what a robot cannot measure. A student that sees only what the robot has (here, a history of its
readings) learns to give the teacher's actions: rsl-rl's ``Distillation`` steps the envs with the student's actions
and regresses the student's output on the teacher's (behaviour cloning with the student's own state distribution,
as DAgger does). Settings, with rsl-rl's key names:

- ``[ppo.algorithm] class_name = "Distillation"`` and its arguments (``num_learning_epochs``, ``gradient_length``,
  ``learning_rate``, ``max_grad_norm``, ``loss_type``, ``optimizer``);
- ``[ppo.student]`` and ``[ppo.teacher]``: ``rsl_rl.models.MLPModel`` arguments. The teacher's must rebuild the
  teacher run's ``[ppo.actor]`` (its weights and normaliser are loaded into it);
- ``obs_groups``: ``student`` (default ``["policy"]``: what the exported policy reads) and ``teacher`` (required:
  groups whose concatenation is, term for term, what the teacher's actor read);
- ``teacher_checkpoint``: the finished teacher run folder (its latest checkpoint) or one of its checkpoint files,
  relative to the current folder; read when a fresh distillation is built. Resuming, playing or exporting a student
  run needs no teacher file: its checkpoints hold both networks.

The runner and checkpoint format are rsl-rl's (``student_state_dict``, ``teacher_state_dict``,
``optimizer_state_dict``); the exported policy is the student alone.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from .rsl_rl_settings import PPO_DEFAULTS, check_against, check_model_config, check_runner_counts

DISTILLATION = "Distillation"
DISTILLATION_TOP_KEYS = (
    "num_steps_per_env",
    "max_iterations",
    "save_interval",
    "obs_groups",
    "check_for_nan",
    "torch_compile_mode",
    "teacher_checkpoint",
    "student",
    "teacher",
    "algorithm",
)
LOSS_TYPES = ("mse", "huber")

_SHARED_WITH_PPO = ("max_iterations", "save_interval", "obs_groups", "check_for_nan")
_DEFAULT = {
    **{key: copy.deepcopy(PPO_DEFAULTS[key]) for key in _SHARED_WITH_PPO},
    "num_steps_per_env": 24,
    "student": {  # PPO's default actor, acting with a little noise of its own, so that it sees (and learns to
        # leave) states off the teacher's
        **copy.deepcopy(PPO_DEFAULTS["actor"]),
        "distribution_cfg": {**PPO_DEFAULTS["actor"]["distribution_cfg"], "init_std": 0.1},
    },
    "teacher": copy.deepcopy(PPO_DEFAULTS["actor"]),  # the default [ppo.actor] of a PPO spec
    "algorithm": {
        "class_name": DISTILLATION,
        "num_learning_epochs": 2,
        "gradient_length": 4,
        "learning_rate": 1.0e-3,
        "max_grad_norm": 1.0,
        "loss_type": "mse",
    },
}


def default_distillation_config() -> dict[str, Any]:
    """A fresh copy of the default distillation settings."""
    return copy.deepcopy(_DEFAULT)


def validate_distillation_config(cfg: dict[str, Any]) -> None:
    """Check a distillation config's keys against rsl-rl's constructors and its numbers against their ranges.

    Raises:
        KeyError: an unknown key (a PPO-only one says so), named with its dotted path.
        ValueError: a number out of range, a ``gradient_length`` that leaves steps untrained, no teacher groups.
    """
    from rsl_rl.algorithms import Distillation

    for key in cfg:
        if key not in DISTILLATION_TOP_KEYS:
            hint = " (a PPO setting)" if key in ("actor", "critic", "learner", "precision") else ""
            raise KeyError(
                f"'ppo.{key}' is not a distillation setting{hint}; expected one of: {', '.join(DISTILLATION_TOP_KEYS)}"
            )
    for name in ("student", "teacher"):
        check_model_config(cfg[name], f"ppo.{name}")
    skip = {"student", "teacher", "storage", "device", "multi_gpu_cfg", "kwargs"}
    check_against(cfg["algorithm"], Distillation.__init__, skip, "ppo.algorithm")
    check_runner_counts(cfg)
    alg = cfg["algorithm"]
    for key in ("num_learning_epochs", "gradient_length"):
        if not isinstance(alg.get(key, 1), int) or alg.get(key, 1) < 1:
            raise ValueError(f"'ppo.algorithm.{key}' must be an integer >= 1, got {alg[key]!r}")
    steps = alg.get("num_learning_epochs", 1) * cfg["num_steps_per_env"]
    length = alg.get("gradient_length", _signature_default(Distillation.__init__, "gradient_length"))
    if steps % length:
        raise ValueError(
            f"'ppo.algorithm.gradient_length' ({length}) must divide num_learning_epochs x num_steps_per_env "
            f"({steps}); otherwise the last {steps % length} steps of each update are never trained on"
        )
    if not alg.get("learning_rate", 1.0) > 0:
        raise ValueError(f"'ppo.algorithm.learning_rate' must be > 0, got {alg['learning_rate']!r}")
    if alg.get("loss_type", "mse") not in LOSS_TYPES:
        raise ValueError(f"'ppo.algorithm.loss_type' must be one of {', '.join(LOSS_TYPES)}, got {alg['loss_type']!r}")
    if not (cfg.get("obs_groups") or {}).get("teacher"):
        raise ValueError(
            "'ppo.obs_groups.teacher' is needed: the observation groups that give, in order, what the teacher's "
            'actor read (e.g. ["teacher", "privileged"])'
        )
    if not isinstance(cfg.get("teacher_checkpoint", ""), str):
        raise ValueError(f"'ppo.teacher_checkpoint' must be a path, got {cfg['teacher_checkpoint']!r}")


def distillation_runner_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The dict rsl-rl's ``DistillationRunner`` takes (a deep copy: rsl-rl pops keys from it)."""
    out = copy.deepcopy(cfg)
    out.pop("max_iterations", None)
    out.pop("teacher_checkpoint", None)
    out["obs_groups"] = {"student": ["policy"], **out.get("obs_groups", {})}
    out.setdefault("logger", "tensorboard")
    return out


def _signature_default(func, name: str) -> Any:
    return inspect.signature(func).parameters[name].default
