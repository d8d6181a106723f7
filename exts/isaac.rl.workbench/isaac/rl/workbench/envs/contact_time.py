"""Air and contact time of every body, from the contact forces, as Isaac Lab's contact sensor tracks them.

A body is in contact when its net contact force exceeds ``CONTACT_FORCE`` (1 N), as for the legged reward terms.
Shapes: N = num_envs, B = bodies per env.
"""

from __future__ import annotations

import torch

from ..terms.rewards_legged import CONTACT_FORCE


class ContactTime:
    """Per-env, per-body timers updated once per env step (on the device, no sync).

    Args:
        num_envs: N.
        num_bodies: B.
        device: where the timers live.
    """

    def __init__(self, num_envs: int, num_bodies: int, device: torch.device):
        shape = (num_envs, num_bodies)
        self.air_time = torch.zeros(shape, device=device)
        """Seconds since the body left the ground (0 while in contact), (N, B)."""
        self.contact_time = torch.zeros(shape, device=device)
        """Seconds since the body touched down (0 while in the air), (N, B)."""
        self.last_air_time = torch.zeros(shape, device=device)
        """Length of the body's last flight [s], set at touch-down, (N, B)."""
        self.first_contact = torch.zeros(shape, device=device)
        """1.0 on the step the body touched down, else 0.0, (N, B)."""

    def update(self, contact_forces: torch.Tensor, dt: float) -> None:
        """Advance by one env step of ``dt`` [s] given the forces (N, B, 3) [N] at its end."""
        touching = torch.linalg.vector_norm(contact_forces, dim=2) > CONTACT_FORCE
        landed = touching & (self.air_time > 0)
        self.first_contact.copy_(landed.float())
        self.last_air_time.copy_(torch.where(landed, self.air_time + dt, self.last_air_time))
        self.air_time.copy_(torch.where(touching, 0.0, self.air_time + dt))
        self.contact_time.copy_(torch.where(touching, self.contact_time + dt, 0.0))

    def reset(self, env_mask: torch.Tensor) -> None:
        """Zero the timers of the envs where ``env_mask`` (N,) is set."""
        for timer in (self.air_time, self.contact_time, self.last_air_time, self.first_contact):
            timer.masked_fill_(env_mask.unsqueeze(1), 0.0)
