"""The ``[env]`` table of a spec (cloned envs, timing, the physics engine), read into :class:`.schema.EnvSpec`."""

from __future__ import annotations

from ..backend.registry import ENGINES
from .schema import EnvSpec
from .tables import SpecTable

CPU_SOLVERS = ("mujoco", "mujoco_warp")
"""``env.cpu_solver``'s values (:attr:`.schema.EnvSpec.cpu_solver`)."""


def load_env(t: SpecTable) -> EnvSpec:
    """``[env]``, validated: known keys, ``num_envs`` and ``decimation`` integers >= 1, ``spacing`` >= 0 [m], times
    > 0 [s], a physics engine of :mod:`..backend.registry`, ``cpu_solver`` one of :data:`CPU_SOLVERS`, ``ground``
    and ``only_positive_rewards`` true or false; :class:`.schema.EnvSpec`'s default where a key is not given.

    Raises:
        SpecError: naming the key (``env.physics_dt``) and what was expected.
    """
    t.check_keys(EnvSpec.__dataclass_fields__)
    d = EnvSpec()
    return EnvSpec(
        num_envs=t.number("num_envs", d.num_envs, minimum=1, integer=True),
        spacing=t.number("spacing", d.spacing, minimum=0.0),
        episode_seconds=t.number("episode_seconds", d.episode_seconds, positive=True),
        physics_dt=t.number("physics_dt", d.physics_dt, positive=True),
        decimation=t.number("decimation", d.decimation, minimum=1, integer=True),
        physics=_load_physics(t, d.physics),
        ground=t.get("ground", bool, d.ground),
        cpu_solver=_load_choice(t, "cpu_solver", CPU_SOLVERS, d.cpu_solver),
        only_positive_rewards=t.get("only_positive_rewards", bool, d.only_positive_rewards),
    )


def _load_choice(t: SpecTable, key: str, choices: tuple[str, ...], default: str) -> str:
    value = t.get(key, str, default)
    if value not in choices:
        raise t.error(key, f"expected one of {', '.join(repr(c) for c in choices)}, got '{value}'")
    return value


def _load_physics(t: SpecTable, default: str) -> str:
    """Key ``env.physics``: the name of a physics engine of :mod:`..backend.registry` (whether its libraries are
    here is asked when a backend is built, not when a spec loads)."""
    physics = t.get("physics", str, default)
    if physics not in ENGINES:
        raise t.error("physics", f"expected one of {', '.join(ENGINES)}, got '{physics}'")
    return physics
