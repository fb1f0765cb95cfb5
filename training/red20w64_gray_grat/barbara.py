"""Barbara's striped cloth at sigma 25 (Set12 image 09, the noise of `rednet eval`): clean,
noisy and each model's output side by side, whole-image PSNR in each label. Usage:
    python barbara.py OUT.png LABEL=MODEL [LABEL=MODEL ...]
Needs the standard datasets (DATASETS, default ../shared beside the repository).
"""

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from rednet_cupy.data import degrade_image
from rednet_cupy.imageio import atomic_write, read_image
from rednet_cupy.infer import restore_gray
from rednet_cupy.metrics import psnr
from rednet_cupy.train import load_model

SIGMA, SEED = 25.0, 8  # Barbara is the 9th of Set12's 12 images: `rednet eval` seeds it 8
CROP = (slice(256, 512), slice(0, 256))  # rows, columns: the tablecloth and her scarf


def main(out: str, specs: list[str]) -> None:
    root = Path(os.environ.get("DATASETS", Path(__file__).resolve().parents[3] / "shared/datasets"))
    clean = read_image(root / "Set12/09.png")  # gray, float32 in [0, 1]
    noisy = degrade_image(clean, "denoise", SIGMA, seed=SEED)
    panels = [("clean", clean), (f"noisy {psnr(clean, np.clip(noisy, 0, 1)):.2f} dB", noisy)]
    for spec in specs:
        if "=" not in spec:
            sys.exit(f"{spec}: expected LABEL=MODEL, e.g. shipped=model.npz")
        label, path = spec.split("=", 1)
        net, _ = load_model(path, device="cpu")
        den = np.clip(restore_gray(net, noisy), 0, 1)
        panels.append((f"{label} {psnr(clean, den):.2f} dB", den))
    h, w = (s.stop - s.start for s in CROP)
    sheet = Image.new("L", (w * len(panels), h + 20), 255)
    draw = ImageDraw.Draw(sheet)
    for i, (label, img) in enumerate(panels):
        crop = np.clip(img[CROP] * 255 + 0.5, 0, 255).astype(np.uint8)
        sheet.paste(Image.fromarray(crop), (i * w, 20))
        draw.text((i * w + 4, 4), label, fill=0)
    with atomic_write(out) as f:
        sheet.save(f, format="PNG")
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-2].strip())
    main(sys.argv[1], sys.argv[2:])
