"""The picture of a fit: each joint's recorded position against the simulation's, with the spec's values and with
the fitted ones (sysid.png)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..utils.atomic import write_atomically


def plot_sysid(
    path: Path,
    t: np.ndarray,
    joint_names: list[str],
    recorded: np.ndarray,
    nominal: np.ndarray,
    fitted: np.ndarray,
    rms_before: float,
    rms_after: float,
) -> Path:
    """Write a PNG with one panel per joint: ``recorded``, ``nominal`` and ``fitted`` positions (T, D) [rad or m]
    over ``t`` (T,) [s]; the title gives the RMS position error before and after the fit. Returns ``path``."""
    count = len(joint_names)
    columns = 1 if count <= 4 else 2 if count <= 8 else 3
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(5.5 * columns, 2.2 * rows + 0.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, sharex=True, squeeze=False)
    for j, name in enumerate(joint_names):
        ax = axes[j // columns][j % columns]
        ax.plot(t, recorded[:, j], color="black", linewidth=1.6, label="recorded")
        ax.plot(t, nominal[:, j], color="tab:gray", linestyle="--", linewidth=1.0, label="simulated, spec's values")
        ax.plot(t, fitted[:, j], color="tab:orange", linewidth=1.0, label="simulated, fitted values")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    for k in range(count, rows * columns):
        axes[k // columns][k % columns].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("time [s]")
    axes[0][0].legend(loc="best", fontsize="small")
    fig.suptitle(
        f"joint positions, RMS error: {rms_before:.4g} with the spec's values, {rms_after:.4g} fitted", fontsize=10
    )
    fig.tight_layout()
    write_atomically(Path(path), lambda tmp: fig.savefig(tmp, dpi=110))
    return Path(path)
