"""Training data weighted towards fine texture, in ./data: every image of
../red20_gray_ms/data (Train400 at four scales) plus, from each, its two 100x100 windows
with the most high-frequency energy (mean square of the image minus its Gaussian blur,
sigma 1.5; the second window may not overlap the first by more than half), saved as
images of their own. Patches are drawn uniformly over all positions of all images, so
the windows raise the share of textured patches from their natural one to about a third.

Usage: python prepare.py
"""

import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, uniform_filter

here = Path(__file__).resolve().parent
src, out = here.parent / "red20_gray_ms" / "data", here / "data"
files = sorted(src.glob("*.png"))
if not files:
    raise SystemExit(f"{src}: no PNG images (run ../red20_gray_ms/prepare.py first)")
out.mkdir(exist_ok=True)
S = 100
for f in files:
    shutil.copyfile(f, out / f.name)
    im = Image.open(f).convert("L")
    a = np.asarray(im, np.float64) / 255
    energy = uniform_filter((a - gaussian_filter(a, 1.5)) ** 2, S, mode="constant")
    h = S // 2  # centres whose window lies inside the image
    e = energy[h : a.shape[0] - S + h + 1, h : a.shape[1] - S + h + 1].copy()
    for k in range(2):
        y, x = np.unravel_index(np.argmax(e), e.shape)
        Image.fromarray(np.asarray(im)[y : y + S, x : x + S]).save(out / f"{f.stem}_tex{k}.png")
        e[max(0, y - h) : y + h, max(0, x - h) : x + h] = -1  # overlap at most half
print(f"{len(files)} images + {2 * len(files)} texture windows -> {out}")
