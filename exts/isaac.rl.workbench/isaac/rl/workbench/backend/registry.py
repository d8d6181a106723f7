"""Physics engines by name: a task spec's ``[env] physics`` names one, :func:`make_backend` builds it.

Each engine is a module of this package offering what :class:`~.base.PhysicsEngine` lists (``build``,
``bytes_per_env``, ``inertia_corrections``). It is imported on first use, so naming an engine costs nothing until
one is built; an unknown name, or an engine whose libraries are absent here, is refused with one line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from .base import Backend, BackendError, BackendRequest, PhysicsEngine


@dataclass(frozen=True)
class Engine:
    """Where an engine lives and what it needs."""

    module: str
    """Its module in this package."""
    libraries: tuple[str, ...]
    """The outside modules it cannot run without, imported first so that an absent one is refused by name."""
    absent: str
    """The line that refuses the engine where one of its libraries is absent."""


ENGINES = {
    "newton": Engine(
        "newton_backend",
        ("newton", "warp", "mujoco"),
        'env.physics = "newton" needs the newton, warp and mujoco packages, which install with the workbench '
        "(pip install isaac-rl-workbench, or bash scripts/setup.sh in a checkout)",
    ),
    "physx": Engine(
        "physx_backend",
        ("omni.physics.tensors",),
        'env.physics = "physx" needs Isaac Sim\'s PhysX tensor API (omni.physics.tensors), found only inside Isaac '
        'Sim; train it there, or set env.physics = "newton"',
    ),
}
"""Every engine by the name a spec gives it."""


def load_engine(name: str) -> PhysicsEngine:
    """The engine module ``name``, imported; :class:`~.base.BackendError` when no engine has that name or its
    libraries are absent."""
    engine = ENGINES.get(name)
    if engine is None:
        raise BackendError(f'env.physics = "{name}": no such physics engine; engines: {", ".join(ENGINES)}')
    try:
        for library in engine.libraries:
            importlib.import_module(library)
    except ImportError:
        raise BackendError(engine.absent) from None
    return cast(PhysicsEngine, importlib.import_module(f"{__package__}.{engine.module}"))


def make_backend(name: str, request: BackendRequest, phase_done: Callable[[str], None] = lambda phase: None) -> Backend:
    """Engine ``name``'s backend for ``request`` (:meth:`~.base.PhysicsEngine.build`)."""
    return load_engine(name).build(request, phase_done)
