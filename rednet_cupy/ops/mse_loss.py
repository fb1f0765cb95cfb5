"""mse_loss on kernels/mse_loss.cu: a two-launch parallel reduction, and its gradient."""

from __future__ import annotations

from rednet_cupy import checks
from rednet_cupy.ops.device import KernelDevice, blocks_for

OP = "mse_loss"
THREADS = 256
MAX_PARTIALS = 256  # blocks of the first pass; the second pass reduces them in one block


def _check(dev: KernelDevice, pred, target) -> None:
    dev.check(OP, pred=pred, target=target)
    checks.same_shape(OP, "target", target, pred.shape, "the shape of pred")
    if pred.size == 0:
        raise checks.fail(OP, "pred", "non-empty", "an empty array")


def mse_loss_forward(dev: KernelDevice, pred, target) -> float:
    _check(dev, pred, target)
    blocks = blocks_for(pred.size, THREADS, MAX_PARTIALS)
    partial = dev.empty((blocks,))
    loss = dev.empty((1,))
    dev.launch(OP, "mse_loss_partial", (blocks,), (THREADS,), (pred, target, partial, pred.size))
    dev.launch(OP, "mse_loss_finalize", (1,), (THREADS,), (partial, loss, blocks, 1.0 / pred.size))
    return float(loss[0])


def mse_loss_backward(dev: KernelDevice, pred, target):
    _check(dev, pred, target)
    dpred = dev.empty(pred.shape)
    dev.launch(OP, "mse_loss_backward", (blocks_for(pred.size),), (THREADS,),
               (pred, target, dpred, pred.size, 2.0 / pred.size))
    return dpred
