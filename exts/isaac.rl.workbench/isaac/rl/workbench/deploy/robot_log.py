"""The robot log: what a run read and commanded each control step, as one ``.npz`` file.

Format ``isaac-rl-workbench-log/1``, T control steps, M motors in the robot's motor order:

- ``format``: the format string; ``control_dt``: float [s]; ``joint_names``: (M,) str
- ``t``: (T,) [s] time of each state reading from the start of the run
- ``joint_pos``, ``joint_vel``: (T, M) [rad, rad/s] measured at t
- ``cmd_q``, ``cmd_dq``, ``cmd_kp``, ``cmd_kd``, ``cmd_tau``: (T, M) the command written right after the reading at t
- ``base_quat_xyzw``: (T, 4); ``base_ang_vel_b``: (T, 3) [rad/s]

``control_dt`` is a finite number > 0 and ``t`` finite and increasing. The other arrays hold finite numbers, or NaN
for a value not recorded (a reading the robot did not give, a command a joint did not get); never infinity.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .driver import JointCommand, RobotState

LOG_FORMAT = "isaac-rl-workbench-log/1"
"""The ``format`` of the logs this module writes and reads."""

PER_MOTOR_KEYS = ("joint_pos", "joint_vel", "cmd_q", "cmd_dq", "cmd_kp", "cmd_kd", "cmd_tau")
"""Keys of the (T, M) arrays."""

KEYS = ("format", "control_dt", "joint_names", "t", *PER_MOTOR_KEYS, "base_quat_xyzw", "base_ang_vel_b")
"""Every key of a log."""

NUMBER_KEYS = ("control_dt", "t", *PER_MOTOR_KEYS, "base_quat_xyzw", "base_ang_vel_b")
"""Keys of the arrays of numbers; :func:`check_values` checks them."""


class LogError(ValueError):
    """A robot log is unreadable or malformed; the message names the file and the key."""


class RobotLog:
    """Collects one row per control step; :meth:`arrays` gives the log's arrays, :meth:`write` writes them.

    Args:
        joint_names: (M,) the robot's joint names in motor order.
        control_dt: the control period [s].
    """

    def __init__(self, joint_names: list[str], control_dt: float):
        self.joint_names = list(joint_names)
        self.control_dt = float(control_dt)
        self._rows: dict[str, list[np.ndarray]] = {key: [] for key in KEYS[3:]}

    def __len__(self) -> int:
        return len(self._rows["t"])

    def append(self, t: float, state: RobotState, command: JointCommand) -> None:
        """Add the reading ``state`` taken at ``t`` [s] and the ``command`` written after it (motor order)."""
        row = self._rows
        row["t"].append(np.float64(t))
        row["joint_pos"].append(np.asarray(state.joint_pos, dtype=np.float64).copy())
        row["joint_vel"].append(np.asarray(state.joint_vel, dtype=np.float64).copy())
        for key, value in zip(
            PER_MOTOR_KEYS[2:], (command.q, command.dq, command.kp, command.kd, command.tau), strict=True
        ):
            row[key].append(np.asarray(value, dtype=np.float64).copy())
        row["base_quat_xyzw"].append(np.asarray(state.base_quat_xyzw, dtype=np.float64).reshape(4).copy())
        row["base_ang_vel_b"].append(np.asarray(state.base_ang_vel_b, dtype=np.float64).reshape(3).copy())

    def arrays(self) -> dict[str, np.ndarray]:
        """The log as a dict of arrays (the keys of :data:`KEYS`)."""
        m = len(self.joint_names)
        widths = {"t": (), "base_quat_xyzw": (4,), "base_ang_vel_b": (3,)}
        data = {
            "format": np.array(LOG_FORMAT),
            "control_dt": np.array(self.control_dt),
            "joint_names": np.array(self.joint_names, dtype=str),
        }
        for key, rows in self._rows.items():
            shape = widths.get(key, (m,))
            data[key] = np.stack(rows) if rows else np.zeros((0, *shape))
        return data

    def write(self, path: Path | str) -> Path:
        """Write the log to ``path`` atomically; returns the path."""
        return write_log(path, self.arrays())


def write_log(path: Path | str, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` (a log's keys) with ``np.savez`` to ``path`` atomically (:func:`write_file_atomically`).
    Returns ``path``."""
    return write_file_atomically(path, lambda file: np.savez(file, **arrays))


def write_file_atomically(path: Path | str, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it onto ``path``, so a reader (or a crash
    mid-write) never sees half a file; the file is made readable by everyone (mode 0o644). Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(tmp, 0o644)  # mkstemp creates 0o600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``, by key, unchecked.

    Raises:
        LogError: not a readable ``.npz``.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise LogError(f"{path}: not a readable .npz robot log ({exc})") from None


def check_values(path: Path | str, data: dict[str, np.ndarray]) -> None:
    """Check the numbers of the arrays of ``data`` that are keys of :data:`NUMBER_KEYS` (others are skipped, so a
    log with only some of its keys is checked too): real numbers, ``control_dt`` one finite number > 0, ``t``
    finite and increasing, and no infinity anywhere (NaN marks a value not recorded).

    Raises:
        LogError: naming the file, the key, the first bad value and its index.
    """
    for key in NUMBER_KEYS:
        if key not in data:
            continue
        value = np.asarray(data[key])
        if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)):
            raise LogError(f"{path}: '{key}' holds {value.dtype} values, expected real numbers")
        if key == "control_dt" and (value.shape != () or not math.isfinite(value) or not value > 0):
            raise LogError(f"{path}: 'control_dt' is {value.tolist()}; expected one finite number > 0 [s]")
        bad = ~np.isfinite(value) if key == "t" else np.isinf(value)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            expected = "finite times [s]" if key == "t" else "finite numbers, or NaN where none was recorded"
            raise LogError(
                f"{path}: '{key}' holds {value[index]} at index {', '.join(map(str, index))}; expected {expected}"
            )
    if "t" in data and np.ndim(data["t"]) == 1:
        steps = np.flatnonzero(np.diff(data["t"]) <= 0)
        if steps.size:
            i = int(steps[0])
            raise LogError(
                f"{path}: 't' does not increase at index {i + 1} ({data['t'][i]} then {data['t'][i + 1]}); "
                "expected one reading per control step, in order"
            )


def read_log(path: Path | str) -> dict[str, np.ndarray]:
    """Read and check a robot log; returns its arrays by key (``format`` and ``control_dt`` as 0-d arrays).

    Raises:
        LogError: not a readable ``.npz``, another format, a missing key, arrays whose shapes disagree, or values
            :func:`check_values` refuses.
    """
    path = Path(path)
    data = load_npz(path)
    missing = [key for key in KEYS if key not in data]
    if missing:
        raise LogError(f"{path}: missing key(s) {missing}; a robot log has {list(KEYS)}")
    if str(data["format"]) != LOG_FORMAT:
        raise LogError(f"{path}: 'format' is {str(data['format'])!r}, expected {LOG_FORMAT!r}")
    steps, motors = data["t"].shape[0], data["joint_names"].shape[0]
    expected = {key: (steps, motors) for key in PER_MOTOR_KEYS}
    expected.update(t=(steps,), base_quat_xyzw=(steps, 4), base_ang_vel_b=(steps, 3), joint_names=(motors,))
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise LogError(f"{path}: '{key}' has shape {data[key].shape}, expected {shape} (T={steps}, M={motors})")
    check_values(path, data)
    return data
