"""Ctrl-C at the command line. During ``train`` the first asks for a stop after the current iteration, the second
interrupts at once (unless a checkpoint is being written). ``serve`` waits for Ctrl-C (or SIGTERM), says what
stopping does given what the panel runs, then stops its job and the server."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

SERVE_STOPPING = {
    "building": "the run in flight stops before its first iteration and saves a checkpoint",
    "training": "the run in flight saves a checkpoint after its iteration",
    "stopping": "the run in flight saves a checkpoint after its iteration",
    "playing": "play ends",
    "recording": "the recording in flight ends first",
    "evaluating": "the evaluation in flight ends first",
    "exporting": "the export in flight ends first",
}
"""What stopping ``serve`` does, by the panel run's status; any other status (idle, finished, failed): nothing
runs."""


class StopOnCtrlC:
    """While active, the first Ctrl-C asks training to stop after the current iteration (so the checkpoint holds
    a whole iteration); a second one interrupts at once.

    Args:
        workbench: the training run; its ``saving`` flag (True while a checkpoint is written) defers the interrupt.
    """

    def __init__(self, workbench):
        self.requested = False
        self.workbench = workbench
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested and not self.workbench.saving:
            raise KeyboardInterrupt
        if self.requested:
            print("\nCtrl-C: a checkpoint is being written; stopping when it is complete", flush=True)
            return
        self.requested = True
        print("\nCtrl-C: saving after this iteration (press again to abort without saving)", flush=True)

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def serve_stopping_line(status: str) -> str:
    """The line ``serve`` prints on Ctrl-C, given the panel run's status (``RunState.status``)."""
    doing = SERVE_STOPPING.get(status)
    return f"stopping: {doing}" if doing else "stopping (nothing was running)"


@contextlib.contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """An event that Ctrl-C (SIGINT) or SIGTERM (a service manager's stop) sets while inside. Both are handled here
    whatever the process inherited: a command started in the background of a shell inherits SIGINT ignored, and
    would otherwise never stop on it."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_for_a_stop_signal() -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM (:func:`stop_signals`)."""
    with stop_signals() as stop:
        while not stop.wait(1.0):
            pass


def serve_until_stopped(app, lines: list[str], wait: Callable[[], None] | None = None) -> None:
    """Print ``lines`` (the panel's URL, its folders), wait for a stop signal (``wait`` instead, in tests), say what
    stopping does, then stop
    the panel's job (a run saves a checkpoint), wait for it (at most 120 s) and close the panel and its server.

    Args:
        app: the browser panel (``web.app.PanelApp``): its ``model`` (read: ``run.status``; ``stop``, ``wait``,
            ``close``), ``close`` and ``server``.
    """
    with stop_signals() as stop:  # handled before the URL is printed: a Ctrl-C right after it is not lost
        for line in lines:
            print(line, flush=True)
        if wait is not None:
            wait()
        while wait is None and not stop.wait(1.0):
            pass
    model = app.model
    print(f"\n{serve_stopping_line(model.run.status)}", flush=True)
    model.stop()
    model.wait(120)
    model.close()
    app.close()
    app.server.stop()
