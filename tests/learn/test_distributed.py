"""Data-parallel training (learn/distributed.py) with two gloo ranks on the CPU: the train command under ``torchrun``
trains cart-pole with both ranks holding bit-identical networks after every update, rank 0 alone writes the run
folder and its metrics count both ranks' env steps, a resume goes on at the next iteration on both ranks, a rank that
fails ends the run; one distributed update equals a single-process update on the two ranks' batches together; the
launch, device and backend choices and their one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from isaac.rl.workbench.learn import distributed

TORCHRUN = Path(sys.executable).parent / "torchrun"
RUN_TIMEOUT_S = 120  # [s] a hung rank fails the test instead of blocking it
TRAIN = ["--num-envs", "4", "--eval-episodes", "1", "--set"]
NORMALISED = ["ppo.actor.obs_normalization=true", "ppo.critic.obs_normalization=true"]

# One rank of a test run: the train command, keeping its networks after every iteration (saved at finish), and
# failing on rank 1 at iteration FAIL_RANK1_AT when that is set.
LAUNCHER = """
import os, sys
import torch
from isaac.rl.workbench.frontends import cli
from isaac.rl.workbench.learn.trainer import Trainer, TrainingDiverged
from isaac.rl.workbench.workbench import Workbench

out, rank = sys.argv.pop(1), os.environ["RANK"]
fail_at = int(os.environ.get("FAIL_RANK1_AT", "0"))
states = []
train_step, finish, trainer_step = Workbench.train_step, Workbench.finish, Trainer.train_step

def keep(self):
    metrics = train_step(self)
    alg = self.trainer.alg
    states.append({f"{n}.{k}": v.clone() for n in ("actor", "critic") for k, v in getattr(alg, n).state_dict().items()})
    return metrics

def fail(self):
    if rank == "1" and self.iteration + 1 == fail_at:
        raise TrainingDiverged("the test made rank 1 fail")
    return trainer_step(self)

def save(self, *args, **kwargs):
    torch.save({"iterations": self.iteration, "states": states}, os.path.join(out, f"rank{rank}.pt"))
    return finish(self, *args, **kwargs)

Workbench.train_step, Workbench.finish, Trainer.train_step = keep, save, fail
sys.exit(cli.main(sys.argv[1:]))
"""


def _torchrun(folder: Path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2`` of the train command in ``folder`` (its working folder, where
    each rank saves its networks); output captured, killed after RUN_TIMEOUT_S."""
    launcher = folder / "launch.py"
    launcher.write_text(LAUNCHER)
    command = [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(launcher), str(folder), "train", *args]
    environ = {**os.environ, **env}
    return subprocess.run(
        command, cwd=folder, env=environ, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _assert_same_networks(folder: Path) -> list[dict]:
    """Both ranks' networks after every iteration, asserted bit-identical; rank 0's returned."""
    rank0, rank1 = (torch.load(folder / f"rank{rank}.pt") for rank in (0, 1))
    assert len(rank0["states"]) == len(rank1["states"]) > 0
    for iteration, (a, b) in enumerate(zip(rank0["states"], rank1["states"], strict=True), start=1):
        different = [key for key in a if not torch.equal(a[key], b[key])]
        assert not different, f"iteration {iteration}: the ranks' {different} differ"
    assert any("obs_normalizer._mean" in key for key in rank0["states"][0])
    return rank0["states"]


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """Cart-pole trained 3 iterations by 2 ranks of 4 envs each, observation normalisers on."""
    folder = tmp_path_factory.mktemp("two_ranks")
    run_dir = folder / "run"
    done = _torchrun(folder, ["cartpole", "--max-iterations", "3", "--run-dir", str(run_dir), *TRAIN, *NORMALISED])
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, run_dir, done


def test_two_ranks_hold_identical_networks_after_every_update(two_rank_run):
    folder, _, _ = two_rank_run
    states = _assert_same_networks(folder)
    assert len(states) == 3
    # the normaliser saw both ranks' batches: 16 steps x 4 envs x 2 ranks per iteration
    assert int(states[-1]["actor.obs_normalizer.count"]) == 3 * 16 * 4 * 2
    assert not torch.equal(states[0]["actor.mlp.0.weight"], states[-1]["actor.mlp.0.weight"])  # it trained


def test_rank0_alone_writes_the_run_and_counts_both_ranks(two_rank_run):
    folder, run_dir, done = two_rank_run
    rows = _rows(run_dir)
    assert [row["iteration"] for row in rows] == [1, 2, 3]  # one writer: no row twice
    assert [row["total_env_steps"] for row in rows] == [128, 256, 384]  # 16 steps x 4 envs x 2 ranks
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["model_000003.pt"]
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["launch.py", "rank0.pt", "rank1.pt", "run"]
    assert done.stdout.count("it     3/3") == 1  # rank 0's progress lines only
    assert done.stdout.count("run folder:") == 1


def test_two_rank_resume_goes_on_at_the_next_iteration(two_rank_run):
    folder, run_dir, _ = two_rank_run
    done = _torchrun(folder, ["--resume", str(run_dir), "--max-iterations", "4", "--eval-episodes", "1"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming at iteration 3 of 4" in done.stdout
    rows = _rows(run_dir)
    assert [row["iteration"] for row in rows] == [1, 2, 3, 4]
    assert rows[-1]["total_env_steps"] == 512
    assert torch.load(folder / "rank1.pt")["iterations"] == 4
    _assert_same_networks(folder)


def test_rsl_rls_own_learner_keeps_both_ranks_identical(tmp_path):
    """``ppo.learner = "rsl_rl"``: rsl-rl's PPO with its own multi-GPU code (``multi_gpu_cfg``) on two gloo ranks."""
    run_dir = tmp_path / "run"
    args = ["cartpole", "--max-iterations", "2", "--run-dir", str(run_dir), *TRAIN, "ppo.learner=rsl_rl", *NORMALISED]
    done = _torchrun(tmp_path, args)
    assert done.returncode == 0, done.stdout + done.stderr
    states = _assert_same_networks(tmp_path)
    assert len(states) == 2 and not torch.equal(states[0]["actor.mlp.0.weight"], states[-1]["actor.mlp.0.weight"])
    assert [row["total_env_steps"] for row in _rows(run_dir)] == [128, 256]


def test_a_failing_rank_ends_the_run(tmp_path):
    run_dir = tmp_path / "run"
    done = _torchrun(
        tmp_path, ["cartpole", "--max-iterations", "5", "--run-dir", str(run_dir), *TRAIN, "seed=1"], FAIL_RANK1_AT="2"
    )
    assert done.returncode != 0
    assert (
        "error: rank 1: " in done.stderr and "training stopped at iteration 2: the test made rank 1 fail" in done.stderr
    )
    assert "rank      : 1" in done.stderr  # torchrun's report names the failed rank
    assert [row["iteration"] for row in _rows(run_dir)] == [1]


# one update, two ranks against one process ------------------------------------------------------------------------

ENVS, STEPS, OBS, ACTIONS = 32, 8, 5, 2  # per rank
ALGORITHM = dict(num_learning_epochs=2, num_mini_batches=4, learning_rate=3e-3, desired_kl=1.0, max_grad_norm=1.0)


def _learner(envs: int, multi_gpu_cfg: dict | None):
    from isaac.rl.workbench.learn.graphed_ppo import GraphedPPO
    from rsl_rl.models import MLPModel
    from rsl_rl.storage import RolloutStorage
    from tensordict import TensorDict

    obs = TensorDict({"policy": torch.zeros(envs, OBS)}, batch_size=[envs])
    groups = {"actor": ["policy"], "critic": ["policy"]}
    torch.manual_seed(0)  # the same networks in every process
    dist_cfg = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"}
    actor = MLPModel(obs, groups, "actor", ACTIONS, [16, 16], "elu", True, dist_cfg)
    critic = MLPModel(obs, groups, "critic", 1, [16, 16], "elu", True)
    storage = RolloutStorage("rl", envs, STEPS, obs, [ACTIONS], "cpu")
    return GraphedPPO(actor, critic, storage, device="cpu", multi_gpu_cfg=multi_gpu_cfg, **ALGORITHM)


def _batch_and_orders() -> tuple[dict, list[torch.Tensor]]:
    """A rollout of STEPS x (2 ENVS) transitions (field -> (STEPS, 2 ENVS, D)) and each rank's mini-batch order. The
    stored distributions are near the policy's on rank 0's envs and far from it on rank 1's: alone, rank 0's KL
    would raise the learning rate and rank 1's lower it; their mean lowers it."""
    g = torch.Generator().manual_seed(3)
    batch = {
        "obs": torch.randn(STEPS, 2 * ENVS, OBS, generator=g) * 2 + 0.5,
        "actions": torch.randn(STEPS, 2 * ENVS, ACTIONS, generator=g),
        "values": torch.randn(STEPS, 2 * ENVS, 1, generator=g),
        "returns": torch.randn(STEPS, 2 * ENVS, 1, generator=g),
        "advantages": torch.randn(STEPS, 2 * ENVS, 1, generator=g),
        "log_prob": -torch.rand(STEPS, 2 * ENVS, 1, generator=g) * 3,
        "mean": torch.randn(STEPS, 2 * ENVS, ACTIONS, generator=g) * 0.05
        + torch.arange(2 * ENVS).ge(ENVS).view(-1, 1) * 3,
        "std": torch.ones(STEPS, 2 * ENVS, ACTIONS),
    }
    return batch, [torch.randperm(STEPS * ENVS, generator=g) for _ in range(2)]


def _fill(alg, batch: dict, envs: slice) -> None:
    st = alg.storage
    st.observations["policy"].copy_(batch["obs"][:, envs])
    for tensor, key in ((st.actions, "actions"), (st.values, "values"), (st.returns, "returns")):
        tensor.copy_(batch[key][:, envs])
    st.advantages.copy_(batch["advantages"][:, envs])
    st.actions_log_prob.copy_(batch["log_prob"][:, envs])
    st.distribution_params[0].copy_(batch["mean"][:, envs])
    st.distribution_params[1].copy_(batch["std"][:, envs])
    st.step = STEPS


def _networks(alg) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.clone() for n in ("actor", "critic") for k, v in getattr(alg, n).state_dict().items()}


def _update_rank(rank: int, init_file: str, out: str) -> None:
    """Rank ``rank`` of 2: its half of the batch (envs rank*ENVS ..), its mini-batch order, one update."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        batch, orders = _batch_and_orders()
        alg = _learner(ENVS, {"global_rank": rank, "local_rank": rank, "world_size": 2})
        _fill(alg, batch, slice(rank * ENVS, (rank + 1) * ENVS))
        torch.randperm = lambda *args, **kwargs: orders[rank].clone()  # this process only
        alg.update()
        torch.save({"networks": _networks(alg), "lr": alg.learning_rate}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _lose_rank(rank: int, init_file: str, out: str) -> None:
    """Rank 1 leaves at once; rank 0 then counts envs over the ranks and writes what that raised."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    if rank == 1:
        os._exit(0)  # gone, as a crashed rank is
    try:
        distributed.sum_over_ranks(4)
        outcome = "returned"
    except distributed.RankLost as exc:
        outcome = f"RankLost: {exc}"
    (Path(out) / "rank0.txt").write_text(outcome)
    os._exit(0)


def _spawn(function, tmp_path: Path) -> None:
    """Run ``function(rank, init_file, tmp_path)`` in 2 spawned processes; fail the test if they hang."""
    context = mp.start_processes(function, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=False)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the ranks did not end within {RUN_TIMEOUT_S} s")


def test_two_rank_update_equals_one_process_update_on_both_batches(tmp_path, monkeypatch):
    _spawn(_update_rank, tmp_path)
    batch, orders = _batch_and_orders()
    single = _learner(2 * ENVS, None)
    _fill(single, batch, slice(None))
    # rank r's row (step s, env e) is row (s, r * ENVS + e) of the whole batch; mini-batch i holds both ranks' i-th
    size = STEPS * ENVS // ALGORITHM["num_mini_batches"]
    whole = [(order // ENVS) * 2 * ENVS + rank * ENVS + order % ENVS for rank, order in enumerate(orders)]
    merged = torch.cat([torch.cat([w[i * size : (i + 1) * size] for w in whole]) for i in range(4)])
    monkeypatch.setattr(torch, "randperm", lambda *args, **kwargs: merged.clone())
    single.update()
    expected = _networks(single)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        assert got["lr"] == pytest.approx(single.learning_rate, rel=1e-6)
        for key, value in expected.items():
            torch.testing.assert_close(got["networks"][key], value, atol=1e-5, rtol=0, msg=f"rank {rank}: {key}")
    assert single.learning_rate < ALGORITHM["learning_rate"]  # the agreed KL lowered it (rank 0's own would raise it)


def test_a_lost_rank_is_one_line(tmp_path):
    _spawn(_lose_rank, tmp_path)
    outcome = (tmp_path / "rank0.txt").read_text()
    assert outcome.startswith("RankLost: rank 0 lost another rank of this distributed run"), outcome
    assert "\n" not in outcome


# launch, device, backend -----------------------------------------------------------------------------------------


def test_one_process_without_torchrun():
    assert distributed.read_launch({}) == distributed.Launch(0, 0, 1)
    assert not distributed.current().distributed and distributed.writes()
    assert distributed.start("cpu") == "cpu" and not dist.is_initialized()
    assert distributed.sum_over_ranks(4) == 4 and distributed.rank_seed(42) == 42


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two'"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2: expected 0 .. 1"),
        ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "-1"}, "LOCAL_RANK=-1"),
    ],
)
def test_bad_launch_names_the_variable(environ, named):
    with pytest.raises(distributed.LaunchError, match=named):
        distributed.read_launch(environ)


def test_backend_by_device(monkeypatch):
    monkeypatch.delenv(distributed.BACKEND_ENV, raising=False)
    assert distributed.pick_backend("cuda") == "nccl"  # one GPU per rank
    assert distributed.pick_backend("cuda:0") == "gloo"  # ranks share the GPU
    assert distributed.pick_backend("cpu") == "gloo"
    assert distributed.pick_backend("cuda", "gloo") == "gloo"
    monkeypatch.setenv(distributed.BACKEND_ENV, "gloo")
    assert distributed.pick_backend("cuda") == "gloo"
    with pytest.raises(
        distributed.LaunchError, match="the nccl backend needs CUDA devices, and this run's device is cpu"
    ):
        distributed.pick_backend("cpu", "nccl")
    monkeypatch.setenv(distributed.BACKEND_ENV, "mpi")
    with pytest.raises(distributed.LaunchError, match="collective backend 'mpi': expected one of nccl, gloo"):
        distributed.pick_backend("cpu")


def test_rank_device():
    two = distributed.Launch(rank=1, local_rank=1, world_size=2)
    assert distributed.rank_device("cpu", two) == "cpu"
    assert distributed.rank_device("cuda:0", two) == "cuda:0"
    assert distributed.rank_device("cuda", distributed.Launch()) == "cuda"
    if torch.cuda.device_count() < 2:
        with pytest.raises(distributed.LaunchError, match="LOCAL_RANK 1 needs GPU 1"):
            distributed.rank_device("cuda", two)
