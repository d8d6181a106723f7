"""``[ppo.algorithm.symmetry]``: joints paired and signed by their left/right names (the Go2's, the G1's 29), the
observation groups mirrored term by term (with a history), a mirrored Go2 state observed as the mirror of the
original while the physics runs, bad keys refused naming the key, and a short training run through rsl-rl's PPO."""

from __future__ import annotations

import math

import pytest
import torch
from isaac.rl.workbench.envs.observation_groups import ObservationGroups
from isaac.rl.workbench.learn.ppo_config import runner_config
from isaac.rl.workbench.learn.symmetry import Mirror, SymmetryAugmentation, mirror_joints
from isaac.rl.workbench.specs.loader import SpecError, load_spec
from isaac.rl.workbench.specs.symmetry_maps import symmetry_augmentation
from tensordict import TensorDict

from ..conftest import robot_or_fail

GO2_JOINTS = [f"{leg}_{part}_joint" for leg in ("FL", "FR", "RL", "RR") for part in ("hip", "thigh", "calf")]
G1_JOINTS = (  # the 29 joints of example-robot-data's g1_29dof_rev_1_0.urdf, in its order
    [f"left_{j}_joint" for j in ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")]
    + [f"right_{j}_joint" for j in ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")]
    + ["waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint"]
    + [f"left_{j}_joint" for j in ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow")]
    + [f"left_wrist_{j}_joint" for j in ("roll", "pitch", "yaw")]
    + [f"right_{j}_joint" for j in ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow")]
    + [f"right_wrist_{j}_joint" for j in ("roll", "pitch", "yaw")]
)
SYMMETRY = {"ppo.learner": "rsl_rl", "ppo.algorithm.symmetry.use_data_augmentation": True}


def test_go2_legs_pair_left_with_right_and_the_hip_abduction_is_negated():
    joints = mirror_joints(GO2_JOINTS)
    assert joints.partner["FL_hip_joint"] == "FR_hip_joint" and joints.partner["RR_calf_joint"] == "RL_calf_joint"
    assert all(joints.partner[joints.partner[j]] == j for j in GO2_JOINTS)
    assert [j for j in GO2_JOINTS if joints.sign[j] < 0] == [
        "FL_hip_joint",
        "FR_hip_joint",
        "RL_hip_joint",
        "RR_hip_joint",
    ]
    mirror = joints.restricted(GO2_JOINTS, "the action")
    action = torch.arange(1.0, 13.0)[None]  # FL hip, thigh, calf = 1, 2, 3; FR = 4, 5, 6; ...
    assert mirror.apply(action)[0].tolist() == [-4, 5, 6, -1, 2, 3, -10, 11, 12, -7, 8, 9]


def test_g1_joints_pair_every_left_with_its_right_and_roll_and_yaw_are_negated():
    assert len(G1_JOINTS) == 29
    joints = mirror_joints(G1_JOINTS)
    sides = [j for j in G1_JOINTS if j.startswith(("left_", "right_"))]
    assert len(sides) == 26
    for joint in sides:
        other = joints.partner[joint]
        assert other != joint and other.split("_", 1)[1] == joint.split("_", 1)[1]
    assert [j for j in G1_JOINTS if joints.partner[j] == j] == [
        "waist_yaw_joint",
        "waist_roll_joint",
        "waist_pitch_joint",
    ]
    negated = {j for j in G1_JOINTS if joints.sign[j] < 0}
    assert negated == {j for j in G1_JOINTS if "_roll_" in j or "_yaw_" in j}  # pitch, knee, elbow kept


def test_a_g1_state_mirrored_twice_is_itself():
    mirror = mirror_joints(G1_JOINTS).restricted(G1_JOINTS, "the action")
    q = torch.randn(5, 29)
    assert not torch.allclose(mirror.apply(q), q)
    assert torch.equal(mirror.apply(mirror.apply(q)), q)


def test_overrides_pair_and_negate_by_hand():
    names = ["hip_a", "hip_b", "tail"]  # no side markers: paired by hand
    joints = mirror_joints(names, pairs=[["hip_a", "hip_b"]], negate=["tail"])
    assert joints.partner == {"hip_a": "hip_b", "hip_b": "hip_a", "tail": "tail"}
    assert joints.sign == {"hip_a": 1.0, "hip_b": 1.0, "tail": -1.0}  # negate replaces the name rule
    with pytest.raises(ValueError, match=r"^'ppo.algorithm.symmetry.joint_pairs': joint left_knee has no mirror"):
        mirror_joints(["left_knee", "waist"])


def test_augmentation_stacks_the_batch_over_its_mirror_image():
    groups = {"policy": Mirror((0, 2, 1), (-1.0, 1.0, 1.0))}
    augment = SymmetryAugmentation(groups, Mirror((1, 0), (1.0, 1.0)))
    obs = TensorDict({"policy": torch.tensor([[1.0, 2.0, 3.0]]), "extra": torch.tensor([[7.0]])}, batch_size=[1])
    out_obs, out_actions = augment(env=None, obs=obs, actions=torch.tensor([[0.5, -0.5]]))
    assert out_obs["policy"].tolist() == [[1, 2, 3], [-1, 3, 2]]
    assert out_obs["extra"].tolist() == [[7], [7]]  # a group no network reads: repeated as it is
    assert out_actions.tolist() == [[0.5, -0.5], [-0.5, 0.5]]
    assert augment(obs=None, actions=torch.zeros(3, 2))[0] is None


def _go2_by_hand(term: str, value: torch.Tensor) -> torch.Tensor:
    """The Go2's mirror of one term's values, written out: the reference for the generated maps."""
    legs = [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]
    hips = torch.tensor([-1.0, 1, 1] * 4)
    signs = {"root_lin_vel_b": [1, -1, 1], "projected_gravity_b": [1, -1, 1], "root_ang_vel_b": [-1, 1, -1]}
    if term in signs:
        return value * torch.tensor(signs[term], dtype=value.dtype)
    if term == "generated_commands":
        return value * torch.tensor([1.0, -1, -1])
    return value[:, legs] * hips  # joints and the last action


def test_a_group_with_a_history_mirrors_each_terms_frames(tmp_path):
    """go2_flat's critic group with 3 frames per term: the mirror of the group vector is the group vector of the
    mirrored term values, slot by slot."""
    robot_or_fail("go2")
    spec = load_spec("go2_flat", {**SYMMETRY, "observations.critic.history_length": 3})
    critic = symmetry_augmentation(spec).groups["critic"]
    assert len(critic) == 3 * 48
    terms = spec.observations["critic"]
    values = {}

    def call(term):  # env 0: random values; env 1: their mirror image, by hand
        original = torch.randn(1, values["size"][term.name])
        return torch.cat([original, _go2_by_hand(term.name, original)])

    values["size"] = {t.name: 12 if t.name.startswith(("joint", "last")) else 3 for t in terms}
    groups = ObservationGroups({"critic": terms}, {"critic": 3}, 2, torch.device("cpu"), call)
    restart = torch.tensor([True, True])
    for _ in range(4):  # the frames of several steps in the history
        obs = groups.compute(restart)["critic"]
        restart = torch.tensor([False, False])
        assert torch.allclose(critic.apply(obs[:1]), obs[1:])
        assert torch.equal(critic.apply(critic.apply(obs)), obs)


def _rpy_quat(roll: float, pitch: float, yaw: float) -> list[float]:
    """(x, y, z, w) of roll about x, then pitch about y, then yaw about z."""
    cr, sr, cp, sp = math.cos(roll / 2), math.sin(roll / 2), math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return [
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    ]


def start_mirrored(env, joints: Mirror, height: float) -> torch.Tensor:
    """Put env 0 of the 2-env ``env`` in a tilted, turning, falling state ``height`` [m] up, with an asymmetric pose
    and a sideways, turning velocity command, and env 1 in its mirror image (joints through ``joints``, the root
    reflected about the x-z plane); returns an action for env 0 (D,), to be mirrored for env 1. Seeded."""
    generator = torch.Generator().manual_seed(0)
    dofs = env.default_dof_pos.shape[1]
    q = env.default_dof_pos[0] + 0.4 * (torch.rand(dofs, generator=generator) - 0.5)
    qd = torch.randn(dofs, generator=generator)
    x, y, z, w = _rpy_quat(0.15, 0.1, 0.3)
    pose = torch.tensor([[0.1, 0.05, height, x, y, z, w], [0.1, -0.05, height, -x, y, -z, w]])
    everywhere = torch.ones(2, dtype=torch.bool)
    env.reset_physics(everywhere, torch.stack([q, joints.apply(q)]), torch.stack([qd, joints.apply(qd)]), pose)
    velocity = torch.tensor([0.3, 0.4, -0.1, 0.5, -0.2, 0.7])  # world linear [m/s], angular [rad/s]
    env.add_root_velocity(everywhere, torch.stack([velocity, velocity * torch.tensor([1.0, -1, 1, -1, 1, -1])]))
    env.commands.values["base_velocity"][:] = torch.tensor([[0.5, 0.6, 0.4], [0.5, -0.6, -0.4]])
    return 0.5 * torch.randn(dofs, generator=generator)


def test_a_mirrored_go2_is_observed_as_the_mirror_of_the_original_as_the_physics_runs():
    """Env 0: a tilted, turning, falling Go2 with a sideways velocity command and an asymmetric pose; env 1: its
    mirror image (joints through the map, the root reflected about the x-z plane). After each of three physics
    steps with mirrored actions, env 1's critic observation is env 0's mirrored; the same without the hips negated
    is far off, so the test sees a wrong sign."""
    robot_or_fail("go2")
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    overrides = {**SYMMETRY, "env.num_envs": 2, "events": {}, "terminations": {}, "actions.delay_steps": [0, 0]}
    env = WorkbenchEnv(load_spec("go2_flat", overrides), "cpu", cuda_graph=False)
    augment = env.symmetry_augmentation()
    joints, critic = augment.actions, augment.groups["critic"]
    unsigned = mirror_joints(env.spec.joint_names, negate=[]).restricted(env.spec.joint_names, "the action")
    action = start_mirrored(env, joints, height=0.45)
    for _ in range(3):  # in the air: no contact yet, whose solver is not exactly symmetric
        obs = env.step(torch.stack([action, joints.apply(action)]))[0]["critic"]
        assert obs[0, 3:6].abs().max() > 0.1 and obs[0, 10] > 0.5  # turning, with a sideways command
        assert torch.allclose(critic.apply(obs[:1]), obs[1:], atol=5e-3)
        assert torch.equal(critic.apply(critic.apply(obs)), obs)
    root = Mirror(tuple(range(12)), critic.sign[:12])  # velocities, gravity, command: 12 values
    hips_kept = Mirror.concat([root, unsigned, unsigned, unsigned])  # the joint terms without the hips negated
    assert unsigned.sign == (1.0,) * 12 and hips_kept.index == critic.index
    assert (hips_kept.apply(obs[:1]) - obs[1:]).abs().max() > 0.05


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"ppo.algorithm.symmetry": {"use_data_augmentation": True}}, "ppo.algorithm.symmetry"),  # graphed learner
        ({**SYMMETRY, "ppo.algorithm.symmetry.mirror": True}, "ppo.algorithm.symmetry.mirror"),
        ({**SYMMETRY, "ppo.algorithm.symmetry.use_mirror_loss": True}, "ppo.algorithm.symmetry.mirror_loss_coeff"),
        (
            {**SYMMETRY, "ppo.algorithm.symmetry.use_data_augmentation": 1},
            "ppo.algorithm.symmetry.use_data_augmentation",
        ),
        ({**SYMMETRY, "ppo.algorithm.symmetry.negate": ["FL_hip_joint"]}, "ppo.algorithm.symmetry.negate"),
        ({**SYMMETRY, "ppo.algorithm.symmetry.negate": ["nothing.*"]}, "ppo.algorithm.symmetry.negate"),
        (
            {**SYMMETRY, "ppo.algorithm.symmetry.joint_pairs": [["FL_hip_joint", "RL_hip_joint"]]},
            "ppo.algorithm.symmetry.joint_pairs",
        ),
        ({**SYMMETRY, "ppo.algorithm.symmetry.joint_pairs": [["FL_hip_joint"]]}, "ppo.algorithm.symmetry.joint_pairs"),
        (
            {**SYMMETRY, "ppo.algorithm.symmetry.terms": {"root_height": {"index": [0, 2], "sign": [1, 1]}}},
            "ppo.algorithm.symmetry.terms.root_height.index",
        ),
        (
            {**SYMMETRY, "ppo.algorithm.symmetry.terms": {"x": {"index": [1, 0], "sign": [1, -1]}}},
            "ppo.algorithm.symmetry.terms.x",
        ),
    ],
)
def test_bad_symmetry_settings_are_refused_naming_the_key(overrides, key):
    robot_or_fail("go2")
    with pytest.raises(SpecError) as caught:
        load_spec("go2_flat", overrides)
    assert caught.value.key == key
    assert f"key '{key}'" in str(caught.value) and "\n" not in str(caught.value)


def test_a_term_without_a_mirror_rule_is_refused_naming_it_unless_the_spec_maps_it():
    robot_or_fail("go2")
    terms = ["root_lin_vel_b", {"func": "body_pos_b", "params": {"body": "base"}}]
    overrides = {**SYMMETRY, "observations.critic.terms": terms}
    with pytest.raises(SpecError, match="observation term body_pos_b has no mirror rule") as caught:
        load_spec("go2_flat", overrides)
    assert caught.value.key == "ppo.algorithm.symmetry.terms"
    given = {"body_pos_b": {"index": [0, 1, 2], "sign": [1, -1, 1]}}
    spec = load_spec("go2_flat", {**overrides, "ppo.algorithm.symmetry.terms": given})
    assert symmetry_augmentation(spec).groups["critic"].sign == (1.0, -1.0, 1.0, 1.0, -1.0, 1.0)
    with pytest.raises(SpecError, match="observation group critic has 7 values, its mirror 6") as caught:
        symmetry_augmentation(spec, group_shapes={"policy": (48,), "critic": (7,)})  # the env's sizes: a map too short
    assert caught.value.key == "ppo.algorithm.symmetry.terms"


def test_the_runner_config_hands_rsl_rl_the_augmentation():
    robot_or_fail("go2")
    spec = load_spec(
        "go2_flat",
        {**SYMMETRY, "ppo.algorithm.symmetry.use_mirror_loss": True, "ppo.algorithm.symmetry.mirror_loss_coeff": 0.1},
    )
    augment = symmetry_augmentation(spec)
    cfg = runner_config(spec.ppo, list(spec.observations), augment)
    assert cfg["algorithm"]["class_name"] == "PPO" and "symmetry" not in cfg["algorithm"]
    assert cfg["algorithm"]["symmetry_cfg"] == {
        "use_data_augmentation": True,
        "use_mirror_loss": True,
        "mirror_loss_coeff": 0.1,
        "data_augmentation_func": augment,
    }
    assert "symmetry_cfg" not in runner_config(load_spec("go2_flat").ppo, ["policy", "critic"])["algorithm"]


@pytest.mark.slow
def test_go2_trains_two_iterations_with_mirror_augmentation_and_loss(tmp_path):
    robot_or_fail("go2")
    import json

    from isaac.rl.workbench.frontends.cli import main

    run_dir = tmp_path / "go2"
    settings = [
        "ppo.learner=rsl_rl",
        "ppo.num_steps_per_env=8",
        "ppo.algorithm.symmetry.use_data_augmentation=true",
        "ppo.algorithm.symmetry.use_mirror_loss=true",
        "ppo.algorithm.symmetry.mirror_loss_coeff=0.1",
    ]
    args = ["train", "go2_flat", "--num-envs", "4", "--max-iterations", "2", "--eval-episodes", "1"]
    assert main([*args, "--run-dir", str(run_dir), "--set", *settings]) == 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows if "loss/symmetry" in r] == [1, 2]
    assert all(math.isfinite(r["loss/symmetry"]) and r["loss/symmetry"] > 0 for r in rows if "iteration" in r)


def test_an_asymmetric_default_pose_is_refused_where_actions_are_offsets_from_it():
    robot_or_fail("go2")
    spec = load_spec("go2_flat", SYMMETRY)
    stance = [0.0, 0.8, -1.5] * 4
    assert symmetry_augmentation(spec, stance) is not None
    splayed = [0.1, 0.8, -1.5] * 4  # every hip 0.1 rad outwards on the left is inwards on the right
    with pytest.raises(SpecError, match="FL_hip_joint = 0.1, its mirror FR_hip_joint gives -0.1") as caught:
        symmetry_augmentation(spec, splayed)
    assert caught.value.key == "robot.joint_pos"
