"""`rednet demo`: train a small RED-Net on the built-in images, then show what it learned.

Runs on a fresh install with nothing downloaded: scikit-image's own images are the data.
On a CPU the number of steps is sized to about three minutes of training (measured on the
first steps), so that the whole demo stays within five minutes on 2 cores.
"""

from __future__ import annotations

import time
from pathlib import Path

from rednet_cupy.data import builtin_split
from rednet_cupy.evaluate import evaluate, save_grid, table
from rednet_cupy.imageio import atomic_write
from rednet_cupy.model import preset
from rednet_cupy.train import TrainConfig, Trainer, fit

SIGMA = 25.0
TRAIN_SECONDS_CPU = 170.0


def demo_config(steps: int) -> TrainConfig:
    return TrainConfig(task="denoise", levels=str(SIGMA), val_level=SIGMA, steps=steps,
                       batch_size=8, patch_size=40, lr=2e-3, lr_min=1e-4, warmup=20,
                       val_every=max(1, steps // 4), ckpt_every=max(1, steps // 4),
                       log_every=10)


def run_demo(out: Path, device: str = "auto", steps: int | None = None,
             progress: bool = True) -> str:
    t_start = time.perf_counter()
    train, val = builtin_split()
    model_cfg = preset("RED10", width=32)
    trainer = Trainer(model_cfg, demo_config(steps or 100), train, val, device=device)
    if steps is None:
        steps = _calibrate(trainer)
        trainer = Trainer(model_cfg, demo_config(steps), train, val, device=device)
    print(f"demo: RED10 (width 32, {trainer.net.num_params():,} parameters) learns to remove "
          f"Gaussian noise of sigma {SIGMA:g} from {len(train)} built-in images, {steps} steps "
          f"on device '{trainer.F.name}'")
    fit(trainer, out, progress=progress)  # Ctrl-C stops training early; the demo goes on
    models = {f"RED-Net demo ({trainer.step} steps)": trainer.net}
    try:
        from rednet_cupy.pretrained import default_denoiser
        from rednet_cupy.train import load_model

        models["RED-Net shipped model"] = load_model(default_denoiser(), device=device)[0]
    except FileNotFoundError:
        pass
    images = [("camera", val[0]), ("coins", val[1])]
    scores, examples = evaluate(models, images, "denoise", [SIGMA], progress=progress)
    md = table(scores, "denoise", title=f"Held-out built-in images, Gaussian noise sigma {SIGMA:g}")
    with atomic_write(out / "results.md") as f:
        f.write((md + "\n").encode())
    save_grid(examples, out / "grid.png")
    print()
    print(md)
    print(f"\nwrote {out / 'results.md'}, {out / 'grid.png'} (images side by side) and "
          f"{out / 'curve.png'} (training curve) in {time.perf_counter() - t_start:.0f} s")
    return md


def _calibrate(trainer: Trainer) -> int:
    """Steps that fit the time budget, from the speed of a few real steps."""
    if trainer.F.name == "cuda":
        return 3000
    trainer.train_step()  # first step pays for warm-up (allocations, kernel builds)
    t = time.perf_counter()
    for _ in range(3):
        trainer.train_step()
    per_step = (time.perf_counter() - t) / 3
    return int(min(3000, max(50, TRAIN_SECONDS_CPU / per_step)))
