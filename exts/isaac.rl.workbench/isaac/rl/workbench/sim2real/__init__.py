"""From a trained policy to a robot: the simulator as a robot driver, the Go2 DDS bridge, system identification,
robustness sweeps, the adaptive student and the transfer test against a stand-in reality."""
