"""Train400 at four scales (1, 0.9, 0.8, 0.7; bicubic, antialiased) in ./data: downscaled
copies hold finer textures than the originals, for a denser spread of stripe frequencies.

Usage: python prepare.py [DATASETS]   (default ../../../shared/datasets)
"""

import sys
from pathlib import Path

from PIL import Image

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/datasets") / "Train400"
out = Path(__file__).resolve().parent / "data"
out.mkdir(exist_ok=True)
files = sorted(src.glob("*.png"))
if not files:
    sys.exit(f"{src}: no PNG images")
for f in files:
    im = Image.open(f).convert("L")
    for s in (1.0, 0.9, 0.8, 0.7):
        size = (round(im.width * s), round(im.height * s))
        im.resize(size, Image.Resampling.BICUBIC, reducing_gap=None).save(
            out / f"{f.stem}_s{int(s * 100)}.png")
print(f"{len(files)} images x 4 scales -> {out}")
