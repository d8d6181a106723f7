"""The parameters a robustness sweep varies, found in a task spec, each with its training range and value grid.

A parameter is one of:

- ``events.<name>.<param>``: a range parameter (``[lo, hi]``) of a ``mode = "startup"`` event (``friction_range``,
  ``mass_range``, ``stiffness_scale``, ``damping_scale``, ``offset_range``, ...); at a sweep point every env gets
  the event with the range ``[v, v]``.
- ``events.<name>.velocity``: the bound of an interval ``push_root`` event [m/s]; trained with pushes up to it, so
  its training range is ``[0, velocity]``.
- ``actions.delay_steps``: the action latency [env steps], every env the same (always swept: it costs nothing).
- ``observations.noise_scale``: a factor on the noise of every noisy policy observation term (1: as trained);
  swept only when the policy's observations have noise.

The grid runs from ``lo - beyond x width`` to ``hi + beyond x width`` (never below a parameter's physical minimum);
a parameter the spec holds fixed (``lo == hi``) is swept around it, ``value x [1 - beyond, 1 + beyond]``.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass

import numpy as np

from ..specs.loader import TaskSpec

NOISE_SCALE = "observations.noise_scale"
DELAY = "actions.delay_steps"


class ParameterError(ValueError):
    """``--params`` names no parameter the spec randomises; the message lists the ones it has."""


@dataclass(kw_only=True)
class SweptParameter:
    """One swept parameter.

    Attributes:
        name: ``events.<event>.<param>``, ``actions.delay_steps`` or ``observations.noise_scale``.
        kind: ``startup``, ``push``, ``delay`` or ``noise``.
        training_range: (lo, hi) the policy was trained with (lo == hi: not randomised).
        nominal: the value it keeps while another parameter is swept: the middle of the training range (the
            push bound: 0, no pushes; the noise scale: 1, as trained; the delay: rounded half up).
        values: the sweep grid, ascending.
        event: the event's name (``startup`` and ``push``), else None.
        param: the event's parameter (``startup`` and ``push``), else None.
    """

    name: str
    kind: str
    training_range: tuple[float, float]
    nominal: float
    values: list[float]
    event: str | None = None
    param: str | None = None

    def inside(self, value: float) -> bool:
        """True when ``value`` lies in the training range (a small tolerance for float grids)."""
        lo, hi = self.training_range
        tol = 1e-9 * max(1.0, abs(lo), abs(hi))
        return lo - tol <= value <= hi + tol


def sweep_grid(
    lo: float, hi: float, points: int, beyond: float, minimum: float | None = None, integer: bool = False
) -> list[float]:
    """``points`` values from ``lo - beyond x (hi - lo)`` to ``hi + beyond x (hi - lo)``, clipped below at
    ``minimum``, plus ``lo`` and ``hi`` themselves when the grid misses them; a fixed value (``lo == hi``) spans
    ``lo x [1 - beyond, 1 + beyond]`` (``[0, beyond]`` for 0). ``integer``: the integers in that span, widened to
    at least two steps beyond each end."""
    width = hi - lo
    if integer:
        extra = max(2, math.ceil(beyond * width))
        start = int(lo) - extra if minimum is None else max(int(minimum), int(lo) - extra)
        return [float(v) for v in range(start, int(hi) + extra + 1)]
    if width > 0:
        low, high = lo - beyond * width, hi + beyond * width
    elif lo != 0:
        low, high = sorted((lo * (1 - beyond), lo * (1 + beyond)))
    else:
        low, high = 0.0, beyond
    if minimum is not None:
        low, high = max(low, minimum), max(high, minimum)
    grid = list(np.linspace(low, high, max(points, 2))) if high > low else [low]
    for end in (lo, hi):
        if low <= end <= high and not any(math.isclose(end, v, rel_tol=1e-9, abs_tol=1e-12) for v in grid):
            grid.append(end)
    return sorted(float(v) for v in grid)


def is_range(value) -> bool:
    """True for ``[lo, hi]``: two numbers, lo <= hi (a range parameter of an event term)."""
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and value[0] <= value[1]
    )


def _minimum(param: str, params: dict) -> float | None:
    """The physical floor of a range parameter: 0 for frictions, scales and offsets' magnitudes aside, none for an
    added mass (the event keeps the mass positive)."""
    if param == "mass_range" and params.get("operation", "add") == "add":
        return None
    if param.endswith("offset_range"):
        return None
    return 0.0


def swept_parameters(spec: TaskSpec, points: int = 5, beyond: float = 0.5) -> list[SweptParameter]:
    """Every parameter of ``spec`` a robustness sweep varies, in spec order (see the module docstring)."""
    found: list[SweptParameter] = []
    for name, term in spec.events.items():
        if term.mode == "startup":
            for param, value in term.params.items():
                if is_range(value):
                    lo, hi = float(value[0]), float(value[1])
                    found.append(
                        SweptParameter(
                            name=f"events.{name}.{param}",
                            kind="startup",
                            training_range=(lo, hi),
                            nominal=(lo + hi) / 2,
                            values=sweep_grid(lo, hi, points, beyond, _minimum(param, term.params)),
                            event=name,
                            param=param,
                        )
                    )
        elif term.mode == "interval" and term.func_name == "push_root":
            bound = float(term.params.get("velocity", 0.0))
            found.append(
                SweptParameter(
                    name=f"events.{name}.velocity",
                    kind="push",
                    training_range=(0.0, bound),
                    nominal=0.0,
                    values=sweep_grid(0.0, bound, points, beyond, minimum=0.0),
                    event=name,
                    param="velocity",
                )
            )
    lo, hi = spec.actions.delay_steps
    found.append(
        SweptParameter(
            name=DELAY,
            kind="delay",
            training_range=(float(lo), float(hi)),
            nominal=float(math.floor((lo + hi) / 2 + 0.5)),
            values=sweep_grid(lo, hi, points, beyond, minimum=0, integer=True),
        )
    )
    if any(term.noise is not None for term in spec.observations["policy"]):
        found.append(
            SweptParameter(
                name=NOISE_SCALE,
                kind="noise",
                training_range=(1.0, 1.0),
                nominal=1.0,
                values=sweep_grid(0.0, 1.0, points, beyond, minimum=0.0),
            )
        )
    return found


def select_parameters(parameters: list[SweptParameter], patterns: list[str] | None) -> list[SweptParameter]:
    """The parameters whose name matches one of ``patterns`` (exact, a shell pattern such as ``events.*``, or the
    event's name alone); all of them for None or [].

    Raises:
        ParameterError: a pattern matches nothing; the message lists the names there are.
    """
    if not patterns:
        return parameters
    chosen = []
    for pattern in patterns:
        hits = [p for p in parameters if fnmatch.fnmatchcase(p.name, pattern) or p.event == pattern]
        if not hits:
            names = ", ".join(p.name for p in parameters)
            raise ParameterError(f"--params '{pattern}': no such swept parameter; this run has: {names}")
        chosen += [p for p in hits if p not in chosen]
    return [p for p in parameters if p in chosen]
