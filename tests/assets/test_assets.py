"""The committed assets: reproducible from code, described correctly, and (slow) simulating sensibly in Newton."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from isaac.rl.workbench import assets
from isaac.rl.workbench.scene.inspect import inspect_scene
from pxr import Gf, Usd, UsdGeom, UsdPhysics

REPO_ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = REPO_ROOT / "assets" / "usd" / "cartpole.usda"
ANT = REPO_ROOT / "assets" / "usd" / "ant.usda"

PHYSICS_DT = 1.0 / 120.0  # [s]


def test_regenerated_assets_match_committed_bytes(tmp_path):
    written = assets.write_all(tmp_path)
    assert [p.name for p in written] == ["cartpole.usda", "ant.usda", "point_nav.usda"]
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


ANT_LEGS = ("back_left", "back_right", "front_left", "front_right")
ANT_DOFS = tuple(f"{leg}_{joint}" for leg in ANT_LEGS for joint in ("hip", "ankle"))
ANT_MAX_TORQUE = 25.0  # [N·m]


def test_ant_structure():
    info = inspect_scene(ANT)
    assert (info.up_axis, info.meters_per_unit) == ("Z", 1.0)
    ant = info.find("/ant")
    assert len(info.articulations) == 1 and not ant.fixed_base
    assert ant.dof_names == ANT_DOFS
    assert ant.bodies == ("/ant/torso",) + tuple(f"/ant/{leg}_{part}" for leg in ANT_LEGS for part in ("upper", "foot"))
    for joint in ant.joints:
        leg, kind = joint.name.rsplit("_", 1)
        assert joint.type == "revolute" and joint.path == f"/ant/{joint.name}"
        expected_body0 = "/ant/torso" if kind == "hip" else f"/ant/{leg}_upper"
        assert (joint.body0, joint.body1) == (expected_body0, f"/ant/{leg}_{'upper' if kind == 'hip' else 'foot'}")
        limit = math.radians(30.0 if kind == "hip" else 20.0)
        assert (joint.axis, joint.lower, joint.upper) == ("Z" if kind == "hip" else "Y", -limit, limit)
        assert joint.drive.type == "force" and joint.drive.max_force == ANT_MAX_TORQUE
        assert joint.drive.stiffness == 0.0 and joint.drive.damping == pytest.approx(0.5)


def test_ant_stage_masses_and_ground():
    stage = Usd.Stage.Open(str(ANT))
    assert stage.GetDefaultPrim().GetPath() == "/ant"
    assert UsdPhysics.GetStageKilogramsPerUnit(stage) == 1.0
    assert stage.GetPrimAtPath("/physicsScene").IsA(UsdPhysics.Scene)
    bodies = [prim for prim in stage.Traverse() if prim.HasAPI(UsdPhysics.RigidBodyAPI)]
    assert all(prim.GetPath().HasPrefix("/ant") for prim in bodies) and len(bodies) == 9
    masses = {}
    for prim in bodies:
        mass_api = UsdPhysics.MassAPI(prim)
        assert mass_api and mass_api.GetCenterOfMassAttr().HasAuthoredValue()
        assert all(value > 0 for value in mass_api.GetDiagonalInertiaAttr().Get())
        masses[prim.GetName()] = mass_api.GetMassAttr().Get()
        colliders = [child for child in prim.GetChildren() if child.HasAPI(UsdPhysics.CollisionAPI)]
        assert len(colliders) == 1 and colliders[0].IsA(
            UsdGeom.Sphere if prim.GetName() == "torso" else UsdGeom.Capsule
        )
    assert masses["torso"] == 4.0 and sum(masses.values()) == pytest.approx(8.0)
    ground = stage.GetPrimAtPath("/groundPlane")
    assert ground.IsA(UsdGeom.Plane) and ground.HasAPI(UsdPhysics.CollisionAPI)
    assert not ground.HasAPI(UsdPhysics.RigidBodyAPI)
    torso_z = UsdGeom.Xformable(stage.GetPrimAtPath("/ant/torso")).ComputeLocalToWorldTransform(0).ExtractTranslation()
    assert torso_z[2] == pytest.approx(0.75)


def test_ant_joint_frames_match_authored_pose():
    """Joint angle 0 is the authored pose: each joint's frame is the same seen from either body."""
    stage = Usd.Stage.Open(str(ANT))
    cache = UsdGeom.XformCache()
    for prim in stage.Traverse():
        if not prim.IsA(UsdPhysics.RevoluteJoint):
            continue
        joint = UsdPhysics.Joint(prim)
        frames = []
        for body_rel, pos, rot in (
            (joint.GetBody0Rel(), joint.GetLocalPos0Attr(), joint.GetLocalRot0Attr()),
            (joint.GetBody1Rel(), joint.GetLocalPos1Attr(), joint.GetLocalRot1Attr()),
        ):
            local = Gf.Matrix4d(Gf.Rotation(Gf.Quatd(rot.Get())), Gf.Vec3d(pos.Get()))
            body = stage.GetPrimAtPath(body_rel.GetTargets()[0])
            frames.append(local * cache.GetLocalToWorldTransform(body))
        assert np.allclose(np.array(frames[0]), np.array(frames[1]), atol=1e-6), prim.GetPath()


@pytest.fixture(scope="module")
def newton_ant():
    """(newton, builder of the /ant subtree, model of that subtree on Newton's own ground plane)."""
    newton = pytest.importorskip("newton")
    builder = newton.ModelBuilder()
    builder.add_usd(str(ANT), root_path="/ant", enable_self_collisions=False)
    with_ground = newton.ModelBuilder()
    with_ground.add_builder(builder)
    with_ground.add_ground_plane()
    return newton, builder, with_ground.finalize(device="cpu")


def _simulate_ant(newton_ant, seconds: float, efforts=None, state=None) -> tuple:
    """Step the ant in MuJoCo (C) for ``seconds`` [s] from ``state`` (None: the authored pose, at rest).

    ``efforts(step)`` gives the 8 joint torques [N·m] for a step, in Newton's DOF order (None: no effort).
    Returns (state, torso positions [m] shape (num_steps, 3), largest |joint velocity| seen [m/s or rad/s]).
    """
    newton, _, model = newton_ant
    solver = newton.solvers.SolverMuJoCo(model, use_mujoco_cpu=True)
    control = model.control()
    if state is None:
        state = model.state()
        newton.eval_fk(model, model.joint_q, model.joint_qd, state)
    torso, fastest = [], 0.0
    for step in range(round(seconds / PHYSICS_DT)):
        if efforts is not None:
            control.joint_f.assign(np.concatenate([np.zeros(6), efforts(step)]).astype(np.float32))
        solver.step(state, state, control, None, PHYSICS_DT)
        torso.append(state.joint_q.numpy()[:3].copy())
        fastest = max(fastest, float(np.abs(state.joint_qd.numpy()).max()))
    return state, np.array(torso), fastest


def _torso_up_z(state) -> float:
    """World-Z component of the torso's local +Z axis (1 upright, -1 upside down)."""
    x, y = state.joint_q.numpy()[3:5]
    return 1.0 - 2.0 * (x * x + y * y)


@pytest.mark.slow
def test_ant_loads_in_newton_as_floating_base(newton_ant):
    newton, builder, model = newton_ant
    assert (model.joint_count, model.joint_dof_count, model.joint_coord_count, model.body_count) == (9, 14, 15, 9)
    assert model.joint_type.numpy()[0] == int(newton.JointType.FREE)
    assert builder.joint_label[1:] == [f"/ant/{name}" for name in ANT_DOFS]
    assert builder.body_label == ["/ant/torso"] + [
        f"/ant/{leg}_{part}" for leg in ANT_LEGS for part in ("upper", "foot")
    ]
    assert model.body_mass.numpy().tolist() == pytest.approx([4.0] + [0.4, 0.6] * 4)
    assert model.joint_effort_limit.numpy()[6:] == pytest.approx([ANT_MAX_TORQUE] * 8)
    assert model.joint_limit_upper.numpy()[6:] == pytest.approx([math.radians(30.0), math.radians(20.0)] * 4)
    assert model.joint_armature.numpy()[6:] == pytest.approx([0.05] * 8)
    assert model.joint_q.numpy().tolist() == pytest.approx([0.0, 0.0, 0.75, 0.0, 0.0, 0.0, 1.0] + [0.0] * 8)
    # joint angle 0 puts every body where the USD file authors it
    state = model.state()
    newton.eval_fk(model, model.joint_q, model.joint_qd, state)
    assert np.allclose(state.body_q.numpy()[:, :3], np.array(builder.body_q)[:, :3], atol=1e-5)


@pytest.mark.slow
def test_ant_lands_on_its_feet_and_rests(newton_ant):
    state, torso, _ = _simulate_ant(newton_ant, seconds=3.0)
    assert np.isfinite(state.joint_q.numpy()).all()
    assert 0.3 < torso[-1, 2] < 0.6  # standing on its legs (the torso sphere alone would rest at 0.25 m)
    assert torso[:, 2].min() > 0.3  # never falls through its legs
    assert np.abs(torso[:, :2]).max() < 0.02  # symmetric: no horizontal drift
    assert _torso_up_z(state) > 0.99
    assert abs(torso[-1, 2] - torso[-13, 2]) < 0.01  # sinking < 0.1 m/s: settled on the ground


@pytest.mark.slow
def test_ant_survives_random_efforts(newton_ant):
    rng = np.random.default_rng(0)
    torques = rng.uniform(-ANT_MAX_TORQUE, ANT_MAX_TORQUE, size=(180, 8))  # a new torque every 2 steps (60 Hz)
    landed, _, _ = _simulate_ant(newton_ant, seconds=1.0)
    state, torso, fastest = _simulate_ant(newton_ant, 3.0, lambda step: torques[step // 2], landed)
    assert np.isfinite(state.joint_q.numpy()).all()
    assert torso[:, 2].min() > 0.25  # the torso stays above the ground, carried by its legs
    assert fastest < 50.0  # no explosion
    assert _torso_up_z(state) > 0.9


@pytest.mark.slow
def test_ant_steps_in_mujoco_warp(newton_ant):
    newton, builder, _ = newton_ant
    world = newton.ModelBuilder()
    world.replicate(builder, 4)
    world.add_ground_plane()
    model = world.finalize(device="cpu")
    solver = newton.solvers.SolverMuJoCo(model, use_mujoco_cpu=False)
    state, control = model.state(), model.control()
    newton.eval_fk(model, model.joint_q, model.joint_qd, state)
    control.joint_f.assign(np.tile(np.r_[np.zeros(6), np.full(8, ANT_MAX_TORQUE)], 4).astype(np.float32))
    for _ in range(30):
        solver.step(state, state, control, None, PHYSICS_DT)
    joint_q = state.joint_q.numpy().reshape(4, 15)
    assert np.isfinite(joint_q).all()
    assert (joint_q[:, 2] > 0.3).all() and np.allclose(joint_q[:, 2], joint_q[0, 2], atol=1e-4)
