"""conv2d on the kernels of kernels/conv2d.cu: launch configuration and checks.

Forward: conv2d_forward. Backward: the input gradient is conv2d_forward again, on dy with
flipped weights and padding 2 - p (the adjoint identity, see the reference); the weight and
bias gradients have kernels of their own.
"""

from __future__ import annotations

from rednet_cupy.ops.device import KernelDevice
from rednet_cupy.reference import conv2d as ref

OP = "conv2d"
TILE, CO_TILE, THREADS = 16, 8, 256  # as #defined in kernels/conv2d.cu


def forward_raw(dev: KernelDevice, x, w, b, padding: int):
    """y = conv(x, w) + b for padding 0, 1 or 2; arguments already checked."""
    n, c_in, h, wd = x.shape
    c_out = w.shape[0]
    ho, wo = h + 2 * padding - 2, wd + 2 * padding - 2
    y = dev.empty((n, c_out, ho, wo))
    grid = (-(-wo // TILE), -(-ho // TILE), n * -(-c_out // CO_TILE))
    dev.launch(OP, "conv2d_forward", grid, (TILE, TILE),
               (x, w, b, y, n, c_in, h, wd, c_out, padding))
    return y


def flip(dev: KernelDevice, w):
    """(C_out, C_in, 3, 3) -> (C_in, C_out, 3, 3) rotated by 180 degrees."""
    c_out, c_in = w.shape[:2]
    wf = dev.empty((c_in, c_out, 3, 3))
    dev.launch(OP, "conv2d_flip_weights", (-(-wf.size // THREADS),), (THREADS,),
               (w, wf, c_out, c_in))
    return wf


def weight_grad(dev: KernelDevice, dy, x, padding: int):
    n, c_in, h, wd = x.shape
    c_out = dy.shape[1]
    dw = dev.empty((c_out, c_in, 3, 3))
    dev.launch(OP, "conv2d_weight_grad", (c_in, c_out), (THREADS,),
               (dy, x, dw, n, c_in, h, wd, c_out, padding))
    return dw


def bias_grad(dev: KernelDevice, dy):
    n, c, h, wd = dy.shape
    db = dev.empty((c,))
    dev.launch(OP, "conv2d_bias_grad", (c,), (THREADS,), (dy, db, n, c, h * wd))
    return db


def conv2d_forward(dev: KernelDevice, x, w, b, padding: int):
    dev.check(OP, x=x, w=w, b=b)
    p = ref.check_forward(OP, x, w, b, padding)
    return forward_raw(dev, x, w, b, p)


def conv2d_backward(dev: KernelDevice, dy, x, w, padding: int):
    dev.check(OP, dy=dy, x=x, w=w)
    p = ref.check_backward(OP, dy, x, w, padding, ref_out_shape(x, w, padding))
    dx = forward_raw(dev, dy, flip(dev, w), dev.zeros((x.shape[1],)), 2 - p)
    return dx, weight_grad(dev, dy, x, p), bias_grad(dev, dy)


def ref_out_shape(x, w, padding) -> tuple[int, ...]:
    p = ref.checks.padding(OP, padding)
    ref.checks.array(OP, "x", x, 4)
    n, _, h, wd = x.shape
    return (n, w.shape[0], ref.output_size(h, p), ref.output_size(wd, p))
