"""Isaac Sim's PhysX behind the physics backend contract (:class:`~...backend.base.Backend`), through an
``omni.physics.tensors`` ArticulationView of the envs cloned on the stage.

Shapes: N = num_envs, D = the spec's joints, F = every DOF of the articulation, B = bodies. The view's transforms
are (x, y, z, qx, qy, qz, qw) and its velocities linear then angular, in world axes: the contract's layout. Not run:
no Isaac Sim here; the view's method names are those of Isaac Sim 5.1 / 6.x (Isaac Lab calls the same ones).

Not supported (refused when the spec asks for them): explicit actuator models, changing the asset's base type.
``clear_solver_state`` has nothing to clear (PhysX exposes no solver warm start).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch

from ...backend.base import Backend, BackendError
from ...envs.backend_request import explicit_actuators
from ...scene.inspect import inspect_scene
from ...specs.robot_tables import initial_joint_positions, joint_overrides
from ...specs.schema import TaskSpec
from . import isaacsim_adapter as isaacsim

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
    """``spec.env.num_envs`` clones of the spec's articulation on the stage, stepped by PhysX."""

    supports_cuda_graph = False

    def __init__(self, spec: TaskSpec, device: str):
        if any(a is not None for a in explicit_actuators(spec.actuators, spec.joint_names)):
            raise BackendError("PhysX in Isaac Sim: explicit actuator models (pd, dc_motor) are Newton-only")
        self.device, self.num_envs = torch.device(device), spec.env.num_envs
        floating = spec.robot.base == "floating" or (
            spec.robot.base is None and not inspect_scene(spec.scene).find(spec.articulation).fixed_base
        )
        self.grid = isaacsim.clone_envs(spec.scene, spec.robot_prim, self.num_envs, spec.env.spacing, floating)
        self.sim = isaacsim.PhysxSimulation(device, spec.env.physics_dt)
        self.substeps = spec.env.decimation
        self.view = self.sim.articulations(self.grid.stage_path(0, spec.articulation).replace("env_0", "env_*"))
        meta = self.view.shared_metatype
        self.floating_base = not meta.fixed_base
        if spec.robot.base is not None and self.floating_base != (spec.robot.base == "floating"):
            raise BackendError(f"PhysX in Isaac Sim: [robot] base = '{spec.robot.base}' differs from the asset's")
        missing = [j for j in spec.joint_names if j not in meta.dof_names]
        if missing:
            raise BackendError(f"PhysX found no DOF named {', '.join(missing)} (it has {', '.join(meta.dof_names)})")
        self.joint_names = list(spec.joint_names)
        self._dofs = torch.tensor([meta.dof_names.index(j) for j in self.joint_names], device=self.device)
        prefix = self.grid.robot_paths[0]
        self.body_paths = [spec.robot_prim.rstrip("/") + p[len(prefix) :] for p in self.view.link_paths[0]]
        self.env_origins = torch.as_tensor(self.grid.origins, dtype=torch.float32, device=self.device)
        self._all = torch.arange(self.num_envs, dtype=torch.int32, device=self.device)
        self._set_drives(joint_overrides(spec.actuators, spec.joint_names, solver_only=True))
        self.default_dof_positions = self.dof_positions.clone()
        for col, value in enumerate(initial_joint_positions(spec.robot, spec.joint_names)):
            if not math.isnan(value):
                self.default_dof_positions[:, col] = value
        self._default_root = self.root_pose.clone()
        self._default_root[:, :3] -= self.env_origins
        if spec.robot.root_height is not None:
            self._default_root[:, 2] = spec.robot.root_height
        self._position_control = spec.actions.type == "joint_position"
        self.reset(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))

    def _set_drives(self, overrides: dict[str, list[float]]) -> None:
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


def physx_backend_factory() -> Callable[[TaskSpec, str], PhysxBackend]:
    """The env's backend factory inside Isaac Sim (``envs.workbench_env.use_backend_factory``): each backend it
    makes first closes the one before (the stage holds one set of clones and one simulation view at a time)."""
    made: list[PhysxBackend] = []

    def make(spec: TaskSpec, device: str) -> PhysxBackend:
        while made:
            made.pop().close()
        made.append(PhysxBackend(spec, device))
        return made[-1]

    return make
