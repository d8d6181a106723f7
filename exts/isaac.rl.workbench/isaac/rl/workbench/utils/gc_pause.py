"""Python's cyclic garbage collector paused while a process builds a large heap that stays alive.

Importing torch, tensordict, rsl-rl, Newton, warp and MuJoCo-Warp creates about a million objects (modules,
functions, warp kernels), nearly none of them garbage. The collector runs a full pass over every tracked object each
time their count grows by a quarter, so during those imports it scans them again and again: seconds of a training
command's start-up (a third of its imports on a 2-core CPU). :func:`gc_paused` holds the collector off for a block;
at its end it freezes what the block built (:func:`gc.freeze`: moved out of every later pass, never collected) and
lets the collector run again on whatever comes after.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic garbage collection inside; on leaving, every object alive is frozen and collection resumes.

    Frozen objects stay frozen until :func:`gc.unfreeze` (a caller that runs many such blocks in one process, tests
    say, unfreezes when one is done, so that their garbage is collected).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
