"""conv2d on the kernels of kernels/conv2d*.cu: checks, and which kernels run.

Forward: conv2d_forward of the device's version of the convolution ladder (`dev.conv`, see
ops/versions.py; version 2 is kernels/conv2d.cu). Backward: the input gradient is that forward
kernel again, on dy with flipped weights and padding 2 - p (the adjoint identity, see the
reference); the weight gradient is the version paired with it; the bias gradient and the
weight flip are kernels/conv2d.cu's for every version.
"""

from __future__ import annotations

from rednet_cupy.ops import conv_ladder
from rednet_cupy.ops.device import KernelDevice
from rednet_cupy.ops.versions import version
from rednet_cupy.reference import conv2d as ref

OP = "conv2d"
TILE, CO_TILE, THREADS = 16, 8, 256  # as #defined in kernels/conv2d.cu


def forward_raw(dev: KernelDevice, x, w, b, padding: int):
    """y = conv(x, w) + b for padding 0, 1 or 2; arguments already checked. Version 2
    (kernels/conv2d.cu) is launched here, the other versions by conv_ladder.forward."""
    if dev.conv != 2:
        return conv_ladder.forward(dev, dev.conv, x, w, b, padding)
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
    """dw of a padding-p convolution of x whose output gradient is dy."""
    return conv_ladder.weight_grad(dev, version(dev.conv).weight_grad, dy, x, padding)


def bias_grad(dev: KernelDevice, dy):
    n, c, h, wd = dy.shape
    db = dev.empty((c,))
    dev.launch(OP, "conv2d_bias_grad", (c,), (THREADS,), (dy, db, n, c, h * wd))
    return db


def conv2d_forward(dev: KernelDevice, x, w, b, padding: int):
    dev.check(OP, x=x, w=w, b=b)
    p = ref.check_forward(OP, x, w, b, padding)
    return forward_raw(dev, x, w, b, p)


def conv2d_relu_forward(dev: KernelDevice, x, w, b, padding: int):
    """max(0, conv2d_forward(x, w, b, padding)): one kernel with the ReLU in its store on
    versions 6 and 7, the convolution then relu.cu's kernel on the others."""
    dev.check(OP, x=x, w=w, b=b)
    p = ref.check_forward(OP, x, w, b, padding)
    return forward_epilogue(dev, x, w, b, p)


def forward_epilogue(dev: KernelDevice, x, w, b, padding: int, skip=None):
    """y = max(0, conv(x, w) + b), and with `skip` also (y, max(0, y + skip)); arguments
    already checked. Fused into the convolution's store on versions 6 and 7; relu.cu and
    skip_add.cu's kernels after it on the others."""
    if dev.conv in conv_ladder.FUSED:
        return conv_ladder.forward(dev, dev.conv, x, w, b, padding, relu=True, skip=skip)
    from rednet_cupy.ops.relu import relu_forward
    from rednet_cupy.ops.skip_add import skip_add_forward

    y = relu_forward(dev, forward_raw(dev, x, w, b, padding))
    if skip is None:
        return y
    return y, relu_forward(dev, skip_add_forward(dev, y, skip))


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
