"""Teacher-student distillation end to end on the CPU: a cart-pole teacher trained with privileged observations
(the masses its start-up randomisation drew), a student distilled from its run folder that sees only a history of
joint readings, and the student run played, resumed and exported like any other."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest
import torch
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.learn.run_dir import RunError
from isaac.rl.workbench.workbench import Workbench

from .cartpole_text import MASS_EVENTS, POLICY, PRIVILEGED
from .conftest import robot_or_fail

HISTORY = 4
TEACHER_PPO = '[ppo]\nobs_groups = { actor = ["policy", "privileged"], critic = ["policy", "privileged"] }\n'
STUDENT_OBS = (
    f"{POLICY}\nhistory_length = {HISTORY}\n\n"
    '[observations.teacher]\nterms = ["joint_pos", "joint_vel"]\n\n'
    '[observations.privileged]\nterms = ["randomized_params"]'
)
STUDENT_PPO = """[ppo]
obs_groups = { student = ["policy"], teacher = ["teacher", "privileged"] }

[ppo.student]
hidden_dims = [32, 32]

[ppo.teacher]
hidden_dims = [32, 32]

[ppo.algorithm]
class_name = "Distillation"
"""


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread, as the CLI's default: the small networks gain nothing from more on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def student_spec(write_spec, teacher_hidden: str = "[32, 32]") -> Path:
    """The cart-pole student: the teacher's env, its policy group with a history, the teacher's groups beside."""
    ppo = STUDENT_PPO.replace("[ppo.teacher]\nhidden_dims = [32, 32]", f"[ppo.teacher]\nhidden_dims = {teacher_hidden}")
    path = write_spec({POLICY: STUDENT_OBS}, name="student.toml")
    path.write_text(path.read_text().split("[ppo]")[0] + MASS_EVENTS + "\n" + ppo)
    return path


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    """A cart-pole teacher of 30 PPO iterations whose actor reads the policy and privileged groups."""
    from isaac.rl.workbench.specs.loader import load_spec

    folder = tmp_path_factory.mktemp("teacher")
    text = Path(load_spec("cartpole").source).read_text()
    text = text.replace('"../assets', f'"{Path(load_spec("cartpole").source).parent}/../assets')
    spec = folder / "teacher.toml"
    spec.write_text(text.replace(POLICY, PRIVILEGED).replace("[ppo]\n", TEACHER_PPO) + MASS_EVENTS)
    wb = Workbench.new(spec, {"ppo.max_iterations": 30}, run_dir=folder / "run")
    wb.build()
    assert wb.trainer.actor.obs_groups == ["policy", "privileged"]
    assert wb.trainer.actor.obs_dim == 4 + 2, "4 joint readings and the 2 drawn masses"
    while not wb.done:
        wb.train_step()
    wb.finish()
    return folder / "run"


@pytest.mark.slow
def test_a_student_learns_the_teachers_actions_from_a_history_and_plays_and_exports_alone(
    teacher_run, write_spec, tmp_path
):
    student = Workbench.new(
        student_spec(write_spec),
        {"ppo.max_iterations": 12, "ppo.teacher_checkpoint": str(teacher_run)},
        run_dir=tmp_path / "student",
    )
    student.build()
    teacher_actor = torch.load(teacher_run / "checkpoints" / "model_000030.pt", weights_only=True)["actor_state_dict"]
    for key, value in student.trainer.alg.teacher.state_dict().items():
        assert torch.equal(value, teacher_actor[key]), f"the teacher is the teacher run's actor ({key})"
    assert student.trainer.actor.obs_groups == ["policy"] and student.trainer.actor.obs_dim == HISTORY * 4
    losses = []
    while not student.done:
        losses.append(student.train_step()["loss/behavior"])
    student.finish()
    assert sum(losses[-3:]) < 0.5 * sum(losses[:3]), f"the student's behaviour loss falls: {losses}"

    rows = [json.loads(line) for line in (tmp_path / "student" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == list(range(1, 13)) and "loss/behavior" in rows[-1]
    checkpoint = torch.load(tmp_path / "student" / "checkpoints" / "model_000012.pt", weights_only=True)
    assert {"student_state_dict", "teacher_state_dict", "optimizer_state_dict"} <= set(checkpoint)

    # play and export need no teacher file: the student run's checkpoints hold both networks
    shutil.copytree(teacher_run, tmp_path / "teacher_copy")
    shutil.rmtree(teacher_run)
    try:
        played = Workbench.for_play(tmp_path / "student", episodes=4)
        assert played.iteration == 12 and played.evaluate(num_episodes=4)["episodes"] == 4
        exporter = Workbench.for_export(tmp_path / "student")
        report = exporter.export()
    finally:
        shutil.copytree(tmp_path / "teacher_copy", teacher_run)
    assert report["obs_dim"] == HISTORY * 4 and report["obs_groups"] == ["policy"] and report["num_actions"] == 1
    model = onnx.load(str(tmp_path / "student" / "export" / "policy.onnx"))
    weights = sum(torch.Size(list(t.dims)).numel() for t in model.graph.initializer)
    student_weights = sum(p.numel() for p in exporter.trainer.actor.mlp.parameters())
    assert student_weights <= weights < student_weights + 2 * HISTORY * 4 + 16, "the student's network, no teacher"


@pytest.mark.slow
def test_a_student_run_resumes_from_its_own_checkpoint(teacher_run, write_spec, tmp_path, capsys):
    run = tmp_path / "student"
    spec = student_spec(write_spec)
    common = ["--run-dir", str(run), "--num-envs", "32", "--eval-episodes", "2"]
    teacher = f"ppo.teacher_checkpoint={teacher_run}"
    assert main(["train", str(spec), *common, "--max-iterations", "2", "--set", teacher]) == 0
    assert main(["train", "--resume", str(run), "--max-iterations", "4", "--eval-episodes", "2"]) == 0
    assert "resuming at iteration 2 of 4" in capsys.readouterr().out
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2, 3, 4]


@pytest.mark.slow
def test_a_teacher_the_student_cannot_rebuild_is_refused_before_the_env_is_built(teacher_run, write_spec, tmp_path):
    wb = Workbench.new(
        student_spec(write_spec, teacher_hidden="[64, 64]"),
        {"ppo.teacher_checkpoint": str(teacher_run)},
        run_dir=tmp_path / "a",
    )
    with pytest.raises(
        RunError, match=r"\[ppo\.teacher\] hidden_dims = \[64, 64\].*\[ppo\.actor\] hidden_dims = \[32, 32\]"
    ):
        wb.build()
    assert wb.env is None and not (tmp_path / "a").exists()
    wb = Workbench.new(student_spec(write_spec), run_dir=tmp_path / "b")
    with pytest.raises(RunError, match="ppo.teacher_checkpoint=RUN_DIR"):
        wb.build()


@pytest.mark.slow
def test_go2_teacher_and_student_train_an_iteration_each(tmp_path):
    robot_or_fail("go2")
    small = {"env.num_envs": 4, "ppo.num_steps_per_env": 8}
    teacher = Workbench.new("go2_flat_teacher", small, run_dir=tmp_path / "teacher")
    teacher.build()
    assert teacher.env.randomized_params.shape == (4, 26)
    assert teacher.trainer.actor.obs_dim == 45 + 3 + 26, "readings, the base's velocity, friction, mass, 24 gains"
    teacher.train_step()
    teacher.save_checkpoint()
    student = Workbench.new(
        "go2_flat_student", {**small, "ppo.teacher_checkpoint": str(tmp_path / "teacher")}, run_dir=tmp_path / "s"
    )
    student.build()
    assert student.trainer.actor.obs_dim == 5 * 45
    assert torch.isfinite(torch.tensor(student.train_step()["loss/behavior"]))


def test_go2_student_shares_the_teachers_env_and_its_teacher_groups_give_the_teachers_actor_input():
    from isaac.rl.workbench.learn.teacher import teacher_mismatch
    from isaac.rl.workbench.specs.loader import load_spec

    robot_or_fail("go2")
    teacher, student = load_spec("go2_flat_teacher").raw, load_spec("go2_flat_student").raw
    for table in ("scene", "robot", "actuators", "env", "commands", "actions", "rewards", "terminations", "events"):
        assert student[table] == teacher[table], table
    assert student["metrics"] == teacher["metrics"]
    assert student["observations"]["policy"]["terms"] == teacher["observations"]["policy"]["terms"]
    assert teacher_mismatch(teacher, student) is None


def test_a_teacher_whose_actor_read_other_terms_is_named_with_both_layouts():
    from isaac.rl.workbench.learn.teacher import teacher_mismatch

    actor = {"hidden_dims": [32, 32]}
    teacher = {
        "observations": {
            "policy": {"terms": ["joint_pos", "joint_vel"]},
            "privileged": {"terms": ["randomized_params"]},
        },
        "ppo": {"obs_groups": {"actor": ["policy", "privileged"]}, "actor": actor},
    }
    student = {
        "observations": {
            "teacher": {"terms": ["joint_vel", {"func": "joint_pos"}]},
            "privileged": {"terms": ["randomized_params"]},
        },
        "ppo": {"obs_groups": {"teacher": ["teacher", "privileged"]}, "teacher": actor},
    }
    problem = teacher_mismatch(teacher, student)
    assert problem is not None
    assert (
        "[joint_pos, joint_vel, randomized_params]" in problem
        and "[joint_vel, joint_pos, randomized_params]" in problem
    )
    student["observations"]["teacher"]["terms"].reverse()
    assert teacher_mismatch(teacher, student) is None
