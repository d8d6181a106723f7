"""What PPO's and distillation's ``[ppo]`` tables share: PPO's default settings (distillation's start from them),
the checks of a table against rsl-rl's constructors and, once the env is built, of its networks against the
observation groups' shapes (:func:`check_networks_fit`).

:mod:`.ppo_config` (PPO) and :mod:`.distill` (distillation) both build on this module; neither imports the other's
internals.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensordict import TensorDict

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


MODEL_CLASSES = ("MLPModel", "RNNModel", "CNNModel")
"""The rsl-rl models a ``[ppo.actor]`` / ``[ppo.critic]`` table may name (``class_name``); ``RNNModel`` is the
recurrent one (an LSTM or GRU, ``rnn_type``, before the MLP head), ``CNNModel`` the one that reads images (a CNN,
``cnn_cfg``, per image group (N, C, H, W), its flattened output beside the vector groups into the MLP head)."""

RNN_TYPES = ("lstm", "gru")

CNN_CHOICES: dict[str, tuple[str, ...]] = {
    "padding": ("none", "zeros", "reflect", "replicate", "circular"),
    "norm": ("none", "batch", "layer"),
    "global_pool": ("none", "max", "avg"),
}
"""The values rsl-rl's ``CNN`` takes for its string settings (``norm`` also as a list, one per layer)."""


class NetworkConfigError(ValueError):
    """A ``[ppo.<network>]`` table that does not fit the env's observation groups (an image group for a model that
    reads vectors, a CNN that shrinks an image to nothing, ...): found when the networks are built, one line naming
    the key."""


def check_model_config(cfg: dict, where: str) -> None:
    """Check an ``rsl_rl.models.MLPModel`` (``RNNModel``, ``CNNModel``) table (``[ppo.actor]``, ``[ppo.student]``,
    ...) and its Gaussian ``distribution_cfg`` against their constructors; ``where`` is its dotted key, for the
    message.

    Raises:
        KeyError: a key the model's (or its CNN's) constructor does not take.
        ValueError: an unknown ``class_name`` or ``rnn_type``, an RNN size that is not an integer >= 1, or a
            ``cnn_cfg`` that is missing or holds a value rsl-rl's ``CNN`` does not take.
    """
    import rsl_rl.models
    from rsl_rl.modules.distribution import GaussianDistribution

    class_name = cfg.get("class_name", "MLPModel")
    if class_name not in MODEL_CLASSES:
        raise ValueError(f"'{where}.class_name' must be one of {', '.join(MODEL_CLASSES)}, got {class_name!r}")
    skip = {"obs", "obs_groups", "obs_set", "output_dim", "cnns"}  # cnns: modules, not settings
    check_against(cfg, getattr(rsl_rl.models, class_name).__init__, skip, where)
    if class_name == "RNNModel":
        if cfg.get("rnn_type", "lstm") not in RNN_TYPES:
            raise ValueError(f"'{where}.rnn_type' must be one of {', '.join(RNN_TYPES)}, got {cfg['rnn_type']!r}")
        for key in ("rnn_hidden_dim", "rnn_num_layers"):
            value = cfg.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"'{where}.{key}' must be an integer >= 1, got {value!r}")
    if class_name == "CNNModel":
        check_cnn_config(cfg.get("cnn_cfg"), f"{where}.cnn_cfg")
    dist = cfg.get("distribution_cfg")
    if dist and dist.get("class_name", "GaussianDistribution") == "GaussianDistribution":
        check_against(dist, GaussianDistribution.__init__, {"output_dim"}, f"{where}.distribution_cfg")


def check_cnn_config(cnn_cfg: Any, where: str) -> None:
    """Check a ``CNNModel``'s ``cnn_cfg`` (``where``: its dotted key): rsl-rl's ``CNN`` arguments, one table for
    every image group, or one table per image group (``cnn_cfg.<group>``, as rsl-rl tells the two apart: every value
    a table).

    Raises:
        KeyError: a key that is not an argument of ``rsl_rl.modules.CNN`` (``input_dim`` and ``input_channels`` come
            from the image), named ``<where>.<key>``.
        ValueError: no ``cnn_cfg``, no ``output_channels`` or ``kernel_size``, or a value ``CNN`` does not take.
    """
    if cnn_cfg is None:
        raise ValueError(
            f"'{where}' is required with class_name = \"CNNModel\": a table of rsl-rl CNN settings, e.g. "
            "output_channels = [16, 32], kernel_size = 3, stride = 2"
        )
    if not isinstance(cnn_cfg, dict) or not cnn_cfg:
        raise ValueError(f"'{where}' must be a table of rsl-rl CNN settings, got {cnn_cfg!r}")
    if all(isinstance(value, dict) for value in cnn_cfg.values()):  # one table per image group
        for group, layers in cnn_cfg.items():
            _check_cnn_layers(layers, f"{where}.{group}")
    else:
        _check_cnn_layers(cnn_cfg, where)


def _check_cnn_layers(cfg: dict, where: str) -> None:
    """One CNN's settings (:func:`check_cnn_config`)."""
    from rsl_rl.modules import CNN
    from rsl_rl.utils import resolve_nn_activation

    check_against(cfg, CNN.__init__, {"input_dim", "input_channels"}, where, extra=())
    channels = cfg.get("output_channels")
    if not _is_list_of(channels, _is_count) or not channels:
        raise ValueError(
            f"'{where}.output_channels' must be a non-empty list of integers >= 1 (one per layer), got {channels!r}"
        )
    layers = len(channels)
    if "kernel_size" not in cfg:
        raise ValueError(f"'{where}.kernel_size' is required: an integer >= 1, or a list of {layers} (one per layer)")
    for key in ("kernel_size", "stride", "dilation"):
        _check_per_layer(cfg, key, layers, where, _is_count, "an integer >= 1")
    _check_per_layer(cfg, "max_pool", layers, where, lambda v: isinstance(v, bool), "true or false")
    _check_per_layer(cfg, "norm", layers, where, lambda v: v in CNN_CHOICES["norm"], " / ".join(CNN_CHOICES["norm"]))
    for key in ("padding", "global_pool"):
        if key in cfg and cfg[key] not in CNN_CHOICES[key]:
            raise ValueError(f"'{where}.{key}' must be one of {', '.join(CNN_CHOICES[key])}, got {cfg[key]!r}")
    if cfg.get("flatten", True) is not True:
        raise ValueError(f"'{where}.flatten' must be true: the MLP head takes the CNN's output as a flat vector")
    try:
        resolve_nn_activation(str(cfg.get("activation", "elu")))
    except ValueError:
        raise ValueError(f"'{where}.activation' is not an activation rsl-rl knows, got {cfg['activation']!r}") from None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_list_of(value: Any, check: Callable[[Any], bool]) -> bool:
    return isinstance(value, list | tuple) and all(check(item) for item in value)


def _check_per_layer(cfg: dict, key: str, layers: int, where: str, check: Callable[[Any], bool], what: str) -> None:
    """``cfg[key]``, when given, is one value for every layer or a list of ``layers`` values, each passing ``check``."""
    if key not in cfg:
        return
    value = cfg[key]
    if _is_list_of(value, check):
        if len(value) != layers:
            raise ValueError(
                f"'{where}.{key}' lists {len(value)} values for {layers} layers (output_channels): give one, or one "
                "per layer"
            )
    elif not check(value):
        raise ValueError(f"'{where}.{key}' must be {what}, or a list of them (one per layer), got {value!r}")


def check_networks_fit(cfg: dict, obs: TensorDict) -> None:
    """Check the networks of a runner config (:func:`~.ppo_config.runner_config`) against the env's observation
    groups ``obs`` (N, D) or, for an image group, (N, C, H, W): image groups go to a ``CNNModel`` only, and its CNN
    leaves something of every image.

    Raises:
        NetworkConfigError: one line naming the key: a model that reads vectors given an image group, a
            ``CNNModel`` without an image group, ``obs_normalization`` of a ``CNNModel`` that reads no vector group
            (rsl-rl normalises vector groups only), a ``cnn_cfg.<group>`` table for a group that is not one of its
            image groups (or none for one that is), or CNN layers that shrink an image to nothing.
    """
    for name in ("actor", "critic", "student", "teacher"):
        model = cfg.get(name)
        if not isinstance(model, dict):
            continue
        groups = list(cfg.get("obs_groups", {}).get(name) or [name if name in obs.keys() else "policy"])
        images = [g for g in groups if g in obs.keys() and obs[g].dim() == 4]
        where, class_name = f"ppo.{name}", model.get("class_name", "MLPModel")
        if images and class_name != "CNNModel":
            shape = "x".join(str(n) for n in obs[images[0]].shape[1:])
            raise NetworkConfigError(
                f"'{where}.class_name' = {class_name!r} reads vectors (N, D), but ppo.obs_groups.{name} holds the "
                f"image group '{images[0]}' ({shape}, C x H x W): set class_name = \"CNNModel\" with a "
                f"[{where}.cnn_cfg]"
            )
        if class_name != "CNNModel":
            continue
        if not images:
            raise NetworkConfigError(
                f"'{where}.class_name' = \"CNNModel\" needs an image group (N, C, H, W) in ppo.obs_groups.{name}, "
                f'which holds vectors only ({", ".join(groups)}): use "MLPModel"'
            )
        if model.get("obs_normalization") and len(images) == len(groups):
            raise NetworkConfigError(
                f"'{where}.obs_normalization' normalises vector groups only, and ppo.obs_groups.{name} holds images "
                f"only ({', '.join(groups)}): set it to false"
            )
        _check_cnns_fit(model["cnn_cfg"], {g: tuple(obs[g].shape[1:]) for g in images}, f"{where}.cnn_cfg", name)


def _check_cnns_fit(cnn_cfg: dict, images: dict[str, tuple[int, ...]], where: str, network: str) -> None:
    """Every image group (name -> (C, H, W)) has a CNN in ``cnn_cfg`` whose output is not empty."""
    import torch
    from rsl_rl.modules import CNN

    per_group = all(isinstance(value, dict) for value in cnn_cfg.values())
    if per_group:
        for group in cnn_cfg:
            if group not in images:
                raise NetworkConfigError(
                    f"'{where}.{group}': not an image group of ppo.obs_groups.{network} (its image groups: "
                    f"{', '.join(images)})"
                )
        for group in images:
            if group not in cnn_cfg:
                raise NetworkConfigError(
                    f"'{where}' has no table for the image group '{group}' of ppo.obs_groups.{network}: give "
                    f"[{where}.{group}], or one table of settings for every image group"
                )
    for group, (channels, height, width) in images.items():
        layers = cnn_cfg[group] if per_group else cnn_cfg
        key = f"{where}.{group}" if per_group else where
        try:
            cnn = CNN(input_dim=(height, width), input_channels=channels, **layers).eval()
            with torch.no_grad():
                size = cnn(torch.zeros(1, channels, height, width)).shape[-1]
        except RuntimeError as exc:
            size, detail = 0, str(exc).splitlines()[0]
        else:
            detail = f"output of {size} values"
        if size < 1:
            raise NetworkConfigError(
                f"'{key}': its layers shrink the image group '{group}' ({channels}x{height}x{width}) to nothing "
                f'({detail}): use fewer layers, a smaller kernel_size or stride, or padding = "zeros"'
            )


def is_recurrent(model_cfg: dict) -> bool:
    """True for a model table (``[ppo.actor]``, ``[ppo.critic]``, ...) that names rsl-rl's ``RNNModel``."""
    return model_cfg.get("class_name", "MLPModel") == "RNNModel"


def is_cnn(model_cfg: dict) -> bool:
    """True for a model table (``[ppo.actor]``, ``[ppo.critic]``, ...) that names rsl-rl's ``CNNModel``."""
    return model_cfg.get("class_name", "MLPModel") == "CNNModel"


def check_against(
    cfg: dict, func: Callable, skip: set[str], where: str, extra: tuple[str, ...] = ("class_name",)
) -> None:
    """Check that every key of ``cfg`` is an argument of ``func`` (or one of ``extra``), ``skip`` left out.

    Raises:
        KeyError: the first key that is not, named with its dotted path ``where.key`` and the accepted ones.
    """
    accepted = [p for p in inspect.signature(func).parameters if p not in skip | {"self"}] + list(extra)
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
