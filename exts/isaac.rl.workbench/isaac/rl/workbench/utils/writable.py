"""Can a folder take our files? Checked before long work, and said in one line when a write fails."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "no permission to write there",
    errno.EPERM: "no permission to write there",
    errno.ENOTDIR: "a file stands where a folder belongs",
    errno.EEXIST: "a file stands where a folder belongs",
    errno.ENAMETOOLONG: "the file name is too long",
}


def write_error(path: Path | str, exc: OSError) -> str:
    """One line for a failed write: '<path>: cannot write (<cause>: <strerror>)'."""
    cause = _CAUSES.get(exc.errno or 0)
    detail = exc.strerror or str(exc)
    return f"{path}: cannot write ({cause}: {detail})" if cause else f"{path}: cannot write ({detail})"


def check_writable(folder: Path | str, free_bytes: int = 0) -> None:
    """Make sure files can be written in ``folder`` and it has ``free_bytes`` [bytes] free; nothing is left behind.

    A probe file is created and removed in ``folder`` (in its nearest existing parent when it does not exist yet:
    whoever may write there may create the folder), so a read-only file system, a folder without permission and a
    full disk (no room for the probe's block) are found before any work starts, whoever runs it (root included).

    Raises:
        OSError: the folder cannot be written, a file stands in its way, or it has less than ``free_bytes`` free
            (``errno.ENOSPC``).
    """
    folder = Path(folder).absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-probe.")
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
        Path(probe).unlink(missing_ok=True)
    free = shutil.disk_usage(existing).free
    if free < free_bytes:
        raise OSError(errno.ENOSPC, f"{free / 2**20:.1f} MiB free, {free_bytes / 2**20:.1f} MiB needed", str(folder))
