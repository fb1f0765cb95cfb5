"""conv2d: 3x3 convolution, stride 1, NCHW, the NumPy definition of what the kernels compute.

    y[n, co, i, j] = b[co] + sum_{ci, ki, kj} w[co, ci, ki, kj] * xpad[n, ci, i + ki, j + kj]

where xpad is x with `padding` zeros on every side, so the output is H + 2*padding - 2 high.
(Like PyTorch's Conv2d, this is a cross-correlation: the kernel is not flipped.)

Two versions live side by side:
- `*_naive`: plain loops over every index of the formula, written to be read, slow.
- `conv2d_forward` / `conv2d_backward`: the same sums as a few large matrix products,
  what the `cpu` device runs. Tests prove the two agree.

The backward pass needs three gradients of a scalar loss L, given dy = dL/dy:
    db[co]             = sum_{n,i,j} dy[n, co, i, j]
    dw[co, ci, ki, kj] = sum_{n,i,j} dy[n, co, i, j] * xpad[n, ci, i + ki, j + kj]
    dx                 = the adjoint of the forward map applied to dy, which is itself a
                         convolution: dy padded by 2 - padding, correlated with the weights
                         flipped in space and with in/out channels swapped (`flip_weights`).
"""

from __future__ import annotations

import numpy as np

from rednet_cupy import checks

OP = "conv2d"


def output_size(h: int, padding: int) -> int:
    """Height (or width) of a 3x3 stride-1 convolution's output."""
    return h + 2 * padding - 2


def flip_weights(w: np.ndarray) -> np.ndarray:
    """(C_out, C_in, 3, 3) -> (C_in, C_out, 3, 3), each 3x3 kernel rotated by 180 degrees.

    Convolving with these weights and padding 2 - p is exactly the adjoint (transpose) of
    convolving with `w` and padding p: this one identity gives conv's input gradient and
    the whole forward pass of deconv2d.
    """
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def check_forward(op: str, x, w, b, padding) -> int:
    """Validate the arguments of a forward pass; return padding as int."""
    p = checks.padding(op, padding)
    checks.array(op, "x", x, 4)
    checks.conv_weights(op, w, b)
    checks.same_dtype(op, x=x, w=w, b=b)
    if x.shape[1] != w.shape[1]:
        raise checks.fail(
            op, "x", f"{w.shape[1]} channels to match w of shape {tuple(w.shape)}",
            f"{x.shape[1]} channels (shape {tuple(x.shape)})",
        )
    if b.shape[0] != w.shape[0]:
        raise checks.fail(op, "b", f"shape ({w.shape[0]},) to match w", f"shape {tuple(b.shape)}")
    if min(x.shape[2:]) + 2 * p < 3:
        raise checks.fail(
            op, "x", f"at least {3 - 2 * p}x{3 - 2 * p} pixels with padding {p}",
            f"shape {tuple(x.shape)}",
        )
    return p


def check_backward(op: str, dy, x, w, padding, out_shape) -> int:
    p = checks.padding(op, padding)
    checks.array(op, "x", x, 4)
    checks.array(op, "dy", dy, 4)
    checks.conv_weights(op, w, None)
    checks.same_dtype(op, dy=dy, x=x, w=w)
    checks.same_shape(op, "dy", dy, out_shape, "the forward output's shape")
    return p


# ---------------------------------------------------------------- naive loops, to be read
def conv2d_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int) -> np.ndarray:
    p = check_forward(OP, x, w, b, padding)
    n_img, c_in, h, wd = x.shape
    c_out = w.shape[0]
    ho, wo = output_size(h, p), output_size(wd, p)
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    y = np.zeros((n_img, c_out, ho, wo), dtype=x.dtype)
    for n in range(n_img):
        for co in range(c_out):
            for i in range(ho):
                for j in range(wo):
                    acc = b[co]
                    for ci in range(c_in):
                        for ki in range(3):
                            for kj in range(3):
                                acc += w[co, ci, ki, kj] * xpad[n, ci, i + ki, j + kj]
                    y[n, co, i, j] = acc
    return y


def conv2d_backward_naive(dy: np.ndarray, x: np.ndarray, w: np.ndarray, padding: int):
    p = checks.padding(OP, padding)
    n_img, c_in, h, wd = x.shape
    c_out = w.shape[0]
    ho, wo = output_size(h, p), output_size(wd, p)
    check_backward(OP, dy, x, w, p, (n_img, c_out, ho, wo))
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    db = np.zeros(c_out, dtype=x.dtype)
    # Every term w * xpad of the forward sum sends dy back to both of its factors.
    for n in range(n_img):
        for co in range(c_out):
            for i in range(ho):
                for j in range(wo):
                    g = dy[n, co, i, j]
                    db[co] += g
                    for ci in range(c_in):
                        for ki in range(3):
                            for kj in range(3):
                                dw[co, ci, ki, kj] += g * xpad[n, ci, i + ki, j + kj]
                                dxpad[n, ci, i + ki, j + kj] += g * w[co, ci, ki, kj]
    dx = dxpad[:, :, p : p + h, p : p + wd]
    return np.ascontiguousarray(dx), dw, db


# ------------------------------------------------ vectorised: im2col + one matrix product
#
# im2col turns the convolution into one matrix product: stack, for every output pixel, the
# 9 * C_in input values under its 3x3 window as one column; then y = w (C_out, 9*C_in) @ col.
#
# Building the columns with the "flat shift" trick: lay the padded images side by side in
# one long row per channel, xf[ci, :] of length g*Hp*Wp. Output pixel (n, i, j) sits at flat
# index q = n*Hp*Wp + i*Wp + j and its tap (ki, kj) at q + ki*Wp + kj, so the rows of tap
# (ki, kj) are one contiguous slice xf[:, off : off + span], off = ki*Wp + kj: nine slice
# copies build the whole column matrix. Positions q in the padding columns/rows are
# computed too and thrown away; that costs (Hp*Wp)/(Ho*Wo) - 1 extra work (8% for 50x50).
#
# Why a few thousand pixels at a time: the column matrix is 9x the size of its input. For a
# batch of 16 64-channel 50x50 maps that is 100 MB, and writing then reading it from main
# memory costs as much as the arithmetic. Built for ~4096 output positions at a time it is
# ~9 MB, stays in the caches, and a 64->64 layer drops from ~21 ms to ~11 ms on a 2-core
# machine. The positions are split across images (a batch of small patches) and within one
# (a 256x256 inference tile would otherwise build a 150 MB matrix).

PIXELS_PER_GROUP = 4096


def _groups(n_img: int, hp: int, wp: int) -> list[tuple[int, int]]:
    """Consecutive image ranges [i0, i1) of about PIXELS_PER_GROUP padded pixels each."""
    g = max(1, min(n_img, PIXELS_PER_GROUP // (hp * wp)))
    return [(i, min(n_img, i + g)) for i in range(0, n_img, g)]


def _flat(x: np.ndarray, p: int, i0: int, i1: int) -> np.ndarray:
    """Images i0:i1 of x zero-padded by p and laid side by side: (C, g*Hp*Wp)."""
    _, c, h, wd = x.shape
    xf = np.zeros((c, i1 - i0, h + 2 * p, wd + 2 * p), dtype=x.dtype)
    xf[:, :, p : p + h, p : p + wd] = x[i0:i1].transpose(1, 0, 2, 3)
    return xf.reshape(c, -1)


def _spans(n_flat: int, wp: int) -> list[tuple[int, int]]:
    """Flat ranges [q0, q1) of at most PIXELS_PER_GROUP positions, from the first output
    pixel to the last (the last tap of the last one, + 2*Wp + 2, is the end of xf)."""
    end = n_flat - 2 * wp - 2
    return [(q, min(end, q + PIXELS_PER_GROUP)) for q in range(0, end, PIXELS_PER_GROUP)]


def _columns(xf: np.ndarray, wp: int, q0: int, q1: int) -> np.ndarray:
    """im2col of flat positions q0:q1: a (9*C, q1 - q0) matrix, row (ki*3 + kj)*C + ci holding
    channel ci shifted by (ki, kj), column q - q0 the flat padded position q."""
    c = xf.shape[0]
    col = np.empty((9, c, q1 - q0), dtype=xf.dtype)
    for ki in range(3):
        for kj in range(3):
            off = ki * wp + kj
            col[3 * ki + kj] = xf[:, q0 + off : q1 + off]
    return col.reshape(9 * c, q1 - q0)


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int) -> np.ndarray:
    p = check_forward(OP, x, w, b, padding)
    y = _conv(x, w, p)
    y += b.reshape(1, -1, 1, 1)
    return y


def conv2d_relu_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, padding: int) -> np.ndarray:
    """max(0, conv2d_forward(...)): RED-Net's encoder layer, which the kernels fuse."""
    return np.maximum(conv2d_forward(x, w, b, padding), 0)


def _conv(x: np.ndarray, w: np.ndarray, p: int) -> np.ndarray:
    """The correlation without bias, for any padding (the input gradient uses 2 - p)."""
    n_img, c_in, h, wd = x.shape
    c_out = w.shape[0]
    hp, wp = h + 2 * p, wd + 2 * p
    ho, wo = output_size(h, p), output_size(wd, p)
    wm = w.transpose(0, 2, 3, 1).reshape(c_out, 9 * c_in)  # columns ordered like _columns
    y = np.empty((n_img, c_out, ho, wo), dtype=x.dtype)
    for i0, i1 in _groups(n_img, hp, wp):
        xf = _flat(x, p, i0, i1)
        yf = np.zeros((c_out, xf.shape[1]), dtype=x.dtype)
        for q0, q1 in _spans(xf.shape[1], wp):
            np.matmul(wm, _columns(xf, wp, q0, q1), out=yf[:, q0:q1])
        yf = yf.reshape(c_out, i1 - i0, hp, wp)[:, :, :ho, :wo]
        y[i0:i1] = yf.transpose(1, 0, 2, 3)
    return y


def conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, padding: int):
    """Return (dx, dw, db) for y = conv2d_forward(x, w, b, padding)."""
    p = checks.padding(OP, padding)
    checks.array(OP, "x", x, 4)
    n_img, _, h, wd = x.shape
    out_shape = (n_img, w.shape[0], output_size(h, p), output_size(wd, p))
    check_backward(OP, dy, x, w, p, out_shape)
    return input_grad(dy, w, p), weight_grad(dy, x, p), dy.sum(axis=(0, 2, 3))


def input_grad(dy: np.ndarray, w: np.ndarray, p: int) -> np.ndarray:
    """dx: the adjoint of the convolution, itself a convolution (see `flip_weights`)."""
    return _conv(dy, flip_weights(w), 2 - p)


def weight_grad(dy: np.ndarray, x: np.ndarray, p: int) -> np.ndarray:
    """dw[co, ci, ki, kj] = sum over pixels of dy * the input shifted by (ki, kj):
    dy as a (C_out, pixels) matrix times the transposed im2col of x."""
    n_img, c_in, h, wd = x.shape
    c_out, ho, wo = dy.shape[1:]
    hp, wp = h + 2 * p, wd + 2 * p
    dw = np.zeros((c_out, 9 * c_in), dtype=x.dtype)
    for i0, i1 in _groups(n_img, hp, wp):
        xf = _flat(x, p, i0, i1)
        # dy laid on the same flat grid as the padded input; zeros where no output pixel is.
        dyf = np.zeros((c_out, i1 - i0, hp, wp), dtype=dy.dtype)
        dyf[:, :, :ho, :wo] = dy[i0:i1].transpose(1, 0, 2, 3)
        dyf = dyf.reshape(c_out, -1)
        for q0, q1 in _spans(xf.shape[1], wp):
            dw += dyf[:, q0:q1] @ _columns(xf, wp, q0, q1).T
    return np.ascontiguousarray(dw.reshape(c_out, 3, 3, c_in).transpose(0, 3, 1, 2))
