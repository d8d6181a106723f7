"""Running an exported policy on a robot: the deployment bundle, the safety layer, the runtime and robot drivers.

Nothing here imports Newton, warp or another module of this package, so a robot's computer needs only numpy,
ONNX Runtime (or torch, for TorchScript) and, for a Unitree robot, its DDS packages.
"""
