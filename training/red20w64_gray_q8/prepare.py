"""Validation images for the 8-bit fine-tune: eleven of Yang et al.'s 91 images (T91, stored as
8-bit Y), every ninth of the sorted folder. Outside Set12 and BSD68, the sets the denoiser is
reported on, and unlike Train400 never trained on."""

import shutil
import sys
from pathlib import Path

src = Path(sys.argv[1]) / "T91"
dst = Path(__file__).resolve().parent / "val"
files = sorted(src.glob("*.png"))[::9]
tmp = dst.with_name("val.tmp")
shutil.rmtree(tmp, ignore_errors=True)
tmp.mkdir()
for f in files:
    shutil.copy(f, tmp / f.name)
tmp.rename(dst)
print(f"{len(files)} validation images in {dst}")
