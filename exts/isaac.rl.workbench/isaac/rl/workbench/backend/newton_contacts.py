"""Contact forces per body from the MuJoCo solver, through Newton's ``SensorContact``.

The solver exports its contacts and their forces into a ``Contacts`` buffer when asked for the ``CONTACT_F``
observable; the sensor sums them per body. Shapes: N = num_envs, B = bodies per env.
"""

from __future__ import annotations

import newton
import warp as wp
from newton.sensors import SensorContact

from . import newton_compat


class ContactSensing:
    """The buffers one solver step fills and the sensor that reads them.

    Args:
        model: the finalized model (B bodies per env, env-major).
        solver: the MuJoCo solver that steps it.
        num_envs: N.
        bodies_per_env: B.
    """

    def __init__(self, model: newton.Model, solver: newton.solvers.SolverMuJoCo, num_envs: int, bodies_per_env: int):
        newton_compat.require_contact_sensing(solver)
        every_body = list(range(model.body_count))
        self.sensor = SensorContact(model, sensing_bodies=every_body, request_contact_attributes=False)
        self.contacts = newton.Contacts(solver.get_max_contact_count(), 0, device=model.device)
        """What the solver step writes its contacts into (pass to ``solver.step``)."""
        self.observables = solver.observables(kinds=self.sensor.solver_observable_kinds, contacts=self.contacts)
        """The contact forces the solver step exports (pass to ``solver.step``)."""
        self.forces = wp.to_torch(self.sensor.total_force).view(num_envs, bodies_per_env, 3)
        """Net contact force on every body [N], world axes, (N, B, 3): a view that :meth:`update` refreshes."""

    def update(self, state: newton.State) -> None:
        """Sum the last solver step's contact forces per body into :attr:`forces` (graph-capturable)."""
        self.sensor.update(state, self.contacts, observables=self.observables)
