"""The clipping correction (rednet_cupy/clipping.py): the clipped mean against sampling, its
inverse, the noise estimate, and what it does to a real denoiser's output on 8-bit input."""

import numpy as np
import pytest

from rednet_cupy.clipping import MIN_PIXELS, clipped_mean, debias, estimate_sigma, unclip
from rednet_cupy.data import builtin_images, quantize_8bit
from rednet_cupy.infer import restore, restore_gray
from rednet_cupy.metrics import psnr
from rednet_cupy.pretrained import default_denoiser
from rednet_cupy.train import load_model

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("sigma", [0.04, 0.1, 0.2])
def test_clipped_mean_matches_sampling(sigma):
    x = np.linspace(-0.3, 1.3, 33)
    n = RNG.standard_normal((200_000, 1))
    sampled = np.clip(x + sigma * n, 0, 1).mean(axis=0)
    # 200,000 samples: the standard error is below sigma / 447
    np.testing.assert_allclose(clipped_mean(x, sigma), sampled, atol=5 * sigma / 447)


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.2])
def test_unclip_inverts_the_clipped_mean(sigma):
    x = np.linspace(-2 * sigma, 1 + 2 * sigma, 501)
    f = clipped_mean(x, sigma)
    assert np.all(np.diff(f) > 0)  # increasing: the inverse exists
    mid = (x > 5 * sigma) & (x < 1 - 5 * sigma)
    np.testing.assert_allclose(f[mid], x[mid], atol=1e-6)  # nothing to correct far inside
    assert clipped_mean(0.0, sigma) == pytest.approx(sigma / np.sqrt(2 * np.pi), rel=1e-6)
    np.testing.assert_allclose(unclip(f, sigma), x, atol=2e-5)


def test_sigma_zero_changes_nothing():
    y = RNG.random((9, 11)).astype(np.float32)
    np.testing.assert_array_equal(unclip(y, 0.0), y)
    np.testing.assert_array_equal(clipped_mean(y, 0.0), y)


@pytest.mark.parametrize("sigma", [10, 25, 50])
def test_estimate_sigma_from_the_residual(sigma):
    """With the clean image as the 'denoised' one the residual is the noise itself: the
    estimate is its standard deviation. Black and white areas, where the noise is clipped,
    are left out (they would read low)."""
    x = np.tile(np.linspace(0, 1, 300, dtype=np.float32), (200, 1))  # ramp, both ends
    noisy = np.clip(x + sigma / 255 * RNG.standard_normal(x.shape).astype(np.float32), 0, 1)
    assert estimate_sigma(noisy, x) == pytest.approx(sigma / 255, rel=0.03)


def test_estimate_sigma_refusals():
    """Too few mid-tone pixels to measure the noise on: 0, no correction."""
    black = np.zeros((40, 40), np.float32)
    den = black.copy()
    den.flat[: MIN_PIXELS - 1] = 0.5
    noisy = den + 0.1 * RNG.standard_normal(den.shape).astype(np.float32)
    assert estimate_sigma(noisy, den) == 0.0
    den.flat[: MIN_PIXELS + 50] = 0.5  # enough of them
    assert estimate_sigma(noisy, den) > 0.05
    with pytest.raises(ValueError, match="same shape"):
        estimate_sigma(black, black[:5])


def test_debias_a_black_and_a_grey_half():
    """Half black, half grey, 8-bit noise of sigma 25: a local mean reads the black half
    about 10 levels up (the clipped noise's mean); debias brings it back under 1 level and
    leaves the grey half as it was."""
    clean = np.zeros((200, 200), np.float32)
    clean[:, 100:] = 0.5
    noisy = quantize_8bit(clean + 25 / 255 * RNG.standard_normal(clean.shape))
    local = np.empty_like(noisy)  # a denoiser that averages each half: the clipped mean
    local[:, :100], local[:, 100:] = noisy[:, :100].mean(), noisy[:, 100:].mean()
    assert 255 * local[0, 0] > 8
    out, sigma = debias(noisy, local)
    assert sigma * 255 == pytest.approx(25, rel=0.05)
    assert 255 * abs(out[:, :100].mean()) < 1
    np.testing.assert_allclose(out[:, 100:], local[:, 100:], atol=1e-6)


@pytest.fixture(scope="module")
def shipped():
    return load_model(default_denoiser(), device="cpu")[0]


def test_the_shipped_denoiser_gains_on_8bit_input_and_loses_nothing_on_clean(shipped):
    """A dark image (a built-in one at 40% brightness: much of it within 2 sigma of black)
    with 8-bit noise of sigma 50: the corrected output is better by more than 0.5 dB. A
    noise-free 8-bit image: the estimate is near 0 and the output moves by under 1/255."""
    img = builtin_images()[0]
    img = img[: min(img.shape[0], 96), : min(img.shape[1], 96)]
    dark = img * 0.4
    noisy = quantize_8bit(dark + 50 / 255 * np.random.default_rng(3).standard_normal(
        dark.shape).astype(np.float32))
    plain = np.clip(restore(shipped, noisy), 0, 1)
    fixed = np.clip(restore(shipped, noisy, clipped=True), 0, 1)
    assert psnr(dark, fixed) > psnr(dark, plain) + 0.5
    clean8 = quantize_8bit(img)
    den = restore_gray(shipped, clean8)
    out, sigma = debias(clean8, den)
    assert sigma * 255 < 8
    assert np.abs(out - den).max() < 1 / 255


def test_clipped_is_for_denoising_only(shipped):
    with pytest.raises(ValueError, match="clipped=True is a correction of clipped noise"):
        restore(shipped, np.zeros((40, 40), np.float32), task="sr", clipped=True)
