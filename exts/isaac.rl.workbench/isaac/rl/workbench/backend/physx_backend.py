"""Isaac Sim's PhysX behind the physics backend contract (:class:`~.base.Backend`), through an
``omni.physics.tensors`` ArticulationView of the envs cloned on the stage (``physx_stage.py``). The engine
``"physx"`` of ``registry.py``: importable only inside Isaac Sim.

Shapes: N = num_envs, D = the request's joints, F = every DOF of the articulation, B = bodies. The view's transforms
are (x, y, z, qx, qy, qz, qw) and its velocities linear then angular, in world axes: the contract's layout. The
view's method names and signatures are those of ``omni.physics.tensors`` in Isaac Sim 6.2 (checked against the
sources its wheels ship). Not run on PhysX here: the PhysX extensions cannot be enabled without the Kit SDK
extensions.

Not supported (refused when the request asks for them): explicit actuator models, viscous joint friction,
changing the asset's base type, cameras. ``clear_solver_state`` has nothing to clear (PhysX exposes no solver warm
start). Nothing is measured before the build (``bytes_per_env``) and no inertia is validated (``inertia_corrections``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping

import torch

from . import physx_stage
from .base import Backend, BackendError, BackendRequest

# the view's per-DOF property setters, by the name of the spec's actuator key
DRIVE_SETTERS = {
    "stiffness": "set_dof_stiffnesses",
    "damping": "set_dof_dampings",
    "effort_limit": "set_dof_max_forces",
    "velocity_limit": "set_dof_max_velocities",
    "armature": "set_dof_armatures",
    "friction": "set_dof_friction_coefficients",
}


class PhysxBackend(Backend):
    """``request.num_envs`` clones of the request's articulation on the stage, stepped by PhysX; building one closes
    the simulation open on the stage before (the stage holds one set of clones and one simulation at a time).
    ``phase_done``: called with "scene" once the envs are cloned, "solver" once PhysX runs them."""

    supports_cuda_graph = False

    def __init__(self, request: BackendRequest, phase_done: Callable[[str], None] = lambda phase: None):
        if any(a is not None for a in request.explicit_actuators):
            raise BackendError("PhysX in Isaac Sim: explicit actuator models (pd, dc_motor) are Newton-only")
        if request.cameras:
            names = ", ".join(f"[sensors.{camera.name}]" for camera in request.cameras)
            raise BackendError(f'PhysX in Isaac Sim: cameras ({names}) render on env.physics = "newton" only')
        unsupported = [key for key in request.joint_overrides if key not in DRIVE_SETTERS]
        if unsupported:
            raise BackendError(f"PhysX in Isaac Sim: [actuators] {', '.join(unsupported)} is Newton-only")
        self.device, self.num_envs = torch.device(request.device), request.num_envs
        physx_stage.close_simulation()
        ground = request.ground  # None: the base decides, the request's or else the scene's
        if ground is None and request.base is not None:
            ground = request.base == "floating"
        load_root, spacing = request.load_root, request.spacing
        self.grid = physx_stage.clone_envs(request.scene, load_root, self.num_envs, spacing, ground)
        phase_done("scene")
        self.sim = physx_stage.PhysxSimulation(request.device, request.physics_dt)
        phase_done("solver")
        self.substeps = request.substeps
        self.view = self.sim.articulations(self.grid.stage_path(0, request.articulation).replace("env_0", "env_*"))
        meta = self.view.shared_metatype
        self.floating_base = not meta.fixed_base
        if request.base is not None and self.floating_base != (request.base == "floating"):
            raise BackendError(f"PhysX in Isaac Sim: [robot] base = '{request.base}' differs from the asset's")
        missing = [j for j in request.joint_names if j not in meta.dof_names]
        if missing:
            raise BackendError(f"PhysX found no DOF named {', '.join(missing)} (it has {', '.join(meta.dof_names)})")
        self.joint_names = list(request.joint_names)
        self._dofs = torch.tensor([meta.dof_names.index(j) for j in self.joint_names], device=self.device)
        prefix = self.grid.robot_paths[0]
        self.body_paths = [load_root.rstrip("/") + p[len(prefix) :] for p in self.view.link_paths[0]]
        self.env_origins = torch.as_tensor(self.grid.origins, dtype=torch.float32, device=self.device)
        self._all = torch.arange(self.num_envs, dtype=torch.int32, device=self.device)
        self._set_drives(request.joint_overrides)
        self.default_dof_positions = self.dof_positions.clone()
        for col, value in enumerate(request.initial_joint_positions):
            if not math.isnan(value):
                self.default_dof_positions[:, col] = value
        self._default_root = self.root_pose.clone()
        self._default_root[:, :3] -= self.env_origins
        if request.root_height is not None:
            self._default_root[:, 2] = request.root_height
        self._position_control = request.position_control
        self.reset(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))

    def _set_drives(self, overrides: Mapping[str, tuple[float, ...]]) -> None:
        """Write the spec's drive values (NaN: keep the asset's) through the view's CPU setters."""
        cpu_all = self._all.cpu()
        for key, values in overrides.items():
            getter = getattr(self.view, DRIVE_SETTERS[key].replace("set_", "get_"))
            data = getter().clone()
            for col, value in zip(self._dofs.tolist(), values, strict=True):
                if not math.isnan(value):
                    data[:, col] = value
            getattr(self.view, DRIVE_SETTERS[key])(data, cpu_all)

    # -- state --------------------------------------------------------------------------------------------------
    @property
    def dof_positions(self) -> torch.Tensor:
        return self.view.get_dof_positions()[:, self._dofs]

    @property
    def dof_velocities(self) -> torch.Tensor:
        return self.view.get_dof_velocities()[:, self._dofs]

    @property
    def root_pose(self) -> torch.Tensor:
        return self.view.get_root_transforms()

    @property
    def root_velocity(self) -> torch.Tensor:
        return self.view.get_root_velocities()

    @property
    def body_poses(self) -> torch.Tensor:
        return self.view.get_link_transforms()

    @property
    def body_velocities(self) -> torch.Tensor:
        return self.view.get_link_velocities()

    @property
    def dof_pos_limits(self) -> torch.Tensor:
        """See :attr:`.base.Backend.dof_pos_limits`: the view's DOF limits of the first env; a limit beyond 1e30 (how
        PhysX reports a joint without one) as -inf / inf."""
        limits = self.view.get_dof_limits()[0].to(self.device)[self._dofs]
        return torch.where(limits.abs() >= 1e30, limits.sign() * math.inf, limits)

    @property
    def contact_forces(self) -> torch.Tensor:
        raise BackendError("PhysX in Isaac Sim: contact forces are not available to terms yet (Newton has them)")

    # -- physics properties (the view's setters take CPU tensors) -------------------------------------------------
    def get_property(self, name: str) -> torch.Tensor:
        getter, columns = self._property(name)
        values = getattr(self.view, getter)()
        return (values[:, self._dofs.cpu()] if columns else values).to(self.device).clone()

    def set_property(self, name: str, env_mask: torch.Tensor, values: torch.Tensor) -> None:
        getter, columns = self._property(name)
        full = getattr(self.view, getter)().clone()
        mask = env_mask.cpu()
        if columns:
            full[mask.nonzero().flatten().unsqueeze(1), self._dofs.cpu()] = values.cpu()[mask]
        else:
            full[mask] = values.cpu()[mask]
        getattr(self.view, getter.replace("get_", "set_"))(full, mask.nonzero().flatten().to(torch.int32))

    @staticmethod
    def _property(name: str) -> tuple[str, bool]:
        """The view's getter for property ``name`` and whether it has one column per DOF (the view's order)."""
        getters = {f"dof_{k}": (DRIVE_SETTERS[k].replace("set_", "get_"), True) for k in ("stiffness", "damping")}
        getters |= {
            "dof_friction": ("get_dof_friction_coefficients", True),
            "dof_armature": ("get_dof_armatures", True),
        }
        getters["body_mass"] = ("get_masses", False)
        if name not in getters:
            raise BackendError(f"PhysX in Isaac Sim: property '{name}' is not available (Newton has it)")
        return getters[name]

    # -- control and stepping -----------------------------------------------------------------------------------
    def _write_columns(self, read, write, values: torch.Tensor, env_ids: torch.Tensor) -> None:
        full = read().clone()
        full[:, self._dofs] = values
        write(full, env_ids)

    def set_dof_efforts(self, efforts: torch.Tensor) -> None:
        full = torch.zeros((self.num_envs, self.view.max_dofs), device=self.device)
        full[:, self._dofs] = efforts
        self.view.set_dof_actuation_forces(full, self._all)

    def set_dof_position_targets(self, targets: torch.Tensor) -> None:
        self._write_columns(self.view.get_dof_position_targets, self.view.set_dof_position_targets, targets, self._all)

    def step(self) -> None:
        for _ in range(self.substeps):
            self.sim.step()

    def graph_capture(self):
        return contextlib.nullcontext()

    # -- writes -------------------------------------------------------------------------------------------------
    def reset(self, env_mask, dof_positions=None, dof_velocities=None, root_pose=None, root_velocity=None) -> None:
        ids = env_mask.nonzero().flatten().to(torch.int32)
        if len(ids) == 0:
            return
        pos = self.default_dof_positions if dof_positions is None else dof_positions
        vel = torch.zeros_like(pos) if dof_velocities is None else dof_velocities
        self.write_dof_state(env_mask, pos, vel)
        if self._position_control:
            self._write_columns(self.view.get_dof_position_targets, self.view.set_dof_position_targets, pos, ids)
        pose = (self._default_root if root_pose is None else root_pose).clone()
        pose[:, :3] += self.env_origins
        self.view.set_root_transforms(pose, ids)
        velocity = torch.zeros((self.num_envs, 6), device=self.device) if root_velocity is None else root_velocity
        self.view.set_root_velocities(velocity, ids)

    def write_dof_state(self, env_mask, dof_positions, dof_velocities) -> None:
        ids = env_mask.nonzero().flatten().to(torch.int32)
        self._write_columns(self.view.get_dof_positions, self.view.set_dof_positions, dof_positions, ids)
        self._write_columns(self.view.get_dof_velocities, self.view.set_dof_velocities, dof_velocities, ids)

    def add_root_velocity(self, env_mask, delta) -> None:
        if self.floating_base:
            ids = env_mask.nonzero().flatten().to(torch.int32)
            self.view.set_root_velocities(self.root_velocity + delta, ids)

    def clear_solver_state(self, env_mask) -> None:
        pass

    def shared_world_failure(self) -> str | None:
        return None

    def cast_rays(self, origins: torch.Tensor, directions: torch.Tensor, max_distance: float) -> torch.Tensor:
        raise BackendError('ray casts (height_scan) need env.physics = "newton"')

    def render_cameras(self, env_masks: Mapping[str, torch.Tensor] | None = None) -> dict[str, dict[str, torch.Tensor]]:
        if env_masks:
            raise BackendError('cameras render on env.physics = "newton" only')
        return {}  # the build refuses a request with cameras

    # -- checks -------------------------------------------------------------------------------------------------
    def joint_inertias(self) -> torch.Tensor:
        """1 / diag(M⁻¹) of the generalized mass matrix (root DOFs first on a floating base)."""
        mass = self.view.get_generalized_mass_matrices()
        cols = self._dofs + (6 if self.floating_base else 0)
        return 1.0 / torch.linalg.inv(mass).diagonal(dim1=-2, dim2=-1)[:, cols]

    def find_unstable(self, max_joint_speed: float, max_root_speed: float, max_root_distance: float) -> torch.Tensor:
        q, qd, root, velocity = self.dof_positions, self.dof_velocities, self.root_pose, self.root_velocity
        bad = ~(torch.isfinite(q).all(1) & torch.isfinite(qd).all(1)) | (qd.abs() > max_joint_speed).any(1)
        if self.floating_base:
            bad |= velocity[:, :3].norm(dim=1) > max_root_speed
            bad |= velocity[:, 3:].norm(dim=1) > max_joint_speed
            bad |= (root[:, :3] - self.env_origins).norm(dim=1) > max_root_distance
        return bad

    def close(self) -> None:
        """Drop the views and PhysX's objects (before the next backend clones the stage again)."""
        self.sim.close()


# -- the engine, as the registry finds it (base.PhysicsEngine) --------------------------------------------------------
def build(request: BackendRequest, phase_done: Callable[[str], None] = lambda phase: None) -> PhysxBackend:
    """PhysX's backend for ``request``, on the open stage."""
    return PhysxBackend(request, phase_done)


bytes_per_env = None
"""PhysX's memory is not measured before the build."""
inertia_corrections = None
"""PhysX offers no inertia validation to report."""
