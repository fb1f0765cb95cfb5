"""Clipped noise: what saving a noisy image to a file does, and how to take its bias out.

A file holds values in a fixed range (0..255 for 8 bits), so a noisy photo is
clip(x + n, 0, 1): near black and white the noise is one-sided and no longer averages out.
A denoiser trained on unclipped Gaussian noise estimates the local mean of what it sees, which
there is not x but the mean of the clipped observations,

    f(x) = E[clip(x + n, 0, 1)],  n ~ N(0, sigma^2)
         = x (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b)) + 1 - Phi(b),
           a = -x / sigma, b = (1 - x) / sigma

(Phi, phi: the standard normal CDF and density; the three terms are the unclipped middle and
the mass piled up at 0 and at 1). f is increasing, equal to x where x is more than a few
sigma inside the range and pulled towards the middle near its ends: a black background at
sigma 25 reads as about 10 grey levels. Foi (2009, "Clipped noisy images: heteroskedastic
modeling and practical denoising") inverts it after denoising: x = f^-1(denoised). This
module does that, with sigma estimated from the noise the network removed, so `rednet denoise`
needs no noise level from the user. It changes only pixels within a few sigma of black or
white, and nothing when sigma is 0.
"""

from __future__ import annotations

import math

import numpy as np

#: Pixels whose denoised value lies in this band carry noise that the clipping left alone;
#: the noise level is measured on them.
MIDTONES = (0.2, 0.8)
#: Fewer mid-tone pixels than this and the estimate is not trusted: no correction.
MIN_PIXELS = 256


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _Phi(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


def clipped_mean(x: np.ndarray, sigma: float) -> np.ndarray:
    """f(x) = E[clip(x + n, 0, 1)] for n ~ N(0, sigma^2), elementwise (float64)."""
    x = np.asarray(x, dtype=np.float64)
    if sigma <= 0:
        return np.clip(x, 0, 1)
    a, b = -x / sigma, (1 - x) / sigma
    Pa, Pb = _Phi(a), _Phi(b)
    return x * (Pb - Pa) + sigma * (_phi(a) - _phi(b)) + (1 - Pb)


def unclip(y: np.ndarray, sigma: float) -> np.ndarray:
    """f^-1(y): the x whose clipped mean is y (float32, same shape). y outside f's range (below
    f(-4 sigma) or above f(1 + 4 sigma)) goes to those ends; sigma 0 returns y unchanged."""
    y = np.asarray(y, dtype=np.float32)
    if sigma <= 0:
        return y.copy()
    # f is smooth and increasing: a table 1/4000 of the range apart, linearly interpolated,
    # is exact to far below an 8-bit level.
    xs = np.linspace(-4 * sigma, 1 + 4 * sigma, 4001)
    return np.interp(y, clipped_mean(xs, sigma), xs).astype(np.float32)


def estimate_sigma(noisy: np.ndarray, denoised: np.ndarray) -> float:
    """The noise level of `noisy` (same [0, 1] scale), from the residual noisy - denoised on
    mid-tone pixels, where clipping did not touch the noise: 1.4826 times its median absolute
    deviation (the standard deviation of a Gaussian, robust to edges the network kept).
    0.0 when fewer than MIN_PIXELS pixels are mid-tones. The residual holds a little less than
    all the noise (the network leaves some behind), so this reads 5-15% low; the correction
    hardly depends on it (within 0.005 dB on the validation images)."""
    noisy = np.asarray(noisy, dtype=np.float32)
    denoised = np.asarray(denoised, dtype=np.float32)
    if noisy.shape != denoised.shape:
        raise ValueError(f"estimate_sigma: noisy {noisy.shape} and denoised {denoised.shape} "
                         "must have the same shape")
    lo, hi = MIDTONES
    mid = (denoised > lo) & (denoised < hi)
    if mid.sum() < MIN_PIXELS:
        return 0.0
    r = (noisy - denoised)[mid].astype(np.float64)
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def debias(noisy: np.ndarray, denoised: np.ndarray) -> tuple[np.ndarray, float]:
    """Take the clipping bias out of a denoised (H, W) plane whose noisy input was clipped to
    [0, 1] (any image read from a file). Returns (corrected, sigma estimate)."""
    sigma = estimate_sigma(noisy, denoised)
    return unclip(denoised, sigma), sigma
