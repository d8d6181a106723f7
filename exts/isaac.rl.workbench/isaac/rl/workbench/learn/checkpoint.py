"""Reading checkpoints safely: tensors and plain containers only, with one-line errors that name the file.

A workbench checkpoint is what :meth:`~.trainer.Trainer.save` writes with ``torch.save`` (a zip archive): rsl-rl's
``PPO.save()`` dict (``actor_state_dict``, ``critic_state_dict``, ``optimizer_state_dict``: tensors, numbers and
plain containers; a distillation's ``Distillation.save()`` has ``student_state_dict`` and ``teacher_state_dict``
instead of the first two) plus ``iter`` (completed iterations) and ``infos`` (a dict of numbers and strings, e.g.
``total_env_steps``, ``train_seconds``, ``task``). It is always loaded with ``torch.load(weights_only=True)``, so a
file that holds any other Python object (a ``__reduce__`` that runs a command, say) is refused, never executed.

Two stages, so a front end can reject a bad file before it builds an env:

- :func:`read_checkpoint` (cheap, no env): the file exists, is a non-empty file, loads safely and has the keys.
- :func:`check_fits` (needs the built networks): every tensor has the shape the networks expect.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

NETWORKS = ("actor", "critic")  # each saved as "<name>_state_dict"
DISTILLATION_NETWORKS = ("student", "teacher")  # a distillation's checkpoint
REQUIRED_KEYS = ("actor_state_dict", "critic_state_dict", "optimizer_state_dict", "iter")
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format is a zip archive
_MLP_WEIGHT = re.compile(r"^mlp\.(\d+)\.weight$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (missing, corrupt, not ours, or for another network); names the file."""


def read_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a workbench checkpoint safely (``weights_only=True``) and check its keys; no env is needed.

    Args:
        path: the checkpoint file (``checkpoints/model_<iteration>.pt``, or any file a user names).
        map_location: where the tensors go (``"cpu"``, ``"cuda:0"``).

    Returns:
        The checkpoint dict: ``actor_state_dict`` and ``critic_state_dict`` (name -> tensor), ``optimizer_state_dict``,
        ``iter`` (int, completed iterations) and ``infos`` (dict; empty when the file has none).

    Raises:
        CheckpointError: one line, ``"<path>: <what is wrong>"``: missing, a directory, empty, truncated, not a torch
            file, holding Python objects other than tensors and plain containers, or without the workbench keys.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(
            f"{path}: is a directory, not a checkpoint file" if path.is_dir() else f"{path}: not a file"
        )
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: empty file (0 bytes), not a checkpoint")
    try:
        state = torch.load(path, weights_only=True, map_location=map_location)
    except Exception as exc:  # torch raises many types for a bad file; each becomes one line
        raise CheckpointError(f"{path}: {_load_failure(path, size, exc)}") from None
    _check_keys(path, state)
    state["infos"] = dict(state.get("infos") or {})
    return state


def check_fits(path: Path, state: Mapping, networks: Mapping[str, torch.nn.Module]) -> None:
    """Check that the checkpoint's tensors have the shapes of the built networks, before any is loaded.

    Args:
        path: the checkpoint file, for the message.
        state: :func:`read_checkpoint`'s result.
        networks: ``{"actor": module, "critic": module}`` (rsl-rl ``MLPModel``\\ s of this task).

    Raises:
        CheckpointError: naming the file and the first difference: the observation size or the action size (both
            sides, e.g. ``observation size 4 in the checkpoint, 6 in this task``), a layer only one side has, or a
            layer's shape on both sides (``actor layer mlp.0.weight is [64, 4] in the checkpoint, [32, 4] in this
            network``).
    """
    for name, module in networks.items():
        expected = module.state_dict()
        found = state[f"{name}_state_dict"]
        policy = name in ("actor", "student")
        prefix = "" if policy else f"{name} "
        exp_layers, got_layers = _mlp_layers(expected), _mlp_layers(found)
        if exp_layers and got_layers:
            exp_in, got_in = exp_layers[0].shape[1], got_layers[0].shape[1]
            if exp_in != got_in:
                size = "observation size"
                if any(key.startswith("cnns.") for key in expected):  # a CNNModel: the MLP reads the CNNs' output too
                    size = "MLP input size (vector observations plus the CNN's output, which the image size sets)"
                raise CheckpointError(f"{path}: {prefix}{size} {got_in} in the checkpoint, {exp_in} in this task")
            if policy:
                what, exp_out, got_out = _action_sizes(expected, found, exp_layers, got_layers)
                if exp_out != got_out:
                    raise CheckpointError(f"{path}: {what} {got_out} in the checkpoint, {exp_out} in this task")
        missing = [key for key in expected if key not in found]
        extra = [key for key in found if key not in expected]
        if missing or extra:
            parts = [f"this network has {', '.join(missing)} and the checkpoint not"] if missing else []
            parts += [f"the checkpoint has {', '.join(extra)} and this network not"] if extra else []
            raise CheckpointError(
                f"{path}: {name} layers differ: {'; '.join(parts)} (were [ppo.{name}] settings changed?)"
            )
        for key, tensor in expected.items():
            if tuple(found[key].shape) != tuple(tensor.shape):
                raise CheckpointError(
                    f"{path}: {name} layer {key} is {list(found[key].shape)} in the checkpoint, {list(tensor.shape)} "
                    f"in this network (were [ppo.{name}] settings changed?)"
                )


def _load_failure(path: Path, size: int, exc: Exception) -> str:
    """What is wrong with a file ``torch.load(weights_only=True)`` refused, in a few words."""
    text = str(exc)
    unsafe = re.search(r"GLOBAL (\S+)", text)
    if unsafe:
        return (
            f"refused: it holds Python objects other than tensors and plain containers ({unsafe.group(1)}), "
            "which could run code when loaded; only load checkpoints this workbench wrote"
        )
    with open(path, "rb") as f:
        head = f.read(len(_ZIP_MAGIC))
    if head != _ZIP_MAGIC:
        return f"not a checkpoint: not the zip archive torch.save writes ({size} bytes of something else)"
    if not zipfile.is_zipfile(path):
        return f"truncated or corrupt checkpoint: the zip archive is incomplete ({size} bytes)"
    if isinstance(exc, pickle.UnpicklingError):
        return "refused: it holds data other than tensors and plain containers"
    detail = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"corrupt checkpoint ({type(exc).__name__}{': ' + detail if detail else ''})"


def _check_keys(path: Path, state) -> None:
    """Raise :class:`CheckpointError` unless ``state`` has the workbench keys with values of the right kind."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a workbench checkpoint (holds a {type(state).__name__}, not a dict)")
    networks = DISTILLATION_NETWORKS if "student_state_dict" in state else NETWORKS
    required = [f"{name}_state_dict" for name in networks] + list(REQUIRED_KEYS[2:])
    missing = [key for key in required if key not in state]
    if missing:
        found = ", ".join(map(str, list(state)[:8])) or "nothing"
        raise CheckpointError(f"{path}: not a workbench checkpoint (no {', '.join(missing)}; it holds {found})")
    for name in networks:
        tensors = state[f"{name}_state_dict"]
        if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
            raise CheckpointError(f"{path}: not a workbench checkpoint ({name}_state_dict is not a dict of tensors)")
    if not isinstance(state["optimizer_state_dict"], dict):
        raise CheckpointError(f"{path}: not a workbench checkpoint (optimizer_state_dict is not a dict)")
    if isinstance(state["iter"], bool) or not isinstance(state["iter"], int) or state["iter"] < 0:
        raise CheckpointError(f"{path}: not a workbench checkpoint (iter is {state['iter']!r}, not a count)")
    if not isinstance(state.get("infos") or {}, dict):
        raise CheckpointError(f"{path}: not a workbench checkpoint (infos is not a dict)")


def _mlp_layers(tensors: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
    """The weight matrices ``mlp.<i>.weight`` [out, in] in layer order (empty for a network that is no MLP)."""
    found = [(int(m.group(1)), t) for k, t in tensors.items() if (m := _MLP_WEIGHT.match(k)) and t.dim() == 2]
    return [t for _, t in sorted(found, key=lambda item: item[0])]


def _action_sizes(
    expected: Mapping[str, torch.Tensor],
    found: Mapping[str, torch.Tensor],
    exp_layers: list[torch.Tensor],
    got_layers: list[torch.Tensor],
) -> tuple[str, int, int]:
    """``("action size", this network's, the checkpoint's)`` from the learned standard deviation (one entry per
    action) when both sides have one; else ``("actor output size", ...)`` from the last layer."""
    for key in ("distribution.std_param", "distribution.log_std_param"):
        if key in expected and key in found and expected[key].dim() == 1 and found[key].dim() == 1:
            return "action size", int(expected[key].shape[0]), int(found[key].shape[0])
    return "actor output size", int(exp_layers[-1].shape[0]), int(got_layers[-1].shape[0])
