"""Joint data recorded on a robot, read from a ROS 2 bag (MCAP) or a robot log (``.npz``) and resampled onto the
control period that a replay in simulation steps at.

A ROS 2 bag holds ``sensor_msgs/msg/JointState`` messages on two topics: the joint readings (``position``,
``velocity``) and the commands (``position``: position targets, ``velocity``: target velocities, ``effort``:
feed-forward or effort commands). It is read with the ``mcap`` and ``mcap-ros2-support`` packages; no ROS install is
needed. A robot log is the runtime's ``np.savez`` file (format ``isaac-rl-workbench-log/1``, which also carries the
PD gains ``cmd_kp``, ``cmd_kd``) or any ``.npz`` with its keys, of which ``joint_names``, ``joint_pos`` and ``t`` or
``control_dt`` are required.

Shapes: T control steps, M joints. Units: rad, rad/s, N·m (m, m/s, N for prismatic joints), seconds.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..deploy.robot_log import LOG_FORMAT, LogError, check_values, load_npz

COMMAND_KEYS = ("cmd_q", "cmd_dq", "cmd_kp", "cmd_kd", "cmd_tau")
"""The command arrays a log may carry: position target, target velocity, PD gains, effort."""
MIN_STEPS = 10
"""Fewest control steps a log must span to be replayed."""
JOINT_STATE_MSGDEF = """std_msgs/Header header
string[] name
float64[] position
float64[] velocity
float64[] effort
================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
"""
"""``sensor_msgs/msg/JointState`` with its dependencies, as a ROS 2 bag stores a message definition."""


class RobotDataError(ValueError):
    """Recorded joint data that cannot be used; the message names the file, the topic, key or joints at fault."""


@dataclass(frozen=True)
class JointLog:
    """Joint readings and commands, either on their own clocks (as read) or on one control grid (:func:`resample`).

    Attributes:
        joint_names: (M,) the joints of the columns.
        t: (T,) [s] time of each reading, from the first.
        joint_pos: (T, M) [rad or m] measured positions.
        joint_vel: (T, M) [rad/s or m/s] measured velocities; NaN where not recorded.
        command_t: (C,) [s] time of each command on the same clock (equal to ``t`` on a control grid).
        commands: key of :data:`COMMAND_KEYS` -> (C, M) array, NaN where a joint got no such command; keys absent
            from the recording are left out.
        source: the file it was read from.
    """

    joint_names: list[str]
    t: np.ndarray
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    command_t: np.ndarray
    commands: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    @property
    def duration(self) -> float:
        """Time from the first to the last reading [s]."""
        return float(self.t[-1] - self.t[0]) if len(self.t) else 0.0


def read_joint_log(
    path: Path | str, state_topic: str = "/joint_states", command_topic: str = "/joint_commands"
) -> JointLog:
    """Read a ROS 2 bag (``.mcap``) or a robot log (``.npz``), on the clocks it was recorded on.

    Raises:
        RobotDataError: a missing or unreadable file, another suffix, missing topics or keys.
    """
    path = Path(path)
    if not path.is_file():
        raise RobotDataError(f"{path}: no such file (expected a ROS 2 bag .mcap or a robot log .npz)")
    if path.suffix.lower() == ".mcap":
        return read_ros2_bag(path, state_topic, command_topic)
    if path.suffix.lower() == ".npz":
        return read_npz_log(path)
    raise RobotDataError(f"{path}: unknown suffix '{path.suffix}'; expected a ROS 2 bag (.mcap) or a robot log (.npz)")


def read_npz_log(path: Path | str) -> JointLog:
    """A robot log (see the module docstring): commands are stamped with the reading they follow."""
    path = Path(path)
    try:
        data = load_npz(path)
    except LogError as exc:
        raise RobotDataError(str(exc)) from None
    if "format" in data and str(data["format"]) != LOG_FORMAT:
        raise RobotDataError(f"{path}: 'format' is {str(data['format'])!r}, expected {LOG_FORMAT!r}")
    missing = [key for key in ("joint_names", "joint_pos") if key not in data]
    if "t" not in data and "control_dt" not in data:
        missing.append("t (or control_dt)")
    if missing:
        raise RobotDataError(f"{path}: missing key(s) {', '.join(missing)}")
    try:
        check_values(path, data)
    except LogError as exc:
        raise RobotDataError(str(exc)) from None
    names = [str(n) for n in np.atleast_1d(data["joint_names"])]
    pos = np.asarray(data["joint_pos"], dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != len(names):
        raise RobotDataError(f"{path}: 'joint_pos' has shape {pos.shape}, expected (T, {len(names)}) for joint_names")
    steps = pos.shape[0]
    t = np.asarray(data["t"], dtype=np.float64) if "t" in data else np.arange(steps) * float(data["control_dt"])
    arrays = {key: np.asarray(data[key], dtype=np.float64) for key in ("joint_vel", *COMMAND_KEYS) if key in data}
    for key, value in arrays.items():
        if value.shape != pos.shape:
            raise RobotDataError(f"{path}: '{key}' has shape {value.shape}, expected {pos.shape} like joint_pos")
    if t.shape != (steps,):
        raise RobotDataError(f"{path}: 't' has shape {t.shape}, expected ({steps},)")
    vel = arrays.pop("joint_vel", np.full_like(pos, np.nan))
    return JointLog(names, t - t[0] if steps else t, pos, vel, t - t[0] if steps else t, arrays, str(path))


def read_ros2_bag(
    path: Path | str, state_topic: str = "/joint_states", command_topic: str = "/joint_commands"
) -> JointLog:
    """A ROS 2 bag in MCAP with ``sensor_msgs/msg/JointState`` readings on ``state_topic`` and commands on
    ``command_topic``; each message is placed at its header stamp (its log time where the stamp is zero). Joints
    are the readings' (the union over messages); commands for other joints are dropped."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    path = Path(path)
    messages: dict[str, list[tuple[float, object]]] = {state_topic: [], command_topic: []}
    try:
        with path.open("rb") as file, contextlib.redirect_stderr(io.StringIO()) as decoder_output:
            reader = make_reader(file, validate_crcs=True, decoder_factories=[DecoderFactory()])
            summary = reader.get_summary()  # None for a bag whose recording was cut off: then scan it
            channels = summary.channels.values() if summary else (c for _, c, _ in reader.iter_messages())
            topics = {channel.topic for channel in channels}
            missing = [topic for topic in (state_topic, command_topic) if topic not in topics]
            if missing:
                raise RobotDataError(
                    f"{path}: no topic {' or '.join(missing)}; the bag has {', '.join(sorted(topics)) or 'none'} "
                    "(name the topics with --state-topic and --command-topic)"
                )
            for schema, channel, message, msg in reader.iter_decoded_messages(topics=[state_topic, command_topic]):
                if schema is None or schema.name not in ("sensor_msgs/msg/JointState", "sensor_msgs/JointState"):
                    found = schema.name if schema else "no schema"
                    raise RobotDataError(
                        f"{path}: topic {channel.topic} holds {found}, expected sensor_msgs/JointState"
                    )
                lacking = [name for name in ("name", "position", "velocity", "effort") if not hasattr(msg, name)]
                if lacking:
                    raise RobotDataError(
                        f"{path}: topic {channel.topic}: its sensor_msgs/JointState definition lacks the field(s) "
                        f"{', '.join(lacking)} (a damaged bag?)"
                    )
                stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
                messages[channel.topic].append((stamp if stamp > 0 else message.log_time * 1e-9, msg))
    except RobotDataError:
        raise
    except Exception as exc:  # a damaged bag fails anywhere in mcap, its decompressors or the ROS 2 decoder
        raise RobotDataError(f"{path}: not a readable MCAP file, or damaged ({type(exc).__name__}: {exc})") from None
    sys.stderr.write(decoder_output.getvalue())  # held back above: the ROS 2 decoder prints a line on bad schemas
    if not messages[state_topic]:
        raise RobotDataError(f"{path}: topic {state_topic} has no messages")
    names = list(dict.fromkeys(n for _, msg in messages[state_topic] for n in msg.name))
    t, readings = _joint_table(messages[state_topic], names, {"position": "joint_pos", "velocity": "joint_vel"})
    command_t, commands = _joint_table(
        messages[command_topic], names, {"position": "cmd_q", "velocity": "cmd_dq", "effort": "cmd_tau"}
    )
    if np.isnan(readings["joint_pos"]).all(axis=0).any():
        empty = [n for n, e in zip(names, np.isnan(readings["joint_pos"]).all(axis=0), strict=True) if e]
        raise RobotDataError(f"{path}: topic {state_topic} has no position of joint(s) {', '.join(empty)}")
    start = t[0]
    commands = {k: v for k, v in commands.items() if not np.isnan(v).all()}
    try:
        check_values(path, {**readings, **commands})
    except LogError as exc:
        raise RobotDataError(str(exc)) from None
    return JointLog(
        names, t - start, readings["joint_pos"], readings["joint_vel"], command_t - start, commands, str(path)
    )


def _joint_table(messages: list, names: list[str], fields: dict[str, str]) -> tuple[np.ndarray, dict]:
    """Times (K,) in order and, per field, a (K, M) array over ``names`` (NaN where a message lacks it)."""
    messages = sorted(messages, key=lambda item: item[0])
    column = {name: i for i, name in enumerate(names)}
    out = {key: np.full((len(messages), len(names)), np.nan) for key in fields.values()}
    for row, (_, msg) in enumerate(messages):
        for attr, key in fields.items():
            values = list(getattr(msg, attr))
            if len(values) == len(msg.name):
                for name, value in zip(msg.name, values, strict=True):
                    if name in column:
                        out[key][row, column[name]] = value
    return np.array([stamp for stamp, _ in messages], dtype=np.float64), out


def write_ros2_bag(
    path: Path | str, log: JointLog, state_topic: str = "/joint_states", command_topic: str = "/joint_commands"
) -> Path:
    """Write ``log`` as a ROS 2 bag in MCAP: one JointState reading per row on ``state_topic`` and one command per
    row on ``command_topic`` (``position``: ``cmd_q``, ``velocity``: ``cmd_dq``, ``effort``: ``cmd_tau``, each left
    empty where the log has none). Stamps start at 1 s. Returns ``path``."""
    from mcap_ros2.writer import Writer

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def message(stamp: float, **arrays) -> dict:
        ns = _ns(stamp)
        header = {"stamp": {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}, "frame_id": ""}
        return {
            "header": header,
            "name": list(log.joint_names),
            **{k: [float(x) for x in v] for k, v in arrays.items()},
        }

    with path.open("wb") as file, Writer(file) as writer:
        schema = writer.register_msgdef("sensor_msgs/msg/JointState", JOINT_STATE_MSGDEF)
        for i, stamp in enumerate(log.t):
            vel = log.joint_vel[i] if not np.isnan(log.joint_vel[i]).any() else []
            msg = message(stamp, position=log.joint_pos[i], velocity=vel, effort=[])
            writer.write_message(state_topic, schema, msg, log_time=_ns(stamp), sequence=i)
        empty: list[float] = []
        for i, stamp in enumerate(log.command_t):
            fields = {
                attr: log.commands[key][i] if key in log.commands else empty
                for attr, key in (("position", "cmd_q"), ("velocity", "cmd_dq"), ("effort", "cmd_tau"))
            }
            writer.write_message(command_topic, schema, message(stamp, **fields), log_time=_ns(stamp), sequence=i)
    return path


def _ns(stamp: float) -> int:
    """Nanoseconds of a bag stamp ``stamp`` [s] after the start, 1 s past the epoch (a zero stamp means none)."""
    return int(round((1.0 + stamp) * 1e9))


def select_joints(log: JointLog, joint_names: list[str]) -> JointLog:
    """The columns of ``joint_names`` (the spec's joints), in that order; joints the log has besides are dropped.

    Raises:
        RobotDataError: naming the joints the log lacks and the joints it has.
    """
    missing = [name for name in joint_names if name not in log.joint_names]
    if missing:
        raise RobotDataError(
            f"{log.source}: no data for joint(s) {', '.join(missing)} of the task; the log has "
            f"{', '.join(log.joint_names) or 'none'}"
        )
    idx = [log.joint_names.index(name) for name in joint_names]
    return replace(
        log,
        joint_names=list(joint_names),
        joint_pos=log.joint_pos[:, idx],
        joint_vel=log.joint_vel[:, idx],
        commands={k: v[:, idx] for k, v in log.commands.items()},
    )


def resample(log: JointLog, dt: float, min_steps: int = MIN_STEPS) -> JointLog:
    """``log`` on the grid ``t_k = k * dt`` over the readings' span: positions and velocities interpolated linearly
    (velocities never recorded: the positions' finite differences), commands held from the last one at or before
    ``t_k`` (the first one before it). Then ``command_t`` equals ``t``.

    Raises:
        RobotDataError: fewer than ``min_steps`` grid steps, no command at all, or a joint with fewer than two
            position readings.
    """
    steps = int(np.floor(log.duration / dt + 1e-9)) + 1 if len(log.t) else 0
    if len(log.t) < 2 or steps < min_steps:
        raise RobotDataError(
            f"{log.source}: {len(log.t)} readings over {log.duration:.3f} s give {steps} control steps of "
            f"{dt:g} s; at least {min_steps} are needed"
        )
    if not log.commands or len(log.command_t) == 0:
        raise RobotDataError(f"{log.source}: no commands recorded (position targets or efforts)")
    unread = [
        name for name, column in zip(log.joint_names, log.joint_pos.T, strict=True) if np.isfinite(column).sum() < 2
    ]
    if unread:
        raise RobotDataError(f"{log.source}: fewer than 2 position readings (not NaN) of joint(s) {', '.join(unread)}")
    grid = np.arange(steps) * dt
    pos = _interpolate(log.t, log.joint_pos, grid)
    vel = _interpolate(log.t, log.joint_vel, grid)
    derived = np.gradient(pos, dt, axis=0)
    vel = np.where(np.isnan(vel), derived, vel)
    held = np.clip(np.searchsorted(log.command_t, grid + 1e-9, side="right") - 1, 0, None)
    commands = {key: value[held] for key, value in log.commands.items()}
    return replace(log, t=grid, joint_pos=pos, joint_vel=vel, command_t=grid, commands=commands)


def _interpolate(t: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Each column of ``values`` (K, M) at ``grid`` over its finite samples; NaN for a column without any."""
    out = np.full((len(grid), values.shape[1]), np.nan)
    for j in range(values.shape[1]):
        finite = np.isfinite(values[:, j])
        if finite.sum() >= 2:
            out[:, j] = np.interp(grid, t[finite], values[finite, j])
    return out


def task_log(log: JointLog, joint_names: list[str], dt: float, command: str) -> JointLog:
    """``log`` with the columns ``joint_names`` on the control grid of period ``dt`` [s] (:func:`select_joints`,
    :func:`resample`), checked to hold the ``command`` (a key of :data:`COMMAND_KEYS`) a replay needs.

    Raises:
        RobotDataError: joints missing, too few samples, no such command.
    """
    log = resample(select_joints(log, joint_names), dt)
    if command not in log.commands:
        what = {"cmd_tau": "effort commands (JointState effort, or cmd_tau)", "cmd_q": "position targets"}
        raise RobotDataError(f"{log.source}: the task needs {what.get(command, command)}, but the log has none")
    return log


def command_median(log: JointLog, key: str, fallback: np.ndarray) -> np.ndarray:
    """(M,) each joint's median of command ``key`` over its finite entries; ``fallback`` where there are none."""
    out = np.asarray(fallback, dtype=np.float64).copy()
    values = log.commands.get(key)
    for j in range(out.shape[0] if values is not None else 0):
        finite = values[np.isfinite(values[:, j]), j]
        if finite.size:
            out[j] = float(np.median(finite))
    return out


def joints_matching(patterns: list[str], joint_names: list[str]) -> list[list[str]]:
    """The joints each full-match regular expression (or name) selects, in ``joint_names`` order.

    Raises:
        RobotDataError: a pattern that is not a regular expression or selects no joint.
    """
    groups = []
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise RobotDataError(f"--joints '{pattern}': not a regular expression ({exc})") from None
        found = [name for name in joint_names if name == pattern or regex.fullmatch(name)]
        if not found:
            raise RobotDataError(f"--joints '{pattern}' matches none of the task's joints {', '.join(joint_names)}")
        groups.append(found)
    return groups
