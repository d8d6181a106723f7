"""What the physics backend is asked to build for a task spec: the spec's motor models as the backend takes them."""

from __future__ import annotations

import math

from ..backend.base import ExplicitActuator
from ..specs.schema import ActuatorSpec


def explicit_actuators(actuators: dict[str, ActuatorSpec], joint_names: list[str]) -> list[ExplicitActuator | None]:
    """Each joint's explicit motor model (``model = "pd"`` or ``"dc_motor"``) in ``joint_names`` order, None where
    the solver's implicit drive acts."""
    out: list[ExplicitActuator | None] = [None] * len(joint_names)
    for group in actuators.values():
        if group.model == "implicit":
            continue
        model = ExplicitActuator(
            stiffness=float(group.stiffness),
            damping=float(group.damping),
            effort_limit=math.inf if group.effort_limit is None else group.effort_limit,
            saturation_effort=group.saturation_effort,
            velocity_limit=group.velocity_limit if group.model == "dc_motor" else math.inf,
            delay_steps=group.delay_steps,
        )
        for joint in group.joints:
            out[joint_names.index(joint)] = model
    return out
