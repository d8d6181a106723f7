"""The rough-terrain and humanoid tasks on the CPU with a few envs: go2_rough stands on its terrain, scans the ground
and keeps within the GPU's contact budget; g1_flat's motors, action scales, stance and legged rewards are those of
its spec; g1_rough builds on its terrain with its curriculum and a scan under the torso; a mirrored G1 is observed
as the mirror of the original while the physics runs.

Each env is built once per module (the robots are converted at set-up, assets/usd/robots). The expected motor
values, scales and stance are read from the task files with tomllib and matched to the joints here, not through the
spec loader, so a loader that resolves a group's patterns wrongly fails.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.backend.newton_backend import CONTACTS_PER_ENV
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.learn.symmetry import Mirror, mirror_joints
from isaac.rl.workbench.scene.terrain import generate_terrain
from isaac.rl.workbench.specs.loader import load_spec

from .conftest import robot_or_fail
from .learn.test_symmetry import SYMMETRY, start_mirrored

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SCAN = 187
"""Values of the height scan: a 1.6 m x 1.0 m grid every 0.1 m, 17 x 11 rays."""
SCAN_OFFSET = 0.5
"""[m] the scan's ``offset``: on flat ground every value is the body's height minus it."""
GO2_FLAT_WIDTH = 3 + 3 + 3 + 3 + 12 + 12 + 12
"""go2_flat's policy and critic groups: velocities, gravity, command, joint positions, velocities, last action."""
SIX_TILE_TYPES = {"stairs_up", "stairs_down", "boxes", "random_rough", "slope_up", "slope_down"}


def _task_table(task: str) -> dict:
    """``tasks/<task>.toml`` as TOML, without the spec loader."""
    return tomllib.loads((REPO / "tasks" / f"{task}.toml").read_text())


def _per_joint(patterns: dict[str, float], joints: list[str], default: float | None = None) -> list[float | None]:
    """Each joint's value from ``patterns`` (name or full-match regex -> value; a later match wins), ``default``
    where none matches."""
    values = dict.fromkeys(joints, default)
    for pattern, value in patterns.items():
        for joint in joints:
            if re.fullmatch(pattern, joint):
                values[joint] = float(value)
    return list(values.values())


@pytest.fixture(scope="module")
def go2_rough():
    """Ten Go2s, one per terrain column (env i on column i % 10), all on the first (easiest) row: the stairs' and
    boxes' central platforms and the 0-degree slopes are flat, the rough tiles within 1 cm."""
    robot_or_fail("go2")
    torch.manual_seed(0)
    return WorkbenchEnv(load_spec("go2_rough", {"env.num_envs": 10, "terrain.max_start_level": 0}))


@pytest.fixture(scope="module")
def g1_flat():
    """Two G1s of g1_flat with its symmetry maps on (rsl-rl's learner; the env is the same) and the torso's payload
    drawn as 0 kg (a payload that differs between the envs would break the mirror test's symmetry)."""
    robot_or_fail("g1")
    torch.manual_seed(0)
    overrides = {**SYMMETRY, "env.num_envs": 2, "events.torso_mass.params.mass_range": [0.0, 0.0]}
    return WorkbenchEnv(load_spec("g1_flat", overrides))


def test_go2_rough_stands_on_its_terrain_scans_the_ground_under_it_and_keeps_within_the_contact_budget(go2_rough):
    """Standing at its stance (zero actions) for 1 s on the first-row tiles of every column, no robot falls, the
    height scan in both observation groups reads the base's height minus 0.5 m, and the contacts per env stay under
    ``CONTACTS_PER_ENV``. That budget is what each GPU world holds (MuJoCo-Warp's ``nconmax`` per world): contacts
    past it are dropped, and a robot missing its foot contacts sinks into the ground. MuJoCo's heightfield makes a
    contact per grid prism a shape comes within the contact gap of: with Newton's default 0.1 m gap a standing Go2
    made about 800 (every mesh of its legs within 10 cm of the ground), hence backend/newton_terrain.CONTACT_GAP. On
    the CPU every env shares one MuJoCo world, whose contact count divided by the envs is the count per env."""
    env = go2_rough
    n = env.num_envs
    terrain = generate_terrain(env.spec.terrain)
    assert len(terrain.column_types) == 10 and set(terrain.column_types) == SIX_TILE_TYPES
    assert len(set(env.backend.env_origins[:, 1].tolist())) == n, "each env on a column of its own"
    obs = env.get_observations()
    for group in ("policy", "critic"):
        terms = [t.func_name for t in env.spec.observations[group]]
        assert terms[-1] == "height_scan" and obs[group].shape == (n, GO2_FLAT_WIDTH + SCAN), (group, terms)

    for _ in range(50):  # 1 s at 50 Hz
        obs, _, dones, _ = env.step(torch.zeros(n, env.num_actions))
        assert not dones.any(), f"a robot fell over standing on its stance: envs {dones.nonzero().flatten().tolist()}"
    height = env.root_pos_w[:, 2]  # above its tile's start point: the ground under it on these tiles
    assert height.min() > 0.2, f"every base stays up: {height.tolist()}"
    expected = (height - SCAN_OFFSET).unsqueeze(1)
    scan = obs["critic"][:, -SCAN:]  # the critic's scan has no noise
    assert (scan - expected).abs().max() < 0.03, (scan - expected).abs().max(dim=1).values
    noisy = obs["policy"][:, -SCAN:]
    assert (noisy - expected).abs().max() < 0.03 + 0.1, "the policy's scan: the same within its noise of +-0.1"
    contacts_per_env = env.backend.solver.mj_data.ncon / n
    assert 4 <= contacts_per_env < CONTACTS_PER_ENV, f"{contacts_per_env:.0f} contacts per standing Go2"


def test_g1_flat_gives_each_joint_its_motor_groups_gains_and_action_scale_and_starts_at_its_stance(g1_flat):
    env = g1_flat
    table = _task_table("g1_flat")
    joints = env.spec.joint_names
    assert len(joints) == 29 and env.num_actions == 29
    solver = env.backend.solver
    mj_joints = [solver.mj_model.joint(i).name for i in range(solver.mj_model.njnt)]
    for name, group in table["actuators"].items():
        members = [j for j in joints if any(re.fullmatch(p, j) for p in group["joints"])]
        assert members, f"actuators.{name} moves no joint"
        columns = [joints.index(j) for j in members]
        for key in ("stiffness", "damping", "armature"):
            values = env.physics_property(f"dof_{key}")[:, columns]
            assert torch.allclose(values, torch.full_like(values, group[key]), rtol=1e-5), (name, key, members)
        for joint in members:  # the effort limit as MuJoCo clamps the joint's actuator force (env 0's joint)
            mj_joint = next(i for i, m in enumerate(mj_joints) if m.endswith(f"_{joint}"))
            limit = solver.mj_model.jnt_actfrcrange[mj_joint]
            assert solver.mj_model.jnt_actfrclimited[mj_joint] and limit.tolist() == pytest.approx(
                [-group["effort_limit"], group["effort_limit"]]
            ), (name, joint)
    groups = table["actuators"].values()
    grouped = [j for g in groups for j in joints if any(re.fullmatch(p, j) for p in g["joints"])]
    assert sorted(grouped) == sorted(joints), "every joint in exactly one motor group"

    stance = _per_joint(table["robot"]["joint_pos"], joints, default=0.0)
    assert env.default_dof_pos.tolist() == [pytest.approx(stance, abs=1e-6)] * 2
    scales = _per_joint(table["actions"]["scale"], joints)
    assert None not in scales, [j for j, s in zip(joints, scales, strict=True) if s is None]
    # one step of action 1 from the stance at rest: each joint's PD target is its scale away, so the effort the PD
    # applies is stiffness x scale (a quarter of the effort limit, as the spec's scales are made)
    everywhere = torch.ones(env.num_envs, dtype=torch.bool)
    env.reset_physics(everywhere, env.default_dof_pos, torch.zeros_like(env.default_dof_pos))
    env.step(torch.ones(env.num_envs, env.num_actions))
    stiffness = env.physics_property("dof_stiffness")[0]
    assert env.dof_effort[0].tolist() == pytest.approx((stiffness * torch.tensor(scales)).tolist(), rel=1e-4)
    efforts = _per_joint({p: g["effort_limit"] for g in groups for p in g["joints"]}, joints)
    assert env.dof_effort[0].tolist() == pytest.approx([e / 4 for e in efforts], rel=0.01)


def test_g1_flat_legged_rewards_are_zero_at_the_stance_and_finite_and_in_range_as_it_moves(g1_flat):
    env = g1_flat
    terms = {t.name: t for t in env.reward_terms}
    deviations = [name for name, t in terms.items() if t.func_name == "joint_deviation_l1"]
    assert sorted(deviations) == ["arm_deviation", "hip_deviation", "waist_deviation"]
    everywhere = torch.ones(env.num_envs, dtype=torch.bool)
    env.reset_physics(everywhere, env.default_dof_pos, torch.zeros_like(env.default_dof_pos))
    for name in [*deviations, "ankle_limits"]:
        assert env.call_term(terms[name]).abs().max() < 1e-6, f"{name} at the stance"

    generator = torch.Generator().manual_seed(1)
    seen = {name: torch.zeros(env.num_envs) for name in terms}
    for _ in range(20):
        env.step(torch.randn(env.num_envs, env.num_actions, generator=generator))
        for name, term in terms.items():
            value = env.call_term(term).float()
            assert value.shape == (env.num_envs,) and torch.isfinite(value).all(), name
            seen[name] = torch.maximum(seen[name], value.abs())
            if name == "feet_air_time":
                assert (value >= 0).all() and (value <= 0.4 + 1e-6).all(), value
            if name in ("feet_slide", "ankle_limits", *deviations):
                assert (value >= 0).all(), (name, value)
    for name in deviations:
        assert seen[name].min() > 0.01, f"{name} grows as random actions move the joints off the stance"


def test_g1_rough_builds_on_its_terrain_with_its_curriculum_and_a_scan_under_the_torso(g1_flat):
    """One G1 on column 0 (stairs up: it starts on the flat floor of the pit, whatever the level)."""
    robot_or_fail("g1")
    env = WorkbenchEnv(load_spec("g1_rough", {"env.num_envs": 1}))
    assert env.spec.terrain is not None and env.spec.terrain.num_columns == 10
    flat_width = g1_flat.get_observations()["policy"].shape[1]
    obs = env.get_observations()
    assert obs["policy"].shape == (1, flat_width + SCAN) and obs["critic"].shape == (1, flat_width + SCAN)
    torso, pelvis = env.body_names.index("torso_link"), env.body_names.index("pelvis")
    heights = env.body_pos_w[0, :, 2]
    scan = obs["critic"][0, -SCAN:]
    assert (scan - (heights[torso] - SCAN_OFFSET)).abs().max() < 0.01, "the scan reads the torso's height"
    assert abs(heights[torso] - heights[pelvis]) > 0.03, "the pelvis reads otherwise"
    level = env.pop_episode_stats()["terrain/mean_level"]
    assert level in (0.0, 1.0, 2.0, 3.0, 4.0), f"starts on the five easiest rows, at level {level}"


def test_a_mirrored_g1_is_observed_as_the_mirror_of_the_original_as_the_physics_runs(g1_flat):
    """As the Go2's test in tests/learn/test_symmetry.py: env 0 a tilted, turning, falling G1 with a turning command
    and an asymmetric pose; env 1 its mirror image. After each of three physics steps with mirrored actions, env 1's
    critic observation is env 0's mirrored (every joint's pairing and sign), and the map with no joint negated is
    far off."""
    env = g1_flat
    augment = env.symmetry_augmentation()
    joints, critic = augment.actions, augment.groups["critic"]
    names = env.spec.joint_names
    action = start_mirrored(env, joints, height=1.2)
    for _ in range(3):  # in the air: no contact yet, whose solver is not exactly symmetric
        obs = env.step(torch.stack([action, joints.apply(action)]))[0]["critic"]
        assert obs[0, 3:6].abs().max() > 0.1 and obs[0, 10] > 0.5  # turning, with a sideways command
        error = (critic.apply(obs[:1]) - obs[1:]).abs()[0]
        wrong = {names[(i - 12) % 29] for i in error.nonzero().flatten().tolist() if i >= 12 and error[i] > 5e-3}
        assert error[:12].max() < 5e-3 and not wrong, f"joints whose mirror is off: {sorted(wrong)}"
        assert torch.equal(critic.apply(critic.apply(obs)), obs)
    unsigned = mirror_joints(names, negate=[]).restricted(names, "the action")
    root = Mirror(tuple(range(12)), critic.sign[:12])
    none_negated = Mirror.concat([root, unsigned, unsigned, unsigned])
    assert none_negated.index == critic.index and none_negated.sign != critic.sign
    assert (none_negated.apply(obs[:1]) - obs[1:]).abs().max() > 0.05
