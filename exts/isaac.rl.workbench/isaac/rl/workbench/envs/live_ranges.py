"""Ranges of a running env changed between iterations (a live edit), without a rebuild: the parameters of its
events and the ranges of its commands.

When each change applies:

- a start-up event's parameter: at each env's next reset. Start-up events draw once per env, when the env is built
  (Isaac Lab's ``mode="startup"``), so no env changes its physics in the middle of an episode: an env takes a new
  draw of the start-up events (the edited ranges, and the others as they are) when its episode next ends, and keeps
  it, as it kept its first one, until a later edit. Until every env has reset, each step that resets some pays an
  eager property write (host work in the solver).
- a reset event's parameter: at the next reset of each env; an interval event's parameter or its ``interval_s``:
  at its next firing (the timers running now run out first);
- a command's range: at its next draw (its resample, or the env's reset).

Shapes: N = num_envs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..specs.schema import TaskSpec, TermSpec
from .commands import Commands
from .graphed_step import GraphedStep
from .interval_events import IntervalEvents
from .physics_properties import PhysicsProperties


class LiveRanges:
    """Live edits of an env's event parameters and command ranges (a mixin of the env: the attributes below are the
    env's)."""

    spec: TaskSpec
    num_envs: int
    device: torch.device
    commands: Commands
    randomized_params: torch.Tensor
    _params: dict[int, dict]
    _properties: PhysicsProperties
    _startup_events: list[TermSpec]
    _interval_events: IntervalEvents
    _graphed_step: GraphedStep
    _startup_edits: dict[str, dict]
    _redraw_pending: torch.Tensor | None
    _stiffness: torch.Tensor | None
    _damping: torch.Tensor | None
    resolve_params: Callable[[dict], dict]
    physics_property: Callable[[str], torch.Tensor]

    def set_event_param(self, event: str, param: str, value: float | list[float], at_once: bool = False) -> None:
        """Give event ``event``'s parameter ``param`` the number or [min, max] range ``value`` (``interval_s`` for an
        interval event's timers); applied as the module says. ``at_once``: a start-up event's envs draw again now
        (a resumed run, before its first step). The event is first called on no env with the new value, so a value
        it cannot take raises here (ValueError), not in a later step."""
        term = self.spec.events.get(event)
        if term is None:
            raise ValueError(f"no event '{event}'; events: {', '.join(self.spec.events) or 'none'}")
        nowhere = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        if param == "interval_s" and term.mode == "interval":
            self._interval_events.set_interval(event, (value[0], value[1]))
        elif term.mode == "startup":
            edits = {**self._startup_edits.get(event, {}), param: value}
            self._redraw_startup(nowhere, {**self._startup_edits, event: edits})  # a trial: writes nothing
            self._startup_edits[event] = edits
            everywhere = ~nowhere
            if at_once:
                self._redraw_startup(everywhere)
            else:
                self._redraw_pending = everywhere
        else:
            params = {**self._params[id(term)], param: value}
            term.func(self, nowhere, **params)  # a trial on no env
            self._params[id(term)] = params
        self._graphed_step.recapture()

    def set_command_range(self, command: str, key: str, bounds: tuple[float, float]) -> None:
        """Draw component ``key`` of command ``command`` in ``bounds`` [min, max] from its next draw on
        (:meth:`.commands.Commands.set_range`; KeyError for a command or component it does not draw)."""
        self.commands.set_range(command, key, bounds)
        self._graphed_step.recapture()

    def _redraw_at_reset(self, reset: torch.Tensor) -> None:
        """After a step or a reset (eagerly, outside a captured step): the envs that reset (``reset`` (N,), a step's
        ``dones``) and still wait for a live edit of a start-up event draw again."""
        pending = self._redraw_pending
        if pending is None:
            return
        due = pending & reset.bool()
        if bool(due.any()):
            self._redraw_startup(due)
            pending &= ~due
            if not bool(pending.any()):
                self._redraw_pending = None

    def _redraw_startup(self, env_mask: torch.Tensor, edits: dict[str, dict] | None = None) -> None:
        """Draw the start-up events again where ``env_mask`` (N,) is set, with the live edits (``edits``, default the
        ones taken) over the spec's parameters; ``randomized_params`` normalises over the spec's ranges."""
        edits = self._startup_edits if edits is None else edits
        everywhere = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        self._properties.redraw(
            [
                (
                    term.name,
                    lambda resolved, term=term: term.func(self, everywhere, **resolved),
                    self._params[id(term)],
                    self.resolve_params({**term.params, **edits.get(term.name, {})}),
                )
                for term in self._startup_events
            ],
            env_mask,
        )
        if self._stiffness is not None:  # in place: a captured step reads these tensors
            self._stiffness.copy_(self.physics_property("dof_stiffness"))
            self._damping.copy_(self.physics_property("dof_damping"))
