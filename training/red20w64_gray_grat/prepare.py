"""Training data with synthetic woven texture, in ./data: every image of
../red20_gray_ms/data (Train400 at four scales) plus synthetic 128x128 images that make
about a fifth of the patches (720 images of 79x79 positions for a 50x50 patch: 4.5 million
against the 18.0 million of the 1,600 others).

Each synthetic image is a Train400 crop with a striped or plaid texture laid over part of it:
one or two sinusoidal gratings (period 2.5 to 8 px, any orientation, the second one at
60 to 120 degrees to the first for a plaid), sharpened towards square waves, bent by a smooth
random displacement (folds of cloth), shaded by a smooth random contrast, and blended in
through a smooth random mask. Each is drawn at twice the size and box-filtered down, so that
the square waves' harmonics do not alias. Train400 holds almost no such fine periodic texture
(0.5% of its 64x64 windows are as periodic as 15% of Barbara's); natural photos of cloth,
fences and blinds do.

Usage: python prepare.py [COUNT]   (default 720, seed 0)
"""

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

SIZE = 128
here = Path(__file__).resolve().parent
src, out = here.parent / "red20_gray_ms" / "data", here / "data"


def smooth_field(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Zero-mean random field with unit standard deviation, smooth over ~sigma pixels."""
    f = gaussian_filter(rng.standard_normal((n, n)), sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-12)


def woven(rng: np.random.Generator, n: int) -> np.ndarray:
    """A texture in [-1, 1] on an n x n grid (n = twice the output size)."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    bend = rng.uniform(0, 3.0) * 2  # displacement in fine pixels
    yy = yy + bend * smooth_field(rng, n, n / 6)
    xx = xx + bend * smooth_field(rng, n, n / 6)
    period = np.exp(rng.uniform(np.log(2.5), np.log(8.0))) * 2  # fine pixels
    theta = rng.uniform(0, np.pi)
    tex = np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period
                 + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.5:  # plaid: a second grating across the first
        period2 = period * np.exp(rng.uniform(-0.4, 0.4))
        theta2 = theta + rng.choice([-1, 1]) * rng.uniform(np.pi / 3, 2 * np.pi / 3)
        tex2 = np.sin(2 * np.pi * (xx * np.cos(theta2) + yy * np.sin(theta2)) / period2
                      + rng.uniform(0, 2 * np.pi))
        w = rng.uniform(0.3, 0.7)
        tex = w * tex + (1 - w) * tex2
    gain = np.exp(rng.uniform(0, np.log(8)))  # 1: sinusoid, 8: nearly square
    return np.tanh(gain * tex) / np.tanh(gain)


def synthetic(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    n = 2 * SIZE
    tex = woven(rng, n)
    contrast = rng.uniform(0.06, 0.3) * np.exp(0.3 * smooth_field(rng, n, n / 5))
    mask = 1 / (1 + np.exp(-6 * (smooth_field(rng, n, n / 5) + rng.uniform(-1.0, 1.0))))
    img = np.kron(base, np.ones((2, 2))) + mask * contrast * tex
    img = img.reshape(SIZE, 2, SIZE, 2).mean(axis=(1, 3))  # box filter: no aliasing
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 720
    files = sorted(src.glob("*.png"))
    if not files:
        raise SystemExit(f"{src}: no PNG images (run ../red20_gray_ms/prepare.py first)")
    out.mkdir(exist_ok=True)
    for f in files:
        shutil.copyfile(f, out / f.name)
    rng = np.random.default_rng(0)
    for i in range(count):
        while True:  # the 0.7-scale images (126x126) are smaller than SIZE: draw again
            a = np.asarray(Image.open(files[rng.integers(len(files))]).convert("L")) / 255.0
            if min(a.shape) >= SIZE:
                break
        y = rng.integers(a.shape[0] - SIZE + 1)
        x = rng.integers(a.shape[1] - SIZE + 1)
        img = synthetic(rng, a[y : y + SIZE, x : x + SIZE])
        Image.fromarray(img).save(out / f"woven_{i:04d}.png")
    print(f"{len(files)} images + {count} woven textures -> {out}")


if __name__ == "__main__":
    main()
