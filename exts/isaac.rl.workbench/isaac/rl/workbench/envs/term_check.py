"""Build-time check of a spec's terms: each is called once on the freshly reset env, before training starts.

:func:`..specs.loader.load_spec` checks what it can without an env (the function exists and takes ``env`` and the spec's
params); what a term *returns* is only known once it runs. A reward of the wrong shape, an int tensor or a NaN
would otherwise show up as a traceback (or a silently broken policy) in the middle of training; here it is a
:class:`SpecError` naming the spec file, the term's key and the function's file:line, e.g.
``task.toml: key 'rewards.my_term' (my_terms.py:3): returned shape (3, 2), expected (4,)``.
"""

from __future__ import annotations

import traceback
from typing import Any, Protocol

import torch

from ..backend.base import BackendError
from ..specs.schema import SpecError, TaskSpec, TermSpec
from ..terms import TermSignatureError, check_term_signature, term_location


class TermHost(Protocol):
    """What the check reads of the env (:class:`~.workbench_env.WorkbenchEnv` offers it)."""

    spec: TaskSpec
    """The task spec whose terms are checked."""
    num_envs: int
    """N."""
    device: torch.device
    """Where every term's tensor must live."""

    def call_term(self, term: TermSpec) -> Any:
        """``term`` called on the env with its resolved params, as the env calls it."""
        ...


def check_terms(env: TermHost) -> None:
    """Call every observation, reward, termination and metric term of ``env.spec`` once and check what it returns.

    Each must return a ``torch.Tensor`` on ``env.device`` with finite values: observations float, shape (N,),
    (N, k) with k >= 1 or an image (N, C, H, W); rewards float, shape (N,); terminations bool, shape (N,); metrics
    float or bool, shape (N,) (N = ``env.num_envs``). Event terms write state, so they are not called; their
    signature is checked (``(env, env_mask, **params)``).

    Args:
        env: a freshly built and reset env.

    Raises:
        SpecError: ``"<spec file>: key '<kind>.<name>' (<function file>:<line>): <what was returned>, expected
            <what>"``, for the first term that fails, in spec order.
    """
    spec = env.spec
    called = [
        *(
            (f"observations.{group}.terms[{i}]", term, "observations")
            for group, terms in spec.observations.items()
            for i, term in enumerate(terms)
        ),
        *((f"rewards.{name}", term, "rewards") for name, term in spec.rewards.items()),
        *((f"terminations.{name}", term, "terminations") for name, term in spec.terminations.items()),
        *((f"metrics.{name}", term, "metrics") for name, term in spec.metrics.items()),
    ]
    for key, term, kind in called:
        where = term_location(term.func)
        prefix = f"{spec.source}: key '{key}'" + (f" ({where})" if where else "")
        try:
            value: Any = env.call_term(term)
        except BackendError as exc:  # what the physics cannot give the term (contact forces on an older Newton)
            raise SpecError(f"{prefix}: {exc}") from exc
        except Exception as exc:
            raise SpecError(f"{prefix}: raised {_describe(exc, where)} when called on the reset env") from exc
        _check_value(prefix, value, kind, env.num_envs, env.device)
    for name, term in spec.events.items():
        try:
            check_term_signature("events", term.func, term.func_name, term.params)
        except TermSignatureError as exc:
            raise SpecError(f"{spec.source}: key 'events.{name}.{exc.key}': {exc}") from exc


def _check_value(prefix: str, value: Any, kind: str, n: int, device: torch.device) -> None:
    """``value``, what a term of ``kind`` returned, against what ``kind`` needs; ``prefix`` starts the error."""
    expected_shape = f"({n},) or ({n}, k), or an image ({n}, C, H, W)" if kind == "observations" else f"({n},)"
    if not isinstance(value, torch.Tensor):
        returned = type(value).__name__
        raise SpecError(f"{prefix}: returned a {returned}, expected a torch.Tensor of shape {expected_shape}")
    if not _same_device(value.device, device):
        raise SpecError(f"{prefix}: returned a tensor on {value.device}, expected one on the env's device {device}")
    shape = tuple(value.shape)
    sized = len(shape) in (2, 4) and shape[0] == n and min(shape[1:]) >= 1  # (N, k) or an image (N, C, H, W)
    ok = shape == (n,) or (kind == "observations" and sized)
    if not ok:
        raise SpecError(f"{prefix}: returned shape {shape}, expected {expected_shape}")
    if kind == "metrics" and value.dtype == torch.bool:
        return
    if kind == "terminations":
        if value.dtype != torch.bool:
            raise SpecError(f"{prefix}: returned dtype {value.dtype}, expected torch.bool (e.g. `x > limit`)")
        return
    if not value.is_floating_point():
        raise SpecError(f"{prefix}: returned dtype {value.dtype}, expected a float tensor (e.g. torch.float32)")
    finite = torch.isfinite(value).reshape(n, -1).all(dim=1)
    if not bool(finite.all()):
        bad = (~finite).nonzero().flatten().tolist()
        shown = ", ".join(str(i) for i in bad[:8]) + (", ..." if len(bad) > 8 else "")
        raise SpecError(f"{prefix}: returned NaN or inf for {len(bad)} of {n} envs (envs {shown}), expected finite")


def _same_device(actual: torch.device, expected: torch.device) -> bool:
    """``cuda:0`` matches ``cuda`` (the current device) when that is device 0."""
    if actual.type != expected.type:
        return False
    if expected.index is None or actual.index is None:
        current = torch.cuda.current_device() if expected.type == "cuda" else None
        return (expected.index if expected.index is not None else current) == (
            actual.index if actual.index is not None else current
        )
    return actual.index == expected.index


def _describe(exc: BaseException, where: str | None) -> str:
    """``"KeyError: 'x' (at my_terms.py:7)"`` on one line: the exception and the innermost frame of the term's own
    file that raised it (else the innermost frame)."""
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if where and where.startswith(f"{f.filename}:")]
    frames = own or frames
    if frames:
        text += f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return text
