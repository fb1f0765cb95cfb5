"""The checker itself: it passes correct gradients, fails wrong ones, insists on float64."""

import numpy as np
import pytest

from rednet_cupy.reference.gradcheck import check_gradients, numeric_grad, rel_error


def test_numeric_grad_of_a_known_function(rng):
    x = rng.standard_normal((3, 4))
    g = numeric_grad(lambda: float(np.sum(np.sin(x) * x)), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8, atol=1e-9)


def test_fails_a_wrong_gradient(rng):
    x = rng.standard_normal(10)
    [ok] = check_gradients(lambda: float(np.sum(x**3)), {"x": x}, {"x": 3 * x**2})
    [bad] = check_gradients(lambda: float(np.sum(x**3)), {"x": x}, {"x": 3 * x**2 * 1.01})
    assert ok.passed and not bad.passed and bad.rel_error > 5e-3


def test_sampling_checks_only_a_subset_but_still_catches_errors(rng):
    x = rng.standard_normal(1000)
    wrong = 2 * x
    wrong[::7] += 1.0
    [r] = check_gradients(lambda: float(np.sum(x**2)), {"x": x}, {"x": wrong}, max_entries=50)
    assert not r.passed


def test_refuses_float32():
    x = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="float64"):
        numeric_grad(lambda: 0.0, x)


def test_rel_error_is_scale_free():
    a = np.array([1e-3, 2e-3])
    assert rel_error(a, a * (1 + 1e-9)) < 1e-8
    assert rel_error(1e6 * a, 1e6 * a + 1e-3) < 1e-6
