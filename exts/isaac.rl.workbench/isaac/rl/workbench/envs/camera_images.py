"""The env's camera images (``[sensors.<name>]``): each camera rendered by the backend at its first read after the
physics state changed, then kept, so the terms of one step that read it share one render.

A camera with ``update_period_s`` = 0 renders every env at that read. A camera with a period renders an env only
where its period has elapsed (counted in env steps, rounded up) or its episode restarted since its last render; the
other envs keep their last images (Newton leaves their views untouched). Every decision is a device tensor (no host
sync), so the renders can be recorded inside the env step's CUDA graph, at the reads the capture made; only on the
CPU is a read where no env is due skipped.

The images a step rendered after its last change of the state still show the state once the step is over, replayed
or not: :meth:`CameraImages.keep_step_end_images` keeps them, so a read between steps (a panel showing them) renders
nothing.

Shapes: N = num_envs, H x W = a camera's image.
"""

from __future__ import annotations

import math

import torch

from ..backend.base import Backend
from ..specs.schema import CameraSpec
from .derived_state import DerivedState


class CameraImages:
    """The images of every camera of a spec, over one env's backend.

    Args:
        backend: the physics that renders them (:meth:`~..backend.base.Backend.render_cameras`).
        cameras: the spec's ``sensors``: name -> camera.
        state: the env's derived state, whose ``version`` changes whenever the physics state may have.
        step_dt: one env step [s].
        num_envs: N.
        device: where the counters live.
    """

    def __init__(
        self,
        backend: Backend,
        cameras: dict[str, CameraSpec],
        state: DerivedState,
        step_dt: float,
        num_envs: int,
        device: torch.device,
    ):
        self._backend, self._cameras, self._state = backend, cameras, state
        self._period_steps = {
            name: max(1, math.ceil(camera.update_period_s / step_dt - 1e-9)) for name, camera in cameras.items()
        }
        periodic = [name for name, steps in self._period_steps.items() if steps > 1]
        self._age = {name: torch.zeros(num_envs, dtype=torch.long, device=device) for name in periodic}
        """Env steps since each env's last render, per camera with a period."""
        self._restarted = {name: torch.ones(num_envs, dtype=torch.bool, device=device) for name in periodic}
        """Envs whose episode restarted since their last render, per camera with a period."""
        self._everywhere = torch.ones(num_envs, dtype=torch.bool, device=device)
        self._rendered_at: dict[str, int] = {}  # camera -> the state version its images show
        self._fresh_at_step_end: list[str] = []  # the cameras the step rendered after its last state change
        self._images: dict[str, dict[str, torch.Tensor]] = {}

    def read(self, name: str) -> dict[str, torch.Tensor]:
        """Camera ``name``'s images of the current state (rendered now if they are not): ``depth`` (N, H, W) float32
        [m], ``rgb`` (N, H, W, 3) uint8, ``segmentation`` (N, H, W) int32, those the camera's ``data_types`` name
        (:meth:`~..backend.base.Backend.render_cameras`). The tensors are the backend's buffers: copy them to keep
        them past the next render.

        Raises:
            KeyError: no camera ``name`` in the spec's ``[sensors]``.
        """
        if name not in self._cameras:
            raise KeyError(f"no camera '{name}' in [sensors]; cameras: {', '.join(self._cameras) or 'none'}")
        if self._rendered_at.get(name) != self._state.version:
            if name in self._age:
                due = (self._age[name] >= self._period_steps[name]) | self._restarted[name]
            else:
                due = self._everywhere
            if name not in self._images or due.device.type != "cpu" or bool(due.any()):  # a GPU does not wait
                self._images[name] = self._backend.render_cameras({name: due})[name]
            if name in self._age:
                self._age[name].masked_fill_(due, 0)
                self._restarted[name].masked_fill_(due, False)
            self._rendered_at[name] = self._state.version
        return self._images[name]

    def advance(self) -> None:
        """One env step has passed (the env calls it once per step, after the physics)."""
        for age in self._age.values():
            age += 1

    def restart(self, env_mask: torch.Tensor) -> None:
        """The envs where ``env_mask`` (N,) is set started an episode: each camera renders them at its next read."""
        for restarted in self._restarted.values():
            restarted |= env_mask

    def end_step(self) -> None:
        """The env step's last line: note which cameras show its final state. A replayed step runs no Python, so the
        note the capture made holds for every replay (each replay renders them at the same point)."""
        self._fresh_at_step_end = [n for n, version in self._rendered_at.items() if version == self._state.version]

    def keep_step_end_images(self) -> None:
        """After a step (eager or replayed) and the env's clearing of its derived state: the cameras the step
        rendered last still show the state, so a read before the next change renders nothing."""
        for name in self._fresh_at_step_end:
            self._rendered_at[name] = self._state.version
