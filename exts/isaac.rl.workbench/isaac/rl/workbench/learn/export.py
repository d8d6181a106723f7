"""Export a trained rsl-rl actor to ONNX and TorchScript and prove both match the training policy.

``export_policy`` writes ``policy.onnx`` (input ``"obs"`` of shape (batch, obs_dim) with a dynamic batch dimension,
output ``"actions"`` of shape (batch, num_actions)) and ``policy.pt`` (TorchScript, ``forward(obs) -> actions``).
Both contain the observation normaliser, run on the CPU and return the deterministic action.

Before anything is written, the serialized models are loaded back (ONNX Runtime on the CPU, ``torch.jit.load``) and
run on a batch of recorded observations; their outputs are compared with the training policy's. When either differs by
more than ``atol`` an ``ExportError`` is raised and nothing is written, so an earlier good export is never replaced by
a bad one. Otherwise the two models and ``parity.json`` are written, each atomically.

The ONNX model comes from the ``torch.export``-based exporter (``dynamo=True``), opset 18.

A recurrent actor (rsl-rl's ``RNNModel``: LSTM or GRU) is exported with its hidden state
(:mod:`.recurrent_export`): the ONNX model takes and returns it (``h_in``/``c_in`` -> ``h_out``/``c_out``), the
TorchScript model keeps it (``reset()`` zeros it). Its parity check runs the first :data:`RECURRENT_PARITY_STEPS`
recorded rows as the steps of one env, the state carried from zeros, through the training policy and both files.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from tensordict import TensorDict

from ..utils.atomic import write_atomically
from .recurrent_export import onnx_bytes as recurrent_onnx_bytes
from .recurrent_export import (
    recurrent_layout,
    reference_sequence,
    run_onnx_sequence,
    run_torchscript_sequence,
)

ONNX_OPSET = 18
"""ONNX opset version of the exported policy."""
RECURRENT_PARITY_STEPS = 256
"""Steps of a recurrent policy's parity check (one inference each, on the CPU)."""


class ExportError(RuntimeError):
    """The policy could not be exported, or an exported model disagrees with the training policy."""


def export_policy(actor: torch.nn.Module, observations: TensorDict, out_dir: Path, atol: float = 1e-5) -> dict:
    """Export ``actor`` to ``out_dir/policy.onnx`` and ``out_dir/policy.pt`` after checking output parity.

    Args:
        actor: The trained policy, an ``rsl_rl.models.MLPModel`` or ``RNNModel``; it reads the observation groups
            ``actor.obs_groups``, concatenated in that order. It is not modified (all work happens on a deep copy).
        observations: Recorded observations, batch (M,), M >= 1; group ``g`` has shape (M, dim_g).
        out_dir: Folder for ``policy.onnx``, ``policy.pt`` and ``parity.json``; created when missing.
        atol: Largest accepted absolute difference between the actions of an exported model and the training policy.

    Returns:
        The parity report, also written to ``parity.json``: ``num_observations`` (M), ``obs_dim``, ``num_actions``,
        ``max_abs_diff_onnx``, ``max_abs_diff_torchscript``, ``atol``, ``obs_groups`` and, for a recurrent actor,
        ``recurrent`` (``rnn_type``, ``num_layers``, ``hidden_dim``; M is then at most 256, the steps checked).

    Raises:
        ExportError: An observation group is missing or malformed, or an exported model's
            actions differ from the training policy's by more than ``atol`` (nothing is written then).
    """
    obs_groups = [str(group) for group in actor.obs_groups]
    groups = _select_groups(observations, obs_groups)
    recurrent = bool(getattr(actor, "is_recurrent", False))
    if recurrent:
        groups = groups[:RECURRENT_PARITY_STEPS]
    obs = torch.cat([groups[group] for group in obs_groups], dim=-1)

    reference = copy.deepcopy(actor).to("cpu").eval()
    torchscript_bytes = _torchscript_bytes(reference)
    if recurrent:
        layout = recurrent_layout(reference)
        expected = reference_sequence(reference, groups)
        onnx_bytes = recurrent_onnx_bytes(reference, obs.shape[1], layout, _quiet_export, ONNX_OPSET)
        actual_onnx = run_onnx_sequence(onnx_bytes, obs, layout)
        with _quiet_export():
            scripted = torch.jit.load(io.BytesIO(torchscript_bytes), map_location="cpu")
        actual_torchscript = run_torchscript_sequence(scripted, obs)
    else:
        with torch.no_grad():
            expected = reference(groups).float()
        onnx_bytes = _onnx_bytes(reference, obs.shape[1])
        actual_onnx, actual_torchscript = _run_onnx(onnx_bytes, obs), _run_torchscript(torchscript_bytes, obs)

    diff_onnx = _max_abs_diff(actual_onnx, expected, "ONNX")
    diff_torchscript = _max_abs_diff(actual_torchscript, expected, "TorchScript")
    report = {
        "num_observations": int(obs.shape[0]),
        "obs_dim": int(obs.shape[1]),
        "num_actions": int(expected.shape[1]),
        "max_abs_diff_onnx": diff_onnx,
        "max_abs_diff_torchscript": diff_torchscript,
        "atol": float(atol),
        "obs_groups": obs_groups,
    }
    if recurrent:
        report["recurrent"] = layout
    worst_name, worst = max((("ONNX", diff_onnx), ("TorchScript", diff_torchscript)), key=lambda item: item[1])
    if not worst <= atol:  # also catches NaN
        raise ExportError(
            f"{worst_name} export differs from the training policy by {worst:.3g} (atol {atol:.3g}) on "
            f"{report['num_observations']} recorded observations; nothing was written to {out_dir}"
        )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parity = (json.dumps(report, indent=2) + "\n").encode()
    for name, data in (("policy.onnx", onnx_bytes), ("policy.pt", torchscript_bytes), ("parity.json", parity)):
        write_atomically(out_dir / name, lambda tmp, data=data: tmp.write_bytes(data))
    return report


def _select_groups(observations: TensorDict, obs_groups: list[str]) -> TensorDict:
    """Return the groups the actor reads, each (M, dim_g) float32 on the CPU, as a TensorDict of batch (M,)."""
    if not obs_groups:
        raise ExportError("the actor reads no observation groups")
    missing = [group for group in obs_groups if group not in observations.keys()]
    if missing:
        raise ExportError(f"observations lack the groups {missing} that the actor reads ({obs_groups})")
    groups = {group: observations[group].detach().to("cpu", torch.float32) for group in obs_groups}
    for group, value in groups.items():
        if value.ndim != 2 or value.shape[0] == 0:
            raise ExportError(f"observation group '{group}' must have shape (M >= 1, dim), got {tuple(value.shape)}")
    return TensorDict(groups, batch_size=[next(iter(groups.values())).shape[0]])


def _onnx_bytes(reference: torch.nn.Module, obs_dim: int) -> bytes:
    """Serialize ``reference.as_onnx()`` as an ONNX model with input "obs" (batch, obs_dim), output "actions"."""
    model = reference.as_onnx(verbose=False).to("cpu").eval()
    example = (torch.zeros(2, obs_dim),)  # a batch of 2, so the exporter does not specialise the batch to 1
    with _quiet_export():
        program = torch.onnx.export(
            model,
            example,
            None,
            input_names=["obs"],
            output_names=["actions"],
            opset_version=ONNX_OPSET,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    if program is None:
        raise ExportError("torch.onnx.export returned no ONNX program")
    return program.model_proto.SerializeToString()


def _torchscript_bytes(reference: torch.nn.Module) -> bytes:
    """Serialize ``torch.jit.script(reference.as_jit())``, whose ``forward`` maps (batch, obs_dim) to actions."""
    with _quiet_export():
        scripted = torch.jit.script(reference.as_jit().to("cpu").eval())
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
    return buffer.getvalue()


def _run_onnx(model_bytes: bytes, obs: torch.Tensor) -> torch.Tensor:
    """Run the serialized ONNX model with ONNX Runtime on the CPU; returns the actions (M, num_actions)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (actions,) = session.run(["actions"], {"obs": obs.numpy()})
    return torch.from_numpy(actions)


def _run_torchscript(model_bytes: bytes, obs: torch.Tensor) -> torch.Tensor:
    """Load the serialized TorchScript model on the CPU and run it; returns the actions (M, num_actions)."""
    with _quiet_export():
        model = torch.jit.load(io.BytesIO(model_bytes), map_location="cpu")
    with torch.no_grad():
        return model(obs)


def _max_abs_diff(actual: torch.Tensor, expected: torch.Tensor, name: str) -> float:
    """Largest absolute difference between two (M, num_actions) tensors; NaN when either holds a NaN."""
    if actual.shape != expected.shape:
        raise ExportError(f"{name} export returns actions of shape {tuple(actual.shape)}, not {tuple(expected.shape)}")
    return float((actual.float() - expected).abs().max())


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' deprecation notices and their log lines about optional packages (torchvision)."""
    onnx_logger = logging.getLogger("torch.onnx")
    level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        onnx_logger.setLevel(level)
