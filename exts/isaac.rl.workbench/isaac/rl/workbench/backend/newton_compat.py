"""The Newton releases the backend runs on, and the calls that differ between them.

Supported: Newton 1.6.1 (the release Isaac Sim 6.2 ships, with MuJoCo and MuJoCo-Warp 3.12) up to 1.8.x (the
standalone install's tested default, with MuJoCo and MuJoCo-Warp 3.17). Each difference is detected once, here,
from the API itself (a parameter or a name) where it shows there, and named with the release that introduced it:

- 1.8.0: ``ModelBuilder.replicate(separate_worlds=False)`` puts every copy in one world (the CPU's merged MuJoCo
  world); before, replicate always made a world per copy, and ``add_builder`` once per copy does the same job.
- 1.8.0: ``newton.NewtonWarning``, the category of Newton's own warnings (the mass and inertia corrections);
  before, they were plain ``UserWarning``\\ s raised from Newton's modules.
- 1.7.0: ``SolverMuJoCo.observables`` and ``step(observables=...)``, through which the solver exports contact
  forces for ``SensorContact``, on MuJoCo-Warp (CUDA) only; 1.8.0 exports them from MuJoCo (C) on the CPU too
  (``CONTACT_F`` in ``solver.supported_observables``). Before 1.7.0 contact forces came only from MuJoCo-Warp
  through ``update_contacts``, a path the backend does not take: contact sensing needs 1.7.0 on CUDA, 1.8.0 on
  the CPU.
- 1.7.0: ``notify_model_changed(JOINT_DOF_PROPERTIES)`` copies the drive gains (stiffness, damping) into the CPU's
  MuJoCo (C) model; before, only MuJoCo-Warp's copy changed, so the CPU kept the gains it was built with. A
  behaviour, not a name: detected by the release number, and copied here for the older releases.

The rest of the backend calls the functions below instead of the differing API.
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
from collections.abc import Sequence

import newton

from .base import BackendError

SUPPORTED_NEWTON = ">=1.6.1,<1.9"
"""The Newton releases the backend supports (a pip specifier)."""

CONTACT_SENSING_NEWTON = {"cpu": "1.8.0", "cuda": "1.7.0"}
"""The first Newton release whose MuJoCo solver exports contact forces through observables, per device kind."""

HAS_REPLICATE_SEPARATE_WORLDS = "separate_worlds" in inspect.signature(newton.ModelBuilder.replicate).parameters
"""``ModelBuilder.replicate(separate_worlds=...)``: Newton 1.8.0."""

HAS_SOLVER_OBSERVABLES = hasattr(newton.solvers.SolverMuJoCo, "observables")
"""``SolverMuJoCo.observables`` and ``SolverMuJoCo.step(observables=...)``: Newton 1.7.0."""

_NEWTON_RELEASE = tuple(int(part) for part in re.findall(r"\d+", newton.__version__)[:3])

SYNCS_CPU_DRIVE_GAINS = _NEWTON_RELEASE >= (1, 7, 0)
"""``notify_model_changed`` brings changed drive gains to the CPU's MuJoCo (C) model: Newton 1.7.0."""

_NEWTON_WARNING: type[Warning] | None = getattr(newton, "NewtonWarning", None)
"""``newton.NewtonWarning``: Newton 1.8.0."""

_NEWTON_DIR = os.path.dirname(newton.__file__)


class NewtonFeatureMissing(BackendError):
    """A feature the installed Newton lacks; the message names the feature and the release it needs."""


def replicate(
    world: newton.ModelBuilder,
    robot: newton.ModelBuilder,
    count: int,
    xforms: Sequence[newton.Transform],
    separate_worlds: bool,
) -> None:
    """Add ``count`` copies of ``robot`` to ``world``, copy i placed at ``xforms[i]``: each in its own world
    (``separate_worlds``, MuJoCo-Warp on CUDA) or all in the current world (the CPU's merged MuJoCo world)."""
    if HAS_REPLICATE_SEPARATE_WORLDS:
        world.replicate(robot, count, separate_worlds=separate_worlds, xforms=xforms)
    elif separate_worlds:
        world.replicate(robot, count, xforms=xforms)
    else:
        for xform in xforms:
            world.add_builder(robot, xform=xform)


def solver_step(solver, state, control, contacts, dt: float, observables) -> None:
    """One ``solver`` step of ``dt`` [s] from ``state`` into ``state``; ``observables`` (None, or what
    ``solver.observables`` made: Newton 1.7.0 and later) are the quantities the step also exports."""
    if observables is None:
        if HAS_SOLVER_OBSERVABLES:
            solver.step(state, state, control, contacts, dt, observables=None)
        else:
            solver.step(state, state, control, contacts, dt)
    else:
        solver.step(state, state, control, contacts, dt, observables=observables)


def notify_model_changed(solver, flags: int) -> None:
    """``solver.notify_model_changed(flags)`` (``newton.ModelFlags``), with the drive gains of joint-target
    actuators copied into the CPU's MuJoCo (C) model where this Newton leaves them in MuJoCo-Warp's alone."""
    solver.notify_model_changed(flags)
    if SYNCS_CPU_DRIVE_GAINS or not solver.use_mujoco_cpu or not flags & newton.ModelFlags.JOINT_DOF_PROPERTIES:
        return
    if solver.mjc_actuator_ctrl_source is None:
        return
    joint_target = solver.mjc_actuator_ctrl_source.numpy() == int(solver.CtrlSource.JOINT_TARGET)
    for name in ("actuator_gainprm", "actuator_biasprm"):
        getattr(solver.mj_model, name)[joint_target] = getattr(solver.mjw_model, name).numpy()[0, joint_target]


def require_contact_sensing(solver) -> None:
    """Raise :class:`NewtonFeatureMissing` (one line) unless ``solver`` (a ``SolverMuJoCo``) exports contact
    forces on its device."""
    if HAS_SOLVER_OBSERVABLES and solver.ObservableKind.CONTACT_F in solver.supported_observables:
        return
    kind, device = ("cpu", "the CPU") if solver.use_mujoco_cpu else ("cuda", "CUDA")
    raise NewtonFeatureMissing(
        f"contact sensing on {device} (contact forces for rewards, terminations and metrics) needs Newton >= "
        f"{CONTACT_SENSING_NEWTON[kind]}; this is Newton {newton.__version__}"
    )


def is_newton_warning(caught: warnings.WarningMessage) -> bool:
    """Whether ``caught`` (from ``warnings.catch_warnings(record=True)``) is one of Newton's own warnings, not a
    deprecation."""
    if _NEWTON_WARNING is not None:
        return issubclass(caught.category, _NEWTON_WARNING)
    return (
        issubclass(caught.category, UserWarning)
        and not issubclass(caught.category, DeprecationWarning)
        and os.path.abspath(caught.filename).startswith(_NEWTON_DIR + os.sep)
    )
