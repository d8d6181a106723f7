"""scripts/gym_crosscheck.py: a workbench policy evaluated in Gymnasium's own MuJoCo env.

The observation it builds from MuJoCo's state is the workbench's own at the same state: Hopper (a planar root, its
``rootz`` counted from the MJCF ``ref``) and Ant (a free root: quaternion order, world and body frames, bodies
MuJoCo leaves unnamed) set to one pose and velocity in both, and Ant's contact forces after standing still in both;
a policy of a short CPU training evaluates on both physics; bad input exits 2 with one line.
"""

from __future__ import annotations

import importlib.util
import math
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from types import SimpleNamespace

import gymnasium
import mujoco
import numpy as np
import pytest
import torch
from isaac.rl.workbench.envs import workbench_env

from .conftest import REPO, converted_or_fail

POSITION_TOL = 1e-4  # [m, rad]: the same pose in both (float32 on the workbench)
VELOCITY_TOL = 1e-4  # [m/s, rad/s]: the same velocities, the root's read at its centre of mass in both
FORCE_TOL = 0.05  # [N]: Ant standing still (2.23 N per foot) after 1 s of zero actions in each physics


def crosscheck_module():
    spec = importlib.util.spec_from_file_location("gym_crosscheck", REPO / "scripts" / "gym_crosscheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(argv: list[str]) -> tuple[int, str, str]:
    """The script's main in this process: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = crosscheck_module().main(argv)
    return code, out.getvalue(), err.getvalue()


def both(name: str, gym_id: str):
    """The workbench env of gym/``name`` (1 env, no reset noise), Gymnasium's env and the script's view of it."""
    from isaac.rl.workbench.specs.loader import load_spec

    converted_or_fail("gym", name)
    torch.manual_seed(0)
    env = workbench_env.WorkbenchEnv(load_spec(f"gym/{name}", {"env.num_envs": 1, "events": {}}))
    gym_env = gymnasium.make(gym_id)
    gym_env.reset(seed=0)
    module = crosscheck_module()
    state = module.MujocoState(
        gym_env.unwrapped.model,
        gym_env.unwrapped.data,
        env.spec.joint_names,
        env.body_paths,
        env.backend.root_body,
        env.floating_base,
        env.spec.actions.joints,
    )
    return env, gym_env, state, module.MujocoObservation(env.spec, state)


def set_both(env, gym_env, state, positions, velocities, root_pose=None, root_velocity=None) -> None:
    """One state in both: joints at ``positions``, ``velocities`` (D,) as the workbench counts them; a free root at
    ``root_pose`` (x, y, z, qx, qy, qz, qw) moving at ``root_velocity`` (centre-of-mass velocity, angular velocity,
    both in world axes: Newton's convention)."""
    model = gym_env.unwrapped.model
    qpos, qvel = model.qpos0.copy(), np.zeros(model.nv)
    qpos[state.qpos_adr] += positions
    qvel[state.dof_adr] = velocities
    mask = torch.ones(1, dtype=torch.bool)
    pos, vel = torch.tensor(positions, dtype=torch.float32)[None], torch.tensor(velocities, dtype=torch.float32)[None]
    if root_pose is None:
        env.reset_physics(mask, pos, vel)
        gym_env.unwrapped.set_state(qpos, qvel)
        return
    x, y, z, qx, qy, qz, qw = root_pose
    qpos[:7] = [x, y, z, qw, qx, qy, qz]
    gym_env.unwrapped.set_state(qpos, qvel)  # the pose first: the root's centre of mass below depends on it
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, qpos[3:7])
    linear, angular = np.asarray(root_velocity[:3]), np.asarray(root_velocity[3:])
    body = model.jnt_bodyid[state.free_joint]
    offset = state.kinematics().xipos[body] - state.kinematics().xpos[body]
    qvel[:3] = linear - np.cross(angular, offset)  # MuJoCo's free joint: the body origin's velocity...
    qvel[3:6] = rotation.reshape(3, 3).T @ angular  # ... and the angular velocity in the body frame
    gym_env.unwrapped.set_state(qpos, qvel)
    root = torch.tensor([root_pose], dtype=torch.float32)
    env.backend.reset(mask, pos, vel, root, torch.tensor([root_velocity], dtype=torch.float32))
    env._derived.clear()


def workbench_observation(env) -> np.ndarray:
    return torch.cat([env.call_term(t) for t in env.spec.observations["policy"]], dim=1)[0].double().numpy()


def assert_bodies_in_the_same_place(env, state) -> None:
    """Every workbench body MuJoCo has sits where MuJoCo puts it: the joints mean the same pose in both."""
    rows = [r for r, b in enumerate(state.bodies) if b is not None]
    workbench = env.body_pos_w[0, rows].double().numpy()
    mujoco_ = np.stack([state.body_position(r) for r in rows])
    assert np.abs(workbench - mujoco_).max() < POSITION_TOL, [state.body_names[r] for r in rows]


def test_hopper_observation_is_the_workbenchs_at_the_same_state():
    env, gym_env, state, observe = both("hopper", "Hopper-v5")
    rng = np.random.default_rng(0)
    positions = env.default_dof_pos[0].numpy() + rng.uniform(-0.2, 0.2, 6)
    velocities = rng.uniform(-3.0, 3.0, 6)
    velocities[3] = 12.0  # beyond joint_vel_clipped's 10
    set_both(env, gym_env, state, positions, velocities)
    assert_bodies_in_the_same_place(env, state)
    assert gym_env.unwrapped.data.qpos[1] == pytest.approx(1.25 + positions[1]), "rootz counts from the ref 1.25"
    expected, got = workbench_observation(env), observe()
    assert got.shape == expected.shape == (11,)
    np.testing.assert_allclose(got[:5], expected[:5], atol=POSITION_TOL)  # qpos without rootx
    np.testing.assert_allclose(got[5:], expected[5:], atol=VELOCITY_TOL)  # qvel clipped to +-10
    assert got[5 + 3] == 10.0


def test_ant_observation_is_the_workbenchs_at_the_same_state_and_its_contact_forces_standing():
    env, gym_env, state, observe = both("ant", "Ant-v5")
    assert [state.body_names[r] for r, b in enumerate(state.bodies) if not gym_env.unwrapped.model.body(b).name] == [
        "ankle_3_2",
        "ankle_1_2",
        "ankle_2_2",
        "ankle_4_2",
    ], "the feet MuJoCo leaves unnamed, matched under their parents"
    rng = np.random.default_rng(1)
    positions = env.default_dof_pos[0].numpy() + rng.uniform(-0.3, 0.3, 8)
    velocities = rng.uniform(-2.0, 2.0, 8)
    half = 0.4  # half of a 0.8 rad turn about a tilted axis
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    pose = [0.1, -0.2, 0.9, *(math.sin(half) * axis), math.cos(half)]
    set_both(env, gym_env, state, positions, velocities, pose, [0.4, -0.3, 0.2, 0.5, 1.0, -0.7])
    assert_bodies_in_the_same_place(env, state)
    expected, got = workbench_observation(env), observe()
    assert got.shape == expected.shape == (1 + 4 + 8 + 3 + 3 + 8 + 13 * 3,)
    np.testing.assert_allclose(got[:13], expected[:13], atol=POSITION_TOL)  # height, quaternion (x, y, z, w), joints
    np.testing.assert_allclose(got[13:27], expected[13:27], atol=VELOCITY_TOL)  # root (world, body frame), joints
    assert not got[27:].any() and not expected[27:].any(), "in the air: no contact"

    # standing on its four feet in both after 1 s of zero actions: the same force on each foot
    set_both(
        env, gym_env, state, env.default_dof_pos[0].numpy(), np.zeros(8), env.backend.root_pose[0].tolist(), [0.0] * 6
    )
    for _ in range(20):
        env.step(torch.zeros(1, 8))
        gym_env.step(np.zeros(8))
    workbench = env.contact_forces_w[0].double().numpy()
    mujoco_ = crosscheck_module().contact_forces(state).reshape(-1, 3)
    np.testing.assert_allclose(mujoco_, workbench, atol=FORCE_TOL)
    weight = gym_env.unwrapped.model.body_subtreemass[1] * 9.81
    assert mujoco_[:, 2].sum() == pytest.approx(weight, rel=1e-3) and (mujoco_[:, 2] > 2.0).sum() == 4
    np.testing.assert_allclose(observe()[27:], workbench_observation(env)[27:], atol=FORCE_TOL)  # clipped to +-1 N


def test_humanoid_root_velocity_is_its_centre_of_mass_velocity_as_the_workbenchs():
    """Humanoid's torso has its centre of mass off its origin: a turning root moves the two at different speeds."""
    env, gym_env, state, observe = both("humanoid", "Humanoid-v5")
    assert [state.body_names[r] for r, b in enumerate(state.bodies) if b is None] == [
        "left_upper_arm_left_shoulder1",
        "lwaist_abdomen_z",
        "left_thigh_left_hip_x",
        "left_thigh_left_hip_z",
        "right_thigh_right_hip_x",
        "right_thigh_right_hip_z",
        "right_upper_arm_right_shoulder1",
    ], "the bodies the import adds between one body's joints"
    rng = np.random.default_rng(2)
    positions = env.default_dof_pos[0].numpy() + rng.uniform(-0.2, 0.2, 17)
    velocities = rng.uniform(-2.0, 2.0, 17)
    pose = [0.0, 0.0, 1.4, 0.0, 0.0, math.sin(0.3), math.cos(0.3)]
    set_both(env, gym_env, state, positions, velocities, pose, [1.0, 0.0, 0.0, 2.0, -1.0, 3.0])
    assert_bodies_in_the_same_place(env, state)
    expected, got = workbench_observation(env), observe()
    assert got.shape == expected.shape == (1 + 4 + 17 + 3 + 3 + 17 + 17 + 20 * 3,)
    np.testing.assert_allclose(got[:22], expected[:22], atol=POSITION_TOL)
    np.testing.assert_allclose(got[22:45], expected[22:45], atol=VELOCITY_TOL)
    origin_velocity = gym_env.unwrapped.data.qvel[:3]
    assert np.abs(got[22:25] - origin_velocity).max() > 0.05, "the centre of mass's velocity, not the origin's"


def test_a_short_cpu_runs_policy_is_evaluated_on_both_physics(tmp_path):
    from isaac.rl.workbench.frontends.cli import main

    converted_or_fail("gym", "inverted_pendulum")
    run = tmp_path / "run"
    argv = ["train", "gym/inverted_pendulum", "--num-envs", "16", "--max-iterations", "3", "--eval-episodes", "1"]
    with redirect_stdout(StringIO()):
        assert main([*argv, "--run-dir", str(run), "--set", "ppo.num_steps_per_env=8"]) == 0
    code, out, err = run_script([str(run), "--episodes", "3"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "gym/inverted_pendulum (iteration 3), 3 episodes on each physics:"
    assert lines[1].startswith("  workbench (Newton's MuJoCo solver on cpu): return ")
    assert lines[2].startswith("  Gymnasium InvertedPendulum-v5 (MuJoCo ")
    returns = [float(line.split("return ")[1].split(" ±")[0]) for line in lines[1:3]]
    assert all(r >= 1.0 for r in returns), "every episode earns at least its first step"
    assert lines[3].startswith("  Gymnasium / workbench return: ")


def test_a_term_mujocos_state_does_not_give_is_refused_naming_it():
    module = crosscheck_module()
    scan = SimpleNamespace(func_name="range_scan", params={}, noise=None)
    spec = SimpleNamespace(observation_history={}, observations={"policy": [scan]})
    with pytest.raises(module.CrosscheckError, match=r"^observations.policy: term range_scan has no counterpart in"):
        module.check_terms(spec)


def test_no_such_run_folder_exits_2_naming_it(tmp_path):
    missing = tmp_path / "no_run"
    code, out, err = run_script([str(missing)])
    assert (code, out) == (2, "")
    assert err == f"error: {missing}: no such run folder\n"


def test_a_run_of_a_task_not_in_tasks_gym_exits_2_before_any_env_is_built(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an env was built before the bad input was reported")

    monkeypatch.setattr(workbench_env.WorkbenchEnv, "__init__", refuse)
    run = tmp_path / "cartpole_run"
    run.mkdir()
    spec = (REPO / "tasks" / "cartpole.toml").read_text()
    (run / "spec.toml").write_text(
        spec.replace('"../assets/usd/cartpole.usda"', f'"{REPO / "assets/usd/cartpole.usda"}"')
    )
    code, out, err = run_script([str(run)])
    assert (code, out) == (2, "")
    assert err == f"error: {run}: a run of cartpole, not of one of Gymnasium's tasks (tasks/gym/<name>)\n"
