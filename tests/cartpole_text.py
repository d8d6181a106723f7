"""Pieces of tasks/cartpole.toml's text that tests replace, and start-up events they append to it."""

POLICY = '[observations.policy]\nterms = ["joint_pos", "joint_vel"]'
"""The policy observation table as tasks/cartpole.toml writes it."""
PRIVILEGED = POLICY + '\n\n[observations.privileged]\nterms = ["randomized_params"]'
"""The same with a privileged group that observes the start-up draws."""
MASS_EVENTS = """
[events.cart_mass]
func = "randomize_body_mass"
mode = "startup"
params = { bodies = ["cart"], mass_range = [-0.5, 1.0], operation = "add" }

[events.pole_mass]
func = "randomize_body_mass"
mode = "startup"
params = { bodies = ["pole"], mass_range = [0.5, 2.0], operation = "scale" }
"""
"""Start-up draws of the cart's added mass [kg] and the pole's mass scale."""
