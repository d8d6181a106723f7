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

An actor that reads images (rsl-rl's ``CNNModel``) takes each image group as an ONNX input of its own, named after
the group, (batch, C, H, W), after ``"obs"`` (batch, obs_dim), the vector groups concatenated; ``"obs"`` is left out
when it reads images only. Its TorchScript model is rsl-rl's: ``forward(obs, [image, ...])``, the images in the
ONNX inputs' order (``obs`` of shape (batch, 0) when it reads images only). The parity check runs the first
:data:`IMAGE_PARITY_ROWS` recorded image observations through both.
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
IMAGE_PARITY_ROWS = 1024
"""Recorded observations the parity check of a policy that reads images runs (its images can take 50 KB a row)."""


class ExportError(RuntimeError):
    """The policy could not be exported, or an exported model disagrees with the training policy."""


def export_policy(actor: torch.nn.Module, observations: TensorDict, out_dir: Path, atol: float = 1e-5) -> dict:
    """Export ``actor`` to ``out_dir/policy.onnx`` and ``out_dir/policy.pt`` after checking output parity.

    Args:
        actor: The trained policy, an ``rsl_rl.models.MLPModel``, ``RNNModel`` or ``CNNModel``; it reads the vector
            groups ``actor.obs_groups``, concatenated in that order (and a ``CNNModel`` the image groups
            ``actor.obs_groups_2d``). It is not modified (all work happens on a deep copy).
        observations: Recorded observations, batch (M,), M >= 1; vector group ``g`` has shape (M, dim_g), an image
            group (M, C, H, W).
        out_dir: Folder for ``policy.onnx``, ``policy.pt`` and ``parity.json``; created when missing.
        atol: Largest accepted absolute difference between the actions of an exported model and the training policy.

    Returns:
        The parity report, also written to ``parity.json``: ``num_observations`` (M), ``obs_dim``, ``num_actions``,
        ``max_abs_diff_onnx``, ``max_abs_diff_torchscript``, ``atol``, ``obs_groups`` (the vector groups), for a
        recurrent actor ``recurrent`` (``rnn_type``, ``num_layers``, ``hidden_dim``; M is then at most 256, the
        steps checked) and, for one that reads images, ``image_inputs`` (group -> [C, H, W], in input order; M is
        then at most 1024).

    Raises:
        ExportError: An observation group is missing or malformed, or an exported model's
            actions differ from the training policy's by more than ``atol`` (nothing is written then).
    """
    obs_groups = [str(group) for group in actor.obs_groups]
    image_groups = [str(group) for group in getattr(actor, "obs_groups_2d", [])]  # a CNNModel's
    groups = _select_groups(observations, obs_groups, image_groups)
    recurrent = bool(getattr(actor, "is_recurrent", False))
    if recurrent:
        groups = groups[:RECURRENT_PARITY_STEPS]
    if image_groups:
        groups = groups[:IMAGE_PARITY_ROWS]
    rows = groups.batch_size[0]
    obs = torch.cat([groups[group] for group in obs_groups], dim=-1) if obs_groups else torch.zeros(rows, 0)
    images = [groups[group] for group in image_groups]

    reference = _copy_without_sampling_state(actor).to("cpu").eval()
    torchscript_bytes = _torchscript_bytes(reference)
    if recurrent:
        layout = recurrent_layout(reference)
        expected = reference_sequence(reference, groups)
        onnx_bytes = recurrent_onnx_bytes(reference, obs.shape[1], layout, _quiet_export, ONNX_OPSET)
        actual_onnx = run_onnx_sequence(onnx_bytes, obs, layout)
        with _quiet_export():
            scripted = torch.jit.load(io.BytesIO(torchscript_bytes), map_location="cpu")
        actual_torchscript = run_torchscript_sequence(scripted, obs)
    elif images:
        with torch.no_grad():
            expected = reference(groups).float()
        onnx_bytes = _image_onnx_bytes(reference, obs.shape[1], images)
        feeds = ({"obs": obs} if obs_groups else {}) | dict(zip(image_groups, images, strict=True))
        actual_onnx = _run_onnx(onnx_bytes, feeds)
        actual_torchscript = _run_torchscript(torchscript_bytes, obs, images)
    else:
        with torch.no_grad():
            expected = reference(groups).float()
        onnx_bytes = _onnx_bytes(reference, obs.shape[1])
        actual_onnx, actual_torchscript = _run_onnx(onnx_bytes, {"obs": obs}), _run_torchscript(torchscript_bytes, obs)

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
    if images:
        report["image_inputs"] = {
            group: list(image.shape[1:]) for group, image in zip(image_groups, images, strict=True)
        }
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


def _copy_without_sampling_state(actor: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of ``actor`` without what its last stochastic forward left: rsl-rl's distribution keeps that
    forward's ``Normal`` (or ``Beta``) and its tensors, part of an autograd graph after rsl-rl's PPO update, which
    ``copy.deepcopy`` refuses. The deterministic action needs none of it."""
    memo: dict[int, None] = {}
    for module in actor.modules():
        for value in vars(module).values():
            if isinstance(value, torch.distributions.Distribution) or (
                isinstance(value, torch.Tensor) and not value.is_leaf
            ):
                memo[id(value)] = None
    return copy.deepcopy(actor, memo)


def _select_groups(observations: TensorDict, obs_groups: list[str], image_groups: list[str]) -> TensorDict:
    """Return the groups the actor reads, each float32 on the CPU, (M, dim_g) or, for an image group,
    (M, C, H, W), as a TensorDict of batch (M,)."""
    read = obs_groups + image_groups
    if not read:
        raise ExportError("the actor reads no observation groups")
    missing = [group for group in read if group not in observations.keys()]
    if missing:
        raise ExportError(f"observations lack the groups {missing} that the actor reads ({read})")
    groups = {group: observations[group].detach().to("cpu", torch.float32) for group in read}
    for group, value in groups.items():
        image = group in image_groups
        if value.ndim != (4 if image else 2) or value.shape[0] == 0:
            expected = "(M >= 1, C, H, W)" if image else "(M >= 1, dim)"
            raise ExportError(f"observation group '{group}' must have shape {expected}, got {tuple(value.shape)}")
    return TensorDict(groups, batch_size=[next(iter(groups.values())).shape[0]])


def _onnx_bytes(reference: torch.nn.Module, obs_dim: int) -> bytes:
    """Serialize ``reference.as_onnx()`` as an ONNX model with input "obs" (batch, obs_dim), output "actions"."""
    model = reference.as_onnx(verbose=False).to("cpu").eval()
    example = (torch.zeros(2, obs_dim),)  # a batch of 2, so the exporter does not specialise the batch to 1
    return _onnx_export(model, example, ["obs"], ({0: torch.export.Dim("batch")},))


def _onnx_export(model: torch.nn.Module, example: tuple, input_names: list[str], dynamic_shapes: tuple) -> bytes:
    """``torch.onnx.export`` (dynamo, opset :data:`ONNX_OPSET`, output ``"actions"``) of ``model`` on ``example``,
    serialized."""
    with _quiet_export():
        program = torch.onnx.export(
            model,
            example,
            None,
            input_names=input_names,
            output_names=["actions"],
            opset_version=ONNX_OPSET,
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    if program is None:
        raise ExportError("torch.onnx.export returned no ONNX program")
    return program.model_proto.SerializeToString()


class _ImagePolicy(torch.nn.Module):
    """rsl-rl's ONNX model of a ``CNNModel`` with the inputs that exist: ``obs`` (batch, obs_dim) only when the
    actor reads vector groups, then one (batch, C, H, W) per image group."""

    def __init__(self, reference: torch.nn.Module, vector: bool):
        super().__init__()
        self.model = reference.as_onnx(verbose=False)
        self.vector = vector

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.vector:
            return self.model(*inputs)
        return self.model(inputs[0].new_zeros(inputs[0].shape[0], 0), *inputs)


def _image_onnx_bytes(reference: torch.nn.Module, obs_dim: int, images: list[torch.Tensor]) -> bytes:
    """Serialize a ``CNNModel`` as ONNX with inputs ``"obs"`` (batch, obs_dim; left out for obs_dim 0) and one per
    image group, named after it (batch, C, H, W), output ``"actions"``; the batch is dynamic."""
    model = _ImagePolicy(reference, obs_dim > 0).to("cpu").eval()
    names = (["obs"] if obs_dim else []) + list(reference.obs_groups_2d)
    example = ((torch.zeros(2, obs_dim),) if obs_dim else ()) + tuple(torch.zeros(2, *i.shape[1:]) for i in images)
    batch = torch.export.Dim("batch")
    return _onnx_export(model, example, names, (tuple({0: batch} for _ in example),))  # one tuple for *inputs


def _torchscript_bytes(reference: torch.nn.Module) -> bytes:
    """Serialize ``torch.jit.script(reference.as_jit())``, whose ``forward`` maps (batch, obs_dim) to actions."""
    with _quiet_export():
        scripted = torch.jit.script(reference.as_jit().to("cpu").eval())
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
    return buffer.getvalue()


def _run_onnx(model_bytes: bytes, feeds: dict[str, torch.Tensor]) -> torch.Tensor:
    """Run the serialized ONNX model with ONNX Runtime on the CPU on ``feeds`` (input name -> (M, ...)); returns the
    actions (M, num_actions)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (actions,) = session.run(["actions"], {name: value.numpy() for name, value in feeds.items()})
    return torch.from_numpy(actions)


def _run_torchscript(model_bytes: bytes, obs: torch.Tensor, images: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Load the serialized TorchScript model on the CPU and run it on ``obs`` (M, obs_dim) (and, for a CNN, the
    image groups (M, C, H, W) each); returns the actions (M, num_actions)."""
    with _quiet_export():
        model = torch.jit.load(io.BytesIO(model_bytes), map_location="cpu")
    with torch.no_grad():
        return model(obs) if images is None else model(obs, images)


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
