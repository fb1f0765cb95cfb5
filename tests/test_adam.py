"""adam: the fused in-place update against Adam written out step by step."""

import numpy as np
import pytest
from conftest import rel_error
from device_arrays import assert_device_array, bad

from rednet_cupy import ops
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


# ---- the kernel (kernels/adam.cu via rednet_cupy/ops/adam.py) against the reference ----
#
# One fused in-place update per step, one thread per parameter, grid-stride loop. Several
# steps in float32 on the device and in float64 in the reference; lr is large so that the
# change of the parameters, which is what the kernel computes, is far above float32's
# rounding of the parameters themselves, and the change is compared, not just the sum.
ADAM_SHAPES = [(1,), (17, 9, 3, 3), (3, 1, 31, 16), (5, 7)]


@pytest.mark.parametrize("shape", ADAM_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("first_step", [1, 10_000])
def test_kernel_matches_the_reference(kernel_device, shape, first_step, rng):
    F = ops.get(kernel_device)
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    p0 = rng.standard_normal(shape).astype(np.float32)
    m0 = (0.1 * rng.standard_normal(shape)).astype(np.float32) if first_step > 1 else 0 * p0
    v0 = (0.1 * rng.random(shape)).astype(np.float32) if first_step > 1 else 0 * p0
    # Copies: on the emulator asarray returns the very array, which adam_step updates.
    p, m, v = (F.asarray(a.copy()) for a in (p0, m0, v0))
    ep, em, ev = (a.astype(np.float64) for a in (p0, m0, v0))
    for t in range(first_step, first_step + 4):
        g = rng.standard_normal(shape).astype(np.float32)
        assert F.adam_step(p, F.asarray(g), m, v, t, lr, b1, b2, eps) is None  # in place
        R.adam_step(ep, g.astype(np.float64), em, ev, t, lr, b1, b2, eps)
    for name, got, expected in (("m", m, em), ("v", v, ev), ("param", p, ep)):
        assert_device_array(F, got, shape)
        err = rel_error(F.to_numpy(got), expected)
        assert err < 1e-4, f"{name}: rel error {err:.2e}"
    err = rel_error(F.to_numpy(p).astype(np.float64) - p0, ep - p0)
    assert err < 1e-4, f"param change: rel error {err:.2e}"


def test_kernel_strides_through_more_parameters_than_threads(kernel_device, rng):
    """A grid of 3 blocks of 64 threads over 1237 parameters: every thread loops."""
    F = ops.get(kernel_device)
    n = 1237
    p0 = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    p, m, v = F.asarray(p0.copy()), F.device.zeros((n,)), F.device.zeros((n,))
    F.device.launch("adam", "adam_step", (3,), (64,),
                    (p, F.asarray(g), m, v, n, 0.05, 0.9, 0.999, 1e-8, 1 - 0.9, 1 - 0.999))
    ep, em, ev = p0.astype(np.float64), np.zeros(n), np.zeros(n)
    R.adam_step(ep, g.astype(np.float64), em, ev, 1, 0.05, 0.9, 0.999, 1e-8)
    assert rel_error(F.to_numpy(p).astype(np.float64) - p0, ep - p0) < 1e-4
    assert rel_error(F.to_numpy(m), em) < 1e-4 and rel_error(F.to_numpy(v), ev) < 1e-4


@pytest.mark.parametrize("fault", ["float64", "strided"])
@pytest.mark.parametrize("arg", ["param", "grad", "m", "v"])
def test_kernel_rejects_what_it_cannot_read(kernel_device, arg, fault, rng):
    F = ops.get(kernel_device)
    host = {k: rng.standard_normal((4, 5)).astype(np.float32) for k in ("param", "grad", "m", "v")}
    args = {k: bad(F, a, fault) if k == arg else F.asarray(a) for k, a in host.items()}
    with pytest.raises(ValueError, match=rf"^adam: argument '{arg}' must be "):
        F.adam_step(**args, step=1, lr=1e-3)


@pytest.mark.gpu
def test_cuda_rejects_a_numpy_array(rng):
    F = ops.get("cuda")
    p = rng.standard_normal(10).astype(np.float32)
    with pytest.raises(ValueError, match=r"^adam: argument 'param' must be a cupy\.ndarray"):
        F.adam_step(p, F.asarray(p), F.asarray(p), F.asarray(p), 1, 1e-3)
