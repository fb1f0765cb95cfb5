"""The README's super-resolution picture: crops of Set5's butterfly and Set14's zebra at x3,
in colour, as `rednet upscale` makes them from a small 8-bit file: bicubic, the model, and
the ground truth side by side, each crop enlarged 2x (nearest) so single pixels show. Labels
give the whole image's PSNR on Y by the SR protocol (8-bit input here, so a little below
`rednet eval`'s figures, whose input is unrounded). Usage:
    python crops.py OUT.png MODEL
Needs the standard datasets (DATASETS, default ../shared beside the repository).
"""

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from rednet_cupy.data import modcrop
from rednet_cupy.imageio import atomic_write, read_image
from rednet_cupy.imresize import imresize, uint8_round
from rednet_cupy.infer import bicubic_upscale, restore
from rednet_cupy.metrics import rgb_to_y, sr_psnr
from rednet_cupy.train import load_model

SCALE, ZOOM = 3, 2
# (file, top, left, size): the wing's veins and the stripes at the zebra's neck.
CROPS = [("Set5/butterfly_GT.png", 60, 90, 96), ("Set14/zebra.png", 120, 230, 96)]


def to_u8(img: np.ndarray) -> np.ndarray:
    return uint8_round(np.clip(img, 0, 1) * 255)


def main(out: str, model: str) -> None:
    root = Path(os.environ.get("DATASETS", Path(__file__).resolve().parents[3] / "shared/datasets"))
    net, _ = load_model(model, device="cpu")
    rows = []
    for name, top, left, size in CROPS:
        hr = modcrop(read_image(root / name), SCALE)
        small = to_u8(imresize(hr.astype(np.float64), 1 / SCALE)) / 255  # the user's file
        bic = bicubic_upscale(small, SCALE)
        ours = restore(net, bic, task="sr")
        ref_y = rgb_to_y(to_u8(hr)).round()
        panels = []
        for label, img in (("bicubic", bic), ("RED-Net", ours), ("ground truth", hr)):
            if label != "ground truth":
                label += f" {sr_psnr(ref_y, rgb_to_y(to_u8(img)).round(), SCALE):.2f} dB"
            crop = to_u8(img[top:top + size, left:left + size])
            big = Image.fromarray(crop).resize((size * ZOOM, size * ZOOM), Image.NEAREST)
            panels.append((f"{Path(name).stem} x{SCALE}: {label}", big))
        rows.append(panels)
    w = h = CROPS[0][3] * ZOOM
    sheet = Image.new("RGB", (w * 3, (h + 20) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, panels in enumerate(rows):
        for c, (label, img) in enumerate(panels):
            sheet.paste(img, (c * w, r * (h + 20) + 20))
            draw.text((c * w + 4, r * (h + 20) + 4), label, fill="black")
    with atomic_write(out) as f:
        sheet.save(f, format="PNG")
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-2].strip())
    main(sys.argv[1], sys.argv[2])
