"""The robot as a Newton ``ModelBuilder``, set up as the spec asks before the envs are cloned: the base type
(floating or fixed, whatever the scene authors), the actuators' gains and limits, explicit motor models (Newton's
composable actuators), and the reset state; its finalize, and the MuJoCo solver the clones are built for.

A scene converted from MJCF (one that authors MuJoCo's USD schemas: ``MjcActuator`` prims or ``mjc:`` attributes)
is read with Newton's MuJoCo schema resolver as well, so that what only those attributes hold reaches the model:
passive joint springs (``mjc:stiffness``, ``mjc:springref``), joint reference positions (``mjc:ref``), friction
loss, contact and limit parameters. Other scenes load exactly as before (the resolver would change their joint
limits' solver parameters)."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import newton
from newton.actuators import ClampingDCMotor, ClampingMaxEffort, DrivePD
from pxr import Usd

from . import newton_compat
from .base import ExplicitActuator

DRIVE_ARRAYS = {
    "stiffness": "joint_target_ke",
    "damping": "joint_target_kd",
    "effort_limit": "joint_effort_limit",
    "velocity_limit": "joint_velocity_limit",
    "armature": "joint_armature",
    "friction": "joint_friction",
    "viscous_friction": "joint_damping",
}
"""Actuator key -> the ModelBuilder per-DOF list it overrides."""


def root_is_free(robot: newton.ModelBuilder) -> bool:
    """True when the robot's first joint (its root's) is a free 6-DOF joint."""
    return bool(robot.joint_count) and int(robot.joint_type[0]) == int(newton.JointType.FREE)


def load_robot(scene: Path, root: str, base: str | None, self_collisions: bool) -> newton.ModelBuilder:
    """The robot under prim ``root`` of ``scene``, with its base as ``base`` asks: "floating" releases a root the
    scene welds to the world (the weld joint is left out) and gives it a free joint; "fixed" fixes a free root.
    A scene with MuJoCo's schemas is also read through Newton's MuJoCo schema resolver (the module's docstring)."""
    stage = Usd.Stage.Open(str(scene), Usd.Stage.LoadAll)
    from_mjcf = has_mujoco_schemas(stage)
    options = {"root_path": root, "enable_self_collisions": self_collisions}
    if from_mjcf:
        options["schema_resolvers"] = [newton.usd.SchemaResolverNewton(), newton.usd.SchemaResolverMjc()]
    robot = _robot_builder(from_mjcf)
    robot.add_usd(stage, **options)
    if base == "fixed" and root_is_free(robot):
        robot = _robot_builder(from_mjcf)
        robot.add_usd(stage, floating=False, **options)
    elif base == "floating" and not root_is_free(robot):
        welds = [
            label
            for j, label in enumerate(robot.joint_label)
            if robot.joint_parent[j] == -1 and int(robot.joint_type[j]) == int(newton.JointType.FIXED)
        ]
        robot = _robot_builder(from_mjcf)
        robot.add_usd(stage, floating=True, ignore_paths=welds, **options)  # prim paths hold no regex syntax
    return robot


def has_mujoco_schemas(stage: Usd.Stage) -> bool:
    """Whether ``stage`` authors MuJoCo's USD schemas (MjcPhysics): a prim of an ``Mjc`` type (an actuator) or an
    attribute in the ``mjc:`` namespace, as the MJCF converter writes them."""
    return any(
        prim.GetTypeName().startswith("Mjc") or any(name.startswith("mjc:") for name in prim.GetPropertyNames())
        for prim in stage.Traverse()
    )


def _robot_builder(mujoco_attributes: bool) -> newton.ModelBuilder:
    """An empty builder for the robot; with ``mujoco_attributes``, one that holds the MuJoCo solver's custom
    attributes (the MuJoCo schema resolver fills them)."""
    robot = newton.ModelBuilder()
    if mujoco_attributes:
        newton.solvers.SolverMuJoCo.register_custom_attributes(robot)
    return robot


def inertia_corrections(scene: Path, root: str) -> list[str]:
    """What Newton's detailed mass and inertia validation (``validate_inertia_detailed``) corrects when it
    finalizes the robot under prim ``root``: one message per body it had to fix (negative or tiny eigenvalues,
    a broken triangle inequality, a non-positive mass)."""
    robot = newton.ModelBuilder()
    robot.add_usd(str(scene), root_path=root)
    robot.validate_inertia_detailed = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        robot.finalize(device="cpu")
    return [str(w.message) for w in caught if newton_compat.is_newton_warning(w)]


def override_drives(robot: newton.ModelBuilder, dofs: list[int], overrides: dict[str, list[float]]) -> None:
    """Write the actuators' values (each a list over ``dofs``, NaN to keep the scene's) into the per-DOF arrays."""
    for key, values in overrides.items():
        column = getattr(robot, DRIVE_ARRAYS[key])
        for dof, value in zip(dofs, values, strict=True):
            if not math.isnan(value):
                column[dof] = float(value)


def set_initial_state(
    robot: newton.ModelBuilder, coords: list[int], root_height: float | None, positions: list[float] | None
) -> None:
    """The reset state: a free root's height [m] and the joint positions at ``coords`` (NaN keeps the scene's)."""
    if root_height is not None and root_is_free(robot):
        robot.joint_q[robot.joint_q_start[0] + 2] = float(root_height)
    for coord, value in zip(coords, positions or [], strict=False):
        if not math.isnan(value):
            robot.joint_q[coord] = float(value)


def add_explicit_actuators(
    robot: newton.ModelBuilder, dofs: list[int], coords: list[int], models: list[ExplicitActuator | None]
) -> list[int]:
    """Give each DOF of ``dofs`` whose model is not None a Newton actuator (a PD drive, a delay of its targets, an
    effort clamp or a DC motor's torque-speed curve), evaluated every physics step into ``joint_f``, and take its
    implicit drive away (gains zeroed, so the solver adds nothing). Returns the DOFs so handed over."""
    explicit = []
    for dof, coord, model in zip(dofs, coords, models, strict=True):
        if model is None:
            continue
        if model.saturation_effort is not None:
            clamp = (
                ClampingDCMotor,
                {
                    "saturation_effort": model.saturation_effort,
                    "velocity_limit": model.velocity_limit,
                    "max_motor_effort": model.effort_limit,
                },
            )
        else:
            clamp = ClampingMaxEffort, {"max_effort": model.effort_limit}
        robot.add_actuator(
            DrivePD,
            index=dof,
            pos_index=coord,
            kp=model.stiffness,
            kd=model.damping,
            clamping=[clamp],
            delay_steps=model.delay_steps or None,
        )
        robot.joint_target_ke[dof] = 0.0
        robot.joint_target_kd[dof] = 0.0
        explicit.append(dof)
    return explicit


class SolverMuJoCoForClones(newton.solvers.SolverMuJoCo):
    """Newton's MuJoCo solver, converted without the contact exclusions of bodies that have no colliding shape, and
    with the other exclusions added to the MjSpec in one pass.

    Newton 1.8 excludes every such body (a rotor, a frame link) from every other body, though it has no geom to
    collide with, and adds each exclusion through the MjSpec's body list, rebuilt per call. On the CPU's merged world
    of N envs of B bodies that is O((N·B)²) exclusions of O(N·B) each: 466 s to build 16 Go2s (29 bodies) instead
    of 17 s. Leaving those out changes no contact; the exclusions between bodies with colliders stay.

    Those that stay (every pair of a robot's colliding links when self-collisions are off: 300 per ANYmal C) are
    still O(N) exclusions of O(N·B) each, 90 s for 16 ANYmals. Here they are held back from Newton's loop and added
    after it (:meth:`_init_pairs`, which Newton calls next on the same MjSpec), each body found once through one of
    its geoms: the same exclusions in the same order, so the compiled model is the same.
    """

    _held_back_excludes: list[tuple[int, int]] = []
    """Newton body pairs to exclude from contact, added to the MjSpec by :meth:`_init_pairs`."""

    _DEFERS_EXCLUDES = hasattr(newton.solvers.SolverMuJoCo, "_init_pairs")
    """Whether this Newton calls ``_init_pairs`` with the MjSpec after its exclusion loop (1.6.1 and 1.8.0 do)."""

    def _find_body_collision_filter_pairs(self, model, selected_bodies, colliding_shapes):
        pairs = newton.solvers.SolverMuJoCo._find_body_collision_filter_pairs(model, selected_bodies, colliding_shapes)
        colliding = {int(shape) for shape in colliding_shapes}
        with_shapes = {int(b) for b in selected_bodies if any(int(s) in colliding for s in model.body_shapes[int(b)])}
        kept = [(a, b) for a, b in pairs if int(a) in with_shapes and int(b) in with_shapes]
        if not self._DEFERS_EXCLUDES:
            return kept
        self._held_back_excludes = kept
        self._colliding_shapes = colliding
        return []

    def _preserved_masks_cover_collision_filters(self, model, selected_shapes, ctype, caffinity, body_filters):
        """Newton's check, on the exclusions held back (Newton's loop adds none)."""
        pairs = self._held_back_excludes or body_filters
        parent = newton.solvers.SolverMuJoCo
        return parent._preserved_masks_cover_collision_filters(model, selected_shapes, ctype, caffinity, pairs)

    def _init_pairs(self, model, spec, shape_mapping, template_world) -> None:
        body_names: dict[int, str] = {}  # Newton body -> its MjSpec body's name, for the bodies with colliders
        if self._held_back_excludes:
            shape_body = model.shape_body.numpy()
            for shape, geom in shape_mapping.items():
                body = int(shape_body[shape])
                if body not in body_names and int(shape) in self._colliding_shapes:
                    body_names[body] = spec.geom(geom).parent.name
        for a, b in self._held_back_excludes:
            spec.add_exclude(bodyname1=body_names[int(a)], bodyname2=body_names[int(b)])
        self._held_back_excludes = []
        super()._init_pairs(model, spec, shape_mapping, template_world)


def finalize_quietly(world: newton.ModelBuilder, device: str) -> newton.Model:
    """``world.finalize``, with Newton's note that it corrected some bodies' inertia (one line per env build, and
    advice the user cannot act on) shortened to where the bodies are named."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = world.finalize(device=device)
    for warning in caught:
        if "Inertia validation corrected" in str(warning.message):
            corrected = str(warning.message).split(".")[0]
            print(f"Newton: {corrected} (isaac-rl-workbench doctor SPEC names them)", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model
