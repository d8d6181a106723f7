"""Load the bundle's policy for one observation at a time on the CPU: ONNX Runtime, or TorchScript (torch imported
only then). Both models hold the observation normaliser: they take the raw observation.

A recurrent policy (``policy.recurrent`` in ``deploy.json``: ``rnn_type``, ``num_layers`` L, ``hidden_dim`` H) keeps
its hidden state between calls: the ONNX model's ``h_in``/``c_in`` (L, 1, H) are fed each step's ``h_out``/``c_out``,
the TorchScript model keeps its own; :meth:`Policy.reset` sets it back to zeros (a new start)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .bundle import Bundle, BundleError

BACKENDS = ("onnxruntime", "torchscript")
"""The inference back ends :func:`load_policy` knows."""


class Policy:
    """A loaded policy: ``policy(obs)`` maps an observation (obs_dim,) to the deterministic action (A,), float32.

    Attributes:
        backend: "onnxruntime" or "torchscript".
        path: the model file.
        obs_dim: length of the observation.
        num_actions: A.
    """

    def __init__(self, backend: str, path: Path, obs_dim: int, num_actions: int, run, reset=None):
        self.backend, self.path, self.obs_dim, self.num_actions = backend, path, obs_dim, num_actions
        self._run = run
        self._reset = reset

    @property
    def recurrent(self) -> bool:
        """True when the policy carries a hidden state from one call to the next."""
        return self._reset is not None

    def reset(self) -> None:
        """Zero a recurrent policy's hidden state (a new start); nothing for a feed-forward one."""
        if self._reset is not None:
            self._reset()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Run the model on one observation (obs_dim,) [or (1, obs_dim)]; returns the action (A,) float32."""
        obs = np.ascontiguousarray(obs, dtype=np.float32).reshape(1, -1)
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"the policy {self.path.name} takes {self.obs_dim} observation values, got {obs.shape[1]}")
        action = np.asarray(self._run(obs), dtype=np.float32).reshape(-1)
        if action.shape != (self.num_actions,):
            raise ValueError(f"the policy {self.path.name} returned {action.size} values, expected {self.num_actions}")
        return action


def onnx_session(model: Path | str | bytes, threads: int = 1):
    """An ONNX Runtime CPU session for the model file ``model`` (or its bytes) with ``threads`` intra-op threads
    (0: ONNX Runtime's default), sequential execution."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4  # fatal only: its errors reach the caller as exceptions
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def load_policy(bundle: Bundle, backend: str = "onnxruntime", threads: int | None = 1) -> Policy:
    """Load ``bundle``'s model for ``backend`` and check it fits the bundle, before the runtime sends a command.

    The model must load (an empty, random or foreign file is refused), take one observation input of
    ``policy.obs_dim`` values and give ``policy.num_actions`` actions (ONNX: from the model's input and output
    shapes, whose batch dimension may be symbolic), and answer a zero observation with finite actions (one dry run).

    Args:
        bundle: the deployment bundle (``policy.onnx`` / ``policy.pt`` under ``bundle.root``).
        backend: "onnxruntime" (``policy.onnx``) or "torchscript" (``policy.pt``).
        threads: CPU threads for one inference (ONNX Runtime's intra-op threads; for TorchScript
            ``torch.set_num_threads``, which holds for the whole process); None leaves the library's default.

    Raises:
        BundleError: an unknown back end, a missing or unreadable model file, or a model that does not fit the
            bundle (the message names the file, the key of ``deploy.json`` and both sizes).
    """
    if backend not in BACKENDS:
        raise BundleError(f"unknown policy back end {backend!r}; expected one of {', '.join(BACKENDS)}")
    key = "policy.onnx" if backend == "onnxruntime" else "policy.torchscript"
    path = bundle.onnx_path if backend == "onnxruntime" else bundle.torchscript_path
    if not path.is_file():
        raise BundleError(f"{path}: the bundle has no {backend} model file here ('{key}' in {bundle.source})", key)
    obs_dim, num_actions = int(bundle.policy["obs_dim"]), int(bundle.policy["num_actions"])
    recurrent = bundle.policy.get("recurrent")
    if backend == "onnxruntime":
        run, reset = _onnx_run(bundle, path, threads)
    else:
        run, reset = _torchscript_run(path, threads, recurrent is not None)
    try:
        action = np.asarray(run(np.zeros((1, obs_dim), dtype=np.float32)), dtype=np.float32).reshape(-1)
    except Exception as exc:  # the model's own error for an input it cannot take
        raise BundleError(
            f"{path}: does not run on an observation of {obs_dim} values ('policy.obs_dim' in {bundle.source}): "
            f"{_first_line(exc)}",
            "policy.obs_dim",
        ) from None
    if action.size != num_actions:
        raise BundleError(
            f"{path}: gives {action.size} actions for one observation, but 'policy.num_actions' in {bundle.source} "
            f"is {num_actions}",
            "policy.num_actions",
        )
    if not np.all(np.isfinite(action)):
        raise BundleError(f"{path}: gives non-finite actions {action.tolist()} for a zero observation", key)
    if reset is not None:
        reset()  # the dry run's step left a hidden state
    return Policy(backend, path, obs_dim, num_actions, run, reset)


def _first_line(exc: BaseException) -> str:
    """``exc``'s message cut to one line: ONNX Runtime's without its ``[ONNXRuntimeError] : 7 : NAME :`` and ``Load
    model from ... failed:`` prefixes, another library's to its first sentence."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if text.startswith("[ONNXRuntimeError]"):
        text = text.split(" : ", 3)[-1]
        return text.split("failed:", 1)[-1].strip() if text.startswith("Load model from") else text
    return text.split(". ", 1)[0]


def _onnx_run(bundle: Bundle, path: Path, threads: int | None):
    """The ONNX model's run function (obs (1, obs_dim) float32 -> actions) and, for a recurrent policy, its reset
    function (None otherwise); its input and output shapes checked."""
    try:
        session = onnx_session(path, threads or 0)
    except Exception as exc:  # ONNX Runtime's InvalidProtobuf, InvalidArgument, ... (its own exception classes)
        raise BundleError(f"{path}: not a readable ONNX model ({_first_line(exc)})", "policy.onnx") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    recurrent = bundle.policy.get("recurrent")
    state_names = (["h_in", "c_in"] if recurrent["rnn_type"] == "lstm" else ["h_in"]) if recurrent else []
    names = [i.name for i in inputs]
    if len(inputs) != 1 + len(state_names) or names[1:] != state_names:
        expected = f"['<observation>', {', '.join(repr(n) for n in state_names)}] (policy.recurrent)"
        raise BundleError(
            f"{path}: has {len(inputs)} inputs {names}, expected {expected if recurrent else 'one (the observation)'}",
            "policy.onnx",
        )
    if inputs[0].type != "tensor(float)":
        raise BundleError(
            f"{path}: its input '{inputs[0].name}' is {inputs[0].type}, expected tensor(float)", "policy.onnx"
        )
    for what, value, key in (("input", inputs[0], "policy.obs_dim"), ("output", outputs[0], "policy.num_actions")):
        size, shape = int(bundle.policy[key.split(".")[1]]), list(value.shape)
        if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != size):
            raise BundleError(
                f"{path}: its {what} '{value.name}' has shape {shape}, but '{key}' in {bundle.source} is {size}: "
                f"expected [batch, {size}]",
                key,
            )
    input_name = inputs[0].name
    if not recurrent:
        return (lambda obs: session.run(None, {input_name: obs})[0]), None
    shape = (int(recurrent["num_layers"]), 1, int(recurrent["hidden_dim"]))
    state = [np.zeros(shape, np.float32) for _ in state_names]

    def run(obs: np.ndarray) -> np.ndarray:
        action, *new_state = session.run(None, {input_name: obs, **dict(zip(state_names, state, strict=True))})
        state[:] = new_state
        return action

    def reset() -> None:
        state[:] = [np.zeros(shape, np.float32) for _ in state_names]

    return run, reset


def _torchscript_run(path: Path, threads: int | None, recurrent: bool):
    """The TorchScript model's run function (obs (1, obs_dim) float32 -> actions) and, for a recurrent policy, its
    ``reset`` (None otherwise); torch is imported here."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings():  # torch 2.10+ marks TorchScript deprecated; it still loads and runs
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:  # RuntimeError, ValueError, ... for a file that is not a TorchScript archive
        raise BundleError(
            f"{path}: not a readable TorchScript model ({_first_line(exc)})", "policy.torchscript"
        ) from None
    if recurrent and not hasattr(model, "reset"):
        raise BundleError(f"{path}: has no reset() for its hidden state (policy.recurrent)", "policy.torchscript")

    def run(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(obs)).numpy()

    return run, (model.reset if recurrent else None)
