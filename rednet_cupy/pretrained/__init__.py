"""Models that ship with the package. `default_denoiser()` is what `rednet denoise` uses."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
DENOISER = HERE / "red20_gray_denoise.npz"


def default_denoiser() -> Path:
    if not DENOISER.is_file():
        raise FileNotFoundError(
            f"the shipped denoiser {DENOISER.name} is missing from this installation; "
            "pass --model with a model trained by `rednet train`"
        )
    return DENOISER
