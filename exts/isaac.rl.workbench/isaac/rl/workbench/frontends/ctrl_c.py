"""Ctrl-C during training at the command line: the first asks for a stop after the current iteration, the second
interrupts at once (unless a checkpoint is being written)."""

from __future__ import annotations

import signal


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
