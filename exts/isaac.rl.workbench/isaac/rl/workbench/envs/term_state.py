"""What the terms read of a :class:`~.workbench_env.WorkbenchEnv`: joint, root and body state, commands, contacts.

Shapes: N = num_envs, D = joints of the articulation (1-DOF), B = rigid bodies per env. Positions are relative to
each env's origin ("_w": world axes), "_b" quantities are in the root body's frame.
"""

from __future__ import annotations

import torch

from ..backend.base import Backend
from ..utils.quaternions import quat_rotate, quat_rotate_inverse, yaw_quat
from .camera_images import CameraImages
from .commands import Commands
from .contact_time import ContactTime
from .derived_state import DerivedState


class TermState:
    """The read-only state the env offers its terms. Quantities derived from the physics state are computed at most
    once per physics state (:class:`~.derived_state.DerivedState`); the env clears them wherever the state changes."""

    backend: Backend
    commands: Commands
    num_envs: int
    device: torch.device
    _contact_time: ContactTime | None
    _derived: DerivedState
    _cameras: CameraImages

    @property
    def dof_pos(self) -> torch.Tensor:
        """Joint positions [rad or m], shape (N, D), columns in ``spec.joint_names`` order."""
        return self.backend.dof_positions

    @property
    def dof_vel(self) -> torch.Tensor:
        """Joint velocities [rad/s or m/s], shape (N, D)."""
        return self.backend.dof_velocities

    @property
    def default_dof_pos(self) -> torch.Tensor:
        """Joint positions of the scene as authored, shape (N, D)."""
        return self.backend.default_dof_positions

    @property
    def dof_pos_limits(self) -> torch.Tensor:
        """Lower and upper position limit of each joint [rad or m], shape (D, 2), the same in every env (columns as
        ``dof_pos``); -inf / inf where a joint has no limit."""
        return self.backend.dof_pos_limits

    @property
    def root_pos_w(self) -> torch.Tensor:
        """Root body position relative to its env's origin [m], shape (N, 3)."""
        return self.backend.root_pose[:, :3] - self.backend.env_origins

    @property
    def root_quat_w(self) -> torch.Tensor:
        """Root body orientation (x, y, z, w), shape (N, 4)."""
        return self.backend.root_pose[:, 3:7]

    @property
    def body_paths(self) -> list[str]:
        """USD prim paths of the B rigid bodies of one env, in the row order of :attr:`body_poses_env`."""
        return self.backend.body_paths

    @property
    def env_origins(self) -> torch.Tensor:
        """Each env's origin in the world [m], shape (N, 3): where its robot starts (on a terrain, its tile's start
        point, moved by the terrain curriculum). A view of the physics' own tensor: copy it to keep it."""
        return self.backend.env_origins

    @property
    def body_poses_env(self) -> torch.Tensor:
        """Pose of every body relative to its env's origin, (x, y, z [m], qx, qy, qz, qw), shape (N, B, 7)."""
        poses = self.backend.body_poses.clone()
        poses[..., :3] -= self.backend.env_origins.unsqueeze(1)
        return poses

    @property
    def root_lin_vel_w(self) -> torch.Tensor:
        """Root body linear velocity in the world frame [m/s], shape (N, 3)."""
        return self.backend.root_velocity[:, :3]

    @property
    def root_lin_vel_b(self) -> torch.Tensor:
        """Root body linear velocity in the root frame [m/s], shape (N, 3)."""
        return self._derived.root_frame[0]

    @property
    def root_ang_vel_b(self) -> torch.Tensor:
        """Root body angular velocity in the root frame [rad/s], shape (N, 3)."""
        return self._derived.root_frame[1]

    @property
    def projected_gravity_b(self) -> torch.Tensor:
        """Gravity direction in the root frame, shape (N, 3)."""
        return self._derived.root_frame[2]

    @property
    def root_velocity_w(self) -> torch.Tensor:
        """Root body linear [m/s] then angular [rad/s] velocity in world axes, shape (N, 6)."""
        return self.backend.root_velocity

    @property
    def root_lin_vel_yaw(self) -> torch.Tensor:
        """Root body linear velocity in its heading frame (world axes turned by the root's yaw alone) [m/s],
        shape (N, 3): what a planar velocity command is compared with."""
        return self._derived.root_lin_vel_yaw

    @property
    def contact_time(self) -> ContactTime:
        """Air and contact time of every body (:class:`.contact_time.ContactTime`); tracked from its first read on
        (the env reads it while checking its terms, before the first step)."""
        if self._contact_time is None:
            self._contact_time = ContactTime(self.num_envs, len(self.backend.body_paths), self.device)
            self.backend.contact_forces  # noqa: B018 - start measuring now
        return self._contact_time

    @property
    def body_names(self) -> list[str]:
        """Names of the B rigid bodies of one env (the last component of each prim path), in row order."""
        return [path.rsplit("/", 1)[-1] for path in self.backend.body_paths]

    @property
    def body_pos_w(self) -> torch.Tensor:
        """Position of every body relative to its env's origin [m], shape (N, B, 3)."""
        return self._derived.body_pos_w

    @property
    def body_lin_vel_w(self) -> torch.Tensor:
        """Linear velocity of every body in world axes [m/s], shape (N, B, 3)."""
        return self.backend.body_velocities[..., :3]

    @property
    def body_quat_w(self) -> torch.Tensor:
        """Orientation of every body (x, y, z, w), shape (N, B, 4)."""
        return self.backend.body_poses[..., 3:7]

    @property
    def contact_forces_w(self) -> torch.Tensor:
        """Net contact force on every body in world axes [N], shape (N, B, 3), at the last physics step."""
        return self.backend.contact_forces

    def command(self, name: str) -> torch.Tensor:
        """The command ``name`` (N, 3): a position in the env frame [m] or (vx [m/s], vy [m/s], yaw rate [rad/s]);
        see :mod:`.commands`."""
        return self.commands.values[name]

    def command_in_base(self, name: str) -> torch.Tensor:
        """The command ``name`` as the robot sees it (N, 3): a position command relative to the root body, in its
        frame [m]; a velocity command as it is."""
        value = self.commands.values[name]
        if self.commands.specs[name].type != "position":
            return value
        return quat_rotate_inverse(self.root_quat_w, value - self.root_pos_w)

    def camera(self, name: str) -> dict[str, torch.Tensor]:
        """The images of camera ``[sensors.<name>]`` at the current state, by data type: ``depth`` (N, H, W) float32,
        the distance along the view axis [m] in [near, far]; ``rgb`` (N, H, W, 3) uint8; ``segmentation`` (N, H, W)
        int32, the index within its env of the shape each pixel sees (-1 nothing, -2 the ground). Rendered at the
        first read after the state changed, once for every term of a step; the backend's buffers (copy to keep)."""
        return self._cameras.read(name)

    def cast_rays(self, origins: torch.Tensor, directions: torch.Tensor, max_distance: float) -> torch.Tensor:
        """Distance [m] along each ray to the first static ground it meets (the terrain or the ground plane, never a
        robot), ``max_distance`` [m] where none is that near, shape (N, R). ``origins``: relative to each env's
        origin [m], (N, R, 3); ``directions``: world axes, (N, R, 3) or broadcastable to it, any length. One kernel
        on the physics device, no host sync."""
        return self.backend.cast_rays(origins + self.backend.env_origins.unsqueeze(1), directions, max_distance)

    def recording_markers(self, num_envs: int) -> dict[str, torch.Tensor]:
        """Where to draw each command in a recording of the first ``num_envs`` envs, ``"<type>:<name>"`` -> (n, 3)
        [m] from the env origin: a position command's target; for a velocity command, where it would take the base
        in half a second (drawn 15 cm above it)."""
        markers = {}
        for name, spec in self.commands.specs.items():
            value = self.commands.values[name][:num_envs]
            if spec.type == "position":
                markers[f"position:{name}"] = value
            else:
                planar = torch.cat([value[:, :2], torch.zeros_like(value[:, :1])], dim=1)
                ahead = quat_rotate(yaw_quat(self.root_quat_w[:num_envs]), planar) * 0.5
                markers[f"velocity:{name}"] = (
                    self.root_pos_w[:num_envs] + ahead + torch.tensor([0.0, 0.0, 0.15], device=value.device)
                )
        return markers
