"""mse_loss: L = mean((pred - target)^2) over every element; dL/dpred = 2 (pred - target) / count.

The paper writes L = (1/N) sum_i ||F(X_i) - Y_i||_F^2 over a batch of N images; that is this
mean times the number of pixels per image, a constant factor that Adam's update ignores.
The reduction is accumulated in float64 so that the reference is exact enough to judge
the float32 kernels.
"""

from __future__ import annotations

import numpy as np

from rednet_cupy import checks

OP = "mse_loss"


def _check(pred, target) -> None:
    checks.array(OP, "pred", pred, None)
    checks.array(OP, "target", target, pred.ndim)
    checks.same_dtype(OP, pred=pred, target=target)
    checks.same_shape(OP, "target", target, pred.shape, "the shape of pred")
    if pred.size == 0:
        raise checks.fail(OP, "pred", "non-empty", "an empty array")


def mse_loss_forward(pred: np.ndarray, target: np.ndarray) -> float:
    _check(pred, target)
    d = pred.astype(np.float64) - target
    return float(np.mean(d * d))


def mse_loss_backward(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    _check(pred, target)
    return ((2.0 / pred.size) * (pred - target)).astype(pred.dtype, copy=False)
