"""Validation images for the denoiser with 8-bit input: 30 of Yang et al.'s 91 images (T91,
every third of the sorted folder from the second), brought back to full range.

T91 is stored as 8-bit Y of rgb2ycbcr, which spans 16..235: no pixel is near black or white,
so clipped noise, the whole difference between a float and an 8-bit noisy input, never shows
on it (the shipped model loses 0.02 dB there from 8-bit input at sigma 25, 0.08 on Set12).
(Y - 16) * 255 / 219, rounded, is the image's full-range luma, the gray image rgb2gray would
give: highlights and shadows saturate again where the photo's did (3% of pixels, up to 29% in
one image; Train400 4%, Set12 1.6%, BSD68 7%). Outside Set12 and BSD68, the sets the
denoiser is reported on, and never trained on.

Usage: python prepare.py [DATASETS]   (default ../../../shared/datasets)
"""

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/datasets") / "T91"
dst = Path(__file__).resolve().parent / "val"
files = sorted(src.glob("*.png"))[1::3]
if len(files) != 30:
    sys.exit(f"{src}: expected the 91 T91 images, found {len(sorted(src.glob('*.png')))}")
tmp = dst.with_name("val.tmp")
shutil.rmtree(tmp, ignore_errors=True)
tmp.mkdir()
for f in files:
    y = np.asarray(Image.open(f).convert("L"), dtype=np.float64)
    full = np.clip(np.round((y - 16) * 255 / 219), 0, 255).astype(np.uint8)
    Image.fromarray(full).save(tmp / f.name)
tmp.rename(dst)
print(f"{len(files)} validation images in {dst}")
