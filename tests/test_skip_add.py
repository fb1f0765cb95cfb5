"""skip_add: sum, the fork in its backward, and no silent broadcasting."""

import numpy as np
import pytest
from conftest import rel_error
from device_arrays import ELEMENTWISE_SHAPES, assert_device_array, bad

from rednet_cupy import ops
from rednet_cupy import reference as R
from rednet_cupy.reference.gradcheck import check_op


def test_sum_and_gradient(rng):
    a, b = rng.standard_normal((2, 3, 5, 7)), rng.standard_normal((2, 3, 5, 7))
    np.testing.assert_array_equal(R.skip_add_forward(a, b), a + b)
    for r in check_op(R.skip_add_forward, lambda dy: (dy, dy), {"a": a, "b": b}):
        assert r.rel_error < 1e-6


def test_refuses_to_broadcast():
    with pytest.raises(ValueError, match=r"^skip_add: argument .b. must be of shape \(2, 3, 4"):
        R.skip_add_forward(np.zeros((2, 3, 4, 4)), np.zeros((2, 3, 1, 1)))
    with pytest.raises(ValueError, match=r"^skip_add: argument 'b' must be a 4-d array"):
        R.skip_add_forward(np.zeros((2, 3, 4, 4)), np.zeros((3, 1, 1)))
    with pytest.raises(ValueError, match=r"^skip_add: all arrays must share one dtype"):
        R.skip_add_forward(np.zeros((1, 2)), np.zeros((1, 2), np.float32))


# ---- the kernel (kernels/skip_add.cu via rednet_cupy/ops/skip_add.py) against the reference ----
#
# One thread per element, 256 a block, grid-stride loop; outputs NaN-filled before the launch.
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_kernel_matches_the_reference(kernel_device, shape, rng):
    F = ops.get(kernel_device)
    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    s = F.skip_add_forward(F.asarray(a), F.asarray(b))
    assert_device_array(F, s, shape)
    expected = R.skip_add_forward(a.astype(np.float64), b.astype(np.float64))
    assert rel_error(F.to_numpy(s), expected) < 1e-4
    np.testing.assert_array_equal(F.to_numpy(s), a + b)  # one float32 addition: exact


def test_kernel_strides_through_more_elements_than_threads(kernel_device, rng):
    """A grid of 3 blocks of 64 threads over 1237 elements: every thread loops."""
    F = ops.get(kernel_device)
    n = 1237
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    s = F.device.empty((n,))
    F.device.launch("skip_add", "skip_add_forward", (3,), (64,), (F.asarray(a), F.asarray(b), s, n))
    np.testing.assert_array_equal(F.to_numpy(s), a + b)


@pytest.mark.parametrize("fault", ["float64", "strided"])
def test_kernel_rejects_what_it_cannot_read(kernel_device, fault, rng):
    F = ops.get(kernel_device)
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=r"^skip_add: argument 'a' must be "):
        F.skip_add_forward(bad(F, a, fault), F.asarray(a))
    with pytest.raises(ValueError, match=r"^skip_add: argument 'b' must be "):
        F.skip_add_forward(F.asarray(a), bad(F, a, fault))


@pytest.mark.gpu
def test_cuda_rejects_a_numpy_array(rng):
    F = ops.get("cuda")
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=r"^skip_add: argument 'a' must be a cupy\.ndarray"):
        F.skip_add_forward(a, F.asarray(a))
    with pytest.raises(ValueError, match=r"^skip_add: argument 'b' must be a cupy\.ndarray"):
        F.skip_add_forward(F.asarray(a), a)
