"""The panel model's worker: one thread that runs jobs one at a time, refuses a job while one runs, and carries
a stop request to the job in flight."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class JobWorker:
    """A thread of its own (named ``name``) that runs the jobs :meth:`submit` hands it, one at a time.

    A job handles its own errors: one that raises ends the worker. A long job asks :meth:`stop_requested` between
    steps and returns when it is set.
    """

    def __init__(self, name: str):
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> bool:
        """Run ``job`` on the worker, with the stop request cleared; False (and nothing run) while a job runs."""
        if self.busy():
            return False
        self._idle.clear()
        self._stop.clear()
        self._jobs.put(job)
        return True

    def busy(self) -> bool:
        """Whether a job was submitted and has not ended."""
        return not self._idle.is_set()

    def request_stop(self) -> None:
        """Ask the job in flight to stop (it reads :meth:`stop_requested`)."""
        self._stop.set()

    def stop_requested(self) -> bool:
        """Whether the job in flight was asked to stop."""
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs, at most ``timeout`` [s]; True when none does."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Ask the job in flight to stop, end the thread after it, and wait for that at most ``timeout`` [s]."""
        self._stop.set()
        self._jobs.put(None)
        self._thread.join(timeout=timeout)

    def is_alive(self) -> bool:
        """Whether the thread still runs (False after :meth:`close` returned in time)."""
        return self._thread.is_alive()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            finally:
                self._idle.set()
