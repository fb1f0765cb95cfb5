"""conv2d: the reference against finite differences and its naive twin; bad input errors."""

import numpy as np
import pytest
from conftest import rel_error
from device_arrays import assert_device_array, bad

from rednet_cupy import ops
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


# ---- the kernels (kernels/conv2d.cu via rednet_cupy/ops/conv2d.py) against the reference ----
#
# float32 on the device, float64 in the reference, relative error < 1e-4 for y, dx, dw, db.
# Every output is NaN-filled before its launch (conftest sets REDNET_POISON), so an element
# a kernel forgets to write fails the comparison.
# (N, C_in, C_out, H, W, padding). The forward runs 16x16 tiles and CO_TILE = 8 output
# channels per thread; dx runs the same kernel with C_in and C_out swapped. So: sizes that
# are not multiples of 16 (partial tiles at the right and bottom), one and several tiles,
# channel counts 1, 9, 17 (partial channel groups), batch 1 and 3, both paddings. Emulator
# time grows with C_in * C_out (the weight gradient runs one 256-thread block per pair).
KERNEL_SHAPES = [
    (1, 1, 1, 1, 1, 1),  # a single pixel: every tap but the centre falls in the padding
    (1, 1, 1, 3, 3, 0),  # a single output pixel
    (3, 1, 9, 5, 7, 0),
    (1, 9, 17, 17, 33, 1),  # 3 channel groups (8, 8, 1), 2 x 3 tiles
    (3, 17, 1, 31, 16, 0),  # dx: 17 channels; W exactly one tile, H just under two
    (3, 9, 9, 18, 17, 1),  # a one-row, one-column partial tile past a full one
    (2, 17, 9, 33, 19, 0),  # 31 x 17 outputs: 2 x 2 tiles, both partial; 17 -> 9 channels
]


def _shape_id(shape) -> str:
    n, ci, co, h, w, p = shape
    return f"n{n}-c{ci}x{co}-{h}x{w}-p{p}"


@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=_shape_id)
def test_kernels_match_the_reference(kernel_device, shape, rng):
    F = ops.get(kernel_device, conv=2)  # kernels/conv2d.cu, whatever the default version
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w)).astype(np.float32)
    wt = rng.standard_normal((co, ci, 3, 3)).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    f64 = [a.astype(np.float64) for a in (x, wt, b)]

    y = F.conv2d_forward(F.asarray(x), F.asarray(wt), F.asarray(b), p)
    expected = R.conv2d_forward(*f64, p)
    assert_device_array(F, y, expected.shape)
    assert expected.shape == (n, co, h + 2 * p - 2, w + 2 * p - 2)
    err = rel_error(F.to_numpy(y), expected)
    assert err < 1e-4, f"y: rel error {err:.2e}"

    dy = rng.standard_normal(expected.shape).astype(np.float32)
    got = F.conv2d_backward(F.asarray(dy), F.asarray(x), F.asarray(wt), p)
    want = R.conv2d_backward(dy.astype(np.float64), f64[0], f64[1], p)
    assert len(got) == 3
    for name, g, e in zip(("dx", "dw", "db"), got, want, strict=True):
        assert_device_array(F, g, e.shape)
        err = rel_error(F.to_numpy(g), e)
        assert err < 1e-4, f"{name}: rel error {err:.2e}"


@pytest.mark.parametrize("fault", ["float64", "strided"])
@pytest.mark.parametrize("arg", ["x", "w", "b"])
def test_forward_kernel_rejects_what_it_cannot_read(kernel_device, arg, fault, rng):
    F = ops.get(kernel_device, conv=2)  # kernels/conv2d.cu, whatever the default version
    args = {"x": rng.standard_normal((2, 3, 6, 5)).astype(np.float32),
            "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
            "b": rng.standard_normal(4).astype(np.float32)}
    dev = {k: bad(F, v, fault) if k == arg else F.asarray(v) for k, v in args.items()}
    with pytest.raises(ValueError, match=rf"^conv2d: argument '{arg}' must be "):
        F.conv2d_forward(dev["x"], dev["w"], dev["b"], 1)


@pytest.mark.parametrize("fault", ["float64", "strided"])
@pytest.mark.parametrize("arg", ["dy", "x", "w"])
def test_backward_kernels_reject_what_they_cannot_read(kernel_device, arg, fault, rng):
    F = ops.get(kernel_device, conv=2)  # kernels/conv2d.cu, whatever the default version
    args = {"dy": rng.standard_normal((2, 4, 4, 3)).astype(np.float32),
            "x": rng.standard_normal((2, 3, 6, 5)).astype(np.float32),
            "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)}
    dev = {k: bad(F, v, fault) if k == arg else F.asarray(v) for k, v in args.items()}
    with pytest.raises(ValueError, match=rf"^conv2d: argument '{arg}' must be "):
        F.conv2d_backward(dev["dy"], dev["x"], dev["w"], 0)


@pytest.mark.gpu
def test_cuda_rejects_a_numpy_array(rng):
    F = ops.get("cuda")
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    w = F.asarray(rng.standard_normal((4, 3, 3, 3)))
    b = F.asarray(np.zeros(4))
    with pytest.raises(ValueError, match=r"^conv2d: argument 'x' must be a cupy\.ndarray"):
        F.conv2d_forward(x, w, b, 1)
    dy = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=r"^conv2d: argument 'dy' must be a cupy\.ndarray"):
        F.conv2d_backward(dy, F.asarray(x), w, 1)
