"""The height_scan term on a stand-in env whose ground is the plane z = 0: the grid's shape and order, its turn with
the body's heading alone, the offset, the clipping, and bad params refused in one line naming the param."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from isaac.rl.workbench.terms import REGISTRIES
from isaac.rl.workbench.terms.height_scan import MAX_DISTANCE, RAY_START, height_scan, scan_grid


def plane_env(positions: list[list[float]], quats: list[list[float]] | None = None) -> SimpleNamespace:
    """A stand-in with one body per env at ``positions`` (N, 3) [m], its ground the plane z = 0 (rays record where
    they were cast)."""
    n = len(positions)
    env = SimpleNamespace(
        body_pos_w=torch.tensor(positions).view(n, 1, 3),
        body_quat_w=torch.tensor(quats or [[0.0, 0.0, 0.0, 1.0]] * n).view(n, 1, 4),
        device=torch.device("cpu"),
        cast=[],
    )

    def cast_rays(origins, directions, max_distance):
        env.cast.append((origins, directions, max_distance))
        return origins[..., 2] / -directions[..., 2].expand(origins.shape[:-1])

    env.cast_rays = cast_rays
    return env


def test_it_is_an_observation_term():
    assert REGISTRIES["observations"]["height_scan"] is height_scan


def test_the_default_grid_is_isaac_labs_17_by_11_with_x_fastest():
    grid = scan_grid((1.6, 1.0), 0.1, "cpu")
    assert grid.shape == (187, 2)
    assert torch.allclose(grid[0], torch.tensor([-0.8, -0.5])) and torch.allclose(grid[-1], torch.tensor([0.8, 0.5]))
    assert torch.allclose(grid[1], torch.tensor([-0.7, -0.5])), "x varies fastest"
    assert torch.allclose(grid[17], torch.tensor([-0.8, -0.4]))


def test_on_flat_ground_every_ray_reads_the_body_height_minus_offset():
    env = plane_env([[0.0, 0.0, 0.6], [3.0, -2.0, 0.3]])
    scan = height_scan(env, body=0, size=[0.4, 0.2], resolution=0.1, offset=0.5)
    assert scan.shape == (2, 5 * 3)
    assert torch.allclose(scan[0], torch.full((15,), 0.1)) and torch.allclose(scan[1], torch.full((15,), -0.2))
    origins, directions, max_distance = env.cast[0]
    assert torch.allclose(origins[1, :, 2], torch.full((15,), 0.3 + RAY_START)), "rays start above the body"
    assert directions.tolist() == [0.0, 0.0, -1.0] and max_distance == MAX_DISTANCE


def test_values_are_clipped():
    env = plane_env([[0.0, 0.0, 3.0], [0.0, 0.0, 0.1]])
    scan = height_scan(env, body=0)
    assert scan.shape == (2, 187) and (scan[0] == 1.0).all(), "3 m above the ground: clipped to 1"
    assert torch.allclose(scan[1], torch.full((187,), -0.4)), "0.1 m above the ground: not clipped"
    assert torch.allclose(height_scan(env, body=0, offset=0.0, clip=0.05), torch.tensor([[0.05], [0.05]]))


def test_the_grid_turns_with_the_heading_only():
    """Yawed 90 degrees and pitched 30 degrees: the grid's x axis lies along world y, and the rays still start
    straight above the body (a tilt does not swing the grid)."""
    yaw = torch.tensor([0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4)])
    pitch = torch.tensor([0.0, math.sin(math.pi / 12), 0.0, math.cos(math.pi / 12)])
    env = plane_env([[1.0, 2.0, 0.5]], [_multiply(yaw, pitch).tolist()])
    height_scan(env, body=0, size=[0.2, 0.0], resolution=0.1)
    origins = env.cast[0][0][0]  # (3, 3): the grid's x from -0.1 to 0.1
    expected = torch.tensor([[1.0, 1.9, 0.5 + RAY_START], [1.0, 2.0, 0.5 + RAY_START], [1.0, 2.1, 0.5 + RAY_START]])
    assert torch.allclose(origins, expected, atol=1e-6)


def _multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The rotation ``a`` after ``b``, quaternions (x, y, z, w)."""
    vector = a[3] * b[:3] + b[3] * a[:3] + torch.linalg.cross(a[:3], b[:3])
    return torch.cat([vector, (a[3] * b[3] - torch.dot(a[:3], b[:3])).view(1)])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size": 1.6}, "size: expected [length along x, width along y], two numbers >= 0 [m], got 1.6"),
        ({"size": [1.6, -1.0]}, "size: expected [length along x, width along y]"),
        ({"resolution": 0.0}, "resolution: expected a number > 0 [m], got 0.0"),
        ({"resolution": 0.001}, "resolution: 0.001 m over size [1.6, 1] gives 1602601 rays, expected at most 100000"),
        ({"offset": "high"}, "offset: expected a number [m], got 'high'"),
        ({"clip": -1.0}, "clip: expected a number > 0 [m], got -1.0"),
        ({"clip": True}, "clip: expected a number > 0 [m], got True"),
    ],
)
def test_bad_params_are_refused_naming_the_param(params, message):
    with pytest.raises(ValueError) as caught:
        height_scan(plane_env([[0.0, 0.0, 0.5]]), body=0, **params)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
