"""A sweep's search spaces: ``--param KEY=SPACE`` parsed into a :class:`Param` (its Optuna distribution, the values
checked against the spec before a sweep starts, a sampled value as a ``--set`` text). Imports Optuna only for
:meth:`Param.distribution`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class SweepError(ValueError):
    """Bad sweep input (a ``--param``, a sweep folder, a resume that does not match): one line naming it."""


@dataclass(frozen=True)
class Param:
    """One swept spec key and its search space, parsed from ``KEY=SPACE`` (see :func:`parse_param`)."""

    key: str
    space: str
    kind: str
    """log (log-uniform float), float (uniform float), int (uniform integer) or choice (one of ``choices``)."""
    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.key}={self.space}"

    def distribution(self):
        """The Optuna distribution of this space."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high))
        return FloatDistribution(self.low, self.high, log=self.kind == "log")

    def probes(self) -> list[str]:
        """The values to check against the spec before a sweep starts, as ``--set`` texts: both ends, or every
        choice."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [str(int(self.low)), str(int(self.high))]
        return [repr(self.low), repr(self.high)]


def parse_param(text: str) -> Param:
    """``KEY=SPACE`` -> :class:`Param`. SPACE: ``log:LOW:HIGH`` (log-uniform float, 0 < LOW < HIGH), ``LOW:HIGH``
    (uniform float), ``int:LOW:HIGH`` (integers, both included) or ``choice:A,B,C`` (TOML values or bare words, as
    ``--set`` reads them).

    Raises:
        SweepError: naming the parameter and what was expected.
    """
    key, sep, space = text.partition("=")
    key, space = key.strip(), space.strip()
    expected = "expected KEY=SPACE with SPACE log:LOW:HIGH, LOW:HIGH, int:LOW:HIGH or choice:A,B,..."
    if not sep or not key or not space:
        raise SweepError(f"--param '{text}': {expected}")
    head, _, rest = space.partition(":")
    if head == "choice":
        choices = tuple(c.strip() for c in rest.split(","))
        if len(choices) < 2 or not all(choices) or len(set(choices)) != len(choices):
            raise SweepError(f"--param '{text}': expected choice:A,B,... with two or more different values")
        return Param(key, space, "choice", choices=choices)
    kind, bounds = (head, rest) if head in ("log", "int") else ("float", space)
    parts = bounds.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = (int(p) if kind == "int" else float(p) for p in parts)
    except ValueError:
        raise SweepError(f"--param '{text}': {expected}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise SweepError(f"--param '{text}': expected finite bounds with LOW < HIGH, got {low} and {high}")
    if kind == "log" and low <= 0:
        raise SweepError(f"--param '{text}': a log space needs LOW > 0, got {low}")
    return Param(key, space, kind, float(low), float(high))


def set_text(param: Param, value: Any) -> str:
    """The ``--set KEY=VALUE`` text of a sampled value (floats as Python writes them, which TOML reads)."""
    return f"{param.key}={value if param.kind == 'choice' else repr(value)}"
