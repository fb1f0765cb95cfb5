"""relu on kernels/relu.cu: one thread per element, grid-stride loop."""

from __future__ import annotations

from rednet_cupy import checks
from rednet_cupy.ops.device import KernelDevice, blocks_for

OP = "relu"


def relu_forward(dev: KernelDevice, x):
    dev.check(OP, x=x)
    y = dev.empty(x.shape)
    dev.launch(OP, "relu_forward", (blocks_for(x.size),), (256,), (x, y, x.size))
    return y


def relu_backward(dev: KernelDevice, dy, y):
    dev.check(OP, y=y, dy=dy)
    checks.same_shape(OP, "dy", dy, y.shape, "the shape of y")
    dx = dev.empty(y.shape)
    dev.launch(OP, "relu_backward", (blocks_for(y.size),), (256,), (dy, y, dx, y.size))
    return dx
