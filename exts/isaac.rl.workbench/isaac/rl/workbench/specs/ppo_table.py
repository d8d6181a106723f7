"""The ``[ppo]`` table of a spec (the learner's settings, rsl-rl's runner config), merged over the defaults of its
algorithm and validated by :mod:`..learn.ppo_config`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..learn.ppo_config import PPO_TOP_KEYS, algorithm_name, default_ppo_config, validate_ppo_config
from .schema import SpecError, TermSpec
from .tables import SpecTable


def load_ppo(t: SpecTable) -> dict[str, Any]:
    """``[ppo]`` merged over :func:`..learn.ppo_config.default_ppo_config` of its ``[ppo.algorithm] class_name``
    (sub-tables key by key), validated; ``teacher_checkpoint`` made absolute (from the current folder).

    Returns:
        the full runner config (``algorithm``, ``actor``, ``critic``, ``num_steps_per_env``, ...).

    Raises:
        SpecError: naming the dotted key (``ppo.algorithm.gamma``) and what was expected; an algorithm setting put
            at the top of ``[ppo]`` is pointed to ``[ppo.algorithm]``.
    """
    config = default_ppo_config(algorithm_name(t.data))
    for key in t.data:
        if key not in PPO_TOP_KEYS and key in config["algorithm"]:
            raise t.error(key, f"unknown key here; '{key}' is a PPO setting: put it under [ppo.algorithm]")
    t.check_keys(PPO_TOP_KEYS)
    for key, value in t.data.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    try:
        validate_ppo_config(config)
    except (KeyError, ValueError, TypeError) as exc:
        named = re.match(r"'([^']+)'", str(exc.args[0]))  # the messages start with the quoted dotted key
        raise SpecError(f"{t.file}: key {exc.args[0]}", key=named.group(1) if named else None) from exc
    if config.get("teacher_checkpoint"):  # a run folder or file: relative to the current folder, where runs/ is
        config["teacher_checkpoint"] = str(Path(config["teacher_checkpoint"]).expanduser().resolve())
    return config


def check_obs_groups(t: SpecTable, ppo: dict[str, Any], groups: dict[str, list[TermSpec]]) -> None:
    """Every group that ``ppo.obs_groups`` hands a network is an observation group of the spec.

    Args:
        t: the ``[ppo]`` table, for messages.
        ppo: the config :func:`load_ppo` returned.
        groups: the spec's observation groups (group name -> its terms).

    Raises:
        SpecError: naming ``ppo.obs_groups.<network>`` and the groups the spec has.
    """
    obs_groups = ppo.get("obs_groups") or {}
    if not isinstance(obs_groups, dict):
        raise t.error("obs_groups", f"expected a table {{network = [group, ...]}}, got {obs_groups!r}")
    for name, listed in obs_groups.items():
        if not isinstance(listed, list) or not listed or not all(isinstance(group, str) for group in listed):
            raise t.error(f"obs_groups.{name}", f"expected a non-empty list of observation group names, got {listed!r}")
        unknown = [group for group in listed if group not in groups]
        if unknown:
            raise t.error(
                f"obs_groups.{name}",
                f"no observation group {', '.join(unknown)}; the spec's groups: {', '.join(groups)}",
            )
