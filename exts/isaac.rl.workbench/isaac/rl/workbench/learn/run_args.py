"""A run's arguments checked before any file is written or any env is built: the torch device, and a name as a
folder name."""

from __future__ import annotations

import re

import torch

from .run_dir import RunError


def check_device(device: str) -> str:
    """``device`` if it names a usable torch device ("cpu", "cuda", "cuda:<i>"), else a :class:`RunError` that
    says what exists; checked before any file is written or any env is built."""
    if device == "cpu":
        return device
    if not re.fullmatch(r"cuda(:\d+)?", device):
        raise RunError(f"--device '{device}': expected cpu, cuda or cuda:<index>")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        found = f"{count} CUDA device(s)" if count else "no CUDA device (or a PyTorch without CUDA)"
        raise RunError(f"--device '{device}': this machine has {found}; use --device cpu")
    return device


def safe_name(name: str) -> str:
    """``name`` as one safe folder name: letters, digits, '_', '-' and inner dots; never empty, '.' or '..'."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-")
    return slug or "task"
