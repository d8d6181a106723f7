"""Term library: pure functions over batched tensors, ``(env, **params) -> Tensor``.

Each kind of term has a registry mapping the name used in task specs to the function. A spec may also name
a user's own function as ``"package.module:function"``. A parameter called ``joints`` is given in the spec as a
list of joint names; the env turns it into a tensor of DOF indices before the term is called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from . import events, observations, rewards, terminations

REGISTRIES: dict[str, dict[str, Callable]] = {
    "observations": {name: getattr(observations, name) for name in observations.__all__},
    "rewards": {name: getattr(rewards, name) for name in rewards.__all__},
    "terminations": {name: getattr(terminations, name) for name in terminations.__all__},
    "events": {name: getattr(events, name) for name in events.__all__},
}


class TermLookupError(LookupError):
    """A term name that is neither in the library nor an importable ``module:function``."""


def resolve_term(kind: str, name: str) -> Callable:
    """Return the function for ``name`` among the terms of ``kind`` ("observations", "rewards", ...).

    Raises:
        TermLookupError: naming the term and listing the library's names of that kind.
    """
    registry = REGISTRIES[kind]
    if name in registry:
        return registry[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise TermLookupError(f"cannot import module '{module_name}' for term '{name}': {exc}") from exc
        func = getattr(module, attr, None)
        if not callable(func):
            raise TermLookupError(f"module '{module_name}' has no function '{attr}'")
        return func
    known = ", ".join(sorted(registry))
    raise TermLookupError(f"unknown {kind[:-1]} term '{name}'; known: {known}; or give 'package.module:function'")
