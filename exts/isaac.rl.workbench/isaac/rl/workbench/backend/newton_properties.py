"""Physics properties of a Newton model read and written per env, for domain randomisation.

Each property is a (N, K[, 3]) tensor in a fixed column order; :meth:`NewtonProperties.set_property` writes the
rows of the masked envs into Newton's model arrays and tells the solver what changed (Newton's
``notify_model_changed``), so MuJoCo's per-world copies follow. Writing launches host work in the solver: it is for
start-up (or rare) randomisation, not for every step, and never inside a captured CUDA graph.

Shapes: N = num_envs, B = bodies per env, S = collision shapes per env, D = selected 1-DOF joints.
"""

from __future__ import annotations

import newton
import torch
import warp as wp

from . import newton_compat

PROPERTIES = {
    "body_mass": "mass of each body [kg], (N, B); its inertia is scaled with it (same density)",
    "body_com": "centre of mass of each body in its frame [m], (N, B, 3)",
    "shape_friction": "friction coefficient of each collision shape, (N, S)",
    "dof_stiffness": "the solver's PD position gain of each joint [N·m/rad or N/m], (N, D)",
    "dof_damping": "the solver's PD velocity gain of each joint [N·m·s/rad or N·s/m], (N, D)",
    "dof_friction": "friction loss of each joint [N·m or N], (N, D)",
    "dof_armature": "armature (reflected rotor inertia) of each joint [kg·m² or kg], (N, D)",
    "dof_viscous_friction": "passive viscous damping of each joint [N·m·s/rad or N·s/m], (N, D)",
}
"""The properties :meth:`NewtonProperties.get_property` and :meth:`NewtonProperties.set_property` know."""

_MODEL_ARRAY = {
    "body_mass": "body_mass",
    "body_com": "body_com",
    "shape_friction": "shape_material_mu",
    "dof_stiffness": "joint_target_ke",
    "dof_damping": "joint_target_kd",
    "dof_friction": "joint_friction",
    "dof_armature": "joint_armature",
    "dof_viscous_friction": "joint_damping",
}
_FLAGS = {
    "body": newton.ModelFlags.BODY_INERTIAL_PROPERTIES,
    "shape": newton.ModelFlags.SHAPE_PROPERTIES,
    "dof": newton.ModelFlags.JOINT_DOF_PROPERTIES,
}


class NewtonProperties:
    """Per-env views of the model's property arrays; mixed into the Newton backend, which sets the attributes
    below. The robot's shapes come first in the model, env by env; a shared ground plane comes after them."""

    model: newton.Model
    solver: newton.solvers.SolverMuJoCo
    num_envs: int
    bodies_per_env: int
    dofs_per_env: int
    _dof_index: torch.Tensor
    device: torch.device

    def _property_view(self, name: str) -> torch.Tensor:
        """The whole model array behind ``name`` as a (N, per-env[, 3]) zero-copy view."""
        array = getattr(self.model, _MODEL_ARRAY[name])
        flat = wp.to_torch(array)
        if name.startswith("body"):
            per_env = self.bodies_per_env
        elif name.startswith("shape"):
            per_env = self.shapes_per_env
            flat = flat[: per_env * self.num_envs]
        else:
            per_env = self.dofs_per_env
        return flat.view(self.num_envs, per_env, *flat.shape[1:])

    @property
    def shapes_per_env(self) -> int:
        """S: collision and visual shapes of one env's robot (the shared ground plane is not one of them)."""
        robot_shapes = int((self.model.shape_body.numpy() >= 0).sum())
        return robot_shapes // self.num_envs

    def get_property(self, name: str) -> torch.Tensor:
        """A copy of property ``name`` (see :data:`PROPERTIES`) for every env."""
        view = self._property_view(name)
        if name.startswith("dof"):
            return view[:, self._dof_index.to(view.device)].clone()
        return view.clone()

    def set_property(self, name: str, env_mask: torch.Tensor, values: torch.Tensor) -> None:
        """Write ``values`` (the shape :meth:`get_property` returns) into the envs where ``env_mask`` (N,) is set,
        then tell the solver. Setting ``body_mass`` scales each body's inertia by the same ratio."""
        view = self._property_view(name)
        rows = env_mask.to(view.device)
        if name.startswith("dof"):
            columns = self._dof_index.to(view.device)
            full = view.clone()
            full[:, columns] = values.to(view.dtype)
            values = full
        fresh = torch.where(rows.view(-1, *[1] * (view.dim() - 1)), values.to(view.dtype), view)
        if name == "body_mass":
            self._scale_inertia(fresh / view.clamp(min=1e-12))
        view.copy_(fresh)
        if name == "body_mass":
            inverse = wp.to_torch(self.model.body_inv_mass).view_as(view)
            inverse.copy_(torch.where(view > 0, 1.0 / view.clamp(min=1e-12), torch.zeros_like(view)))
        newton_compat.notify_model_changed(self.solver, _FLAGS[name.split("_", 1)[0]])
        if name.startswith("shape") and self.solver.use_mujoco_cpu:
            # Newton updates MuJoCo-Warp's geoms but not MuJoCo (C)'s, which the CPU steps: copy them over
            self.solver.mj_model.geom_friction[:] = self.solver.mjw_model.geom_friction.numpy()[0]

    def _scale_inertia(self, ratio: torch.Tensor) -> None:
        inertia = wp.to_torch(self.model.body_inertia).view(self.num_envs, self.bodies_per_env, 3, 3)
        inertia.mul_(ratio.view(*ratio.shape, 1, 1))
        inverse = wp.to_torch(self.model.body_inv_inertia).view_as(inertia)
        inverse.copy_(torch.linalg.pinv(inertia))
