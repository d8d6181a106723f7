"""The committed assets: reproducible from code, described correctly, and (slow) simulating sensibly in Newton."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = REPO_ROOT / "assets" / "usd" / "cartpole.usda"

try:
    from isaac.rl.workbench.scene import authoring
    from isaac.rl.workbench.scene.inspect import inspect_scene
except ImportError:  # a checkout without the package installed
    sys.path.insert(0, str(REPO_ROOT / "exts" / "isaac.rl.workbench"))
    from isaac.rl.workbench.scene import authoring
    from isaac.rl.workbench.scene.inspect import inspect_scene

PHYSICS_DT = 1.0 / 120.0  # [s]


def test_regenerated_assets_match_committed_bytes(tmp_path):
    written = authoring.write_all(tmp_path)
    assert [p.name for p in written] == ["cartpole.usda"]
    for path in written:
        committed = REPO_ROOT / "assets" / "usd" / path.name
        assert path.read_bytes() == committed.read_bytes(), f"{committed} is stale: run scripts/make_assets.py"


def test_cartpole_structure():
    info = inspect_scene(CARTPOLE)
    assert (info.up_axis, info.meters_per_unit) == ("Z", 1.0)
    cartpole = info.find(None)
    assert cartpole.root_path == "/cartpole" and cartpole.fixed_base
    assert [j.name for j in cartpole.joints] == ["root_joint", "slider", "hinge"]
    assert cartpole.dof_names == ("slider", "hinge")
    assert cartpole.bodies == ("/cartpole/rail", "/cartpole/cart", "/cartpole/pole")
    _, slider, hinge = cartpole.joints
    assert (slider.type, slider.axis, slider.lower, slider.upper) == ("prismatic", "X", -3.0, 3.0)
    assert (slider.body0, slider.body1) == ("/cartpole/rail", "/cartpole/cart")
    assert slider.drive.type == "force" and slider.drive.max_force == 100.0
    assert (slider.drive.stiffness, slider.drive.damping) == (0.0, 0.0)
    assert (hinge.type, hinge.axis, hinge.lower, hinge.upper) == ("revolute", "Y", -math.inf, math.inf)
    assert hinge.drive is None


@pytest.fixture(scope="module")
def newton_cartpole():
    newton = pytest.importorskip("newton")
    builder = newton.ModelBuilder()
    builder.add_usd(str(CARTPOLE))
    return newton, builder, builder.finalize(device="cpu")


def _simulate(newton_cartpole, joint_q: list[float], slider_force: float, num_steps: int) -> tuple:
    """Step the cartpole from rest at ``joint_q`` [m, rad] pushing the cart with ``slider_force`` [N].

    Returns (joint_q, joint_qd), each shape (num_dofs,), after ``num_steps`` steps of PHYSICS_DT.
    """
    newton, _, model = newton_cartpole
    solver = newton.solvers.SolverMuJoCo(model, use_mujoco_cpu=True)
    state, next_state, control = model.state(), model.state(), model.control()
    state.joint_q.assign(joint_q)
    newton.eval_fk(model, state.joint_q, state.joint_qd, state)
    control.joint_f.assign([slider_force, 0.0])
    for _ in range(num_steps):
        solver.step(state, next_state, control, None, PHYSICS_DT)
        state, next_state = next_state, state
    return state.joint_q.numpy(), state.joint_qd.numpy()


@pytest.mark.slow
def test_cartpole_loads_in_newton(newton_cartpole):
    _, builder, model = newton_cartpole
    assert (model.joint_count, model.joint_dof_count, model.body_count) == (3, 2, 3)
    assert builder.joint_label == ["/cartpole/root_joint", "/cartpole/slider", "/cartpole/hinge"]
    assert model.body_mass.numpy().tolist() == pytest.approx([5.0, 1.0, 0.25])
    assert model.joint_limit_lower.numpy()[0] == pytest.approx(-3.0)
    assert model.joint_effort_limit.numpy()[0] == pytest.approx(100.0)


@pytest.mark.slow
def test_tilted_pole_falls_and_cart_stays_on_rail(newton_cartpole):
    joint_q, _ = _simulate(newton_cartpole, [0.0, 0.05], 0.0, num_steps=120)
    slider, hinge = joint_q
    assert hinge > 1.0  # tipped over from 0.05 rad within 1 s
    assert abs(slider) < 0.2


@pytest.mark.slow
def test_slider_force_accelerates_cart(newton_cartpole):
    force, num_steps = 10.0, 12
    _, joint_qd = _simulate(newton_cartpole, [0.0, 0.0], force, num_steps)
    # Upright pole with inertia I about its centre: the cart sees M + m - (m l)^2 / (I + m l^2) of inertia.
    cart_mass, pole_mass, pole_half_length = 1.0, 0.25, 0.5
    pole_inertia = pole_mass * (0.04**2 + 1.0**2) / 12
    effective_mass = (
        cart_mass + pole_mass - (pole_mass * pole_half_length) ** 2 / (pole_inertia + pole_mass * pole_half_length**2)
    )
    acceleration = joint_qd[0] / (num_steps * PHYSICS_DT)
    assert acceleration == pytest.approx(force / effective_mass, rel=0.05)
    assert joint_qd[1] < 0.0  # the pole lags behind the accelerating cart
