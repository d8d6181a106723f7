"""What the command line's modules share (:mod:`.cli` and the ``cli_*`` command modules, and the Kit autostart):
argparse types, the parser class whose help shows the docstrings' ``literals`` as plain text, the ``--threads`` option,
a command's start-up context and the training progress line.

Imports nothing heavy: building the CLI's parser must not pull in torch (see ``tests/frontends/test_cli_startup.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import math

from ..utils.gc_pause import gc_paused


class PlainHelpFormatter(argparse.HelpFormatter):
    """argparse's help, with reStructuredText's inline literals (two backticks on each side, as the docstrings that
    descriptions and help texts come from write them) shown as plain text."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(plain_text(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return plain_text(super()._expand_help(action))


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help is :class:`PlainHelpFormatter`'s; its subcommands' parsers are Parsers too
    (``add_subparsers`` makes parsers of its parser's class)."""

    def __init__(self, *args, formatter_class: type[argparse.HelpFormatter] = PlainHelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def plain_text(text: str) -> str:
    """``text`` without reStructuredText's double backticks: "the ``spec`` key" -> "the spec key"."""
    return text.replace("``", "")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def finite_number(text: str, what: str, ok=lambda value: True) -> float:
    """``text`` as a finite number for which ``ok`` holds, else an argparse error saying ``what`` was expected."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'") from None
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    return finite_number(text, "a finite number of seconds > 0", lambda value: value > 0)


def add_threads(parser: argparse.ArgumentParser) -> None:
    """Add ``--threads`` (CPU threads for torch, default 1) to a command's parser; :func:`set_threads` applies it."""
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="CPU threads for torch (default 1: the small networks gain little from more, and a busy machine "
        "slows many threads down badly)",
    )


def set_threads(args: argparse.Namespace) -> None:
    """CPU threads of torch's kernels (``--threads``); 1 by default, which holds up on a busy machine."""
    import torch

    torch.set_num_threads(args.threads)


def start_up(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """The context of a command's start-up (its imports and its env build): in a process of its own (the console
    script sets ``args.own_process``), the garbage collector paused and what was built frozen
    (``utils/gc_pause.py``); otherwise nothing."""
    return gc_paused() if getattr(args, "own_process", False) else contextlib.nullcontext()


def format_iteration(m: dict, total: int, max_len: int) -> str:
    """One progress line of a training iteration's metrics ``m`` (``total`` iterations, episodes of at most
    ``max_len`` steps); '-' where no episode (that started at step 0) ended in the iteration."""
    reward = f"{m['mean_reward']:8.2f}" if "mean_reward" in m else "       -"
    length = f"{m['mean_episode_length']:6.1f}" if "mean_episode_length" in m else "     -"
    unstable = f" | unstable {m['unstable_envs']}" if m.get("unstable_envs") else ""
    metrics = "".join(f" {k.split('/', 1)[1]} {v:.3g} |" for k, v in m.items() if k.startswith("metric/"))
    return (
        f"it {m['iteration']:5d}/{total} | return {reward} | episode length {length}/{max_len} |{metrics} "
        f"{m['env_steps_per_s'] / 1e3:7.1f}k steps/s | collect {m['collect_s']:.2f} s learn {m['learn_s']:.2f} s"
        f"{unstable}"
    )
