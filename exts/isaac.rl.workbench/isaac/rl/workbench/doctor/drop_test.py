"""``doctor``'s drop test verdict for a floating base: held at its start pose (zero actions) for a while, does the
robot stand? The base's motion from its start pose decides: below the ground (it sank through it), tilted past
``TILT_LIMIT`` (on its side, face down: fallen), down to less than ``HEIGHT_FRACTION`` of its start height (its
legs folded: fallen), thrown up by more than ``THROWN_HEIGHT`` (it started inside the ground), drifted more than
``DRIFT_LIMIT`` (it slides or steps), still moving. Each verdict says what to paste into the spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .usd_checks import Finding

TILT_LIMIT = math.radians(45.0)
"""A base tilted further than this from its start orientation has fallen [rad]."""
HEIGHT_FRACTION = 0.5
"""A base that ends below this fraction of its start height has fallen (its legs folded under it)."""
THROWN_HEIGHT = 0.5
"""A base that ends this much above its start height was thrown up by the ground [m]."""
DRIFT_LIMIT = 0.25
"""A base that ends further than this from its start, horizontally, does not stand still [m]."""


@dataclass(frozen=True)
class BaseMotion:
    """Where a floating base went during the drop test."""

    start_height: float  # root height above the ground at the start [m]
    end_height: float  # root height above the ground at the end [m]
    tilt: float  # angle between the base's up axis at the start and at the end [rad]
    drift: float  # horizontal distance from the start [m]


def drop_verdict(motion: BaseMotion, seconds: float, stand_fix: str, height_fix: str) -> Finding:
    """The drop test's finding for a floating base that stayed finite.

    Args:
        seconds: how long it was held [s].
        stand_fix: what to paste when it fell (stiffer legs, or a termination that ends fallen episodes).
        height_fix: what to paste when it started inside or far above the ground (a root height).
    """
    where = f"base at {motion.end_height:.3f} m (started at {motion.start_height:.3f} m)"
    if motion.end_height < 0.0:
        return Finding(
            "problem",
            "drop test",
            f"the base ended {motion.end_height:.3f} m below the ground: its links have no colliders, or the feet "
            f"pass through the ground (doctor's collisions lines name the bodies without one)",
        )
    if motion.end_height > motion.start_height + THROWN_HEIGHT:
        return Finding(
            "problem",
            "drop test",
            f"thrown up by the ground within {seconds:g} s, {where}: it started inside the ground; {height_fix}",
        )
    if motion.tilt > TILT_LIMIT:
        return Finding(
            "problem",
            "drop test",
            f"fallen: the base tilted {math.degrees(motion.tilt):.0f} deg from its start pose within {seconds:g} s "
            f"({where}); {stand_fix}",
        )
    if motion.end_height < HEIGHT_FRACTION * motion.start_height:
        return Finding(
            "problem",
            "drop test",
            f"fallen: the base sank to {motion.end_height:.3f} m from {motion.start_height:.3f} m within "
            f"{seconds:g} s (its legs fold under its weight); {stand_fix}",
        )
    if motion.drift > DRIFT_LIMIT:
        return Finding(
            "warning",
            "drop test",
            f"the base drifted {motion.drift:.2f} m from its start within {seconds:g} s ({where}): its feet slip or "
            f"it steps; {stand_fix}",
        )
    return Finding(
        "ok",
        "drop test",
        f"stands for {seconds:g} s: {where}, tilted {math.degrees(motion.tilt):.0f} deg, drifted {motion.drift:.2f} m",
    )
