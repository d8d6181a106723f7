"""The bundle's model is checked against deploy.json when it loads, before the first command: it must be a model, take
``policy.obs_dim`` values and give ``policy.num_actions`` finite actions."""

from __future__ import annotations

import os
import shutil
import warnings

import pytest
import torch
from isaac.rl.workbench.deploy.bundle import BundleError
from isaac.rl.workbench.deploy.runtime import Runtime

from .synthetic_bundle import RecordingDriver, linear_onnx

COMMANDS = {"base_velocity": [0.5, 0.0, 0.1]}


@pytest.fixture
def bundle_with(exported_bundle, tmp_path):
    """``bundle_with(onnx=bytes, torchscript=bytes)``: a copy of the synthetic bundle with those model files."""

    def make(**models: bytes):
        shutil.copytree(exported_bundle.root, tmp_path / "bundle")
        for backend, data in models.items():
            (tmp_path / "bundle" / ("policy.onnx" if backend == "onnx" else "policy.pt")).write_bytes(data)
        return tmp_path / "bundle"

    return make


def refused(folder, backend: str = "onnxruntime") -> BundleError:
    """Load ``folder`` into a runtime and run it on a recording driver; the BundleError, after checking that no
    command was sent and the message is one line naming the model file."""
    driver = RecordingDriver()
    with pytest.raises(BundleError) as caught:
        Runtime(folder, backend=backend).run(driver, 0.1, COMMANDS, realtime=False)
    assert driver.commands == []
    message = str(caught.value)
    assert "\n" not in message and str(folder / ("policy.onnx" if backend == "onnxruntime" else "policy.pt")) in message
    return caught.value


def test_the_exported_model_and_a_matching_linear_one_load_and_run(bundle_with):
    driver = RecordingDriver()
    Runtime(bundle_with(onnx=linear_onnx(17, 2))).run(driver, 0.1, COMMANDS, realtime=False)
    assert len(driver.commands) == 5


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not a readable ONNX model (No graph was found in the protobuf.)"),
        (os.urandom(4096), "not a readable ONNX model"),
        (b"policy weights, not a model", "not a readable ONNX model"),
    ],
    ids=["empty", "random", "text"],
)
def test_a_file_that_is_not_an_onnx_model_is_refused(bundle_with, data, words):
    error = refused(bundle_with(onnx=data))
    assert words in str(error) and error.key == "policy.onnx"


def test_an_onnx_policy_of_another_input_size_is_refused_from_its_shape(bundle_with):
    error = refused(bundle_with(onnx=linear_onnx(16, 2)))
    assert error.key == "policy.obs_dim"
    assert "input 'obs' has shape ['batch', 16], but 'policy.obs_dim'" in str(error) and "is 17" in str(error)


def test_an_onnx_policy_of_another_output_size_is_refused(bundle_with):
    error = refused(bundle_with(onnx=linear_onnx(17, 3)))
    assert error.key == "policy.num_actions" and "output 'actions' has shape ['batch', 3]" in str(error)


def test_a_symbolic_input_size_is_checked_by_a_dry_run(bundle_with):
    error = refused(bundle_with(onnx=linear_onnx("features", 2)))
    assert error.key == "policy.obs_dim" and "does not run on an observation of 17 values" in str(error)


def test_a_policy_with_nan_weights_is_refused(bundle_with):
    error = refused(bundle_with(onnx=linear_onnx(17, 2, weight=float("nan"))))
    assert "gives non-finite actions [nan, nan] for a zero observation" in str(error)


def torchscript_linear(obs_dim: int, num_actions: int, folder) -> bytes:
    """A scripted torch.nn.Linear(obs_dim, num_actions), as the bytes of a policy.pt."""
    with warnings.catch_warnings():  # torch 2.10+ marks TorchScript deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Linear(obs_dim, num_actions)), str(folder / "linear.pt"))
    return (folder / "linear.pt").read_bytes()


def test_torchscript_garbage_and_wrong_sizes_are_refused(bundle_with, tmp_path):
    error = refused(bundle_with(torchscript=os.urandom(2048)), "torchscript")
    assert "not a readable TorchScript model" in str(error) and error.key == "policy.torchscript"
    shutil.rmtree(tmp_path / "bundle")
    error = refused(bundle_with(torchscript=torchscript_linear(16, 2, tmp_path)), "torchscript")
    assert error.key == "policy.obs_dim" and "does not run on an observation of 17 values" in str(error)
    shutil.rmtree(tmp_path / "bundle")
    error = refused(bundle_with(torchscript=torchscript_linear(17, 5, tmp_path)), "torchscript")
    assert error.key == "policy.num_actions" and "gives 5 actions" in str(error)
