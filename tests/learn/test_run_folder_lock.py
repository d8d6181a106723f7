"""One writer per run folder: a second writer is refused and told who writes; a lock left by a killed process is taken
over with a notice; a released lock leaves no file; a folder that cannot be written is one line naming it."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from isaac.rl.workbench.learn.run_dir import RunDir, RunError, RunWriteError, writing
from isaac.rl.workbench.utils.folder_lock import FolderLock, FolderLocked
from isaac.rl.workbench.utils.writable import check_writable, write_error

HOLD = (
    "import sys, time; from pathlib import Path\n"
    "from isaac.rl.workbench.learn.run_dir import RunDir\n"
    "run = RunDir(Path(sys.argv[1])); run.lock(free_bytes=0)\n"
    "print('locked', flush=True); time.sleep(120)\n"
)


def holder_process(folder: Path) -> subprocess.Popen:
    """A process that takes ``folder``'s lock, says so and then sleeps."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_and_told_who_writes(tmp_path):
    folder = tmp_path / "run"
    proc = holder_process(folder)
    try:
        with pytest.raises(RunError) as info:
            RunDir(folder).lock(free_bytes=0)
        message = str(info.value)
        assert message.startswith(f"{folder}: another run writes here (process {proc.pid}")
        assert "choose another --run-dir" in message and "\n" not in message
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_notice(tmp_path):
    folder = tmp_path / "run"
    proc = holder_process(folder)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((folder / ".lock").read_text())["pid"] == proc.pid, "kill -9 leaves the file"
    run = RunDir(folder)
    notice = run.lock(free_bytes=0)
    assert notice is not None and f"took over the lock of process {proc.pid}" in notice
    assert json.loads((folder / ".lock").read_text())["pid"] == os.getpid()
    run.unlock()
    assert not (folder / ".lock").exists(), "a released lock leaves no file"
    assert RunDir(folder).lock(free_bytes=0) is None, "a cleanly released lock is no stale lock"


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    first, second = FolderLock(tmp_path), FolderLock(tmp_path)
    assert first.acquire() is None and first.held
    with pytest.raises(FolderLocked):
        second.acquire()
    first.release()
    assert second.acquire() is None
    second.release()


RACER = (
    "import sys; from pathlib import Path\n"
    "from isaac.rl.workbench.utils.folder_lock import FolderLock, FolderLocked\n"
    "lock = FolderLock(Path(sys.argv[1]))\n"
    "print('ready', flush=True); sys.stdin.readline()\n"  # the start signal
    "try:\n    lock.acquire()\nexcept FolderLocked:\n    sys.exit(1)\n"
    "sys.stdin.readline()\n"  # the winner holds the lock until told to let go
)


def test_a_race_of_many_lockers_has_one_winner(tmp_path):
    """Six processes, each started and ready, are let go at once; the winner holds the lock until every loser has
    given up, so that however slowly a busy machine runs them, no loser can come after the winner let go."""
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(6)
    ]
    try:
        assert all(proc.stdout.readline() == b"ready\n" for proc in procs)
        for proc in procs:
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        deadline = time.monotonic() + 120
        while sum(proc.poll() is not None for proc in procs) < 5:  # the losers
            assert time.monotonic() < deadline, [proc.poll() for proc in procs]
            time.sleep(0.05)
        assert [proc.poll() for proc in procs].count(None) == 1, "one holds the lock"
        for proc in procs:
            proc.stdin.close()  # the winner lets go
        codes = sorted(proc.wait(timeout=60) for proc in procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert codes == [0, 1, 1, 1, 1, 1]


def test_a_folder_without_room_is_refused_before_any_work(tmp_path):
    with pytest.raises(RunWriteError) as info:
        RunDir(tmp_path / "run").lock(free_bytes=2**62)
    assert str(info.value).startswith(f"{tmp_path / 'run'}: cannot write (the disk is full: ")
    assert not (tmp_path / "run" / ".lock").exists(), "a refused run gives its lock back"


def test_a_file_where_the_run_folder_belongs_is_one_line(tmp_path):
    (tmp_path / "run").write_text("a file")
    with pytest.raises(RunWriteError, match=r"run: cannot write \(a file stands where a folder belongs"):
        RunDir(tmp_path / "run").lock()
    with pytest.raises(NotADirectoryError):
        check_writable(tmp_path / "run" / "export")


def test_check_writable_leaves_nothing_behind(tmp_path):
    check_writable(tmp_path / "not" / "yet", free_bytes=1)
    assert list(tmp_path.iterdir()) == [], "no probe file, no folder"


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "no permission to write there"),
    ],
)
def test_write_errors_name_the_file_and_the_cause(tmp_path, code, cause):
    target = tmp_path / "metrics.jsonl"
    with pytest.raises(RunWriteError) as info, writing(target):
        raise OSError(code, os.strerror(code), str(target))
    assert str(info.value) == f"{target}: cannot write ({cause}: {os.strerror(code)})"
    assert write_error(target, OSError(code, os.strerror(code))) == str(info.value)


def test_a_second_writer_in_this_process_is_told_to_finish_or_close_the_first(tmp_path):
    first = RunDir(tmp_path / "run")
    first.lock(free_bytes=0)
    with pytest.raises(RunError, match="this process writes this run already .* call finish\\(\\) or close\\(\\)"):
        RunDir(tmp_path / "run").lock(free_bytes=0)
    del first  # a dropped lock object gives its lock back
    assert RunDir(tmp_path / "run").lock(free_bytes=0) is None
