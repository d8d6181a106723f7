"""The Unitree Go2 as a :class:`~.driver.RobotDriver`: unitree_sdk2's low-level DDS topics, as Unitree's deployment
examples and ``unitree_mujoco`` use them.

- ``rt/lowstate`` (``LowState_``, the robot publishes it at 500 Hz): ``motor_state[i].q``, ``dq``, ``tau_est`` of
  the 12 leg motors, ``imu_state.quaternion`` (w, x, y, z) and ``imu_state.gyroscope`` (base frame).
- ``rt/lowcmd`` (``LowCmd_``): head ``[0xFE, 0xEF]``, ``level_flag`` 0xFF, ``motor_cmd[i]`` with ``mode`` 0x01 and
  ``q``, ``dq``, ``kp``, ``kd``, ``tau`` for the 12 leg motors, the message's 8 unused motor slots (12-19) off
  (``mode`` 0, ``q`` = ``POS_STOP_F``, ``dq`` = ``VEL_STOP_F``, no gains), and ``crc``: the SDK's ``CRC().Crc``
  over the message, which the robot checks (a command with a bad CRC is dropped).
- ``rt/sportmodestate`` (``SportModeState_``): the base's linear velocity. The Go2 measures none; Unitree's sport
  mode state estimator publishes ``velocity`` (world frame [m/s]) on this topic, and so does the simulation bridge
  (``sim2real/go2_bridge.py``). The driver rotates it into the base frame with the latest IMU orientation and
  reports it as ``RobotState.base_lin_vel_b``; without it (or older than ``velocity_timeout_s``) that is None,
  and a policy that observes ``root_lin_vel_b`` cannot run (Unitree's own policies do not observe it).

Motor order (Unitree's, slots 0-11): FR, FL, RR, RL legs, each hip, thigh, calf: :data:`GO2_MOTOR_NAMES`, with the
joint names of the Go2's description (``FR_hip_joint``, ...). On a real Go2, release the sport mode first (the app,
or unitree_sdk2's ``MotionSwitcherClient.ReleaseMode``), or its own controller fights the commands.

The DDS packages (``cyclonedds`` and ``unitree_sdk2py``, the ``go2`` extra) are imported when a driver is made,
never at module import. Each driver owns one DDS participant; on the loopback interface ``lo`` (no multicast)
discovery goes by unicast to the local host.
"""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from .driver import JointCommand, RobotState
from .observations import quat_rotate_inverse

GO2_MOTOR_NAMES = [f"{leg}_{part}_joint" for leg in ("FR", "FL", "RR", "RL") for part in ("hip", "thigh", "calf")]
"""The Go2's 12 joints in Unitree's motor order (``LowCmd_.motor_cmd`` / ``LowState_.motor_state`` slots 0-11)."""
NUM_MOTOR_SLOTS = 20
"""Motor slots in ``LowCmd_`` and ``LowState_`` (the Go2 uses the first 12)."""
POS_STOP_F = 2.146e9
"""``q`` of a motor that holds no position (unitree_sdk2's ``PosStopF``)."""
VEL_STOP_F = 16000.0
"""``dq`` of a motor that holds no velocity (unitree_sdk2's ``VelStopF``)."""
MOTOR_MODE_SERVO = 0x01
"""``motor_cmd[i].mode`` of an enabled motor (FOC servo); 0 is off."""
TOPIC_LOWCMD, TOPIC_LOWSTATE, TOPIC_SPORTMODESTATE = "rt/lowcmd", "rt/lowstate", "rt/sportmodestate"
EXTRA_HINT = (
    "the Unitree Go2 link needs the 'go2' extra (Cyclone DDS 0.10 and unitree_sdk2py): bash scripts/setup.sh --go2 "
    "installs it, or apt-get install cyclonedds-dev, then pip install 'isaac-rl-workbench[go2]' with CYCLONEDDS_HOME "
    "set to a folder whose lib/ holds libddsc.so"
)


class MissingExtraError(ImportError):
    """The ``go2`` extra (``cyclonedds``, ``unitree_sdk2py``) is not installed; the message says how to install it."""


class RobotNotFoundError(RuntimeError):
    """No ``rt/lowstate`` arrived in time: no robot (or bridge) on that interface and DDS domain."""


def unitree_sdk() -> SimpleNamespace:
    """The DDS classes and Unitree message types the Go2 link uses, imported now.

    Raises:
        MissingExtraError: ``cyclonedds`` or ``unitree_sdk2py`` is missing or broken, with the way to install them.
    """
    try:
        from cyclonedds.domain import Domain, DomainParticipant
        from cyclonedds.pub import DataWriter
        from cyclonedds.sub import DataReader
        from cyclonedds.topic import Topic
        from unitree_sdk2py.idl import default
        from unitree_sdk2py.idl.unitree_go.msg.dds_ import LowCmd_, LowState_, SportModeState_
        from unitree_sdk2py.utils.crc import CRC
    except Exception as exc:  # ImportError, or the C library failing to load
        raise MissingExtraError(f"{EXTRA_HINT} ({type(exc).__name__}: {exc})") from exc
    return SimpleNamespace(
        Domain=Domain,
        DomainParticipant=DomainParticipant,
        DataReader=DataReader,
        DataWriter=DataWriter,
        Topic=Topic,
        LowCmd_=LowCmd_,
        LowState_=LowState_,
        SportModeState_=SportModeState_,
        new_lowcmd=default.unitree_go_msg_dds__LowCmd_,
        new_lowstate=default.unitree_go_msg_dds__LowState_,
        new_sportmodestate=default.unitree_go_msg_dds__SportModeState_,
        crc=CRC(),
    )


def dds_config(interface: str) -> str:
    """Cyclone DDS configuration that keeps traffic on ``interface``. The loopback interface has no multicast, so
    there participants find each other by unicast to 127.0.0.1 (up to 10 per host and domain)."""
    general = f'<General><Interfaces><NetworkInterface name="{interface}"/></Interfaces>'
    if interface == "lo":
        general += "<AllowMulticast>false</AllowMulticast></General><Discovery>"
        general += '<ParticipantIndex>auto</ParticipantIndex><Peers><Peer address="127.0.0.1"/></Peers></Discovery>'
    else:
        general += "</General>"
    return f'<CycloneDDS><Domain Id="any">{general}</Domain></CycloneDDS>'


_domains: dict[int, tuple[str, object]] = {}  # domain id -> (interface, Domain): one configuration per process


class DdsLink:
    """One DDS participant on ``domain_id`` restricted to ``interface``, with its topics' readers and writers.

    Raises:
        MissingExtraError: the ``go2`` extra is missing.
        ValueError: this process already uses ``domain_id`` on another interface.
    """

    def __init__(self, domain_id: int, interface: str):
        self.sdk = unitree_sdk()
        if not 0 <= domain_id <= 232:
            raise ValueError(f"DDS domain id {domain_id}: expected 0 to 232")
        if domain_id in _domains and _domains[domain_id][0] != interface:
            raise ValueError(f"DDS domain {domain_id} is already open on '{_domains[domain_id][0]}' in this process")
        if domain_id not in _domains:
            _domains[domain_id] = (interface, self.sdk.Domain(domain_id, dds_config(interface)))
        self.domain_id, self.interface = domain_id, interface
        self.participant = self.sdk.DomainParticipant(domain_id)
        self._entities: list = []

    def writer(self, topic: str, message_type):
        """A DataWriter of ``message_type`` on ``topic`` (default QoS, as unitree_sdk2's channels)."""
        writer = self.sdk.DataWriter(self.participant, self._topic(topic, message_type))
        self._entities.append(writer)
        return writer

    def reader(self, topic: str, message_type):
        """A DataReader of ``message_type`` on ``topic`` that keeps the latest sample (default QoS)."""
        reader = self.sdk.DataReader(self.participant, self._topic(topic, message_type))
        self._entities.append(reader)
        return reader

    def _topic(self, name: str, message_type):
        topic = self.sdk.Topic(self.participant, name, message_type)
        self._entities.append(topic)
        return topic

    def close(self) -> None:
        """Delete the readers, writers and the participant now (idempotent); cyclonedds deletes an entity in its
        ``__del__``, which otherwise runs only when the garbage collector gets to it. The domain's configuration
        stays for the process."""
        while self._entities:
            self._entities.pop().__del__()
        if self.participant is not None:
            self.participant.__del__()
            self.participant = None


def latest(reader):
    """The newest valid sample the reader holds (taking them all), or None; returns at once."""
    samples = [s for s in reader.take(N=16) if s.sample_info.valid_data]
    return samples[-1] if samples else None


def quat_wxyz_to_xyzw(quat) -> np.ndarray:
    """A Unitree IMU quaternion (w, x, y, z) as (x, y, z, w), float64 (4,)."""
    w, x, y, z = (float(v) for v in quat)
    return np.array([x, y, z, w])


class Go2DdsDriver:
    """A Unitree Go2 (or the simulation bridge) over DDS, in Unitree's motor order (:data:`GO2_MOTOR_NAMES`).

    Args:
        interface: the network interface the robot is on ("lo" for the simulation bridge on this machine).
        domain_id: the DDS domain (a real Go2: 0; the bridge: 1 by default, as unitree_mujoco).
        state_timeout_s: [s] how long the constructor waits for the first ``rt/lowstate``.
        velocity_timeout_s: [s] a ``rt/sportmodestate`` velocity older than this (while fresh states arrive) is not
            reported (``base_lin_vel_b`` None).
        velocity_wait_s: [s] how long the constructor waits, after the first state, for the first velocity (a robot
            without the estimator costs this much start-up).

    Attributes:
        motor_names: (12,) the joints in motor order.
        states_received: ``rt/lowstate`` samples read; commands_sent: ``rt/lowcmd`` samples written.

    Raises:
        MissingExtraError: the ``go2`` extra is missing.
        RobotNotFoundError: no state within ``state_timeout_s``.
    """

    def __init__(
        self,
        interface: str = "lo",
        domain_id: int = 0,
        state_timeout_s: float = 3.0,
        velocity_timeout_s: float = 0.1,
        velocity_wait_s: float = 0.5,
    ):
        self.motor_names = list(GO2_MOTOR_NAMES)
        self.velocity_timeout_s = velocity_timeout_s
        self.link = DdsLink(domain_id, interface)
        sdk = self.link.sdk
        self._crc = sdk.crc
        self._cmd_writer = self.link.writer(TOPIC_LOWCMD, sdk.LowCmd_)
        self._state_reader = self.link.reader(TOPIC_LOWSTATE, sdk.LowState_)
        self._velocity_reader = self.link.reader(TOPIC_SPORTMODESTATE, sdk.SportModeState_)
        self._cmd = lowcmd_template(sdk)
        self.states_received = self.commands_sent = 0
        self._state: RobotState | None = None
        self._velocity_w: np.ndarray | None = None
        self._velocity_time = -np.inf
        deadline = time.monotonic() + state_timeout_s
        while self._poll() is None:
            if time.monotonic() > deadline:
                self.close()
                raise RobotNotFoundError(
                    f"no {TOPIC_LOWSTATE} on interface '{interface}', DDS domain {domain_id} within "
                    f"{state_timeout_s:g} s: is the robot (or `isaac-rl-workbench go2-bridge`) running there?"
                )
            time.sleep(0.002)
        deadline = time.monotonic() + velocity_wait_s  # the estimate's stream is matched on its own
        while self._state.base_lin_vel_b is None and time.monotonic() < deadline:
            time.sleep(0.002)
            self._poll()

    def _poll(self) -> RobotState | None:
        """Take the newest velocity estimate and state; the new state, or None when none arrived."""
        velocity = latest(self._velocity_reader)
        now = time.monotonic()
        if velocity is not None:
            self._velocity_w, self._velocity_time = np.array(velocity.velocity, dtype=np.float64), now
        msg = latest(self._state_reader)
        if msg is None:
            return None
        self.states_received += 1
        motors = msg.motor_state[: len(self.motor_names)]
        quat = quat_wxyz_to_xyzw(msg.imu_state.quaternion)
        lin_vel = None
        if self._velocity_w is not None and now - self._velocity_time <= self.velocity_timeout_s:
            lin_vel = quat_rotate_inverse(quat, self._velocity_w)
        self._state = RobotState(
            joint_pos=np.array([m.q for m in motors], dtype=np.float64),
            joint_vel=np.array([m.dq for m in motors], dtype=np.float64),
            base_quat_xyzw=quat,
            base_ang_vel_b=np.array(msg.imu_state.gyroscope, dtype=np.float64),
            base_lin_vel_b=lin_vel,
            joint_effort=np.array([m.tau_est for m in motors], dtype=np.float64),
            stamp=now,
            fresh=True,
        )
        return self._state

    # -- RobotDriver ----------------------------------------------------------------------------------------------
    def read_state(self) -> RobotState:
        """The newest ``rt/lowstate`` as a :class:`RobotState` in motor order; ``fresh`` is False when none arrived
        since the last call (the previous reading is returned again)."""
        if self.link.participant is None:
            raise RuntimeError("this Go2DdsDriver is closed")
        state = self._poll()
        return state if state is not None else replace(self._state, fresh=False)

    def write_command(self, command: JointCommand) -> None:
        """Publish ``command`` (12 motors, motor order) as one ``LowCmd_`` with its CRC.

        Raises:
            ValueError: an array of another shape, a value that is not finite or a negative gain (see
                :func:`fill_lowcmd`; the runtime sends none).
        """
        if self.link.participant is None:
            raise RuntimeError("this Go2DdsDriver is closed")
        fill_lowcmd(self._cmd, command, self._crc)
        self._cmd_writer.write(self._cmd)
        self.commands_sent += 1

    def close(self) -> None:
        """Leave the DDS domain (idempotent)."""
        if self.link.participant is not None:
            self.link.close()

    def __enter__(self) -> Go2DdsDriver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def lowcmd_template(sdk: SimpleNamespace):
    """A ``LowCmd_`` as Unitree's low-level examples start one: head, level flag, every motor off and stopped."""
    cmd = sdk.new_lowcmd()
    cmd.head[0], cmd.head[1] = 0xFE, 0xEF
    cmd.level_flag = 0xFF
    cmd.gpio = 0
    for motor in cmd.motor_cmd:
        motor.mode, motor.q, motor.dq, motor.kp, motor.kd, motor.tau = 0, POS_STOP_F, VEL_STOP_F, 0.0, 0.0, 0.0
    return cmd


def fill_lowcmd(cmd, command: JointCommand, crc) -> None:
    """Write ``command`` (12 motors, motor order) into the ``LowCmd_`` ``cmd`` (slots 0-11 enabled) and its CRC.

    Every value is checked before ``cmd`` is touched, so a refused command leaves it as it was. The runtime's
    commands pass these checks by construction (``Runtime.write`` sends no other), its safe stop included: a
    damping stop is mode 0x01 with kp 0 and kd > 0, Unitree's damping mode.

    Raises:
        ValueError: an array that is not (12,), a value that is not finite, or a negative gain.
    """
    n = len(GO2_MOTOR_NAMES)
    columns = []
    for key in ("q", "dq", "kp", "kd", "tau"):
        value = np.asarray(getattr(command, key), dtype=np.float64)
        if value.shape != (n,):
            raise ValueError(f"JointCommand.{key} has shape {value.shape}, expected ({n},) for the Go2's motors")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"JointCommand.{key} is not finite: {value.tolist()}")
        if key in ("kp", "kd") and np.any(value < 0):
            raise ValueError(f"JointCommand.{key} has a negative gain: {value.tolist()}")
        columns.append(value.tolist())
    for i, (q, dq, kp, kd, tau) in enumerate(zip(*columns, strict=True)):
        motor = cmd.motor_cmd[i]
        motor.mode, motor.q, motor.dq, motor.kp, motor.kd, motor.tau = MOTOR_MODE_SERVO, q, dq, kp, kd, tau
    cmd.crc = crc.Crc(cmd)
