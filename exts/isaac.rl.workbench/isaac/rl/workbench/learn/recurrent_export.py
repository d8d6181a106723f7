"""The recurrent (LSTM / GRU) side of :mod:`.export`: serialize rsl-rl's ``RNNModel`` with its hidden state as
explicit inputs and outputs (ONNX) or as a state the model keeps (TorchScript), and run both one step at a time.

Shapes: L = ``rnn_num_layers``, H = ``rnn_hidden_dim``, B = batch.

- ONNX: inputs ``"obs"`` (B, obs_dim), ``"h_in"`` (L, B, H) and, for an LSTM, ``"c_in"`` (L, B, H); outputs
  ``"actions"`` (B, A), ``"h_out"`` and, for an LSTM, ``"c_out"`` (L, B, H). The caller carries the state: zeros at
  the start of an episode, each step's ``*_out`` fed back as the next step's ``*_in``.
- TorchScript: ``forward(obs (1, obs_dim)) -> actions (1, A)`` keeps the state inside the model (batch 1);
  ``reset()`` sets it back to zeros (rsl-rl's own ``as_jit()`` model).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from tensordict import TensorDict


def recurrent_layout(actor: torch.nn.Module) -> dict:
    """``{"rnn_type": "lstm" | "gru", "num_layers": L, "hidden_dim": H}`` of an rsl-rl ``RNNModel``."""
    rnn = actor.rnn.rnn
    return {
        "rnn_type": "lstm" if isinstance(rnn, torch.nn.LSTM) else "gru",
        "num_layers": int(rnn.num_layers),
        "hidden_dim": int(rnn.hidden_size),
    }


def state_names(rnn_type: str) -> list[str]:
    """The state inputs of the ONNX model, in order: ``["h_in", "c_in"]`` (LSTM) or ``["h_in"]`` (GRU); each output
    is named with ``_out`` for ``_in``."""
    return ["h_in", "c_in"] if rnn_type == "lstm" else ["h_in"]


class _OnnxStep(torch.nn.Module):
    """rsl-rl's ONNX wrapper of an ``RNNModel`` with only the outputs that exist (a GRU has no cell state)."""

    def __init__(self, reference: torch.nn.Module):
        super().__init__()
        self.model = reference.as_onnx(verbose=False)

    def forward(
        self, obs: torch.Tensor, h_in: torch.Tensor, c_in: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        outputs = self.model(obs, h_in, c_in)
        return tuple(out for out in outputs if out is not None)


def onnx_bytes(reference: torch.nn.Module, obs_dim: int, layout: dict, quiet, opset: int) -> bytes:
    """Serialize the recurrent ``reference`` as ONNX (module docstring) with a dynamic batch dimension."""
    model = _OnnxStep(reference).to("cpu").eval()
    names = state_names(layout["rnn_type"])
    batch = torch.export.Dim("batch")
    state = tuple(torch.zeros(layout["num_layers"], 2, layout["hidden_dim"]) for _ in names)
    with quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the exporter's notes on the LSTM's flat weights
        program = torch.onnx.export(
            model,
            (torch.zeros(2, obs_dim), *state),
            None,
            input_names=["obs", *names],
            output_names=["actions", *(name.replace("_in", "_out") for name in names)],
            opset_version=opset,
            dynamic_shapes={"obs": {0: batch}, **{name: {1: batch} for name in names}},
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    return program.model_proto.SerializeToString()


def reference_sequence(reference: torch.nn.Module, groups: TensorDict) -> torch.Tensor:
    """The training policy's actions (M, A) for the M rows of ``groups`` taken as M steps of one env, from a zero
    hidden state."""
    reference.reset()
    with torch.no_grad():
        actions = [reference(groups[i : i + 1]).float() for i in range(groups.batch_size[0])]
    reference.reset()
    return torch.cat(actions)


def run_onnx_sequence(model_bytes: bytes, obs: torch.Tensor, layout: dict) -> torch.Tensor:
    """Run the serialized ONNX model with ONNX Runtime over the rows of ``obs`` (M, obs_dim) as M steps of one env,
    the state carried from zeros; returns the actions (M, A)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = state_names(layout["rnn_type"])
    state = [np.zeros((layout["num_layers"], 1, layout["hidden_dim"]), np.float32) for _ in names]
    actions = []
    for row in obs.numpy():
        action, *state = session.run(None, {"obs": row[None], **dict(zip(names, state, strict=True))})
        actions.append(action)
    return torch.from_numpy(np.concatenate(actions))


def run_torchscript_sequence(model: torch.jit.ScriptModule, obs: torch.Tensor) -> torch.Tensor:
    """Run the loaded TorchScript model over the rows of ``obs`` (M, obs_dim) as M steps of one env, from
    ``reset()``; returns the actions (M, A)."""
    model.reset()
    with torch.no_grad():
        actions = [model(obs[i : i + 1]) for i in range(obs.shape[0])]
    model.reset()
    return torch.cat(actions)
