"""deconv2d without a kernel of its own: the adjoint identities turn it into conv2d's kernels.

    forward          = conv2d_forward(x, flip(w), padding 2 - p)   (conv's input gradient)
    input gradient   = conv2d_forward(dy, w, padding p)            (conv's forward)
    weight gradient  = conv2d_weight_grad with x and dy swapped
    bias gradient    = conv2d_bias_grad(dy)
"""

from __future__ import annotations

from rednet_cupy.ops import conv2d as conv
from rednet_cupy.ops.device import KernelDevice
from rednet_cupy.reference import conv2d as ref_conv
from rednet_cupy.reference import deconv2d as ref

OP = "deconv2d"


def deconv2d_forward(dev: KernelDevice, x, w, b, padding: int):
    dev.check(OP, x=x, w=w, b=b)
    p = ref.check_forward(x, w, b, padding)
    return conv.forward_raw(dev, x, conv.flip(dev, w), b, 2 - p)


def deconv2d_relu_forward(dev: KernelDevice, x, w, b, padding: int, skip=None):
    """max(0, deconv2d_forward(x, w, b, padding)); with `skip` (an array of the output's
    shape) also max(0, that + skip), returned as a pair: RED-Net's decoder layer, fused into
    the convolution's store on versions 6 and 7 (ops/conv2d.forward_epilogue)."""
    dev.check(OP, x=x, w=w, b=b)
    p = ref.check_forward(x, w, b, padding)
    if skip is not None:
        dev.check(OP, skip=skip)
        ref.checks.same_shape(OP, "skip", skip, ref.out_shape(x, w, p), "the output's shape")
    return conv.forward_epilogue(dev, x, conv.flip(dev, w), b, 2 - p, skip)


def deconv2d_backward(dev: KernelDevice, dy, x, w, padding: int):
    dev.check(OP, dy=dy, x=x, w=w)
    p = ref.checks.padding(OP, padding)
    ref.checks.array(OP, "x", x, 4)
    n, _, h, wd = x.shape
    out_shape = (n, w.shape[1], ref.output_size(h, p), ref.output_size(wd, p))
    ref_conv.check_backward(OP, dy, x, w, p, out_shape)
    dx = conv.forward_raw(dev, dy, w, dev.zeros((w.shape[0],)), p)
    return dx, conv.weight_grad(dev, x, dy, p), conv.bias_grad(dev, dy)
