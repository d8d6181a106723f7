"""The env's physics properties (masses, centres of mass, friction, the solver's PD gains, joint friction, armature,
passive damping) as its start-up events and the tools above it write them.

Three kinds of write:

- a start-up event's (:meth:`PhysicsProperties.write_drawn`, while :attr:`PhysicsProperties.event` names it): written
  at once, summarised in :attr:`~PhysicsProperties.applied` (the run folder's randomization.json) and, with the draw's
  bounds, observable in :attr:`~PhysicsProperties.randomized` (a teacher's privileged ``randomized_params``);
- a tool's (:meth:`PhysicsProperties.write`): a sweep, a log replay or a simulated robot setting values between
  steps; nothing is recorded;
- a redraw (:meth:`PhysicsProperties.redraw`): the start-up events run again from the scene's values into pending
  copies, and each property that changed is written once at the end.

Names and shapes are the backend's (:meth:`..backend.base.Backend.get_property`): ``body_mass`` (N, B) [kg],
``body_com`` (N, B, 3) [m], ``shape_friction`` (N, S), ``dof_stiffness``, ``dof_damping``, ``dof_friction``,
``dof_armature``, ``dof_viscous_friction`` (N, D). N = num_envs, B = bodies, S = collision shapes, D = joints per env.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..backend.base import Backend
from .applied_randomization import RandomizedParams, summarize


class PhysicsProperties:
    """Reads and writes of one env's physics properties.

    Args:
        backend: the env's physics.
        num_envs: N.
        device: where the env's tensors live.
        labels: ``labels(name)``: a name per column of property ``name`` (bodies, joints), None for shapes.
    """

    def __init__(
        self, backend: Backend, num_envs: int, device: torch.device, labels: Callable[[str], list[str] | None]
    ):
        self._backend = backend
        self._labels = labels
        self._num_envs, self._device = num_envs, device
        self._everywhere = torch.ones(num_envs, dtype=torch.bool, device=device)
        self.applied: dict[str, dict] = {}
        """Property -> :func:`.applied_randomization.summarize` of the start-up events' last write of it."""
        self.randomized = RandomizedParams(num_envs, device)
        """The start-up draws, normalised over their ranges (:class:`.applied_randomization.RandomizedParams`)."""
        self.event: str | None = None
        """The start-up event running now (its spec name); None: none, and :meth:`write_drawn` is not expected."""
        self._scene: dict[str, torch.Tensor] = {}  # each property before the env first wrote it: the scene's values
        self._draft: dict[str, torch.Tensor] | None = None  # the pending values of a redraw
        self._capturing = False  # a redraw's first call of an event: only the bounds of its draws are kept
        self._bounds: dict[str, tuple] = {}

    def read(self, name: str) -> torch.Tensor:
        """A copy of property ``name`` of every env (during a redraw: its pending values)."""
        if self._draft is None:
            return self._backend.get_property(name)
        if name not in self._draft:
            self._draft[name] = self.scene_value(name)
        return self._draft[name].clone()

    def scene_value(self, name: str) -> torch.Tensor:
        """A copy of property ``name`` as the scene sets it: before the env's first write of it."""
        return self._scene[name].clone() if name in self._scene else self._backend.get_property(name)

    def write_drawn(self, name: str, env_mask: torch.Tensor, values: torch.Tensor, bounds: tuple | None = None) -> None:
        """The start-up event :attr:`event` writes ``values`` where ``env_mask`` (N,) is set; ``bounds`` (low, high),
        each shaped like ``values``: what its draw gives at the two ends of its range (the draw is then observable in
        :attr:`randomized`)."""
        if self._draft is not None:
            self._write_draft(name, env_mask, values, bounds)
            return
        before = self._backend.get_property(name)
        self._scene.setdefault(name, before)
        self._backend.set_property(name, env_mask, values)
        after = self._backend.get_property(name)
        labels = self._labels(name)
        self.applied[name] = summarize(before, after, env_mask, labels)
        if bounds is not None:
            self.randomized.add(self.event, name, after, *bounds, labels)

    def write(self, name: str, env_mask: torch.Tensor, values: torch.Tensor) -> None:
        """Write ``values`` (shaped as :meth:`read`) where ``env_mask`` (N,) is set; nothing is recorded."""
        if name not in self._scene:
            self._scene[name] = self._backend.get_property(name)
        self._backend.set_property(name, env_mask, values)

    def redraw(
        self, events: list[tuple[str, Callable[[dict], None], dict, dict]], env_mask: torch.Tensor | None = None
    ) -> None:
        """Run start-up events again from the scene's values: each ``(name, call, trained, params)`` in order, where
        ``call(params)`` calls the event on every env. ``call(trained)`` first (the spec's params): only the bounds of
        its draws are kept, so that :attr:`randomized` normalises the second draws, ``call(params)``, over the ranges
        the policy trained with. The events read and write pending copies; then each property whose pending values
        differ from the simulation's is written once (a property written again with the values it has keeps its
        state bit for bit, so every redraw with the same values simulates the same). Nothing is written when an
        event raises.

        ``env_mask`` (N,): only those envs take the new draws (their properties and their rows of
        :attr:`randomized`, in place); the others keep theirs. A live edit of a start-up event's range redraws so the
        envs that reset."""
        self._draft = {}
        kept = self.randomized
        self.randomized = RandomizedParams(self._num_envs, self._device)
        try:
            for name, call, trained, params in events:
                self.event, self._capturing = name, True
                call(trained)
                self._capturing = False
                call(params)
            drafted = self._draft
        finally:
            self._draft, self.event, self._capturing = None, None, False
            self._bounds.clear()
        if env_mask is not None:
            drawn, self.randomized = self.randomized.values, kept
            for name, values in drafted.items():
                self.write(name, env_mask, values)
            if drawn.shape == kept.values.shape:
                kept.values.copy_(torch.where(env_mask.unsqueeze(1), drawn, kept.values))
            return
        for name, values in drafted.items():
            if not torch.equal(values, self._backend.get_property(name)):
                self.write(name, self._everywhere, values)

    def _write_draft(self, name: str, env_mask: torch.Tensor, values: torch.Tensor, bounds: tuple | None) -> None:
        if self._capturing:
            if bounds is not None:
                self._bounds[name] = bounds
            return
        current = self._draft[name] if name in self._draft else self.scene_value(name)
        rows = env_mask.view(-1, *[1] * (current.dim() - 1))
        self._draft[name] = torch.where(rows, values.to(current.dtype), current)
        if name in self._bounds:
            self.randomized.add(self.event, name, self._draft[name], *self._bounds.pop(name), self._labels(name))
