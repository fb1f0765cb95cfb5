"""Evaluation: PSNR/SSIM of RED-Net against the degraded input and classical baselines on a
set of images, a Markdown table of averages, every score as CSV, and a side-by-side PNG grid.

Protocols (as the papers whose tables we compare with):
- denoising: gray images, Gaussian noise of sigma/255 (seeded per image), unclipped input;
  outputs clipped to [0, 1]; PSNR/SSIM on the whole image.
- denoising, 8-bit (what a user's noisy photo is): the noisy input of the i-th image (sorted
  folder) drawn from default_rng(1000 + i), then rounded and clipped to 0..255 as saving it
  to a PNG file does; the model's output has the clipping bias taken out as `rednet denoise`
  does (clipping.py; also scored without); the rest as above.
- super-resolution: the SR papers' MATLAB protocol (benchmarks/sr_bicubic_table.py reproduces
  their bicubic rows within 0.01 dB): Y of rgb2ycbcr of the 8-bit image, rounded to 8 bits
  (gray files are Y as they are), cropped to a multiple of the scale; MATLAB's bicubic
  imresize down and back up, unrounded; every output rounded to 8 bits; PSNR and SSIM
  (ssim_index.m) on Y on the 0..255 scale with `scale` pixels shaved off each border.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rednet_cupy.clipping import debias, unclip
from rednet_cupy.data import degrade_image, modcrop
from rednet_cupy.imageio import to_gray
from rednet_cupy.imresize import uint8_round
from rednet_cupy.infer import restore_gray
from rednet_cupy.metrics import (
    BASELINES,
    PUBLISHED_DENOISE,
    PUBLISHED_SR,
    baseline_bm3d,
    psnr,
    rgb_to_y,
    sr_psnr,
    sr_ssim,
    ssim,
)
from rednet_cupy.model import RedNet


@dataclass
class Score:
    image: str
    level: float
    method: str
    psnr: float
    ssim: float
    seconds: float


def sr_y(img: np.ndarray) -> np.ndarray:
    """The SR protocol's reference: Y of an image read as float in [0, 1], as rgb2ycbcr
    computes it on the 8-bit file, rounded to 8 bits, back in [0, 1] (float32). A gray image
    is its own Y."""
    u8 = uint8_round(np.clip(np.asarray(img, dtype=np.float64), 0, 1) * 255)
    y = rgb_to_y(u8) if u8.ndim == 3 else u8.astype(np.float64)
    return (y / 255).astype(np.float32)


def _prepare(img: np.ndarray, task: str, level: float) -> np.ndarray:
    if task == "denoise":
        return to_gray(img) if img.ndim == 3 else img
    return modcrop(sr_y(img), int(level))


def _sr_scores(clean: np.ndarray, out: np.ndarray, scale: int) -> tuple[float, float]:
    ref = np.round(clean.astype(np.float64) * 255)  # already on the 8-bit grid
    y8 = uint8_round(out.astype(np.float64) * 255).astype(np.float64)
    return sr_psnr(ref, y8, scale), sr_ssim(ref, y8, scale)


def evaluate(models: dict[str, RedNet], images: list[tuple[str, np.ndarray]], task: str,
             levels: list[float], baselines: bool = True, ensemble: bool = False,
             keep: int = 3, progress: bool = True, eight_bit: bool = False,
             bm3d: bool = False) -> tuple[list[Score], list]:
    """Score every model and baseline on every image and level.

    eight_bit: the 8-bit denoising protocol (see the module's docstring). bm3d: add BM3D to
    the baselines (needs the `bm3d` package).

    Returns (scores, examples): examples holds, for the first `keep` images at each level,
    (name, level, [(method, image), ...]) for the grid.
    """
    from tqdm.auto import tqdm

    methods: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {}
    methods["noisy input" if task == "denoise" else "bicubic"] = lambda d, s: d
    if baselines and task == "denoise":
        methods.update({f"{k} (scikit-image)": f for k, f in BASELINES.items()})
    if bm3d and task == "denoise":
        methods["BM3D"] = baseline_bm3d
    # Test images up to 512 x 512 run whole: smaller tiles would redo their overlaps.
    for name, net in models.items():
        methods[name] = lambda d, s, net=net: restore_gray(net, d, tile=512, ensemble=ensemble)

    # 8-bit inputs: the models' rows are what `rednet denoise` gives (the clipping bias taken
    # out, clipping.py), with a row without it; BM3D as it is and with the same correction
    # (at its known sigma). The float protocol has nothing clipped to correct.
    corrected = eight_bit and task == "denoise"
    scores: list[Score] = []
    examples = []
    jobs = [(lvl, name, img) for lvl in levels for name, img in images]
    for i, (lvl, name, img) in enumerate(tqdm(jobs, desc="evaluating", unit="image",
                                               disable=not progress)):
        clean = _prepare(img, task, lvl)
        if eight_bit and task == "denoise":
            degraded = degrade_image(clean, task, lvl, seed=1000 + i % len(images),
                                     eight_bit=True)
        else:
            degraded = degrade_image(clean, task, lvl, seed=i % len(images))
        shown = [("clean", clean)]
        for method, f in methods.items():
            t = time.perf_counter()
            raw = f(degraded, lvl)
            dt = time.perf_counter() - t
            outs = [(method, raw)]
            if corrected and method in models:
                outs = [(method, debias(degraded, raw)[0]),
                        (f"{method}, no clipping correction", raw)]
            elif corrected and method == "BM3D":
                outs.append(("BM3D + clipping correction", unclip(raw, lvl / 255)))
            for label, out in outs:
                out = np.clip(out, 0, 1)
                if task == "sr":
                    p, q = _sr_scores(clean, out, int(lvl))
                else:
                    p, q = psnr(clean, out), ssim(clean, out)
                scores.append(Score(name, lvl, label, p, q, dt))
                if label == method:
                    shown.append((f"{method}\n{p:.2f} dB", out))
        if i % len(images) < keep:
            examples.append((name, lvl, shown))
    return scores, examples


def table(scores: list[Score], task: str, title: str = "") -> str:
    """Markdown: one row per method, PSNR / SSIM averaged over images, one column per level."""
    levels = sorted({s.level for s in scores})
    methods = list(dict.fromkeys(s.method for s in scores))
    head = "sigma" if task == "denoise" else "scale"
    lines = [f"### {title}" if title else None,
             "| method | " + " | ".join(f"{head} {lv:g}" for lv in levels) + " |",
             "|---|" + "---|" * len(levels)]
    for m in methods:
        cells = []
        for lv in levels:
            sel = [s for s in scores if s.method == m and s.level == lv]
            cells.append(f"{np.mean([s.psnr for s in sel]):.2f} / "
                         f"{np.mean([s.ssim for s in sel]):.4f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    n = len({s.image for s in scores})
    lines.append(f"\nPSNR (dB) / SSIM, averaged over {n} images.")
    return "\n".join(line for line in lines if line is not None)


#: Folder names under which the published tables know a test set.
SET_ALIASES = {"b100": "BSD100", "bsd100": "BSD100", "set5": "Set5", "set14": "Set14",
               "set12": "Set12", "bsd68": "BSD68"}


def published_rows(set_name: str, task: str, levels: list[float]) -> list[str]:
    """Markdown rows of the published averages (PSNR only) for a known test set, one per
    method, in the column order of `table`; [] for an unknown set. Only meaningful beside the
    papers' protocol: not for 8-bit denoising inputs."""
    key = SET_ALIASES.get(set_name.lower())
    book = PUBLISHED_SR if task == "sr" else PUBLISHED_DENOISE
    if key not in book:
        return []
    rows = []
    for method, by_level in book[key].items():
        if task == "sr" and method == "bicubic":
            continue  # measured here, in the table itself
        cells = [f"{by_level[int(lv)]:.2f}" if lv == int(lv) and int(lv) in by_level else "-"
                 for lv in sorted(levels)]
        if any(c != "-" for c in cells):
            rows.append(f"| {method} (published) | " + " | ".join(cells) + " |")
    return rows


def scores_csv(scores: list[Score]) -> str:
    """Every score, one row per image, level and method: the numbers behind the averages."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["image", "level", "method", "psnr", "ssim", "seconds"])
    for s in scores:
        w.writerow([s.image, f"{s.level:g}", s.method, f"{s.psnr:.4f}", f"{s.ssim:.5f}",
                    f"{s.seconds:.4f}"])
    return buf.getvalue()


def save_grid(examples: list, path: str | Path) -> None:
    from rednet_cupy.plots import image_grid

    rows = [[(f"{name} ({lvl:g})\n{cap}" if j == 0 else cap, img)
             for j, (cap, img) in enumerate(shown)] for name, lvl, shown in examples]
    image_grid(rows, path)
