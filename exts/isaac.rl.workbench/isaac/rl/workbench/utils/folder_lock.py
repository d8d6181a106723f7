"""One writer per folder: an advisory lock file (``fcntl.flock``) that names its holder.

The lock is the kernel's, on an open file, so it ends with its process however that process ends (kill -9
included): a lock file left behind is only a file, and the next writer takes it over, told who left it. The file
holds its holder as JSON (``pid``, ``host``, ``command``, ``started``) so a refused writer can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a folder lock: process id, host name, command line, start time (ISO 8601, seconds)."""

    pid: int | None = None
    host: str = ""
    command: str = ""
    started: str = ""

    def describe(self) -> str:
        """'process 123 on host, started 2026-12-07T10:32:01: isaac-rl-workbench train cartpole' (what is known)."""
        who = f"process {self.pid}" if self.pid is not None else "another process"
        where = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        when = f", started {self.started}" if self.started else ""
        what = f": {self.command}" if self.command else ""
        return f"{who}{where}{when}{what}"


class FolderLocked(RuntimeError):
    """Another live process holds the lock; ``holder`` says who (as far as its lock file tells)."""

    def __init__(self, path: Path, holder: LockHolder):
        super().__init__(f"{path}: held by {holder.describe()}")
        self.path, self.holder = path, holder


class FolderLock:
    """An exclusive, non-blocking lock on ``folder`` through the file ``folder/name``.

    Attributes:
        path: the lock file.
        held: True between a successful :meth:`acquire` and :meth:`release`.
    """

    def __init__(self, folder: Path, name: str = ".lock"):
        self.path = Path(folder) / name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> LockHolder | None:
        """Take the lock (the folder must exist). Returns the holder recorded by a process that ended without
        releasing it (its lock taken over), else None.

        Raises:
            FolderLocked: a live process holds it.
            OSError: the lock file cannot be created or written (a read-only folder, a full disk, no permission).
        """
        if self._fd is not None:
            return None
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _parse(_read_all(fd))
                os.close(fd)
                raise FolderLocked(self.path, holder) from None
            except BaseException:
                os.close(fd)
                raise
            if not _same_file(fd, self.path):  # released (file removed) between our open and flock: try again
                os.close(fd)
                continue
            try:
                left = _read_all(fd)
                record = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
                    "started": datetime.now().isoformat(timespec="seconds"),
                }
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(record).encode(), 0)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return _parse(left) if left.strip() else None

    def __del__(self) -> None:
        self.release()

    def release(self) -> None:
        """Give the lock up and remove its file (idempotent; also when the lock object is collected)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            if _same_file(self._fd, self.path):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _read_all(fd: int) -> bytes:
    return os.pread(fd, 4096, 0)


def _same_file(fd: int, path: Path) -> bool:
    """True when ``path`` is still the file open as ``fd`` (a releasing holder removes it)."""
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _parse(data: bytes) -> LockHolder:
    """The holder a lock file names; an empty or unreadable file names nobody in particular."""
    try:
        record = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return LockHolder()
    if not isinstance(record, dict):
        return LockHolder()
    pid = record.get("pid")
    return LockHolder(
        pid=pid if isinstance(pid, int) else None,
        host=str(record.get("host", "")),
        command=str(record.get("command", ""))[:200],
        started=str(record.get("started", "")),
    )
