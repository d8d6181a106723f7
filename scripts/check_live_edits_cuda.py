"""Live edits on CUDA (run on the GPU machine: python scripts/check_live_edits_cuda.py): an interval kick and a command
range edited with the env step captured as a CUDA graph (eager steps, then the graph captured again), a start-up mass
range redrawn for the envs that reset, and the learning rate and entropy coefficient edited between captured updates
of the graphed learner. Prints what it read and "OK True True" when every check holds."""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.learn.trainer import Trainer
from isaac.rl.workbench.specs.loader import load_spec
from test_live_edits import LIVE_SPEC

n = 64
spec = load_spec("cartpole", {**LIVE_SPEC, "env.num_envs": n})
env = WorkbenchEnv(spec, "cuda")
hinge = spec.joint_names.index("hinge")
zeros = torch.zeros(n, 1, device="cuda")


def steps(k):
    for _ in range(k):
        out = env.step(zeros)
    torch.cuda.synchronize()
    return out


steps(8)
print("graph captured:", env._graphed_step._graph is not None)
print("kick before edit", env.dof_vel[:, hinge].unique().tolist())
env.set_event_param("kick", "velocity_range", [-0.3, -0.3])
steps(1)
print("eager step after edit", env.dof_vel[:, hinge].unique().tolist())
steps(8)
print("after recapture", env._graphed_step._graph is not None, env.dof_vel[:, hinge].unique().tolist())
env.set_command_range("goal", "x", (1.5, 1.5))
steps(8)
print("goal x", env.commands.values["goal"][:, 0].unique().tolist())
pole = env.body_names.index("pole")
env.set_event_param("pole_mass", "mass_range", [2.0, 2.0])
steps(8)
env.episode_length_buf[:2] = env.max_episode_length - 1
t = time.perf_counter()
_, _, dones, _ = steps(1)
print("redraw step s", time.perf_counter() - t)
m = env.physics_property("body_mass")[:, pole]
print("dones", dones[:4].tolist(), "masses", m[:4].tolist(), "count at 2x", int((m > 0.4).sum()))
ok1 = bool((env.dof_vel[:, hinge] - -0.3).abs().max() < 1e-5) and int((m > 0.4).sum()) == int(dones.sum())
# graphed learner on CUDA
spec = load_spec("cartpole", {"env.num_envs": 256, "ppo.algorithm.schedule": "fixed"})
torch.manual_seed(0)
tr = Trainer(WorkbenchEnv(spec, "cuda"), spec.ppo, "cuda")
rows = [tr.train_step() for _ in range(3)]
tr.set_learning_rate(3e-3)
tr.set_entropy_coef(5.0)
rows += [tr.train_step() for _ in range(2)]
print("lr", [r["learning_rate"] for r in rows])
print("std", [round(r["action_std"], 4) for r in rows])
ok2 = abs(rows[-1]["learning_rate"] - 3e-3) < 1e-9 and rows[-1]["action_std"] > rows[2]["action_std"] * 1.04
print("OK" if ok1 and ok2 else "FAILED", ok1, ok2)
