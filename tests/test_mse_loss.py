"""mse_loss: value, gradient check, bad input."""

import numpy as np
import pytest

from rednet_cupy import reference as R
from rednet_cupy.reference.gradcheck import check_gradients


def test_value_by_hand():
    pred = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    target = np.array([[[[1.0, 0.0], [3.0, 1.0]]]])
    assert R.mse_loss_forward(pred, target) == pytest.approx((4 + 9) / 4)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 1, 4, 6), (2, 3, 7, 5)])
def test_gradient_check(shape, rng):
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    [r] = check_gradients(lambda: R.mse_loss_forward(pred, target), {"pred": pred},
                          {"pred": R.mse_loss_backward(pred, target)})
    assert r.rel_error < 1e-6


def test_float32_loss_accumulates_in_float64(rng):
    pred = rng.standard_normal((16, 1, 50, 50)).astype(np.float32)
    target = np.zeros_like(pred)
    exact = float(np.mean(pred.astype(np.float64) ** 2))
    assert R.mse_loss_forward(pred, target) == pytest.approx(exact, rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match=r"^mse_loss: argument 'target' must be of shape"):
        R.mse_loss_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3)))
    with pytest.raises(ValueError, match=r"^mse_loss: argument 'pred' must be non-empty"):
        R.mse_loss_forward(np.zeros((0, 1, 2, 2)), np.zeros((0, 1, 2, 2)))
