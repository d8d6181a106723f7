"""The Go2 driver's write path (``fill_lowcmd``) takes the safety layer's stop, hold and damp alike: no DDS needed, a
stand-in for unitree_sdk2's ``LowCmd_`` message."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from isaac.rl.workbench.deploy.bundle import FORMAT, bundle_from_dict
from isaac.rl.workbench.deploy.driver import JointCommand, RobotState
from isaac.rl.workbench.deploy.runtime import JointOrder
from isaac.rl.workbench.deploy.safety import SafetyLayer
from isaac.rl.workbench.deploy.unitree_go2 import (
    GO2_MOTOR_NAMES,
    MOTOR_MODE_SERVO,
    NUM_MOTOR_SLOTS,
    POS_STOP_F,
    VEL_STOP_F,
    fill_lowcmd,
    lowcmd_template,
)

POLICY_ORDER = GO2_MOTOR_NAMES[3:6] + GO2_MOTOR_NAMES[:3] + GO2_MOTOR_NAMES[9:] + GO2_MOTOR_NAMES[6:9]  # FL FR RL RR
STANCE = {"hip": 0.0, "thigh": 0.8, "calf": -1.5}
LIMITS = {"hip": [-1.0472, 1.0472], "thigh": [-1.5708, 3.4907], "calf": [-2.7227, -0.83776]}


def go2_bundle(safe_stop: str):
    """A Go2 bundle as export --deploy writes one (policy order FL, FR, RL, RR; Unitree's motor order)."""
    part = [name.split("_")[1] for name in POLICY_ORDER]
    return bundle_from_dict(
        {
            "format": FORMAT,
            "task": "go2_flat",
            "control_dt": 0.02,
            "policy": {"onnx": "policy.onnx", "torchscript": "policy.pt", "obs_dim": 27, "num_actions": 12},
            "observation": {
                "terms": [
                    {"name": "projected_gravity_b", "size": 3, "params": {}},
                    {"name": "joint_pos_rel", "size": 12, "params": {}},
                    {"name": "last_action", "size": 12, "params": {}},
                ],
                "history_length": 1,
            },
            "commands": {},
            "joints": {
                "names": POLICY_ORDER,
                "default_pos": [STANCE[p] for p in part],
                "stiffness": [25.0] * 12,
                "damping": [0.5] * 12,
                "effort_limit": [23.5] * 12,
                "motor_order": GO2_MOTOR_NAMES,
            },
            "action": {
                "type": "joint_position",
                "joints": POLICY_ORDER,
                "scale": 0.25,
                "offset": [STANCE[p] for p in part],
            },
            "safety": {
                "joint_pos_limits": [LIMITS[p] for p in part],
                "joint_vel_limits": [30.0] * 12,
                "safe_stop": safe_stop,
                "hold_kp": [25.0] * 12,
                "hold_kd": [0.5] * 12,
            },
        }
    )


def fake_lowcmd() -> SimpleNamespace:
    """A stand-in for ``unitree_go_msg_dds__LowCmd_()``: head, level_flag, gpio, 20 motor_cmd slots, crc."""
    motor = dict(mode=7, q=0.0, dq=0.0, kp=0.0, kd=0.0, tau=0.0)
    return SimpleNamespace(
        head=[0, 0], level_flag=0, gpio=1, motor_cmd=[SimpleNamespace(**motor) for _ in range(20)], crc=0
    )


class FakeCrc:
    """unitree_sdk2's ``CRC`` stand-in: the checksum is how many times it was asked."""

    def __init__(self):
        self.calls = 0

    def Crc(self, cmd) -> int:  # noqa: N802 (the SDK's name)
        self.calls += 1
        return 1000 + self.calls


def message_fields(cmd, slots) -> np.ndarray:
    """(len(slots), 5) the q, dq, kp, kd, tau of ``cmd``'s motor slots."""
    return np.array([[getattr(cmd.motor_cmd[i], f) for f in ("q", "dq", "kp", "kd", "tau")] for i in slots])


@pytest.mark.parametrize("safe_stop", ["hold", "damp"])
def test_fill_lowcmd_takes_the_stop_after_a_nan_reading_with_its_damped_joints_at_kp_0(safe_stop):
    safety = SafetyLayer(go2_bundle(safe_stop))
    order = JointOrder(POLICY_ORDER, GO2_MOTOR_NAMES)
    pos = np.array(safety.default_pos) + 0.05
    pos[POLICY_ORDER.index("FR_calf_joint")] = math.nan  # never read finite: no pose to hold
    safety.command(np.zeros(12), RobotState(joint_pos=pos, joint_vel=np.zeros(12)))
    assert safety.latched and "FR_calf_joint" in safety.reason
    stop = order.command_to_motors(safety.stop_command())
    sdk = SimpleNamespace(new_lowcmd=fake_lowcmd)
    cmd, crc = lowcmd_template(sdk), FakeCrc()
    fill_lowcmd(cmd, stop, crc)
    assert cmd.head == [0xFE, 0xEF] and cmd.level_flag == 0xFF and cmd.crc == 1001
    assert all(cmd.motor_cmd[i].mode == MOTOR_MODE_SERVO for i in range(12))
    sent = message_fields(cmd, range(12))
    assert np.isfinite(sent).all()
    np.testing.assert_array_equal(sent, np.stack([stop.q, stop.dq, stop.kp, stop.kd, stop.tau], axis=1))
    fr_calf = GO2_MOTOR_NAMES.index("FR_calf_joint")
    assert sent[fr_calf, 2] == 0.0 and sent[fr_calf, 3] == 0.5  # damping: kp 0, kd > 0 (Unitree's damping mode)
    held = sent[[i for i in range(12) if i != fr_calf], 2]
    assert (held == (25.0 if safe_stop == "hold" else 0.0)).all()
    assert not sent[:, 4].any() and not sent[:, 1].any()  # no torque, no velocity target
    for i in range(12, NUM_MOTOR_SLOTS):  # the unused slots stay off
        slot = cmd.motor_cmd[i]
        assert (slot.mode, slot.q, slot.dq, slot.kp, slot.kd) == (0, POS_STOP_F, VEL_STOP_F, 0.0, 0.0)


@pytest.mark.parametrize(
    ("field", "value", "words"), [("q", math.nan, "not finite"), ("kp", -1.0, "negative gain"), ("tau", math.inf, "")]
)
def test_fill_lowcmd_refuses_a_bad_command_and_leaves_the_message_as_it_was(field, value, words):
    cmd, crc = lowcmd_template(SimpleNamespace(new_lowcmd=fake_lowcmd)), FakeCrc()
    command = JointCommand.zeros(12)
    getattr(command, field)[5] = value
    before = message_fields(cmd, range(NUM_MOTOR_SLOTS))
    with pytest.raises(ValueError, match=f"JointCommand.{field}.*{words}"):
        fill_lowcmd(cmd, command, crc)
    np.testing.assert_array_equal(message_fields(cmd, range(NUM_MOTOR_SLOTS)), before)
    assert crc.calls == 0
