"""MATLAB-exact bicubic imresize and the super-resolution evaluation protocol.

Known answers are worked out by hand from imresize.m's definition (Keys cubic, a = -0.5;
u = x / scale + 0.5 (1 - 1 / scale); symmetric edge mirroring; antialiasing kernel stretched by
1 / scale when shrinking). A slow test measures the bicubic rows of Set5 / Set14 / B100 and
compares them with the published tables; it is skipped where the datasets are not present.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark
from skimage.metrics import structural_similarity

from rednet_cupy.imageio import rgb_to_ycbcr
from rednet_cupy.imresize import contributions, cubic, imresize, uint8_round
from rednet_cupy.metrics import rgb_to_y, sr_psnr, sr_ssim


# ----------------------------------------------------------------------------- reference
def _naive_resize_1d(a: np.ndarray, out_len: int, scale: float) -> np.ndarray:
    """imresize.m along axis 0, one output pixel at a time, with MATLAB's 1-based indices
    and its explicit mirror table aux = [1..N, N..1]."""
    n = a.shape[0]
    width, kern = 4.0, cubic
    if scale < 1:
        width = 4.0 / scale

        def kern(x):
            return scale * cubic(scale * x)

    aux = list(range(1, n + 1)) + list(range(n, 0, -1))
    out = np.zeros((out_len,) + a.shape[1:])
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        idx = [left + k for k in range(math.ceil(width) + 2)]
        w = np.array([float(kern(u - i)) for i in idx])
        w /= w.sum()
        for wk, i in zip(w, idx, strict=True):
            out[x - 1] += wk * a[aux[(i - 1) % (2 * n)] - 1]
    return out


def _naive_imresize(a: np.ndarray, scale: float) -> np.ndarray:
    h, w = a.shape[:2]
    rows = _naive_resize_1d(a.astype(np.float64), math.ceil(scale * h), scale)
    return np.swapaxes(_naive_resize_1d(np.swapaxes(rows, 0, 1), math.ceil(scale * w), scale), 0, 1)


# ----------------------------------------------------------------------------- the kernel
def test_cubic_kernel_values():
    x = np.array([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, -0.25, -1.5])
    want = [1, 0.8671875, 0.5625, 0.2265625, 0, -0.0703125, -0.0625, -0.0234375, 0, 0,
            0.8671875, -0.0625]  # fmt: skip
    np.testing.assert_allclose(cubic(x), want, rtol=0, atol=1e-15)


def test_upscale_x2_weights_and_mirrored_indices():
    # Output pixel 1: u = 0.75, taps at 1-based -2..3 with distances 2.75 .. -2.25; the two
    # end taps have weight 0 for every pixel and are trimmed. Indices -1, 0 mirror to 2, 1.
    w, idx = contributions(4, 8, 2.0)
    assert w.shape == idx.shape == (8, 4)
    np.testing.assert_allclose(w[0], [-0.0234375, 0.2265625, 0.8671875, -0.0703125], atol=1e-15)
    np.testing.assert_allclose(w[1], [-0.0703125, 0.8671875, 0.2265625, -0.0234375], atol=1e-15)
    np.testing.assert_array_equal(idx[0], [1, 0, 0, 1])
    np.testing.assert_array_equal(idx[7], [2, 3, 3, 2])  # right edge: 4, 5, 6 -> 3, 3, 2 (0-based)


def test_shrink_x2_antialiased_weights():
    # h(d) = 0.5 cubic(d / 2) over 8 taps: u = 1.5 for output 1, distances +-0.5 .. +-3.5.
    w, idx = contributions(8, 4, 0.5)
    half = [0.43359375, 0.11328125, -0.03515625, -0.01171875]
    np.testing.assert_allclose(w[1], half[::-1] + half, atol=1e-15)
    np.testing.assert_array_equal(idx[0], [2, 1, 0, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(idx[3], [3, 4, 5, 6, 7, 7, 6, 5])


def test_shrink_without_antialiasing_is_plain_cubic():
    w, _ = contributions(8, 4, 0.5, antialiasing=False)
    np.testing.assert_allclose(w[1], [-0.0625, 0.5625, 0.5625, -0.0625], atol=1e-15)


def test_weights_sum_to_one_for_odd_scales():
    for n_in, n_out, s in [(7, 3, 3 / 7), (9, 13, 13 / 9), (5, 17, 3.4), (101, 10, 0.1)]:
        w, idx = contributions(n_in, n_out, s)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-13)
        assert idx.min() >= 0 and idx.max() < n_in


# ----------------------------------------------------------------------------- known answers
def test_upscaling_reproduces_quadratics_in_the_interior():
    # Keys' kernel with a = -0.5 reproduces polynomials of degree <= 2, so away from the edges
    # the output is the quadratic evaluated at u = x / s + (1 - 1 / s) / 2 (1-based); a wrong
    # a, coordinate offset or tap window breaks this.
    for s in (2.0, 3.0, 1.5, 2.7):
        n = 20
        i = np.arange(1, n + 1, dtype=np.float64)
        f = lambda t: 0.3 * t * t - 2.0 * t + 5.0  # noqa: E731
        img = np.repeat(f(i)[:, None], 3, axis=1)
        out = imresize(img, s)[:, 0]
        x = np.arange(1, out.size + 1)
        u = x / s + 0.5 * (1 - 1 / s)
        inner = (u > 3) & (u < n - 2)
        assert inner.sum() > 10
        np.testing.assert_allclose(out[inner], f(u[inner]), rtol=0, atol=1e-10)


def test_upscaled_impulse_is_the_kernel():
    row = np.zeros((1, 15))
    row[0, 7] = 1.0  # 1-based position 8
    out = imresize(row, 2.0)
    assert out.shape == (2, 30)
    np.testing.assert_array_equal(out[0], out[1])
    x = np.arange(1, 31)
    want = cubic(x / 2 + 0.25 - 8)
    np.testing.assert_allclose(out[0], want, atol=1e-15)


def test_two_pixel_row_by_hand_with_mirroring():
    # N = 2, x2: out1 = 1.09375 v1 - 0.09375 v2, out2 = (51 v1 + 13 v2) / 64, and symmetric.
    out = imresize(np.array([[0.0, 32.0]]), 2.0)
    np.testing.assert_allclose(out, [[-3, 6.5, 25.5, 35]] * 2, atol=1e-12)


def test_uint8_rounds_half_away_from_zero_and_clips():
    out = imresize(np.array([[0, 32]], dtype=np.uint8), 2.0)
    assert out.dtype == np.uint8
    # -3 clips to 0; 6.5 -> 7 (np.round would give 6); 25.5 -> 26; 35 exact.
    np.testing.assert_array_equal(out, [[0, 7, 26, 35]] * 2)
    np.testing.assert_array_equal(
        uint8_round(np.array([2.5, 3.5, -0.4, -7, 254.5, 255.6, 0.5, np.nan])),
        [3, 4, 0, 0, 255, 255, 1, 0],
    )


def test_float_output_is_neither_rounded_nor_clipped():
    edge = np.zeros((6, 6))
    edge[:, 3:] = 1.0
    out = imresize(edge, 2.0)
    assert out.dtype == np.float64
    assert out.min() < -0.05 and out.max() > 1.05  # the cubic's overshoot at a step


def test_antialiased_shrink_of_a_checkerboard_by_hand():
    # x1/3: h(d) = cubic(d / 3) / 3 at integer d (u = 3x - 1 lands on pixels): weights
    # 27, 21, 9, 0, -2, -1 (/81) for |d| = 0..5. The even offsets sum to 41/81, so stripes
    # 0/1 come out as 41/81 or 40/81: nearly flat. Plain cubic would alias to full 0/1 contrast.
    stripes = np.tile((np.arange(60) % 2).astype(np.float64), (6, 1))
    out = imresize(stripes, 1 / 3)
    assert out.shape == (2, 20)
    centre = stripes[0, 3 * np.arange(1, 21) - 2]  # 0-based input pixel under each output
    inner = slice(2, -2)
    np.testing.assert_allclose(out[0, inner], np.where(centre == 1, 41, 40)[inner] / 81, atol=1e-12)
    w, _ = contributions(60, 20, 1 / 3)
    np.testing.assert_allclose(np.sort(w[10]), np.sort([27, 21, 21, 9, 9, -2, -2, -1, -1]) / 81,
                               atol=1e-12)  # fmt: skip


@pytest.mark.parametrize(
    ("shape", "scale", "out_shape"),
    [
        ((7, 5), 0.5, (4, 3)),
        ((7, 5), 1.5, (11, 8)),
        ((255, 510), 1 / 3, (85, 170)),
        ((85, 170), 3.0, (255, 510)),
        ((9, 9), 0.25, (3, 3)),
        ((13, 11, 3), 2.0, (26, 22, 3)),
    ],
)
def test_output_sizes(shape, scale, out_shape):
    assert imresize(np.zeros(shape), scale).shape == out_shape


def test_output_shape_argument_uses_per_axis_scales():
    rng = np.random.default_rng(0)
    a = rng.random((7, 5))
    out = imresize(a, output_shape=(10, 13))
    assert out.shape == (10, 13)
    # Equal to resizing each axis on its own with its own factor.
    rows = imresize(a, output_shape=(10, 5))
    np.testing.assert_allclose(out, imresize(rows, output_shape=(10, 13)), atol=1e-13)
    np.testing.assert_allclose(imresize(np.full((7, 5), 3.0), output_shape=(4, 12)), 3.0)


@pytest.mark.parametrize("scale", [2.0, 3.0, 4.0, 0.5, 1 / 3, 0.25, 1.7, 0.37])
def test_matches_a_per_pixel_reference_on_odd_sizes(scale):
    rng = np.random.default_rng(7)
    a = rng.random((23, 17))
    np.testing.assert_allclose(imresize(a, scale), _naive_imresize(a, scale), atol=1e-12)


def test_colour_is_per_channel_and_transpose_commutes():
    rng = np.random.default_rng(3)
    a = rng.random((19, 12, 3))
    out = imresize(a, 0.4)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], imresize(a[..., c], 0.4), atol=1e-14)
    np.testing.assert_allclose(imresize(a[..., 0].T, 0.4), out[..., 0].T, atol=1e-13)
    np.testing.assert_allclose(imresize(a, 1.0), a)


def test_bad_arguments():
    a = np.zeros((8, 8))
    for kwargs in ({}, {"scale": 2, "output_shape": (4, 4)}, {"scale": 0}, {"scale": -1},
                   {"output_shape": (0, 4)}, {"output_shape": (4,)}):  # fmt: skip
        with pytest.raises(ValueError):
            imresize(a, **kwargs)
    with pytest.raises(ValueError):
        imresize(np.zeros(8), 2.0)


def test_fast_enough():
    a = np.random.default_rng(0).random((512, 512))
    t = time.perf_counter()
    imresize(imresize(a, 0.25), 4.0)
    assert time.perf_counter() - t < 1.0


# ----------------------------------------------------------------------------- metrics
def test_rgb_to_y():
    rgb = np.array([[[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]], dtype=np.float64)
    np.testing.assert_allclose(rgb_to_y(rgb), [[16, 235, 81.481, 144.553, 40.966]], atol=1e-12)
    rng = np.random.default_rng(1)
    x = rng.random((5, 4, 3))
    np.testing.assert_allclose(rgb_to_y(x), 255 * rgb_to_ycbcr(x)[..., 0], atol=1e-4)
    # uint8 in: value / 255, then rounded to whole levels as rgb2ycbcr's uint8 output.
    u8 = np.array([[[255, 0, 0], [128, 128, 128], [0, 0, 255]]], dtype=np.uint8)
    y = rgb_to_y(u8)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[81, 126, 41]])  # 81.481, 125.93, 40.966
    with pytest.raises(ValueError):
        rgb_to_y(np.zeros((4, 4)))


def test_sr_psnr_shaves_exactly_scale_pixels():
    ref = np.full((20, 24), 100.0)
    out = ref.copy()
    out[:3, :] += 50  # inside the shaved border at scale 3
    out[:, -3:] -= 50
    assert sr_psnr(ref, out, 3) == float("inf")
    assert sr_psnr(ref, out, 2) < 30
    out = ref + 1.0  # MSE 1 on the 0..255 scale
    assert sr_psnr(ref, out, 4) == pytest.approx(20 * math.log10(255), abs=1e-12)
    one = ref.copy()
    one[3, 3] += 10.0  # the first pixel kept at scale 3: MSE = 100 / (14 * 18)
    assert sr_psnr(ref, one, 3) == pytest.approx(10 * math.log10(255**2 * 14 * 18 / 100))


def test_sr_ssim_matches_skimage_on_the_shaved_region():
    # skimage filters the whole image (reflect padding) and then drops (11 - 1) / 2 = 5 pixels
    # from each side of the map: that is exactly ssim_index.m's 'valid' region.
    rng = np.random.default_rng(5)
    ref = rng.integers(0, 256, (40, 47)).astype(np.float64)
    out = np.clip(ref + rng.normal(0, 20, ref.shape), 0, 255)
    for s in (2, 3, 4):
        r, o = ref[s:-s, s:-s], out[s:-s, s:-s]
        want = structural_similarity(r, o, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)  # fmt: skip
        assert sr_ssim(ref, out, s) == pytest.approx(want, abs=1e-12)
    assert sr_ssim(ref, ref, 2) == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError):
        sr_ssim(ref[:14, :14], out[:14, :14], 2)  # 10x10 after shaving: no 11x11 window fits


def test_sr_ssim_constant_images_by_hand():
    # Flat images: sigmas vanish, SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
    a, b = np.full((30, 30), 100.0), np.full((30, 30), 110.0)
    c1 = (0.01 * 255) ** 2
    want = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert sr_ssim(a, b, 2) == pytest.approx(want, abs=1e-12)


# ----------------------------------------------------------------------------- published rows
def _datasets() -> Path:
    env = os.environ.get("REDNET_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"




@pytest.mark.slow
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", ["Set5", "Set14", "B100"])
def test_published_bicubic_rows(name, scale):
    folder = _datasets() / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not found: the SR test sets are not on this machine "
                    "(set REDNET_DATASETS to a folder holding Set5, Set14, B100)")  # fmt: skip
    table = load_benchmark("sr_bicubic_table")
    p, s, _ = table.evaluate_set(folder, scale)
    assert abs(p - table.PUBLISHED_PSNR[name][scale]) < 0.01, (name, scale, p)
    # SSIM: Set5 and B100 agree to 0.0003; Set14 x3 / x4 read 0.0006 / 0.0008 low.
    assert abs(s - table.PUBLISHED_SSIM[name][scale]) < 0.001, (name, scale, s)
