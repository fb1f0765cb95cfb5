"""What the tensor-core kernels round their inputs to, in NumPy: the reference for version 7
of the convolution (kernels/conv2d_v7.cu) and w4 (conv2d_w4.cu).

A tensor core multiplies inputs of lower precision exactly and adds the products in float32.
So `conv(round_to(x, p), round_to(w, p))` in float64 is what the kernel computes, up to
float32 summation: the tests compare against that with float32's tolerance, and against the
unrounded float64 reference with the precision's own tolerance (`TOLERANCE`).
"""

from __future__ import annotations

import numpy as np

# Relative error (max |error| / max |expected|) of a 3x3 convolution over up to a few hundred
# input values, against the unrounded float64 reference: each input carries a relative
# rounding error of at most 2^-11 (tf32, fp16) or 2^-8 (bf16); over random-signed sums these
# stay a few units of it. Float32 is float32's own.
TOLERANCE = {"fp32": 1e-5, "tf32": 2e-3, "fp16": 2e-3, "bf16": 1.5e-2}


def round_to(x: np.ndarray, precision: str) -> np.ndarray:
    """float32 `x` rounded to `precision`, returned as float32 values.

    fp32: unchanged. tf32: 10 mantissa bits, to nearest, ties away from zero (what
    wmma::__float_to_tf32 / cvt.rna.tf32.f32 do). bf16: 7 mantissa bits, to nearest even.
    fp16: IEEE half, to nearest even, with half's range (overflow to infinity)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if precision == "fp32":
        return x.copy()
    if precision == "fp16":
        with np.errstate(over="ignore"):
            return x.astype(np.float16).astype(np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    finite = (bits & 0x7F800000) != 0x7F800000
    if precision == "tf32":
        rounded = (bits + 0x1000) & 0xFFFFE000
    elif precision == "bf16":
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    else:
        raise ValueError(f"precision must be fp32, tf32, bf16 or fp16, got {precision!r}")
    return np.where(finite, rounded, bits).astype(np.uint32).view(np.float32)
