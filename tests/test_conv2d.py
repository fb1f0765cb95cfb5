"""conv2d: the reference against finite differences and its naive twin; bad input errors."""

import numpy as np
import pytest

from rednet_cupy import reference as R
from rednet_cupy.reference.gradcheck import check_op

# (N, C_in, C_out, H, W, padding): odd, non-square, batch > 1, one and many channels.
SHAPES = [
    (1, 1, 1, 5, 5, 0),
    (2, 3, 4, 7, 5, 0),
    (3, 1, 5, 6, 9, 1),
    (2, 4, 1, 1, 1, 1),
    (1, 2, 3, 3, 8, 1),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_match_finite_differences(shape, rng):
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w))
    wt, b = rng.standard_normal((co, ci, 3, 3)), rng.standard_normal(co)
    results = check_op(
        lambda x, w, b: R.conv2d_forward(x, w, b, p),
        lambda dy: R.conv2d_backward(dy, x, wt, p),
        {"x": x, "w": wt, "b": b},
    )
    for r in results:
        assert r.rel_error < 1e-6, r


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vectorised_equals_naive(shape, dtype, rng):
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w)).astype(dtype)
    wt = rng.standard_normal((co, ci, 3, 3)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    y = R.conv2d_forward(x, wt, b, p)
    assert y.dtype == dtype and y.shape == (n, co, h + 2 * p - 2, w + 2 * p - 2)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y, R.conv2d_forward_naive(x, wt, b, p), rtol=tol, atol=tol * 10)
    dy = rng.standard_normal(y.shape).astype(dtype)
    fast_grads = R.conv2d_backward(dy, x, wt, p)
    for fast, slow in zip(fast_grads, R.conv2d_backward_naive(dy, x, wt, p), strict=True):
        assert fast.dtype == dtype
        np.testing.assert_allclose(fast, slow, rtol=tol, atol=tol * 10)


def test_matches_an_independent_formula(rng):
    """A third opinion: scipy-free sliding-window correlation via numpy's stride tricks."""
    x = rng.standard_normal((2, 3, 6, 7))
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    win = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0),) * 2 + ((1, 1),) * 2),
                                                    (3, 3), axis=(2, 3))
    expected = np.einsum("ncijkl,dckl->ndij", win, w) + b[:, None, None]
    np.testing.assert_allclose(R.conv2d_forward(x, w, b, 1), expected, rtol=1e-12, atol=1e-12)


def test_flip_weights_is_the_adjoint(rng):
    """<conv(x), y> == <x, conv^T(y)>: the input gradient is the transposed map."""
    for p in (0, 1):
        x = rng.standard_normal((2, 3, 6, 5))
        w = rng.standard_normal((4, 3, 3, 3))
        y = rng.standard_normal((2, 4, 6 + 2 * p - 2, 5 + 2 * p - 2))
        lhs = np.sum(R.conv2d_forward(x, w, np.zeros(4), p) * y)
        rhs = np.sum(x * R.conv2d_backward(y, x, w, p)[0])
        assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_checker_catches_a_broken_backward(rng):
    """Swap the weight's spatial flip off in the input gradient: the checker must fail."""
    x = rng.standard_normal((2, 2, 5, 6))
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)

    def broken_backward(dy):
        dx, dw, db = R.conv2d_backward(dy, x, w, 1)
        dx_wrong = R.conv2d_forward(dy, w.transpose(1, 0, 2, 3).copy(), np.zeros(2), 1)
        return dx_wrong, dw, db

    results = check_op(lambda x, w, b: R.conv2d_forward(x, w, b, 1), broken_backward,
                       {"x": x, "w": w, "b": b})
    by_name = {r.name: r for r in results}
    assert not by_name["x"].passed and by_name["x"].rel_error > 1e-2
    assert by_name["w"].passed and by_name["b"].passed


BAD_INPUTS = [
    # (description, x, w, b, padding, words the message must contain)
    ("rank", np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2), 1, ["'x'", "4-d", "3-d"]),
    ("channels", np.zeros((1, 4, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2), 1,
     ["'x'", "3 channels", "4 channels"]),
    ("int dtype", np.zeros((1, 3, 5, 5), int), np.zeros((2, 3, 3, 3)), np.zeros(2), 1,
     ["'x'", "float", "int64"]),
    ("5x5 weights", np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 5, 5)), np.zeros(2), 1,
     ["'w'", "3x3", "(2, 3, 5, 5)"]),
    ("bias", np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(3), 1, ["'b'", "(2,)"]),
    ("NaN weight", np.zeros((1, 3, 5, 5)), np.full((2, 3, 3, 3), np.nan), np.zeros(2), 1,
     ["'w'", "NaN"]),
    ("padding", np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2), 2,
     ["'padding'", "0 or 1"]),
    ("mixed dtypes", np.zeros((1, 3, 5, 5), np.float32), np.zeros((2, 3, 3, 3)), np.zeros(2), 1,
     ["one dtype"]),
    ("too small", np.zeros((1, 3, 2, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2), 0, ["'x'", "3x3"]),
    ("list", [[1.0]], np.zeros((2, 3, 3, 3)), np.zeros(2), 1, ["'x'", "ndarray", "list"]),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_op_argument_and_expectation(case):
    _, x, w, b, p, words = case
    with pytest.raises(ValueError) as err:
        R.conv2d_forward(x, w, b, p)
    msg = str(err.value)
    assert msg.startswith("conv2d:")
    for word in words:
        assert word in msg, msg


def test_backward_rejects_dy_of_the_wrong_shape():
    x, w = np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: argument 'dy' .*\(1, 2, 5, 5\)"):
        R.conv2d_backward(np.zeros((1, 2, 4, 4)), x, w, 1)
