"""relu: reference values, gradient check, bad input."""

import numpy as np
import pytest

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
