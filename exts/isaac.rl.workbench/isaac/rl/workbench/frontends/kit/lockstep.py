"""Turns between Kit's main thread and the panel model's worker thread: one slice of work per app update.

The panel model runs its jobs on a worker thread (``workbench``). Inside Kit, physics, the stage and the UI belong
to the main thread, so the worker may only run while the main thread waits for it. :meth:`Lockstep.pause` is a
panel-model listener: on the worker thread it hands the turn back to the main thread at every event the worker
emits (a build done, each PPO iteration, each play step, the end of a job) and waits for the next turn.
:meth:`Lockstep.run_worker` is called once per app update on the main thread: it hands the turn over and waits
until the worker pauses again or goes idle. Training thus runs one iteration per app update, Kit redraws between
iterations, Stop (read by the worker at every iteration) answers within one iteration, and Kit code never runs at
the same time as the worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..panel import WORKER_THREAD

POLL_S = 0.005  # [s] how often a waiting main thread checks whether the worker went idle


class Lockstep:
    """The turn-taking of one panel model's worker and Kit's main thread."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._paused = False  # the worker waits in pause()
        self._go = False  # the main thread handed the turn to the paused worker
        self._closed = False

    def pause(self, what: str = "", model: Any = None) -> None:
        """A panel-model listener: on the worker thread, give the turn back and wait for the next one; a no-op on
        any other thread and after :meth:`close`."""
        if threading.current_thread().name != WORKER_THREAD:
            return
        with self._turn:
            self._paused = True
            self._turn.notify_all()
            self._turn.wait_for(lambda: self._go or self._closed)
            self._paused = self._go = False

    def run_worker(self, is_idle: Callable[[], bool]) -> None:
        """On the main thread: let the worker run until its next pause; return at once when it is idle."""
        with self._turn:
            if self._paused:
                self._go = True
                self._turn.notify_all()
            while not self._closed and not (self._paused and not self._go):
                if is_idle():
                    self._go = False  # a worker that ended its job without pausing again leaves no stale turn
                    return
                self._turn.wait(POLL_S)

    def close(self) -> None:
        """Release the worker for good (shutdown): every later pause returns at once."""
        with self._turn:
            self._closed = True
            self._turn.notify_all()
