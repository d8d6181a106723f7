"""Isaac RL Workbench: USD robot scene -> cloned envs -> reward terms -> PPO -> policy."""

__version__ = "0.1.0"
