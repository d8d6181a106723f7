"""Damaged or meaningless robot data for ``sysid``: a ROS 2 bag with flipped bits, a robot log whose control period or
time stamps are NaN, infinite readings. Each ends in one line naming the file, the array and the first bad index,
exit code 2, and nothing written; never a traceback, never a spec "fitted" to NaN."""

from __future__ import annotations

import numpy as np
import pytest
from isaac.rl.workbench.deploy.robot_log import LOG_FORMAT, LogError, read_log, write_log
from isaac.rl.workbench.frontends.cli_sysid import main
from isaac.rl.workbench.sim2real.robot_data import (
    JointLog,
    RobotDataError,
    read_joint_log,
    task_log,
    write_ros2_bag,
)

STEPS = 60
DT = 1.0 / 60.0
JOINTS = ["slider", "hinge"]  # the cart-pole's


def _joint_log() -> JointLog:
    """Two seconds' worth of made-up cart-pole readings and effort commands (nothing is simulated)."""
    t = np.arange(STEPS) * DT
    pos = np.stack([np.sin(t), 0.1 * np.cos(t)], axis=1)
    tau = np.stack([np.sin(3 * t), np.zeros(STEPS)], axis=1)
    return JointLog(JOINTS, t, pos, np.cos(np.stack([t, t], axis=1)), t, {"cmd_tau": tau})


def _npz(path, **changes) -> str:
    """A plain robot log (.npz) of :func:`_joint_log` with ``changes`` (None: the key left out)."""
    log = _joint_log()
    arrays = {
        "joint_names": np.array(JOINTS),
        "t": log.t,
        "joint_pos": log.joint_pos,
        "cmd_tau": log.commands["cmd_tau"],
    }
    arrays.update(changes)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return str(path)


def _sysid_fails(data, tmp_path, capsys) -> str:
    """Run ``sysid cartpole --data data``; assert exit 2, one line and no output folder; return the line."""
    out = tmp_path / "out"
    assert main(["cartpole", "--data", str(data), "--params", "armature", "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {data}: "), lines
    assert not out.exists(), "nothing is written"
    return lines[0]


def test_a_ros2_bag_with_flipped_bits_is_one_line_naming_the_file(tmp_path, capsys):
    bag = write_ros2_bag(tmp_path / "run.mcap", _joint_log())
    damaged = bytearray(bag.read_bytes())
    damaged[len(damaged) // 2] ^= 0x10  # in the chunk of messages: its checksum no longer matches
    bag.write_bytes(bytes(damaged))
    assert "not a readable MCAP file, or damaged" in _sysid_fails(bag, tmp_path, capsys)


def test_no_single_flipped_byte_of_a_bag_escapes_as_another_error(tmp_path):
    """Flip one bit in every 7th byte (magic, records, chunk, index, summary, footer): the bag reads, or it is
    refused with a RobotDataError, and the readings of a bag that reads are those written (the chunk's checksum
    catches a changed value)."""
    log = _joint_log()
    clean = write_ros2_bag(tmp_path / "clean.mcap", log).read_bytes()
    refused = 0
    for offset in range(0, len(clean), 7):
        damaged = bytearray(clean)
        damaged[offset] ^= 1 << (offset % 8)
        (tmp_path / "damaged.mcap").write_bytes(bytes(damaged))
        try:
            back = read_joint_log(tmp_path / "damaged.mcap")
        except RobotDataError:
            refused += 1
            continue
        np.testing.assert_allclose(back.joint_pos, log.joint_pos)
    assert refused > len(clean) // 14, "most damage is found"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"t": None, "control_dt": np.float64(np.nan)}, "'control_dt' is nan; expected one finite number > 0 [s]"),
        ({"t": None, "control_dt": np.float64(-DT)}, "'control_dt' is -0.01666"),
        ({"t": None, "control_dt": np.array([DT, DT])}, "'control_dt' is [0.01666"),
        ({"t": np.where(np.arange(STEPS) == 5, np.nan, np.arange(STEPS) * DT)}, "'t' holds nan at index 5"),
        ({"t": np.where(np.arange(STEPS) == 9, DT * 8, np.arange(STEPS) * DT)}, "'t' does not increase at index 9"),
        (
            {"joint_pos": np.where(np.arange(2 * STEPS).reshape(STEPS, 2) == 15, np.inf, 0.0)},
            "'joint_pos' holds inf at index 7, 1; expected finite numbers, or NaN where none was recorded",
        ),
        ({"cmd_tau": np.full((STEPS, 2), -np.inf)}, "'cmd_tau' holds -inf at index 0, 0"),
        ({"joint_pos": np.full((STEPS, 2), "0.1")}, "'joint_pos' holds <U3 values, expected real numbers"),
    ],
    ids=["control_dt nan", "control_dt < 0", "control_dt array", "t nan", "t repeats", "pos inf", "tau inf", "text"],
)
def test_a_robot_log_with_unusable_numbers_is_refused_at_load(tmp_path, capsys, changes, says):
    data = _npz(tmp_path / "log.npz", **changes)
    assert says in _sysid_fails(data, tmp_path, capsys)


def test_nan_marks_what_was_not_recorded_and_a_joint_without_readings_is_refused(tmp_path):
    """NaN in a command array is a joint without that command (the log's format), NaN in the readings a reading
    not taken; a joint of the task with fewer than two readings cannot be replayed."""
    log = _joint_log()
    tau = log.commands["cmd_tau"].copy()
    tau[:, 1] = np.nan  # the hinge has no motor
    pos = log.joint_pos.copy()
    pos[3, 0] = np.nan  # one reading missed
    back = read_joint_log(_npz(tmp_path / "gaps.npz", joint_pos=pos, cmd_tau=tau))
    grid = task_log(back, JOINTS, DT, "cmd_tau")
    assert np.isfinite(grid.joint_pos).all() and np.isnan(grid.commands["cmd_tau"][:, 1]).all()
    pos[:, 1] = np.nan
    unread = read_joint_log(_npz(tmp_path / "no_hinge.npz", joint_pos=pos, cmd_tau=tau))
    with pytest.raises(RobotDataError, match="fewer than 2 position readings .* of joint.s. hinge$"):
        task_log(unread, JOINTS, DT, "cmd_tau")


def test_the_runtimes_log_reader_refuses_the_same(tmp_path):
    m = len(JOINTS)
    arrays = {
        "format": np.array(LOG_FORMAT),
        "control_dt": np.array(np.nan),
        "joint_names": np.array(JOINTS),
        "t": np.arange(STEPS) * DT,
        **{key: np.zeros((STEPS, m)) for key in ("joint_pos", "joint_vel", "cmd_q", "cmd_dq", "cmd_kp", "cmd_kd")},
        "cmd_tau": np.zeros((STEPS, m)),
        "base_quat_xyzw": np.tile([0.0, 0.0, 0.0, 1.0], (STEPS, 1)),
        "base_ang_vel_b": np.zeros((STEPS, 3)),
    }
    path = write_log(tmp_path / "run.npz", arrays)
    with pytest.raises(LogError, match=r"'control_dt' is nan"):
        read_log(path)
    write_log(path, {**arrays, "control_dt": np.array(DT)})
    assert read_log(path)["t"].shape == (STEPS,)
