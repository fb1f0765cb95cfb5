"""mse_loss: value, gradient check, bad input."""

import numpy as np
import pytest
from conftest import rel_error
from device_arrays import ELEMENTWISE_SHAPES, assert_device_array, bad

from rednet_cupy import ops
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


# ---- the kernels (kernels/mse_loss.cu via rednet_cupy/ops/mse_loss.py) against the reference ----
#
# The loss is a two-launch tree reduction (blocks of 256, at most 256 partial sums); the
# gradient one thread per element. Sizes: 1, below one block, several partial blocks.
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_kernels_match_the_reference(kernel_device, shape, rng):
    F = ops.get(kernel_device)
    pred = rng.standard_normal(shape).astype(np.float32)
    target = rng.standard_normal(shape).astype(np.float32)
    p64, t64 = pred.astype(np.float64), target.astype(np.float64)
    loss = F.mse_loss_forward(F.asarray(pred), F.asarray(target))
    assert isinstance(loss, float)  # the contract: a Python float on every device
    assert rel_error(loss, R.mse_loss_forward(p64, t64)) < 1e-4
    dpred = F.mse_loss_backward(F.asarray(pred), F.asarray(target))
    assert_device_array(F, dpred, shape)
    assert rel_error(F.to_numpy(dpred), R.mse_loss_backward(p64, t64)) < 1e-4


def test_reduction_strides_through_more_elements_than_threads(kernel_device, rng):
    """The wrapper uses up to 256 partial sums, so past 65536 elements the first pass loops,
    and the second pass loops when there are more partials than its 256 threads. Launching
    the kernels with small grids takes both paths cheaply."""
    F = ops.get(kernel_device)
    n = 5003
    pred = rng.standard_normal(n).astype(np.float32)
    target = rng.standard_normal(n).astype(np.float32)
    partial, loss = F.device.empty((3,)), F.device.empty((1,))
    F.device.launch("mse_loss", "mse_loss_partial", (3,), (256,),
                    (F.asarray(pred), F.asarray(target), partial, n))
    F.device.launch("mse_loss", "mse_loss_finalize", (1,), (256,), (partial, loss, 3, 1.0 / n))
    expected = R.mse_loss_forward(pred.astype(np.float64), target.astype(np.float64))
    assert rel_error(F.to_numpy(loss)[0], expected) < 1e-4

    many = rng.random(701).astype(np.float32)  # 701 partial sums for one block of 256
    F.device.launch("mse_loss", "mse_loss_finalize", (1,), (256,),
                    (F.asarray(many), loss, 701, 0.5))
    assert rel_error(F.to_numpy(loss)[0], 0.5 * many.astype(np.float64).sum()) < 1e-4

    dpred = F.device.empty((n,))
    F.device.launch("mse_loss", "mse_loss_backward", (3,), (64,),
                    (F.asarray(pred), F.asarray(target), dpred, n, 2.0 / n))
    expected = R.mse_loss_backward(pred.astype(np.float64), target.astype(np.float64))
    assert rel_error(F.to_numpy(dpred), expected) < 1e-4


@pytest.mark.parametrize("fault", ["float64", "strided"])
def test_kernels_reject_what_they_cannot_read(kernel_device, fault, rng):
    F = ops.get(kernel_device)
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for f in (F.mse_loss_forward, F.mse_loss_backward):
        with pytest.raises(ValueError, match=r"^mse_loss: argument 'pred' must be "):
            f(bad(F, a, fault), F.asarray(a))
        with pytest.raises(ValueError, match=r"^mse_loss: argument 'target' must be "):
            f(F.asarray(a), bad(F, a, fault))


@pytest.mark.gpu
def test_cuda_rejects_a_numpy_array(rng):
    F = ops.get("cuda")
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for f in (F.mse_loss_forward, F.mse_loss_backward):
        with pytest.raises(ValueError, match=r"^mse_loss: argument 'pred' must be a cupy\."):
            f(a, F.asarray(a))
        with pytest.raises(ValueError, match=r"^mse_loss: argument 'target' must be a cupy\."):
            f(F.asarray(a), a)
