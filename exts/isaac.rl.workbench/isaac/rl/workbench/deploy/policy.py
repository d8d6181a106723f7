"""Load the bundle's policy for one observation at a time on the CPU: ONNX Runtime, or TorchScript (torch imported
only then). Both models hold the observation normaliser: they take the raw observation."""

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

    def __init__(self, backend: str, path: Path, obs_dim: int, num_actions: int, run):
        self.backend, self.path, self.obs_dim, self.num_actions = backend, path, obs_dim, num_actions
        self._run = run

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
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def load_policy(bundle: Bundle, backend: str = "onnxruntime", threads: int | None = 1) -> Policy:
    """Load ``bundle``'s model for ``backend``.

    Args:
        bundle: the deployment bundle (``policy.onnx`` / ``policy.pt`` under ``bundle.root``).
        backend: "onnxruntime" (``policy.onnx``) or "torchscript" (``policy.pt``).
        threads: CPU threads for one inference (ONNX Runtime's intra-op threads; for TorchScript
            ``torch.set_num_threads``, which holds for the whole process); None leaves the library's default.

    Raises:
        BundleError: an unknown back end, or the model file is missing.
    """
    if backend not in BACKENDS:
        raise BundleError(f"unknown policy back end {backend!r}; expected one of {', '.join(BACKENDS)}")
    path = bundle.onnx_path if backend == "onnxruntime" else bundle.torchscript_path
    if not path.is_file():
        raise BundleError(f"{path}: the bundle has no {backend} model file here")
    obs_dim, num_actions = int(bundle.policy["obs_dim"]), int(bundle.policy["num_actions"])
    if backend == "onnxruntime":
        session = onnx_session(path, threads or 0)
        input_name = session.get_inputs()[0].name

        def run(obs: np.ndarray) -> np.ndarray:
            return session.run(None, {input_name: obs})[0]

        return Policy(backend, path, obs_dim, num_actions, run)

    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    with warnings.catch_warnings():  # torch 2.10+ marks TorchScript deprecated; it still loads and runs
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(str(path), map_location="cpu").eval()

    def run(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(obs)).numpy()

    return Policy(backend, path, obs_dim, num_actions, run)
