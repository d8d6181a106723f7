"""``isaac-rl-workbench export RUN_DIR [--deploy [--bench]]``: the policy as ONNX and TorchScript, checked against the
training policy; with ``--deploy`` the deployment bundle a robot runs (``deploy.json``, ``policy_static.onnx``), with
``--bench`` the policy's CPU latency on this computer (printed and written to the bundle's ``latency.json``)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .cli_common import add_threads, set_threads, start_up
from .train_report import built_line

USER_ERRORS = (  # bad input: exit 2
    "isaac.rl.workbench.deploy_manifest.DeployError",
    "isaac.rl.workbench.deploy.bundle_error.BundleError",
)


def add_parsers(sub) -> None:
    """Register ``export`` on ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "export", help="export the policy to ONNX and TorchScript and check parity (--deploy: a robot's bundle)"
    )
    p.add_argument("run_dir")
    p.add_argument("--checkpoint")
    p.add_argument("--out", help="output folder (default RUN_DIR/export)")
    p.add_argument("--device", default="cpu", help="where the rollout that records observations runs")
    p.add_argument(
        "--deploy",
        action="store_true",
        help="also write the deployment bundle: deploy.json (observations, joints, action, safety limits) and "
        "policy_static.onnx (batch 1, for TensorRT)",
    )
    p.add_argument(
        "--bench",
        action="store_true",
        help="time the policy on this CPU (ONNX Runtime, TorchScript, int8 ONNX with its action error) and write "
        "latency.json into the bundle; implies --deploy",
    )
    add_threads(p)
    p.set_defaults(func=deploy_export)


def deploy_export(args: argparse.Namespace) -> int:
    """Export ``args.run_dir``'s policy (``--deploy``: with its bundle; ``--bench``: also its latency); returns 0."""
    deploy = args.deploy or args.bench
    with start_up(args):
        from ..workbench import Workbench

        set_threads(args)
        checkpoint = Path(args.checkpoint) if args.checkpoint else None
        started = time.perf_counter()
        wb = Workbench.for_export(Path(args.run_dir), args.device, checkpoint, deploy, _say_building)
        print(built_line(time.perf_counter() - started), flush=True)
    out = Path(args.out) if args.out else wb.run.export_dir
    print(
        f"exporting: {wb.env.num_envs} deterministic episodes record the observations the exported policy is "
        "checked on ...",
        flush=True,
    )
    started = time.perf_counter()
    report = wb.export(out, deploy=deploy)
    print(f"... {time.perf_counter() - started:.1f} s", flush=True)
    print(
        f"exported {out / 'policy.onnx'} and {out / 'policy.pt'}: obs {report['obs_dim']} -> actions "
        f"{report['num_actions']}; max difference to the training policy over {report['num_observations']} "
        f"observations: ONNX {report['max_abs_diff_onnx']:.2e}, TorchScript {report['max_abs_diff_torchscript']:.2e}"
    )
    if deploy:
        print(f"deployment bundle: {report['deploy']} and {report['static_onnx']}")
    if args.bench:
        from ..deploy.bundle import load_bundle
        from ..deploy.latency import measure_latency
        from ..utils.atomic import write_atomically

        print("timing the policy on this CPU ...", flush=True)
        started = time.perf_counter()
        latency = measure_latency(load_bundle(out))
        print(f"... {time.perf_counter() - started:.1f} s", flush=True)
        text = json.dumps(latency, indent=2) + "\n"
        write_atomically(out / "latency.json", lambda tmp: tmp.write_text(text))
        print(format_latency(latency))
        print(f"latency: {out / 'latency.json'}")
    return 0


def _say_building(wb) -> None:
    """The line before the export's env build (the run ``wb`` opened, its checks passed)."""
    print(f"building {wb.spec.env.num_envs} envs of {wb.spec.scene.name} on {wb.device} ...", flush=True)


def format_latency(latency: dict) -> str:
    """The latency table: one row per inference back end, median and p99 [us] of one observation per call, and the
    int8 model's action error against the float model."""
    lines = [f"{'back end':<14}{'median us':>11}{'p99 us':>10}  action error (max / mean)"]
    for name in ("onnxruntime", "torchscript", "onnx_int8"):
        row = latency.get(name, {})
        if "skipped" in row:
            lines.append(f"{name:<14}  skipped: {row['skipped']}")
            continue
        error = ""
        if "max_abs_action_error" in row:
            error = f"  {row['max_abs_action_error']:.2e} / {row['mean_abs_action_error']:.2e}"
        lines.append(f"{name:<14}{row['median_us']:>11.1f}{row['p99_us']:>10.1f}{error}")
    return "\n".join(lines)
