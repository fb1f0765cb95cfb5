"""Pictures people look at: training curves and side-by-side image grids, saved as PNG."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from rednet_cupy.imageio import atomic_write


def _figure(**kw):
    """A figure that needs no display and leaves pyplot's backend alone (so that notebooks
    keep showing their own figures inline after a plot was saved here)."""
    from matplotlib.figure import Figure

    return Figure(**kw)


def _step_axis(ax) -> None:
    """At most 6 step ticks, 12000 written 12k, so that long runs' labels do not collide."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _: f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}"))
    ax.set_xlabel("step")


def _save(fig, path: str | Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    with atomic_write(path) as f:
        f.write(buf.getvalue())


def plot_curves(history: Any, path: str | Path, title: str = "RED-Net training") -> None:
    """Training loss (log scale) and training/validation PSNR against the step."""
    fig = _figure(figsize=(10, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.semilogy(history.steps, history.loss, lw=1)
    _step_axis(ax1)
    ax1.set_ylabel("training MSE loss")
    ax1.grid(alpha=0.3)
    ax2.plot(history.steps, history.train_psnr, lw=1, alpha=0.6, label="training batches")
    if history.val_steps:
        ax2.plot(history.val_steps, history.val_psnr, "o-", ms=3, label="validation")
    if history.val_input_psnr is not None:
        ax2.axhline(history.val_input_psnr, color="gray", ls="--", lw=1,
                    label="validation input")
    _step_axis(ax2)
    ax2.set_ylabel("PSNR (dB)")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.suptitle(title)
    _save(fig, path)


def plot_compare(curves: dict[str, tuple[list, list]], path: str | Path, ylabel: str,
                 title: str, log: bool = True) -> None:
    """Several named (steps, values) curves on one axis, e.g. with and without skips."""
    fig = _figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for name, (xs, ys) in curves.items():
        (ax.semilogy if log else ax.plot)(xs, ys, lw=1.2, label=name)
    _step_axis(ax)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    _save(fig, path)


def image_grid(rows: list[list[tuple[str, np.ndarray]]], path: str | Path,
               cell: float = 2.6) -> None:
    """Rows of (caption, image) cells; gray (H, W) or RGB (H, W, 3) in [0, 1]."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig = _figure(figsize=(cell * n_cols, cell * n_rows + 0.3))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(row):
                caption, img = row[j]
                ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
                ax.set_title(caption, fontsize=8)
    fig.tight_layout()
    _save(fig, path)
