"""deconv2d: 3x3 transposed convolution, the adjoint of conv2d.

Weights are (C_in, C_out, 3, 3) as in PyTorch's ConvTranspose2d. With padding p the output
is H + 2 - 2p high: padding 0 grows the map by 2 (undoing a padding-0 conv), padding 1
keeps its size.

Nothing new is computed here. If C is the linear map x -> conv2d(x, w, padding=p) then
deconv2d with the same weight array is C transposed:
    deconv forward          = conv's input gradient         dx of conv2d, applied to x
    deconv input gradient   = conv forward                  conv2d(dy, w, padding=p)
    deconv weight gradient  = conv's weight gradient with the roles of x and dy swapped
so the code below only rearranges calls to conv2d. The same identities let the CUDA side
reuse conv2d's kernels for deconv2d.
"""

from __future__ import annotations

import numpy as np

from rednet_cupy import checks
from rednet_cupy.reference import conv2d

OP = "deconv2d"


def output_size(h: int, padding: int) -> int:
    return h + 2 - 2 * padding


def check_forward(x, w, b, padding) -> int:
    p = checks.padding(OP, padding)
    checks.array(OP, "x", x, 4)
    checks.conv_weights(OP, w, b)
    checks.same_dtype(OP, x=x, w=w, b=b)
    if x.shape[1] != w.shape[0]:
        raise checks.fail(
            OP, "x", f"{w.shape[0]} channels to match w of shape {tuple(w.shape)}",
            f"{x.shape[1]} channels (shape {tuple(x.shape)})",
        )
    if b.shape[0] != w.shape[1]:
        raise checks.fail(OP, "b", f"shape ({w.shape[1]},) to match w", f"shape {tuple(b.shape)}")
    return p


def deconv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int) -> np.ndarray:
    p = check_forward(x, w, b, padding)
    return conv2d.input_grad(x, w, p) + b.reshape(1, -1, 1, 1)


def out_shape(x, w, padding: int) -> tuple[int, int, int, int]:
    n, _, h, wd = x.shape
    return (n, w.shape[1], output_size(h, padding), output_size(wd, padding))


def deconv2d_relu_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int,
                          skip: np.ndarray | None = None):
    """max(0, deconv2d_forward(...)); with `skip`, also max(0, that + skip), as a pair.
    RED-Net's decoder layer, which the kernels fuse into one store."""
    y = np.maximum(deconv2d_forward(x, w, b, padding), 0)
    if skip is None:
        return y
    checks.array(OP, "skip", skip, 4)
    checks.same_shape(OP, "skip", skip, y.shape, "the output's shape")
    return y, np.maximum(y + skip, 0)


def deconv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, padding: int):
    """Return (dx, dw, db) for y = deconv2d_forward(x, w, b, padding)."""
    p = checks.padding(OP, padding)
    checks.array(OP, "x", x, 4)
    checks.conv_weights(OP, w, None)
    n_img, _, h, wd = x.shape
    out_shape = (n_img, w.shape[1], output_size(h, p), output_size(wd, p))
    conv2d.check_backward(OP, dy, x, w, p, out_shape)
    dx = conv2d._conv(dy, w, p)           # conv forward, no bias
    dw = conv2d.weight_grad(x, dy, p)      # x plays conv's dy, dy plays conv's input
    return dx, dw, dy.sum(axis=(0, 2, 3))


def deconv2d_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int):
    """Scatter form, written to be read: every input pixel stamps w onto the output."""
    p = check_forward(x, w, b, padding)
    n_img, c_in, h, wd = x.shape
    c_out = w.shape[1]
    ypad = np.zeros((n_img, c_out, h + 2, wd + 2), dtype=x.dtype)
    for n in range(n_img):
        for ci in range(c_in):
            for i in range(h):
                for j in range(wd):
                    ypad[n, :, i : i + 3, j : j + 3] += x[n, ci, i, j] * w[ci]
    y = ypad[:, :, p : p + output_size(h, p), p : p + output_size(wd, p)]
    return np.ascontiguousarray(y) + b.reshape(1, -1, 1, 1)
