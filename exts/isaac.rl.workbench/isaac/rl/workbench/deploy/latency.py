"""How fast the bundle's policy runs on this computer's CPU, what int8 weights cost in accuracy, and a static-shape
ONNX copy for TensorRT (``trtexec --onnx=policy_static.onnx --saveEngine=policy.engine``).

Latency is one observation per call, as the control loop runs it, after ``warmup`` untimed calls: median and 99th
percentile in microseconds.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from .bundle import Bundle, BundleError
from .driver import RobotState
from .observations import ObservationBuilder
from .policy import Policy, load_policy, onnx_session
from .robot_log import write_file_atomically


def random_observations(bundle: Bundle, count: int, seed: int = 0) -> np.ndarray:
    """``count`` observations (count, obs_dim) float32 of the kind a robot gives: joints uniform within their
    limits (default +- 1 rad where a limit is infinite), speeds within +-5 rad/s and their limits, the base tilted up
    to 0.5 rad, body rates and speeds of about 0.5, commands uniform within their ranges, actions of about 1."""
    rng = np.random.default_rng(seed)
    default = np.asarray(bundle.joints["default_pos"], dtype=np.float64)
    limits = np.asarray(bundle.safety.joint_pos_limits, dtype=np.float64).reshape(-1, 2)
    low = np.where(np.isfinite(limits[:, 0]), limits[:, 0], default - 1.0)
    high = np.where(np.isfinite(limits[:, 1]), limits[:, 1], default + 1.0)
    vel_limits = np.asarray(bundle.safety.joint_vel_limits, dtype=np.float64)
    speed = np.where(vel_limits > 0, np.minimum(np.nan_to_num(vel_limits, nan=5.0), 5.0), 5.0)
    clip = bundle.action.get("clip") or 3.0
    builder = ObservationBuilder(bundle)
    out = np.empty((count, builder.obs_dim), dtype=np.float32)
    for i in range(count):
        builder.reset()
        for _ in range(bundle.history_length):
            axis = rng.normal(size=3)
            half_angle = rng.uniform(0.0, 0.5) / 2
            quat = np.append(axis / np.linalg.norm(axis) * np.sin(half_angle), np.cos(half_angle))
            state = RobotState(
                joint_pos=rng.uniform(low, high),
                joint_vel=rng.uniform(-speed, speed),
                base_quat_xyzw=quat,
                base_ang_vel_b=rng.normal(scale=0.5, size=3),
                base_lin_vel_b=rng.normal(scale=0.5, size=3),
            )
            commands = {name: _random_command(spec, rng) for name, spec in bundle.commands.items()}
            action = np.clip(rng.normal(size=int(bundle.policy["num_actions"])), -clip, clip)
            out[i] = builder.build(state, commands, action)
    return out


def _random_command(spec: dict, rng: np.random.Generator) -> np.ndarray:
    """A command drawn uniformly within ``spec["ranges"]`` (components in the order of its type); +-1 otherwise."""
    size = int(spec.get("size", 3))
    keys = ("x", "y", "z") if spec.get("type") == "position" else ("lin_vel_x", "lin_vel_y", "ang_vel_z")
    ranges = spec.get("ranges") or {}
    bounds = [ranges.get(k, (-1.0, 1.0)) for k in keys[:size]] + [(-1.0, 1.0)] * max(0, size - len(keys))
    return np.array([rng.uniform(lo, hi) for lo, hi in bounds])


def _time_policy(policy: Policy, observations: np.ndarray, iterations: int, warmup: int) -> dict:
    """Median and p99 [us] of ``iterations`` single-observation calls, after ``warmup`` untimed ones."""
    for i in range(warmup):
        policy(observations[i % len(observations)])
    times = np.empty(iterations)
    for i in range(iterations):
        obs = observations[i % len(observations)]
        began = time.perf_counter_ns()
        policy(obs)
        times[i] = time.perf_counter_ns() - began
    times_us = times / 1e3
    return {"median_us": float(np.median(times_us)), "p99_us": float(np.percentile(times_us, 99))}


def measure_latency(bundle: Bundle, iterations: int = 2000, warmup: int = 200, seed: int = 0) -> dict:
    """CPU inference latency of the bundle's policy, one observation per call.

    Returns:
        ``{"onnxruntime": {...}, "torchscript": {...}, "onnx_int8": {...}, "iterations", "warmup"}``; each back end
        holds ``median_us`` and ``p99_us`` (ONNX Runtime with 1 intra-op thread, TorchScript with 1 torch thread);
        TorchScript holds ``skipped`` (why) instead when ``policy.pt`` or torch is missing. ``onnx_int8`` (weights
        quantised to int8 by ``onnxruntime.quantization.quantize_dynamic`` with a 7-bit range, activations quantised
        per call) adds
        ``max_abs_action_error`` and ``mean_abs_action_error`` against the float ONNX model over 1024 observations
        from :func:`random_observations`, each run alone as the control loop runs it.
    """
    observations = random_observations(bundle, 1024, seed)
    result: dict = {"iterations": iterations, "warmup": warmup}
    result["onnxruntime"] = _time_policy(load_policy(bundle, "onnxruntime", 1), observations, iterations, warmup)
    result["torchscript"] = _measure_torchscript(bundle, observations, iterations, warmup)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        int8_path, source = Path(folder) / "policy_int8.onnx", Path(folder) / "policy_float.onnx"
        # the exporter's intermediate shapes go: some onnx versions' shape inference in the quantiser rejects them
        model = onnx.load(str(bundle.onnx_path))
        del model.graph.value_info[:]
        onnx.save(model, str(source))
        # 7-bit weight range: x86 CPUs without VNNI saturate int16 sums of uint8 x int8 products otherwise
        root_logger, level = logging.getLogger(), logging.getLogger().level
        root_logger.setLevel(logging.ERROR)  # the quantiser's advice to pre-process goes to the root logger
        try:
            quantize_dynamic(str(source), str(int8_path), weight_type=QuantType.QInt8, reduce_range=True)
        finally:
            root_logger.setLevel(level)
        float_session, int8_session = onnx_session(bundle.onnx_path, 1), onnx_session(int8_path, 1)
        name = float_session.get_inputs()[0].name
        dims = int(bundle.policy["obs_dim"]), int(bundle.policy["num_actions"])
        int8 = Policy("onnxruntime", int8_path, *dims, lambda obs: int8_session.run(None, {name: obs})[0])
        expected = float_session.run(None, {name: observations})[0]
        error = np.abs(np.stack([int8(obs) for obs in observations]) - expected)
        result["onnx_int8"] = _time_policy(int8, observations, iterations, warmup)
    result["onnx_int8"].update(max_abs_action_error=float(error.max()), mean_abs_action_error=float(error.mean()))
    return result


def _measure_torchscript(bundle: Bundle, observations: np.ndarray, iterations: int, warmup: int) -> dict:
    """TorchScript's figures with one torch thread (the process's thread count is restored after)."""
    if not bundle.torchscript_path.is_file():
        return {"skipped": f"{bundle.torchscript_path} is missing"}
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed"}
    threads = torch.get_num_threads()
    try:
        return _time_policy(load_policy(bundle, "torchscript", 1), observations, iterations, warmup)
    finally:
        torch.set_num_threads(threads)


def static_onnx(bundle: Bundle, out_path: Path | str | None = None) -> list[Path]:
    """Write a copy of ``policy.onnx`` whose batch dimension is fixed to 1 (TensorRT builds an engine from it).

    The copy's shapes are inferred again, it is checked with ``onnx.checker``, and it must give ONNX Runtime the
    same actions as the original on a few observations before it is written (atomically).

    Args:
        out_path: where to write it; default ``policy_static.onnx`` beside ``policy.onnx``.

    Returns:
        The files written: ``[out_path]``.

    Raises:
        BundleError: the model has no batch dimension to fix, or the static copy disagrees with the original.
    """
    import onnx

    out_path = Path(out_path) if out_path is not None else bundle.onnx_path.with_name("policy_static.onnx")
    model = onnx.load(str(bundle.onnx_path))
    graph = model.graph
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        if not dims:
            raise BundleError(f"{bundle.onnx_path}: '{value.name}' has no shape; expected (batch, size)")
        dims[0].Clear()
        dims[0].dim_value = 1
    del graph.value_info[:]
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    data = model.SerializeToString()

    observations = random_observations(bundle, 4)
    original, static = onnx_session(bundle.onnx_path), onnx_session(data)
    name = original.get_inputs()[0].name
    for obs in observations:
        expected = original.run(None, {name: obs[None]})[0]
        actual = static.run(None, {static.get_inputs()[0].name: obs[None]})[0]
        if actual.shape != expected.shape or not np.allclose(actual, expected, rtol=1e-5, atol=1e-5):
            raise BundleError(f"{bundle.onnx_path}: the static-batch copy disagrees with the original model")

    write_file_atomically(out_path, lambda file: file.write(data))
    return [out_path]
