"""relu: reference values, gradient check, bad input."""

import numpy as np
import pytest
from conftest import rel_error
from device_arrays import ELEMENTWISE_SHAPES, assert_device_array, bad

from rednet_cupy import ops
from rednet_cupy import reference as R
from rednet_cupy.reference.gradcheck import check_op


def test_forward_and_backward_values():
    x = np.array([[-2.0, -0.0, 0.0, 1.5]])
    y = R.relu_forward(x)
    np.testing.assert_array_equal(y, [[0, 0, 0, 1.5]])
    np.testing.assert_array_equal(R.relu_backward(np.array([[1.0, 2, 3, 4]]), y), [[0, 0, 0, 4]])


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (3, 64, 4, 9)])
def test_gradient_check(shape, rng):
    x = rng.standard_normal(shape)
    results = check_op(R.relu_forward, lambda dy: (R.relu_backward(dy, R.relu_forward(x)),),
                       {"x": x})
    assert results[0].rel_error < 1e-6


def test_float32_stays_float32(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    assert R.relu_forward(x).dtype == np.float32
    assert R.relu_backward(x, R.relu_forward(x)).dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match=r"^relu: argument 'x' must be of dtype"):
        R.relu_forward(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(ValueError, match=r"^relu: argument 'dy' must be of shape \(2, 2\)"):
        R.relu_backward(np.zeros((2, 3)), np.zeros((2, 2)))


# ---- the kernels (kernels/relu.cu via rednet_cupy/ops/relu.py) against the reference ----
#
# One thread per element, 256 a block, grid-stride loop. Sizes: 1, and counts that are not
# multiples of 256 (partial last block); outputs NaN-filled before each launch (conftest).
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_kernels_match_the_reference(kernel_device, shape, rng):
    F = ops.get(kernel_device)
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[::7] = 0.0  # the kink: y = 0 and no gradient there, as in the reference
    y = F.relu_forward(F.asarray(x))
    expected = R.relu_forward(x.astype(np.float64))
    assert_device_array(F, y, shape)
    assert rel_error(F.to_numpy(y), expected) < 1e-4
    np.testing.assert_array_equal(F.to_numpy(y), expected)  # relu is exact in any precision

    dy = rng.standard_normal(shape).astype(np.float32)
    dx = F.relu_backward(F.asarray(dy), y)
    expected_dx = R.relu_backward(dy.astype(np.float64), expected)
    assert_device_array(F, dx, shape)
    assert rel_error(F.to_numpy(dx), expected_dx) < 1e-4
    np.testing.assert_array_equal(F.to_numpy(dx), expected_dx)


def test_kernels_stride_through_more_elements_than_threads(kernel_device, rng):
    """The wrapper caps the grid at 4096 blocks; past 4096 * 256 elements each thread loops.
    A grid of 3 blocks of 64 threads over 1237 elements takes that path cheaply."""
    F = ops.get(kernel_device)
    n = 1237
    x = rng.standard_normal(n).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    y = F.device.empty((n,))
    F.device.launch("relu", "relu_forward", (3,), (64,), (F.asarray(x), y, n))
    np.testing.assert_array_equal(F.to_numpy(y), R.relu_forward(x))
    dx = F.device.empty((n,))
    F.device.launch("relu", "relu_backward", (3,), (64,), (F.asarray(dy), y, dx, n))
    np.testing.assert_array_equal(F.to_numpy(dx), R.relu_backward(dy, R.relu_forward(x)))


@pytest.mark.parametrize("fault", ["float64", "strided"])
def test_kernels_reject_what_they_cannot_read(kernel_device, fault, rng):
    F = ops.get(kernel_device)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=r"^relu: argument 'x' must be "):
        F.relu_forward(bad(F, x, fault))
    with pytest.raises(ValueError, match=r"^relu: argument 'dy' must be "):
        F.relu_backward(bad(F, x, fault), F.asarray(x))
    with pytest.raises(ValueError, match=r"^relu: argument 'y' must be "):
        F.relu_backward(F.asarray(x), bad(F, x, fault))


@pytest.mark.gpu
def test_cuda_rejects_a_numpy_array(rng):
    F = ops.get("cuda")
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=r"^relu: argument 'x' must be a cupy\.ndarray"):
        F.relu_forward(x)
    with pytest.raises(ValueError, match=r"^relu: argument 'dy' must be a cupy\.ndarray"):
        F.relu_backward(x, F.asarray(x))
