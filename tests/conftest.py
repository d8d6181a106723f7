"""Shared fixtures: the repository's paths and a helper that writes task specs next to the cartpole asset."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import mujoco
import pytest

# MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working folder (the checkout, in a test run);
# the tests that compile MJCF (Gymnasium's XMLs: 'settotalmass' is deprecated) print its warnings instead
mujoco.set_mju_user_warning(lambda message: print(f"MuJoCo warning: {message}", file=sys.stderr))

REPO = Path(__file__).resolve().parents[1]
CARTPOLE_SPEC = REPO / "tasks" / "cartpole.toml"


@pytest.fixture
def write_spec(tmp_path):
    """Write the cartpole spec with text replaced or appended; return its path (scene path made absolute)."""

    def write(replace: dict[str, str] | None = None, append: str = "", name: str = "task.toml") -> Path:
        text = CARTPOLE_SPEC.read_text().replace(
            '"../assets/usd/cartpole.usda"', f'"{REPO / "assets/usd/cartpole.usda"}"'
        )
        for old, new in (replace or {}).items():
            assert old in text, f"test setup: '{old}' not in the cartpole spec"
            text = text.replace(old, new)
        path = tmp_path / name
        path.write_text(text + "\n" + append)
        return path

    return write


def robot_or_fail(robot: str) -> None:
    """Skip (fail under CI) when set-up has not converted ``robot`` into assets/usd/robots."""
    converted_or_fail("robots", robot)


def converted_or_fail(folder: str, name: str) -> None:
    """Skip (fail under CI) when set-up has not converted ``name`` into assets/usd/<folder> (``make_assets.py
    --<folder>`` does: ``robots`` from example-robot-data, ``gym`` from Gymnasium's XMLs)."""
    usd = REPO / "assets" / "usd" / folder / name / f"{name}.usda"
    if not usd.is_file():
        problem = f"{usd} is missing: run bash scripts/setup.sh (or python scripts/make_assets.py --{folder})"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
