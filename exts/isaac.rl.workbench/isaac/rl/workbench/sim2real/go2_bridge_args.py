"""The go2-bridge command line's arguments, shared by ``isaac-rl-workbench go2-bridge`` and ``python -m
isaac.rl.workbench.sim2real.go2_bridge`` (whose :func:`~.go2_bridge.serve_from_args` serves them). Argparse only:
building the CLI's parser imports nothing heavy."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_bridge_arguments(parser: argparse.ArgumentParser, seconds: Callable[[str], float] = float) -> None:
    """The bridge's arguments; ``seconds`` parses ``--seconds`` (an argparse type)."""
    parser.add_argument("task", metavar="SPEC_OR_TASK", help="task name or spec file (a run's spec.toml works too)")
    parser.add_argument("--interface", default="lo", help="network interface of the DDS traffic (default lo)")
    parser.add_argument("--domain-id", type=int, default=1, help="DDS domain (default 1, as unitree_mujoco; a Go2: 0)")
    parser.add_argument("--seconds", type=seconds, default=None, help="stop after this long (default: run on)")
    parser.add_argument("--device", default="cpu", help="where the physics runs (default cpu)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec key")
