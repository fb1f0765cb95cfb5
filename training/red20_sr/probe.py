"""A quick look at how fast a super-resolver learns: a small RED-Net trained at x3 for 400
steps (batches of 16 32x32 patches, constant learning rate after 50 warm-up steps) on every
seventh training image, its PSNR gain over bicubic on 128 fixed patches of the same images
printed every 100 steps. Minutes on one core, where the real run takes hours: for choosing a
learning rate or loss before spending them. Usage:
    python probe.py LR[,LR...] [PRESET] [WIDTH] [LOSS] [LAST]  e.g. python probe.py 1e-3 RED20 32 l1
LOSS is mse (the trainer's) or l1 (its gradient sign(pred - target) / N put in place of the
MSE gradient for the probe's run only; the logged PSNR is still measured). LAST is lecun (the
default initialisation of the output layer) or zero (output layer zero: the network starts as
the identity).
Results so far (one core shared with other jobs): RED10 w32 at 1e-3 +0.21 / 0.35 / 0.43 /
0.49 dB, at 1e-4 -0.27 / 0.02 / 0.15 / 0.22; RED20 w32 at 1e-3 +0.16 / 0.37 / 0.44 / 0.49.
"""

import sys

import numpy as np

from rednet_cupy.data import PatchSampler, load_images, sr_pairs
from rednet_cupy.model import preset
from rednet_cupy.train import TrainConfig, Trainer


def main(lrs: list[float], name: str, width: int, loss: str, last: str) -> None:
    ims = load_images("data")[::7]
    test = PatchSampler(sr_pairs(ims, [3]), 32, 128, seed=99, planes=2).next()
    x, y = test[:, :1], test[:, 1:]

    def db(out: np.ndarray) -> float:
        return float(10 * np.log10(1 / np.mean((out - y) ** 2)))

    for lr in lrs:
        cfg = TrainConfig(task="sr", levels="3", steps=400, batch_size=16, patch_size=32,
                          lr=lr, schedule="constant", warmup=50, seed=1)
        tr = Trainer(preset(name, width=width), cfg, ims, None, device="cpu")
        if last == "zero":
            n = tr.net.n
            tr.net.params[f"deconv{n}.weight"][...] = 0
        if loss == "l1":  # the cpu namespace is shared: put back below
            mse_grad = tr.F.mse_loss_backward
            tr.F.mse_loss_backward = lambda p, t: (np.sign(p - t) / p.size).astype(p.dtype)
        gains = []
        for s in range(1, 401):
            tr.train_step()
            if s % 100 == 0:
                gains.append(f"{db(tr.net.forward(x)) - db(x):+.2f}")
        if loss == "l1":
            tr.F.mse_loss_backward = mse_grad
        print(f"{name} w{width} lr {lr:g} {loss} last={last}: gain over bicubic at steps 100..400: "
              f"{' / '.join(gains)} dB", flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main([float(v) for v in sys.argv[1].split(",")],
         sys.argv[2] if len(sys.argv) > 2 else "RED10",
         int(sys.argv[3]) if len(sys.argv) > 3 else 32,
         sys.argv[4] if len(sys.argv) > 4 else "mse",
         sys.argv[5] if len(sys.argv) > 5 else "lecun")
