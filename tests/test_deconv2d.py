"""deconv2d: the adjoint of conv2d, checked by finite differences, its scatter-form twin,
PyTorch's definition of ConvTranspose2d, and the inner-product identity."""

import numpy as np
import pytest

from rednet_cupy import reference as R
from rednet_cupy.reference.gradcheck import check_op

SHAPES = [(1, 1, 1, 3, 3, 0), (2, 3, 4, 7, 5, 0), (3, 4, 1, 6, 9, 1), (2, 1, 3, 1, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_match_finite_differences(shape, rng):
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w))
    wt, b = rng.standard_normal((ci, co, 3, 3)), rng.standard_normal(co)
    results = check_op(
        lambda x, w, b: R.deconv2d_forward(x, w, b, p),
        lambda dy: R.deconv2d_backward(dy, x, wt, p),
        {"x": x, "w": wt, "b": b},
    )
    for r in results:
        assert r.rel_error < 1e-6, r


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vectorised_equals_scatter_form(shape, dtype, rng):
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    wt = rng.standard_normal((ci, co, 3, 3)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    y = R.deconv2d_forward(x, wt, b, p)
    assert y.dtype == dtype and y.shape == (n, co, h + 2 - 2 * p, w + 2 - 2 * p)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y, R.deconv2d_forward_naive(x, wt, b, p), rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("p", [0, 1])
def test_is_the_adjoint_of_conv2d(p, rng):
    """<conv(x; w), y> == <x, deconv(y; w)> for the same weight array, both paddings."""
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    cx = R.conv2d_forward(x, w, np.zeros(4), p)
    y = rng.standard_normal(cx.shape)
    lhs = np.sum(cx * y)
    rhs = np.sum(x * R.deconv2d_forward(y, w, np.zeros(3), p))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_padding_zero_undoes_the_shrink_of_a_padding_zero_conv(rng):
    x = rng.standard_normal((1, 2, 9, 8))
    y = R.conv2d_forward(x, rng.standard_normal((3, 2, 3, 3)), np.zeros(3), 0)
    z = R.deconv2d_forward(y, rng.standard_normal((3, 2, 3, 3)), np.zeros(2), 0)
    assert y.shape == (1, 3, 7, 6) and z.shape == x.shape


def test_matches_pytorch_when_available(rng):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional yardstick)")
    x = rng.standard_normal((2, 3, 5, 6))
    w, b = rng.standard_normal((3, 4, 3, 3)), rng.standard_normal(4)
    for p in (0, 1):
        expected = torch.nn.functional.conv_transpose2d(
            torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=p
        ).numpy()
        np.testing.assert_allclose(R.deconv2d_forward(x, w, b, p), expected, rtol=1e-10,
                                   atol=1e-10)


def test_bad_input_names_deconv2d():
    x, w = np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3))  # w expects 4 input channels
    with pytest.raises(ValueError, match=r"^deconv2d: argument 'x' must be 4 channels"):
        R.deconv2d_forward(x, w, np.zeros(2), 1)
    with pytest.raises(ValueError, match=r"^deconv2d: argument 'b' must be shape \(2,\)"):
        R.deconv2d_forward(np.zeros((1, 4, 5, 5)), w, np.zeros(4), 1)
    with pytest.raises(ValueError, match=r"^deconv2d: argument 'dy'"):
        R.deconv2d_backward(np.zeros((1, 2, 5, 5)), np.zeros((1, 4, 5, 5)), w, 0)
