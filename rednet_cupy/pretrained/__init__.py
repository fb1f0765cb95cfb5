"""Models that ship with the package: `default_denoiser()` is what `rednet denoise` uses,
`default_upscaler()` what `rednet upscale` uses."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DENOISER = HERE / "red20_gray_denoise.npz"
UPSCALER = HERE / "red20_sr.npz"
#: The scales the shipped super-resolver was trained for; others run, with a note.
UPSCALER_SCALES = (2, 3, 4)


def default_denoiser() -> Path:
    if not DENOISER.is_file():
        raise FileNotFoundError(
            f"the shipped denoiser {DENOISER.name} is missing from this installation; "
            "pass --model with a model trained by `rednet train`"
        )
    return DENOISER


def default_upscaler() -> Path:
    if not UPSCALER.is_file():
        raise FileNotFoundError(
            f"the shipped super-resolution model {UPSCALER.name} is missing from this "
            "installation: train one with `rednet train --task sr --levels 2,3,4`, then pass "
            "--model RUN/model.npz"
        )
    return UPSCALER
