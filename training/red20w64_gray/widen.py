"""Widen a RED-Net model file to more feature maps without changing what it computes
(rednet_cupy.model.widen_params: new channels feed nothing until training grows their weights).

Usage: python widen.py IN.npz OUT.npz --width 64 [--seed 0]
"""

import argparse

from rednet_cupy.checkpoint import load_checkpoint, save_checkpoint
from rednet_cupy.model import widen_params

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("src")
p.add_argument("dst")
p.add_argument("--width", type=int, required=True)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
params, header = load_checkpoint(args.src)
wide = widen_params(params, args.width, args.seed)
save_checkpoint(args.dst, wide, {**header, "model": {**header["model"], "width": args.width}})
print(f"{args.src} (width {header['model']['width']}) -> {args.dst} (width {args.width})")
