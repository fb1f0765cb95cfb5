"""deconv2d: the adjoint of conv2d, checked by finite differences, its scatter-form twin,
PyTorch's definition of ConvTranspose2d, and the inner-product identity."""

import numpy as np
import pytest
from conftest import rel_error
from device_arrays import assert_device_array, bad

from rednet_cupy import ops
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


# ---- the kernels (conv2d.cu's, through rednet_cupy/ops/deconv2d.py) against the reference ----
#
# deconv2d has no kernel of its own: its forward is conv2d_forward on flipped weights with
# padding 2 - p, its input gradient conv2d_forward with padding p, its weight gradient
# conv2d_weight_grad with x and dy swapped. These tests hold the wrapper to those identities
# in float32 (relative error < 1e-4, outputs NaN-filled before each launch).
# (N, C_in, C_out, H, W, padding); padding 0 grows the map by 2, padding 1 keeps its size.
KERNEL_SHAPES = [
    (1, 1, 1, 1, 1, 0),  # one pixel grows to 3x3
    (1, 1, 1, 1, 1, 1),
    (3, 9, 1, 5, 7, 1),
    (1, 17, 9, 15, 31, 0),  # 17 x 33 outputs: partial tiles both ways
    (3, 1, 17, 31, 16, 1),  # 17 output channels: groups of 8, 8, 1
    (2, 9, 9, 16, 14, 0),  # 18 x 16 outputs
]


def _shape_id(shape) -> str:
    n, ci, co, h, w, p = shape
    return f"n{n}-c{ci}x{co}-{h}x{w}-p{p}"


@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=_shape_id)
def test_kernels_match_the_reference(kernel_device, shape, rng):
    F = ops.get(kernel_device, conv=2)  # kernels/conv2d.cu, whatever the default version
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w)).astype(np.float32)
    wt = rng.standard_normal((ci, co, 3, 3)).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    f64 = [a.astype(np.float64) for a in (x, wt, b)]

    y = F.deconv2d_forward(F.asarray(x), F.asarray(wt), F.asarray(b), p)
    expected = R.deconv2d_forward(*f64, p)
    assert expected.shape == (n, co, h + 2 - 2 * p, w + 2 - 2 * p)
    assert_device_array(F, y, expected.shape)
    err = rel_error(F.to_numpy(y), expected)
    assert err < 1e-4, f"y: rel error {err:.2e}"

    dy = rng.standard_normal(expected.shape).astype(np.float32)
    got = F.deconv2d_backward(F.asarray(dy), F.asarray(x), F.asarray(wt), p)
    want = R.deconv2d_backward(dy.astype(np.float64), f64[0], f64[1], p)
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
            "w": rng.standard_normal((3, 4, 3, 3)).astype(np.float32),
            "b": rng.standard_normal(4).astype(np.float32)}
    dev = {k: bad(F, v, fault) if k == arg else F.asarray(v) for k, v in args.items()}
    with pytest.raises(ValueError, match=rf"^deconv2d: argument '{arg}' must be "):
        F.deconv2d_forward(dev["x"], dev["w"], dev["b"], 1)


@pytest.mark.parametrize("fault", ["float64", "strided"])
@pytest.mark.parametrize("arg", ["dy", "x", "w"])
def test_backward_kernels_reject_what_they_cannot_read(kernel_device, arg, fault, rng):
    F = ops.get(kernel_device, conv=2)  # kernels/conv2d.cu, whatever the default version
    args = {"dy": rng.standard_normal((2, 4, 8, 7)).astype(np.float32),
            "x": rng.standard_normal((2, 3, 6, 5)).astype(np.float32),
            "w": rng.standard_normal((3, 4, 3, 3)).astype(np.float32)}
    dev = {k: bad(F, v, fault) if k == arg else F.asarray(v) for k, v in args.items()}
    with pytest.raises(ValueError, match=rf"^deconv2d: argument '{arg}' must be "):
        F.deconv2d_backward(dev["dy"], dev["x"], dev["w"], 0)


@pytest.mark.gpu
def test_cuda_rejects_a_numpy_array(rng):
    F = ops.get("cuda")
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    w = F.asarray(rng.standard_normal((3, 4, 3, 3)))
    b = F.asarray(np.zeros(4))
    with pytest.raises(ValueError, match=r"^deconv2d: argument 'x' must be a cupy\.ndarray"):
        F.deconv2d_forward(x, w, b, 1)
    dy = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    with pytest.raises(ValueError, match=r"^deconv2d: argument 'dy' must be a cupy\.ndarray"):
        F.deconv2d_backward(dy, F.asarray(x), w, 1)
