"""MATLAB's ``imresize(img, scale, 'bicubic')``, reproduced exactly in NumPy (float64).

Super-resolution papers (SRCNN, VDSR, RED-Net and most that followed) make their low-resolution
inputs and their "bicubic" baseline with MATLAB's imresize, and their tables are only
comparable with results obtained from the very same degradation. What imresize computes, per
image dimension, one after the other:

* the Keys cubic convolution kernel with a = -0.5, support [-2, 2];
* when shrinking (scale < 1) an antialiasing low-pass: the kernel is stretched by 1/scale,
  h(x) = scale * cubic(scale * x), so its support becomes 4 / scale input pixels;
* output pixel x (1-based) sits at input coordinate u = x / scale + 0.5 * (1 - 1 / scale)
  (pixel centres aligned, not corners);
* it reads the P = ceil(kernel_width) + 2 input pixels from left = floor(u - kernel_width / 2),
  weights them by h(u - index), normalises the weights to sum 1, and reflects indices that
  fall outside the image symmetrically (edge pixel repeated: ..., 2, 1, 1, 2, ...);
* the dimension with the smaller scale factor is resized first (rows first on a tie);
* the output size is ceil(scale * input size);
* uint8 images come back as uint8, rounded half away from zero and saturated to 0..255.

Why not Pillow's or scikit-image's resizers. Pillow's BICUBIC has the same kernel, the same
antialiasing stretch and the same pixel-centre mapping, but at the borders it drops the taps
that fall outside the image and renormalises instead of mirroring, computes mode "F" in float32,
and on 8-bit images rounds and clips to 8 bits between its horizontal and vertical passes: on
Set5 the 8-bit path reads 0.03 dB below the published bicubic row at x2; float mode agrees
in the table, but its low-resolution images differ from MATLAB's near the borders, which
networks trained or tested on them do see. ``skimage.transform.resize`` with order 3 is a
different degradation altogether: cubic B-spline interpolation (prefiltered, not Keys' kernel)
with a separate Gaussian antialiasing blur (sigma = (1 / scale - 1) / 2); Set5's bicubic row
comes out 0.7 dB high at x2 and 0.2 dB low at x4. Numbers measured on such inputs are not
comparable with the published tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Support of the (unstretched) cubic kernel: it is non-zero on (-2, 2).
KERNEL_WIDTH = 4.0


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic`` in imresize.m)."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


def contributions(
    in_length: int, out_length: int, scale: float, antialiasing: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based input indices of every output pixel along one dimension.

    Returns (weights, indices), both of shape (out_length, taps): output pixel i is
    ``sum_k weights[i, k] * input[indices[i, k]]``. This is imresize.m's ``contributions``:
    taps whose weight is zero for every output pixel are removed, as MATLAB does.
    """
    if in_length < 1 or out_length < 1:
        raise ValueError(f"contributions: bad lengths {in_length} -> {out_length}")
    if not scale > 0:
        raise ValueError(f"contributions: scale must be positive, got {scale}")
    width = KERNEL_WIDTH
    stretch = scale < 1 and antialiasing
    if stretch:
        width = KERNEL_WIDTH / scale
    # 1-based coordinates, as in MATLAB, so that the formulas read exactly like imresize.m.
    x = np.arange(1, out_length + 1, dtype=np.float64)[:, None]
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left + np.arange(taps, dtype=np.float64)[None, :]
    dist = u - indices
    weights = scale * cubic(scale * dist) if stretch else cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index sequence 1..N, N..1 repeated, i.e. reflect with the edge doubled.
    idx0 = indices.astype(np.int64) - 1
    period = 2 * in_length
    idx0 = np.mod(idx0, period)
    idx0 = np.where(idx0 < in_length, idx0, period - 1 - idx0)
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], idx0[:, keep]


def _resize_axis(a: np.ndarray, axis: int, out_length: int, scale: float) -> np.ndarray:
    weights, indices = contributions(a.shape[axis], out_length, scale)
    # Move the resized axis first, gather each tap's rows and accumulate tap by tap (the order
    # MATLAB's kernel sums in); the weights broadcast over the remaining axes.
    moved = np.moveaxis(a, axis, 0)
    extra = (1,) * (moved.ndim - 1)
    out = np.zeros((out_length,) + moved.shape[1:], dtype=np.float64)
    for k in range(weights.shape[1]):
        out += weights[:, k].reshape((out_length,) + extra) * moved[indices[:, k]]
    return np.moveaxis(out, 0, axis)


def uint8_round(a: np.ndarray) -> np.ndarray:
    """MATLAB's ``uint8(a)`` for values on the 0..255 scale: round half away from zero, then
    saturate to 0..255 (NaN becomes 0, as in MATLAB). np.round would round half to even
    (2.5 -> 2), which differs from MATLAB on exact halves."""
    a = np.nan_to_num(np.asarray(a, dtype=np.float64), nan=0.0)
    return np.clip(np.floor(np.abs(a) + 0.5) * np.sign(a), 0, 255).astype(np.uint8)


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    output_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image as MATLAB's ``imresize(img, ..., 'bicubic')``.

    Give either `scale` (one factor for both dimensions; output size ceil(scale * size)) or
    `output_shape` (H', W'; each dimension's factor is then H'/H and W'/W). Computed in float64;
    float input gives float64 output, neither rounded nor clipped (bicubic overshoots at edges);
    uint8 input gives uint8 output rounded half away from zero and clipped to 0..255, as MATLAB.
    Antialiasing applies whenever a dimension shrinks, as MATLAB's default.
    """
    a = np.asarray(img)
    if a.ndim not in (2, 3):
        raise ValueError(f"imresize: expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    if (scale is None) == (output_shape is None):
        raise ValueError("imresize: give exactly one of scale and output_shape")
    in_shape = a.shape[:2]
    if scale is not None:
        s = float(scale)
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"imresize: scale must be a positive number, got {scale}")
        scales = (s, s)
        out_shape = tuple(int(math.ceil(s * n)) for n in in_shape)
    else:
        if len(output_shape) != 2:
            raise ValueError(f"imresize: output_shape must be (H, W), got {output_shape}")
        out_shape = tuple(int(n) for n in output_shape)
        if min(out_shape) < 1:
            raise ValueError(f"imresize: output_shape must be positive, got {output_shape}")
        scales = (out_shape[0] / in_shape[0], out_shape[1] / in_shape[1])
    is_uint8 = a.dtype == np.uint8
    out = a.astype(np.float64, copy=False)
    # MATLAB resizes the dimension with the smallest factor first (stable sort: rows on a tie),
    # so the second pass works on the smaller intermediate when shrinking; the order changes
    # the result by rounding error only, but matching it keeps the outputs identical.
    for axis in sorted((0, 1), key=lambda d: scales[d]):
        if out_shape[axis] != in_shape[axis] or scales[axis] != 1:
            out = _resize_axis(out, axis, out_shape[axis], scales[axis])
    if out is a:
        out = out.copy()
    return uint8_round(out) if is_uint8 else out
