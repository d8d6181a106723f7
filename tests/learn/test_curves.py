"""write_curves on metrics rows with missing and null values, from a list and from a metrics.jsonl file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from isaac.rl.workbench.learn.curves import write_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rows() -> list[dict]:
    rows = []
    for iteration in range(20):
        row = {
            "iteration": iteration,
            "mean_reward": 0.5 * iteration,
            "mean_episode_length": 10.0 + iteration,
            "env_steps_per_s": 1.0e5,
            "reward/alive": 1.0,
            "reward/pole_angle": -1.0 / (iteration + 1),
        }
        rows.append(row)
    rows[0]["mean_reward"] = None  # no finished episode yet
    del rows[1]["mean_episode_length"]
    rows[2]["reward/pole_angle"] = None
    del rows[3]["reward/alive"]
    rows[4]["iteration"] = None
    rows[5]["mean_reward"] = float("nan")
    return rows


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_curves_from_rows(tmp_path: Path) -> None:
    out = write_curves(_rows(), tmp_path / "plots" / "curves.png", title="cartpole")
    assert out == tmp_path / "plots" / "curves.png"
    width, height = _png_size(out)
    assert width >= 800 and height >= 300
    assert out.stat().st_size > 10_000
    assert [path.name for path in out.parent.iterdir()] == ["curves.png"]  # no temporary file left


def test_curves_from_jsonl_file(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("\n".join(json.dumps(row) for row in _rows()) + "\n\n")
    out = write_curves(metrics, tmp_path / "curves.png")
    assert _png_size(out)[0] >= 800 and out.stat().st_size > 10_000


@pytest.mark.parametrize("rows", [[], [{"iteration": 0}], [{"iteration": 0, "mean_reward": 1.0, "reward/x": 2.0}]])
def test_curves_with_little_data(tmp_path: Path, rows: list[dict]) -> None:
    out = write_curves(rows, tmp_path / "curves.png")
    assert _png_size(out)[0] >= 800


def test_titles_and_labels_are_drawn_as_plain_text_and_cut_to_a_sane_length(tmp_path):
    """A task, term or metric name with dollar signs is text, not matplotlib math (bad math failed the drawing at
    the end of training); a huge title is cut, not laid out for minutes."""
    rows = [{"iteration": 1, "mean_reward": 1.0, "reward/$\\frac{": 0.5, "metric/$x$": 1.0}]
    assert write_curves(rows, tmp_path / "dollars.png", title="cart$\\frac{$pole").read_bytes()[:8] == PNG_SIGNATURE
    assert write_curves(rows, tmp_path / "long.png", title="x" * 5_000_000).read_bytes()[:8] == PNG_SIGNATURE
