"""The exported models agree across back ends; latency figures and the int8 and static-batch copies."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime
import pytest
from isaac.rl.workbench.deploy.bundle import BundleError
from isaac.rl.workbench.deploy.latency import measure_latency, random_observations, static_onnx
from isaac.rl.workbench.deploy.policy import load_policy


def test_onnxruntime_and_torchscript_give_the_same_action(exported_bundle):
    onnx_policy = load_policy(exported_bundle, "onnxruntime")
    torchscript_policy = load_policy(exported_bundle, "torchscript", threads=None)
    observations = random_observations(exported_bundle, 32, seed=1)
    actions = np.stack([onnx_policy(obs) for obs in observations])
    assert actions.shape == (32, 2) and actions.dtype == np.float32 and np.ptp(actions, axis=0).min() > 0.01
    np.testing.assert_allclose(np.stack([torchscript_policy(obs) for obs in observations]), actions, atol=1e-5)


def test_policy_rejects_a_wrong_observation_size_and_an_unknown_backend(exported_bundle):
    with pytest.raises(ValueError, match="takes 17 observation values, got 16"):
        load_policy(exported_bundle)(np.zeros(16))
    with pytest.raises(BundleError, match="tensorrt"):
        load_policy(exported_bundle, "tensorrt")


def test_measure_latency_gives_finite_figures_and_a_small_int8_error(exported_bundle):
    figures = measure_latency(exported_bundle, iterations=200, warmup=20)
    for backend in ("onnxruntime", "torchscript", "onnx_int8"):
        median, p99 = figures[backend]["median_us"], figures[backend]["p99_us"]
        assert 0 < median <= p99 and math.isfinite(p99), (backend, figures[backend])
    int8 = figures["onnx_int8"]
    assert 0 < int8["mean_abs_action_error"] <= int8["max_abs_action_error"] < 0.05, int8


def test_static_onnx_fixes_the_batch_to_one_and_keeps_the_actions(exported_bundle, tmp_path):
    written = static_onnx(exported_bundle, tmp_path / "policy_static.onnx")
    assert written == [tmp_path / "policy_static.onnx"]
    assert [p.name for p in tmp_path.iterdir()] == ["policy_static.onnx"]  # no temporary file left behind
    assert written[0].stat().st_mode & 0o777 == 0o644
    model = onnx.load(str(written[0]))
    for value, size in ((model.graph.input[0], 17), (model.graph.output[0], 2)):
        assert [d.dim_value for d in value.type.tensor_type.shape.dim] == [1, size]
        assert not any(d.dim_param for d in value.type.tensor_type.shape.dim)
    session = onnxruntime.InferenceSession(str(written[0]), providers=["CPUExecutionProvider"])
    obs = random_observations(exported_bundle, 1, seed=2)
    np.testing.assert_allclose(session.run(None, {"obs": obs})[0][0], load_policy(exported_bundle)(obs[0]), atol=1e-6)
    with pytest.raises(Exception, match="(?i)dimension|shape|got"):
        session.run(None, {"obs": np.zeros((2, 17), np.float32)})
