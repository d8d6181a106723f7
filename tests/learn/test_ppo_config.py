"""``ppo.learner`` and ``ppo.precision``: the runner config each gives, the errors for bad values and for settings
the graphed learner does not run (each naming the key), and a short run with rsl-rl's own PPO."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.learn.ppo_config import PPO_DEFAULTS, default_ppo_config, runner_config
from isaac.rl.workbench.specs.loader import SpecError, load_spec


def test_a_specs_edits_never_reach_the_defaults_the_next_spec_starts_from():
    """The defaults are handed out as deep copies, PPO's and distillation's (whose teacher is PPO's default actor)."""
    cfg = default_ppo_config()
    cfg["actor"]["hidden_dims"].append(64)
    cfg["actor"]["distribution_cfg"]["init_std"] = 0.5
    cfg["algorithm"]["learning_rate"] = 0.5
    student = default_ppo_config("Distillation")
    student["teacher"]["hidden_dims"].append(64)
    student["student"]["distribution_cfg"]["std_type"] = "log"
    assert default_ppo_config() == PPO_DEFAULTS
    assert PPO_DEFAULTS["actor"]["hidden_dims"] == [32, 32] and PPO_DEFAULTS["algorithm"]["learning_rate"] == 1.0e-3
    assert PPO_DEFAULTS["actor"]["distribution_cfg"] == {
        "class_name": "GaussianDistribution",
        "init_std": 1.0,
        "std_type": "scalar",
    }
    assert default_ppo_config("Distillation")["teacher"] == PPO_DEFAULTS["actor"]


def test_graphed_learner_is_the_default_and_carries_the_precision():
    cfg = default_ppo_config()
    cfg["precision"] = "bf16"
    out = runner_config(cfg, ["policy"])
    assert out["algorithm"]["class_name"] == "isaac.rl.workbench.learn.graphed_ppo:GraphedPPO"
    assert out["algorithm"]["precision"] == "bf16"
    assert "learner" not in out and "precision" not in out


def test_rsl_rl_learner_keeps_rsl_rl_ppo_and_maps_bf16_to_its_mixed_precision():
    cfg = default_ppo_config()
    cfg.update(learner="rsl_rl", precision="bf16")
    out = runner_config(cfg, ["policy"])
    assert out["algorithm"]["class_name"] == "PPO"
    assert out["algorithm"]["use_mixed_precision"] is True


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"ppo.learner": "fast"}, r"'ppo.learner' must be one of graphed, rsl_rl, got 'fast'"),
        ({"ppo.precision": "fp8"}, r"'ppo.precision' must be one of fp32, bf16, fp16, got 'fp8'"),
        ({"ppo.learner": "rsl_rl", "ppo.precision": "fp16"}, r"fp16.*needs ppo.learner = \"graphed\""),
        ({"ppo.algorithm.optimizer": "sgd"}, r"ppo.algorithm.optimizer: not supported by ppo.learner = \"graphed\""),
        (
            {"ppo.torch_compile_mode": "reduce-overhead"},
            r"'ppo.torch_compile_mode' must be one of none, default, max-aut",
        ),
        ({"ppo.algorithm.use_mixed_precision": True}, r"use_mixed_precision \(use ppo.precision\)"),
    ],
)
def test_bad_learner_settings_name_the_key(overrides, message):
    with pytest.raises(SpecError, match=message):
        load_spec("cartpole", overrides)


def test_torch_compile_mode_none_turns_a_tasks_compilation_off():
    from isaac.rl.workbench.learn.ppo_config import runner_config

    assert load_spec("ant").ppo["torch_compile_mode"] == "default"
    off = load_spec("ant", {"ppo.torch_compile_mode": "none"}).ppo
    assert "torch_compile_mode" not in runner_config(off, ["policy"])
    assert runner_config(load_spec("ant").ppo, ["policy"])["torch_compile_mode"] == "default"


@pytest.mark.slow
def test_rsl_rl_learner_trains(tmp_path, capsys):
    """rsl-rl's own PPO (ppo.learner = "rsl_rl") still runs end to end."""
    run_dir = tmp_path / "rsl_rl"
    args = ["train", "cartpole", "--run-dir", str(run_dir), "--max-iterations", "2", "--num-envs", "4"]
    assert main([*args, "--eval-episodes", "1", "--set", "ppo.learner=rsl_rl"]) == 0
    assert 'learner = "rsl_rl"' in (run_dir / "spec.toml").read_text()
    assert (run_dir / "checkpoints").is_dir()
