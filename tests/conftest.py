"""Shared fixtures: the repository's paths and a helper that writes task specs next to the cartpole asset."""

from __future__ import annotations

from pathlib import Path

import pytest

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
