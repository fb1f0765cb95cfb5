"""The weight average of two or more model files of the same architecture (a "model soup").

Two fine-tunes from the same start end in the same basin of the loss; the midpoint of their
weights often sits lower in it than either end. Usage:
    python average.py OUT MODEL MODEL [MODEL ...]
"""

import sys

import numpy as np

from rednet_cupy.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rednet_cupy.train import MODEL_KIND


def main(out: str, paths: list[str]) -> None:
    try:
        loaded = [load_checkpoint(p) for p in paths]
    except CheckpointError as e:
        sys.exit(str(e))
    first, header = loaded[0]
    for p, (arrays, h) in zip(paths, loaded, strict=True):
        if h.get("kind") != MODEL_KIND:
            sys.exit(f"{p}: not a model file (kind {h.get('kind')!r}; export it: rednet export)")
        if h.get("model") != header.get("model") or arrays.keys() != first.keys():
            sys.exit(f"{p}: another architecture than {paths[0]}")
    mean = {k: np.mean([a[k] for a, _ in loaded], axis=0).astype(first[k].dtype) for k in first}
    save_checkpoint(out, mean, {**header, "averaged": paths})
    print(f"{out}: the mean of {len(paths)} models")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    main(sys.argv[1], sys.argv[2:])
