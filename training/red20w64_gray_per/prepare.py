"""Training data weighted towards periodic texture, in ./data: every image of
../red20_gray_ms/data (Train400 at four scales) plus its 80x80 windows whose texture is
periodic, each saved several times over, so that they make about a sixth of the patches.

Periodicity of a window: the share of its high-pass energy (image minus Gaussian blur,
sigma 2; Hann-windowed; windows whose high-pass standard deviation is under
0.02 are left out) in the 8 strongest frequencies of its 2-D spectrum (4 symmetric
pairs). Stripes score high, stochastic texture (grass, fur) and flat areas low. Train400
has few periodic windows (0.5% of its 64x64 windows score above 0.3; Set12's Barbara 15%),
which is why they are repeated.

Usage: python prepare.py
"""

import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

S, STRIDE, THRESHOLD, SHARE, MIN_STD = 80, 20, 0.25, 1 / 6, 0.02
PATCH = 50  # the training patch size (run.sh)
here = Path(__file__).resolve().parent
src, out = here.parent / "red20_gray_ms" / "data", here / "data"
files = sorted(src.glob("*.png"))
if not files:
    raise SystemExit(f"{src}: no PNG images (run ../red20_gray_ms/prepare.py first)")
out.mkdir(exist_ok=True)
hann = np.outer(np.hanning(S), np.hanning(S))


def periodicity(w: np.ndarray) -> float:
    if w.std() < MIN_STD:  # nearly flat: a faint line would dominate its spectrum
        return 0.0
    p = np.abs(np.fft.fft2(w * hann)) ** 2
    return float(np.sort(p.ravel())[-8:].sum() / p.sum())


windows, positions = [], 0
for f in files:
    a = np.asarray(Image.open(f).convert("L"))
    positions += (a.shape[0] - PATCH + 1) * (a.shape[1] - PATCH + 1)
    shutil.copyfile(f, out / f.name)
    hp = a / 255.0 - gaussian_filter(a / 255.0, 2.0)
    taken = np.zeros(a.shape, bool)
    cands = [
        (periodicity(hp[y : y + S, x : x + S]), y, x)
        for y in range(0, a.shape[0] - S + 1, STRIDE)
        for x in range(0, a.shape[1] - S + 1, STRIDE)
    ]
    for score, y, x in sorted(cands, reverse=True):
        if score < THRESHOLD:
            break
        if taken[y + S // 2, x + S // 2]:  # overlaps a better window by more than half
            continue
        taken[y : y + S, x : x + S] = True
        windows.append((f.stem, y, x, a[y : y + S, x : x + S]))
per_window = (S - PATCH + 1) ** 2
repeat = max(1, round(SHARE / (1 - SHARE) * positions / (per_window * len(windows))))
for stem, y, x, w in windows:
    for r in range(repeat):
        Image.fromarray(w).save(out / f"{stem}_per{y}_{x}_{r}.png")
print(f"{len(files)} images + {len(windows)} periodic windows x {repeat} -> {out}")
