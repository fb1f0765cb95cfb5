"""The bicubic rows of the super-resolution tables, measured here and set beside the published.

    python benchmarks/sr_bicubic_table.py                       # Set5, Set14, B100 at x2, x3, x4
    python benchmarks/sr_bicubic_table.py --sets Set5 --scales 2
    python benchmarks/sr_bicubic_table.py --datasets /my/copy   # else $REDNET_DATASETS or
                                                                # ../shared/datasets

The protocol is that of the SRCNN / VDSR MATLAB evaluation code, which RED-Net's tables follow:

    im_gt = modcrop(im, scale);                  % drop bottom rows / right columns
    im_gt = rgb2ycbcr(im_gt); im_gt = im_gt(:, :, 1);   % uint8 in, uint8 Y out (gray: as is)
    im_gt = double(im_gt);
    im_l = imresize(im_gt, 1 / scale, 'bicubic');       % double: LR is not rounded
    im_b = imresize(im_l, scale, 'bicubic');
    im_b = uint8(im_b);                          % SR rounded and clipped to 8 bits
    psnr / ssim on Y, 0..255 scale, `scale` pixels shaved from every border

Set5 and Set14 are RGB files (Set14's bridge is gray and is taken as Y directly); B100 is stored
as 8-bit Y already. The published numbers: PSNR from the SRCNN / VDSR / RED-Net tables
(rednet_cupy.metrics.PUBLISHED_SR), SSIM from the VDSR paper.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from rednet_cupy.imresize import imresize, uint8_round  # noqa: E402
from rednet_cupy.metrics import PUBLISHED_SR, rgb_to_y, sr_psnr, sr_ssim  # noqa: E402

SETS = ("Set5", "Set14", "B100")
SCALES = (2, 3, 4)
#: Published bicubic PSNR (dB) per set and scale; B100 is "BSD100" in PUBLISHED_SR.
PUBLISHED_PSNR = {
    name: PUBLISHED_SR["BSD100" if name == "B100" else name]["bicubic"] for name in SETS
}
#: Published bicubic SSIM, from the VDSR paper (Kim et al., CVPR 2016, Table 3).
PUBLISHED_SSIM = {
    "Set5": {2: 0.9299, 3: 0.8682, 4: 0.8104},
    "Set14": {2: 0.8688, 3: 0.7742, 4: 0.7027},
    "B100": {2: 0.8431, 3: 0.7385, 4: 0.6675},
}


def default_datasets() -> Path:
    """$REDNET_DATASETS if set, else the shared folder next to the checkout."""
    env = os.environ.get("REDNET_DATASETS")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


def read_y(path: Path) -> np.ndarray:
    """HR luma as float64 on the 0..255 scale, whole grey levels (rgb2ycbcr on uint8)."""
    with Image.open(path) as im:
        if im.mode not in ("RGB", "L"):
            raise ValueError(f"{path}: mode {im.mode}, expected RGB or L")
        a = np.asarray(im)
    return rgb_to_y(a) if a.ndim == 3 else a.astype(np.float64)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop to a multiple of `scale` by dropping bottom rows and right columns."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def bicubic_sr(hr_y: np.ndarray, scale: int) -> np.ndarray:
    """Down by 1/scale and up by scale with MATLAB's bicubic, in float64; SR to 8 bits."""
    lr = imresize(hr_y, 1.0 / scale)
    sr = imresize(lr, float(scale))
    if sr.shape != hr_y.shape:  # ceil(n / scale * scale) == n after modcrop; guard anyway
        raise RuntimeError(f"bicubic_sr: {hr_y.shape} -> {lr.shape} -> {sr.shape}")
    return uint8_round(sr).astype(np.float64)


def evaluate_set(folder: Path, scale: int) -> tuple[float, float, int]:
    """Mean PSNR and SSIM of the bicubic baseline over the PNGs in `folder`, and their count."""
    files = sorted(folder.glob("*.png"))
    if not files:
        raise FileNotFoundError(f"{folder}: no PNG images")
    psnrs, ssims = [], []
    for path in files:
        hr = modcrop(read_y(path), scale)
        sr = bicubic_sr(hr, scale)
        psnrs.append(sr_psnr(hr, sr, scale))
        ssims.append(sr_ssim(hr, sr, scale))
    return float(np.mean(psnrs)), float(np.mean(ssims)), len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=None, help="folder holding the sets")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--scales", nargs="+", type=int, default=list(SCALES), choices=SCALES)
    args = parser.parse_args(argv)
    root = args.datasets or default_datasets()
    if not root.is_dir():
        print(f"datasets folder not found: {root} (use --datasets or REDNET_DATASETS)")
        return 2
    print("| set | scale | images | PSNR | published | diff | SSIM | published | diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for name in args.sets:
        for scale in args.scales:
            p, s, n = evaluate_set(root / name, scale)
            pp, ps = PUBLISHED_PSNR[name][scale], PUBLISHED_SSIM[name][scale]
            worst = max(worst, abs(p - pp))
            print(f"| {name} | x{scale} | {n} | {p:.4f} | {pp:.2f} | {p - pp:+.4f} "
                  f"| {s:.4f} | {ps:.4f} | {s - ps:+.4f} |", flush=True)  # fmt: skip
    print(f"\nlargest PSNR difference from the published rows: {worst:.4f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
