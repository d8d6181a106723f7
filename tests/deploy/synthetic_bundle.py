"""A small deployment bundle for the deploy tests: 3 joints (policy order hip, knee, ankle; motor order knee, ankle,
hip), 2 of them driven by a position action, and a tiny MLP with its observation normaliser inside, exported as
export.py does (ONNX through the dynamo exporter, opset 18, dynamic batch; TorchScript)."""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from isaac.rl.workbench.deploy.bundle import FORMAT, Bundle, bundle_from_dict, bundle_json, load_bundle

NAMES = ["hip", "knee", "ankle"]
MOTOR_ORDER = ["knee", "ankle", "hip"]
DEFAULT_POS = [0.1, -0.8, 0.0]
CONTROL_DT = 0.02

BASE = {
    "format": FORMAT,
    "task": "synthetic",
    "control_dt": CONTROL_DT,
    "policy": {"onnx": "policy.onnx", "torchscript": "policy.pt", "obs_dim": 17, "num_actions": 2},
    "observation": {
        "terms": [
            {"name": "projected_gravity_b", "size": 3, "params": {}},
            {"name": "root_ang_vel_b", "size": 3, "params": {}},
            {"name": "generated_commands", "size": 3, "params": {"command": "base_velocity"}},
            {"name": "joint_pos_rel", "size": 3, "params": {}},
            {"name": "joint_vel", "size": 3, "params": {}},
            {"name": "last_action", "size": 2, "params": {}},
        ],
        "history_length": 1,
    },
    "commands": {
        "base_velocity": {
            "type": "velocity",
            "size": 3,
            "ranges": {"lin_vel_x": [-1.0, 1.0], "lin_vel_y": [-0.5, 0.5], "ang_vel_z": [-1.0, 1.0]},
        }
    },
    "joints": {
        "names": NAMES,
        "default_pos": DEFAULT_POS,
        "stiffness": [20.0, 25.0, 30.0],
        "damping": [0.5, 0.6, 0.7],
        "effort_limit": [30.0, 30.0, 30.0],
        "motor_order": MOTOR_ORDER,
    },
    "action": {"type": "joint_position", "joints": ["hip", "knee"], "scale": 0.5, "offset": [0.1, -0.8], "clip": 5.0},
    "safety": {
        "joint_pos_limits": [[-1.0, 1.0], [-2.0, 0.5], [-1.0, 1.0]],
        "joint_vel_limits": [10.0, 10.0, 10.0],
        "pos_limit_margin": 0.1,
        "max_tilt_rad": 0.8,
        "soft_start_s": 0.0,
        "safe_stop": "hold",
        "hold_kp": [40.0, 41.0, 42.0],
        "hold_kd": [1.0, 1.1, 1.2],
        "max_consecutive_misses": 3,
    },
}


def bundle_dict(**changes) -> dict:
    """A deep copy of :data:`BASE`; ``changes`` maps a dotted key ("safety.soft_start_s") to its new value."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        table = data
        *parents, key = dotted.split(".")
        for parent in parents:
            table = table[parent]
        table[key] = value
    return data


def make_bundle(**changes) -> Bundle:
    """The :class:`Bundle` of :func:`bundle_dict` (no model files; for the safety layer and observations)."""
    return bundle_from_dict(bundle_dict(**changes))


def state_in_policy_order(joint_pos=DEFAULT_POS, joint_vel=(0.0, 0.0, 0.0), quat=(0.0, 0.0, 0.0, 1.0), **kwargs):
    """A :class:`RobotState` with float arrays."""
    from isaac.rl.workbench.deploy.driver import RobotState

    return RobotState(
        joint_pos=np.asarray(joint_pos, dtype=np.float64),
        joint_vel=np.asarray(joint_vel, dtype=np.float64),
        base_quat_xyzw=np.asarray(quat, dtype=np.float64),
        **kwargs,
    )


class RecordingDriver:
    """A robot standing still at ``pose`` (motor order: knee, ankle, hip) that keeps every command written to it."""

    motor_names = MOTOR_ORDER

    def __init__(self, pose=(-0.8, 0.0, 0.1)):
        self.pose = np.asarray(pose, dtype=np.float64)
        self.commands: list = []

    def read_state(self):
        from isaac.rl.workbench.deploy.driver import RobotState

        return RobotState(joint_pos=self.pose.copy(), joint_vel=np.zeros(3))

    def write_command(self, command) -> None:
        self.commands.append(command)

    def close(self) -> None:
        pass


def write_bundle(folder: Path, **changes) -> Bundle:
    """Export a tiny normalised MLP to ``folder/policy.onnx`` and ``policy.pt``, write ``deploy.json`` through
    ``Bundle.to_dict()`` and ``bundle_json`` (as ``export --deploy`` writes it), and load the bundle back."""
    data = bundle_dict(**changes)
    export_models(folder, data["policy"]["obs_dim"], data["policy"]["num_actions"])
    (folder / "deploy.json").write_text(bundle_json(bundle_from_dict(data).to_dict()))
    return load_bundle(folder)


def export_models(folder: Path, obs_dim: int, num_actions: int) -> None:
    """Export a tiny normalised MLP (obs_dim -> num_actions) to ``folder/policy.onnx`` and ``folder/policy.pt``."""
    torch.manual_seed(0)
    model = NormalisedMlp(obs_dim, num_actions).eval()
    folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # its notes about torchvision not being installed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.onnx.export(
            model,
            (torch.zeros(2, obs_dim),),
            None,
            input_names=["obs"],
            output_names=["actions"],
            opset_version=18,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        (folder / "policy.onnx").write_bytes(program.model_proto.SerializeToString())
        torch.jit.save(torch.jit.script(model), str(folder / "policy.pt"))


class NormalisedMlp(torch.nn.Module):
    """obs (B, obs_dim) -> normalise with a fixed mean and std -> 32 ELU -> actions (B, A)."""

    def __init__(self, obs_dim: int, num_actions: int):
        super().__init__()
        self.register_buffer("mean", torch.linspace(-0.2, 0.2, obs_dim))
        self.register_buffer("std", torch.linspace(0.5, 2.0, obs_dim))
        self.net = torch.nn.Sequential(torch.nn.Linear(obs_dim, 32), torch.nn.ELU(), torch.nn.Linear(32, num_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net((obs - self.mean) / self.std)


def linear_onnx(obs_dim: int | str, num_actions: int, weight: float = 0.1) -> bytes:
    """An ONNX model obs (batch, obs_dim) -> obs @ W, W (obs_dim, num_actions) filled with ``weight``; ``obs_dim`` may
    be a symbolic name (the model's input size unknown until it runs), W then has 16 rows."""
    rows = obs_dim if isinstance(obs_dim, int) else 16
    weights = onnx.helper.make_tensor("W", onnx.TensorProto.FLOAT, [rows, num_actions], [weight] * (rows * num_actions))
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["obs", "W"], ["actions"])],
        "linear",
        [onnx.helper.make_tensor_value_info("obs", onnx.TensorProto.FLOAT, ["batch", obs_dim])],
        [onnx.helper.make_tensor_value_info("actions", onnx.TensorProto.FLOAT, ["batch", num_actions])],
        [weights],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()
