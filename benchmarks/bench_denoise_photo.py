"""How long `rednet denoise` takes on a 12-megapixel photo (4000 x 3000), on this machine.

The photo is made here (scikit-image's astronaut, enlarged to 4000 x 3000 and given 8-bit
Gaussian noise of sigma 25), saved as PNG and denoised through the command line exactly as a
user would run it, with the shipped model, the default tile size and the `cpu` device (or
--device). A colour photo is three independent gray planes, so --gray times one plane and the
colour time is three times it; --colour runs the colour photo itself.

    python benchmarks/bench_denoise_photo.py --gray            # one plane, writes the result
    python benchmarks/bench_denoise_photo.py --colour --tile 256

Writes benchmarks/results/denoise_photo_<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from rednet_cupy.cli import main  # noqa: E402
from rednet_cupy.imageio import read_image  # noqa: E402
from rednet_cupy.metrics import psnr  # noqa: E402


def make_photo(colour: bool, size=(4000, 3000), sigma: float = 25.0):
    """(clean, noisy) uint8 arrays of a 4000 x 3000 photo with 8-bit Gaussian noise."""
    im = Image.fromarray(skimage.data.astronaut()).resize(size, Image.Resampling.BICUBIC)
    if not colour:
        im = im.convert("L")
    clean = np.asarray(im)
    rng = np.random.default_rng(0)
    noisy = np.clip(np.round(clean + sigma * rng.standard_normal(clean.shape)), 0, 255)
    return clean, noisy.astype(np.uint8)


def main_bench() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    kind = ap.add_mutually_exclusive_group(required=True)
    kind.add_argument("--gray", action="store_true", help="one gray plane")
    kind.add_argument("--colour", action="store_true", help="the colour photo")
    ap.add_argument("--tile", type=int, default=None, help="tile size (default: the CLI's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    clean, noisy = make_photo(args.colour)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "noisy.png", Path(tmp) / "clean.png"
        Image.fromarray(noisy).save(src)
        argv = ["denoise", str(src), "-o", str(dst), "--device", args.device]
        if args.tile:
            argv += ["--tile", str(args.tile)]
        t = time.perf_counter()
        rc = main(argv)
        seconds = time.perf_counter() - t
        if rc:
            raise SystemExit(f"rednet denoise failed ({rc})")
        out = read_image(dst)
    ref = clean.astype(np.float32) / 255
    before, after = psnr(ref, noisy.astype(np.float32) / 255), psnr(ref, out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    what = "colour" if args.colour else "gray (one plane)"
    lines = [
        f"# `rednet denoise` on a 12-megapixel photo, {dt.date.today()}",
        "",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()}; OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        f"- photo: 4000 x 3000 {what}, 8-bit noise sigma 25 (astronaut, enlarged)",
        f"- command: `rednet {' '.join(argv[:1] + argv[4:])}` (tile {args.tile or 'default'})",
        f"- time: {seconds:.0f} s ({seconds / 12:.1f} s per megapixel"
        + (f"; a colour photo, three planes: about {3 * seconds / 60:.0f} min" if args.gray else "")
        + ")",
        f"- PSNR: {before:.2f} dB noisy -> {after:.2f} dB denoised",
        f"- peak memory (max RSS of the process): {rss:.2f} GB",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        path = ROOT / "benchmarks" / "results" / f"denoise_photo_{dt.date.today()}.md"
        with open(path, "a") as f:
            f.write(text + "\n")
        print(f"appended to {path}")


if __name__ == "__main__":
    main_bench()
