"""The CPU's merged world of many robots with many colliding links, and the GPU's world per env: the contact
exclusions between one robot's own links (self-collisions off) reach MuJoCo exactly as Newton's own conversion writes
them, and a 16-env ANYmal C builds (its seconds are in docs/BENCHMARKS.md, "CPU build time of imported robots")."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Usd, UsdGeom, UsdPhysics

LINKS = 4
"""Hinged links below the base, each with a sphere collider."""
NUM_ENVS = 8


def chain_robot(path: Path) -> Path:
    """A floating 1 kg base (a box collider) with a chain of ``LINKS`` hinged 0.2 kg links hanging below it, each
    with a sphere collider, and a frame link welded to the base without any shape (articulation ``/chain``)."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.Scene.Define(stage, "/physicsScene")
    UsdGeom.Xform.Define(stage, "/chain")

    def body(name: str, z: float, mass: float) -> str:
        prim = UsdGeom.Xform.Define(stage, f"/chain/{name}")
        prim.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, z))
        UsdPhysics.RigidBodyAPI.Apply(prim.GetPrim())
        mass_api = UsdPhysics.MassAPI.Apply(prim.GetPrim())
        mass_api.CreateMassAttr(mass)
        mass_api.CreateDiagonalInertiaAttr(Gf.Vec3f(0.001, 0.001, 0.001))
        return f"/chain/{name}"

    base = body("base", 1.0, 1.0)
    UsdPhysics.ArticulationRootAPI.Apply(stage.GetPrimAtPath(base))
    UsdPhysics.CollisionAPI.Apply(UsdGeom.Cube.Define(stage, f"{base}/box").GetPrim())
    parent = base
    for i in range(LINKS):
        link = body(f"link{i}", 0.8 - 0.2 * i, 0.2)
        sphere = UsdGeom.Sphere.Define(stage, f"{link}/ball")
        sphere.CreateRadiusAttr(0.05)
        UsdPhysics.CollisionAPI.Apply(sphere.GetPrim())
        hinge = UsdPhysics.RevoluteJoint.Define(stage, f"/chain/hinge{i}")
        hinge.CreateBody0Rel().SetTargets([parent])
        hinge.CreateBody1Rel().SetTargets([link])
        hinge.CreateLocalPos0Attr(Gf.Vec3f(0.0, 0.0, -0.2))
        hinge.CreateAxisAttr("Y")
        parent = link
    frame = body("frame", 1.0, 0.01)
    weld = UsdPhysics.FixedJoint.Define(stage, "/chain/frame_weld")
    weld.CreateBody0Rel().SetTargets([base])
    weld.CreateBody1Rel().SetTargets([frame])
    stage.GetRootLayer().Save()
    return path


def _model_bytes(solver) -> bytes:
    import mujoco

    buffer = np.zeros(mujoco.mj_sizeModel(solver.mj_model), dtype=np.uint8)
    mujoco.mj_saveModel(solver.mj_model, None, buffer)
    return buffer.tobytes()


def test_the_exclusions_between_a_robots_links_reach_mujoco_as_newton_writes_them(tmp_path):
    import newton
    import warp as wp
    from isaac.rl.workbench.backend import newton_compat
    from isaac.rl.workbench.backend.newton_robot import SolverMuJoCoForClones, finalize_quietly, load_robot

    robot = load_robot(chain_robot(tmp_path / "chain.usda"), "/chain", None, self_collisions=False)
    world = newton.ModelBuilder()
    newton.solvers.SolverMuJoCo.register_custom_attributes(world)
    xforms = [wp.transform(wp.vec3(2.0 * i, 0.0, 0.0), wp.quat_identity()) for i in range(NUM_ENVS)]
    newton_compat.replicate(world, robot, NUM_ENVS, xforms, separate_worlds=False)
    world.add_ground_plane()
    model = finalize_quietly(world, "cpu")

    class NewtonsOwnLoop(SolverMuJoCoForClones):
        _DEFERS_EXCLUDES = False

    options = {"use_mujoco_cpu": True, "nconmax": 16 * NUM_ENVS}
    ours, newtons = SolverMuJoCoForClones(model, **options), NewtonsOwnLoop(model, **options)
    colliding_links = LINKS + 1  # the base and every link; the frame link has no shape, so no exclusion
    assert ours.mj_model.nexclude == NUM_ENVS * colliding_links * (colliding_links - 1) // 2
    assert _model_bytes(ours) == _model_bytes(newtons)


def test_one_world_per_env_gets_the_same_exclusions_as_newtons_own_loop(tmp_path):
    """The GPU's layout (a world per env, MuJoCo-Warp): the template world's exclusions, converted on the host as on
    CUDA, equal Newton's own."""
    import newton
    import warp as wp
    from isaac.rl.workbench.backend import newton_compat
    from isaac.rl.workbench.backend.newton_robot import SolverMuJoCoForClones, finalize_quietly, load_robot

    robot = load_robot(chain_robot(tmp_path / "chain.usda"), "/chain", None, self_collisions=False)
    world = newton.ModelBuilder()
    newton.solvers.SolverMuJoCo.register_custom_attributes(world)
    xforms = [wp.transform(wp.vec3(0.0, 0.0, 0.0), wp.quat_identity()) for _ in range(NUM_ENVS)]
    newton_compat.replicate(world, robot, NUM_ENVS, xforms, separate_worlds=True)
    world.add_ground_plane()
    model = finalize_quietly(world, "cpu")

    class NewtonsOwnLoop(SolverMuJoCoForClones):
        _DEFERS_EXCLUDES = False

    ours, newtons = SolverMuJoCoForClones(model, use_mujoco_cpu=False), NewtonsOwnLoop(model, use_mujoco_cpu=False)
    colliding_links = LINKS + 1
    assert ours.mj_model.nexclude == colliding_links * (colliding_links - 1) // 2  # one world's
    assert _model_bytes(ours) == _model_bytes(newtons)


@pytest.mark.slow
def test_sixteen_anymals_build_on_the_cpu(tmp_path):
    """16 ANYmal C (59 bodies each, 300 exclusions each) as ``import`` writes them: the build finishes."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
    import time_build
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    env = WorkbenchEnv(time_build.spec_for("anymal", tmp_path, 16))
    assert env.num_envs == 16
    assert not bool(env.unstable.any())
