"""adam: the fused in-place update against Adam written out step by step."""

import numpy as np
import pytest

from rednet_cupy import reference as R


def adam_by_hand(p, grads, lr, b1, b2, eps):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p, m, v


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_the_textbook_update(dtype, rng):
    p0 = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    grads = [rng.standard_normal(p0.shape).astype(dtype) for _ in range(5)]
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        R.adam_step(p, g, m, v, t, 1e-3, 0.9, 0.999, 1e-8)
    ep, em, ev = adam_by_hand(p0.astype(np.float64), grads, 1e-3, 0.9, 0.999, 1e-8)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert p.dtype == dtype
    np.testing.assert_allclose(p, ep, rtol=tol, atol=tol)
    np.testing.assert_allclose(m, em, rtol=tol, atol=tol)
    np.testing.assert_allclose(v, ev, rtol=tol, atol=tol)


def test_first_step_moves_every_weight_by_about_lr(rng):
    """Bias correction: at t=1 the step is lr * g/|g|, not a tenth of it."""
    p = np.zeros(100)
    g = rng.standard_normal(100)
    R.adam_step(p, g, np.zeros(100), np.zeros(100), 1, 0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(np.abs(p), 0.01, rtol=1e-5)


@pytest.mark.parametrize("bad, words", [
    (dict(step=0), ["'step'", ">= 1"]),
    (dict(lr=-1.0), ["'lr'"]),
    (dict(beta1=1.0), ["'beta1'"]),
    (dict(grad=np.zeros(3)), ["'grad'", "(4,)"]),
    (dict(m=np.zeros(4, np.float32)), ["one dtype"]),
])
def test_bad_input(bad, words):
    args = dict(param=np.zeros(4), grad=np.zeros(4), m=np.zeros(4), v=np.zeros(4), step=1,
                lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    args.update(bad)
    with pytest.raises(ValueError) as err:
        R.adam_step(**args)
    assert str(err.value).startswith("adam:")
    for w in words:
        assert w in str(err.value)
