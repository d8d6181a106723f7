"""Body poses of a few envs at every env step, kept on the device and read once per iteration, for a live 3D view.

Each step costs a small device-to-device copy and subtraction (no host synchronisation); :meth:`PoseWatch.pop`
moves the frames gathered since the last call to the host in one transfer, which a trainer can do once per iteration.
"""

from __future__ import annotations

import torch


class PoseWatch:
    """A ring of the last ``capacity`` steps' body poses of envs ``0 .. num_envs - 1``.

    Args:
        body_poses: the backend's live body poses (world frame), shape (N, B, 7): x, y, z [m], qx, qy, qz, qw. Read
            at every :meth:`record`; it must stay the same tensor (a zero-copy view of the simulator's state).
        env_origins: (N, 3) [m] each env's origin, subtracted at every :meth:`record` so the poses are env-relative
            (a terrain curriculum moves origins); it must stay the same tensor.
        num_envs: how many envs (the first ones) to watch, K.
        capacity: frames kept between two :meth:`pop` calls (older ones are overwritten), T.
    """

    def __init__(self, body_poses: torch.Tensor, env_origins: torch.Tensor, num_envs: int, capacity: int):
        if num_envs < 1 or capacity < 1:
            raise ValueError(f"need num_envs >= 1 and capacity >= 1, got {num_envs} and {capacity}")
        self.num_envs = min(int(num_envs), body_poses.shape[0])
        self.capacity = int(capacity)
        self._poses = body_poses
        self._origins = env_origins[: self.num_envs].unsqueeze(1)  # (K, 1, 3), a view
        self._frames = torch.zeros((self.capacity, self.num_envs, *body_poses.shape[1:]), device=body_poses.device)
        self._frame_origins = torch.zeros((self.capacity, self.num_envs, 3), device=body_poses.device)
        self._count = 0  # frames recorded since the last pop (may exceed capacity)

    def record(self) -> None:
        """Copy this step's poses of the watched envs into the ring (on the device)."""
        frame = self._frames[self._count % self.capacity]
        frame.copy_(self._poses[: self.num_envs])
        frame[..., :3] -= self._origins
        self._frame_origins[self._count % self.capacity].copy_(self._origins[:, 0])
        self._count += 1

    def pop(self) -> torch.Tensor:
        """The frames recorded since the last call, oldest first, as a CPU tensor (T', K, B, 7) of env-relative poses
        (T' <= capacity); one device-to-host transfer."""
        return self.pop_with_origins()[0]

    def pop_with_origins(self) -> tuple[torch.Tensor, torch.Tensor]:
        """As :meth:`pop`, with each frame's env origins [m]: CPU tensors (T', K, B, 7) and (T', K, 3); pose plus
        origin is the body's world position (on a terrain, where it stands on it)."""
        count, self._count = self._count, 0
        if count == 0:
            return torch.zeros((0, *self._frames.shape[1:])), torch.zeros((0, self.num_envs, 3))
        kept = min(count, self.capacity)
        start = count % self.capacity if count > self.capacity else 0
        order = [(start + i) % self.capacity for i in range(kept)]
        return self._frames[order].cpu(), self._frame_origins[order].cpu()
