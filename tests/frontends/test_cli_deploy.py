"""``isaac-rl-workbench export RUN_DIR --deploy --bench``: the bundle a robot runs, and the policy's latency table."""

from __future__ import annotations

import argparse
import importlib
import json

from isaac.rl.workbench.deploy.bundle import load_bundle
from isaac.rl.workbench.frontends.cli_deploy import USER_ERRORS, add_parsers
from isaac.rl.workbench.workbench import Workbench


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_export_deploy_bench_writes_the_bundle_and_its_latency(tmp_path, capsys):
    wb = Workbench.new("cartpole", {"env.num_envs": 2}, run_dir=tmp_path / "run")
    wb.build()
    wb.save_checkpoint()
    out = tmp_path / "bundle"
    args = _parse(["export", str(tmp_path / "run"), "--out", str(out), "--bench", "--threads", "1"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    for name in ("policy.onnx", "policy.pt", "deploy.json", "policy_static.onnx", "latency.json"):
        assert (out / name).is_file(), name
    bundle = load_bundle(out)
    assert bundle.task == "cartpole" and bundle.policy["obs_dim"] == 4 and bundle.safety.safe_stop == "damp"
    latency = json.loads((out / "latency.json").read_text())
    for name in ("onnxruntime", "torchscript", "onnx_int8"):
        assert latency[name]["median_us"] > 0 and latency[name]["p99_us"] >= latency[name]["median_us"]
        assert name in printed
    assert latency["onnx_int8"]["max_abs_action_error"] >= 0
    assert "median us" in printed and str(out / "latency.json") in printed


def test_export_keeps_its_options_and_deploy_is_opt_in():
    args = _parse(["export", "runs/x", "--checkpoint", "c.pt", "--out", "o", "--device", "cuda", "--threads", "2"])
    assert (args.checkpoint, args.out, args.device, args.threads) == ("c.pt", "o", "cuda", 2)
    assert not args.deploy and not args.bench
    assert _parse(["export", "runs/x", "--deploy"]).deploy


def test_the_errors_export_names_are_exception_classes_where_it_says():
    for name in USER_ERRORS:
        module, _, qualname = name.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), qualname), ValueError), name
