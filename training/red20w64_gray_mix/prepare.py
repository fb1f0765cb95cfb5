"""Training data for this run, in ./data: every image of ../red20_gray_ms/data (Train400 at
four scales) plus the first COUNT synthetic woven textures of ../red20w64_gray_grat/data
(default 250 of its 720), so that woven texture makes about 8% of the patches instead of a
fifth: 250 images of 79x79 positions for a 50x50 patch (1.6 million) against the 18.0
million of the 1,600 others.

Usage: python prepare.py [COUNT]   (needs ../red20_gray_ms/data and ../red20w64_gray_grat/data:
their prepare.py scripts make them)
"""

import shutil
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
plain_dir = here.parent / "red20_gray_ms" / "data"
woven_dir, out = here.parent / "red20w64_gray_grat" / "data", here / "data"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    woven = [woven_dir / f"woven_{i:04d}.png" for i in range(count)]
    missing = [f.name for f in woven if not f.is_file()]
    if missing:
        raise SystemExit(f"{woven_dir}: {len(missing)} woven images missing, e.g. {missing[0]} "
                         "(run ../red20w64_gray_grat/prepare.py first)")
    plain = sorted(plain_dir.glob("*.png"))
    if not plain:
        raise SystemExit(f"{plain_dir}: no PNG images (run ../red20_gray_ms/prepare.py first)")
    out.mkdir(exist_ok=True)
    for f in plain + woven:
        shutil.copyfile(f, out / f.name)
    print(f"{len(plain)} images + {count} woven textures -> {out}")


if __name__ == "__main__":
    main()
