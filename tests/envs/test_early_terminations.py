"""A spec whose envs end at once warns during training, once, naming the termination term and the share of episodes
it ended within their first steps, with the fix; a spec that trains normally says nothing. The counts are kept on the
device and read with the iteration's other statistics."""

from __future__ import annotations

import torch
from isaac.rl.workbench.envs.episode_stats import EARLY_STEPS, EpisodeStats
from isaac.rl.workbench.workbench import Workbench

FIX = "check its params, or [robot] root_height / joint_pos"


def _warnings_of_training(spec_path, tmp_path, iterations: int = 3) -> list[str]:
    overrides = {"env.num_envs": 4, "ppo.num_steps_per_env": 8, "ppo.max_iterations": iterations}
    wb = Workbench.new(spec_path, overrides, tmp_path / "run", "cpu")
    messages = []
    wb.add_listener(lambda event, data: messages.append(data["message"]) if event == "warning" else None)
    wb.build()
    while not wb.done:
        wb.train_step()
    return messages


def test_a_termination_that_fires_at_once_warns_once_by_name(write_spec, tmp_path):
    path = write_spec({'joints = ["hinge"], limit = 0.4': 'joints = ["hinge"], limit = 0.0'})
    warnings = _warnings_of_training(path, tmp_path)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"[terminations.pole_fell] ended 100% of episodes within their first {EARLY_STEPS}")
    assert FIX in warnings[0] and "cart_out_of_bounds" not in warnings[0]


def test_a_normal_cartpole_does_not_warn(write_spec, tmp_path):
    assert _warnings_of_training(write_spec(), tmp_path) == []


def test_only_whole_episodes_ended_by_a_term_within_the_first_steps_count_and_each_terms_share_is_logged():
    stats = EpisodeStats(4, ["alive"], torch.device("cpu"), False, termination_names=["fell", "out"])
    stats.mark_partial()
    stats.clear(torch.tensor([True, True, True, False]))  # env 3's episode began part-way: it is left out
    dones = torch.tensor([True, True, True, True])
    length = torch.tensor([1, EARLY_STEPS, EARLY_STEPS + 1, 1])
    fired = torch.tensor([[True, False, True, True], [True, True, False, True]])
    stats.end_episodes(dones, length, fired)
    popped = stats.pop()
    assert popped["episodes"] == 3
    assert stats.early_terminations == {"fell": 1 / 3, "out": 2 / 3}
    # every whole episode each term ended, early or not, logged as Isaac Lab's Episode_Termination/<name>
    assert popped["termination/fell"] == 2 / 3 and popped["termination/out"] == 2 / 3
    stats.pop()
    assert stats.early_terminations == {}, "nothing ended since"
