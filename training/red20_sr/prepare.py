"""Data of the shipped super-resolver: the "291" set of VDSR (T91 and BSD200, 8-bit Y
planes) in ./data, less every twentieth BSD200 image (10), which go to ./val for validation.
Set5, Set14 and B100, the sets the model is reported on, are never read here.

Usage: python prepare.py [DATASETS]   (default ../../../shared/datasets)
"""

import shutil
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/datasets")
here = Path(__file__).resolve().parent
t91, bsd = sorted((src / "T91").glob("*.png")), sorted((src / "BSD200").glob("*.png"))
if len(t91) != 91 or len(bsd) != 200:
    sys.exit(f"{src}: expected 91 T91 and 200 BSD200 PNG images, found {len(t91)} and {len(bsd)}")
val = bsd[::20]
train = t91 + [f for f in bsd if f not in val]
for name, files in (("data", train), ("val", val)):
    tmp = here / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for f in files:
        shutil.copy(f, tmp / f"{f.parent.name}_{f.name}")
    tmp.rename(here / name)
    print(f"{len(files)} images in {here / name}")
