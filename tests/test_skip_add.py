"""skip_add: sum, the fork in its backward, and no silent broadcasting."""

import numpy as np
import pytest

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
