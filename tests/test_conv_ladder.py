"""The convolution ladder (ops/versions.py, kernels/conv2d_v*.cu, conv2d_w*.cu): every version
against the float64 reference on the emulator, the weight gradients bitwise reproducible,
version 6's tile shapes and fused ReLU, and how a version is chosen.

Tolerance, float32 kernels against the float64 reference: relative error (max |error| / max
|expected|) below 1e-5; what the kernels reach on these shapes is ~3e-7. Every output is
NaN-filled before its launch (conftest sets REDNET_POISON), so an element a kernel forgets
to write fails the comparison; so is split-K's workspace.

Shapes are small (the emulator runs every CUDA thread as an OS thread) but reach every edge
of every tiling: batch > 1; maps not a multiple of any tile (16x16, 32x16, 64 or 128 pixels);
channel counts 3, 4, 5, 9, 17 (not multiples of 8 or 16; 4 and 36 taps take the float4 weight
path of versions 5-6, others the scalar one); Ho*Wo a multiple of 4 or not (float4 stores or
scalar); padding 0, 1 and 2 (the input gradient of padding 0 runs padding 2).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import rel_error

from rednet_cupy import ops
from rednet_cupy import reference as R
from rednet_cupy.ops import conv2d, conv_ladder, versions
from rednet_cupy.ops.device import KernelDevice
from rednet_cupy.runtime import kernel_dir

TOL = 1e-5  # float32
NUMBERS = [v.number for v in ops.conv_versions() if v.precisions == ("fp32",)]
TENSOR_CORE = ["tf32", "bf16", "fp16"]

# (N, C_in, C_out, H, W, padding)
SHAPES = [
    (2, 3, 5, 7, 9, 0),  # 5 x 7 outputs, dx at padding 2
    (3, 5, 3, 6, 11, 1),
    (2, 4, 17, 6, 6, 1),  # C_in = 4: float4 weights; 36 outputs a map: float4 stores
    (2, 9, 6, 9, 13, 0),  # K = 81 and 154 pixels: two tiles of 64 and of 128
]


def _id(shape) -> str:
    n, ci, co, h, w, p = shape
    return f"n{n}-c{ci}x{co}-{h}x{w}-p{p}"


def _inputs(rng, shape, deconv=False):
    n, ci, co, h, w, p = shape
    x = rng.standard_normal((n, ci, h, w)).astype(np.float32)
    wt = rng.standard_normal((ci, co, 3, 3) if deconv else (co, ci, 3, 3)).astype(np.float32)
    b = rng.standard_normal(co).astype(np.float32)
    return x, wt, b


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


def _device(conv: int) -> KernelDevice:
    return KernelDevice("emulate", np, poison=True, conv=conv)


@pytest.mark.parametrize("shape", SHAPES[:2], ids=_id)
@pytest.mark.parametrize("conv", NUMBERS)
def test_conv2d_forward_and_backward(conv, shape, rng):
    F = ops.get("emulate", conv=conv)
    assert F.device.conv == conv
    x, wt, b = _inputs(rng, shape)
    p = shape[-1]
    y = F.conv2d_forward(x, wt, b, p)
    expected = R.conv2d_forward(*_f64(x, wt, b), p)
    assert y.shape == expected.shape and y.dtype == np.float32
    assert rel_error(y, expected) < TOL
    dy = rng.standard_normal(expected.shape).astype(np.float32)
    got = F.conv2d_backward(dy, x, wt, p)
    want = R.conv2d_backward(*_f64(dy, x, wt), p)
    for name, g, e in zip(("dx", "dw", "db"), got, want, strict=True):
        assert g.shape == e.shape
        assert rel_error(g, e) < TOL, f"{name}: {rel_error(g, e):.2e}"


@pytest.mark.parametrize("shape", SHAPES[2:], ids=_id)
@pytest.mark.parametrize("conv", NUMBERS)
def test_forward_and_input_gradient(conv, shape, rng):
    """The forward kernel both ways round on the wider shapes (the weight gradients have
    tests of their own below, and w1 in test_conv2d.py)."""
    dev = _device(conv)
    x, wt, b = _inputs(rng, shape)
    p = shape[-1]
    y = conv2d.forward_raw(dev, x, wt, b, p)
    assert rel_error(y, R.conv2d_forward(*_f64(x, wt, b), p)) < TOL
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = conv2d.forward_raw(dev, dy, conv2d.flip(dev, wt), np.zeros(x.shape[1], np.float32),
                            2 - p)
    assert rel_error(dx, R.conv2d_backward(*_f64(dy, x, wt), p)[0]) < TOL


@pytest.mark.parametrize("shape", [(2, 3, 5, 7, 6, 0), (3, 5, 2, 5, 9, 1)], ids=_id)
@pytest.mark.parametrize("conv", NUMBERS)
def test_deconv2d_forward_and_backward(conv, shape, rng):
    F = ops.get("emulate", conv=conv)
    x, wt, b = _inputs(rng, shape, deconv=True)
    p = shape[-1]
    y = F.deconv2d_forward(x, wt, b, p)
    expected = R.deconv2d_forward(*_f64(x, wt, b), p)
    assert rel_error(y, expected) < TOL
    dy = rng.standard_normal(expected.shape).astype(np.float32)
    got = F.deconv2d_backward(dy, x, wt, p)
    want = R.deconv2d_backward(*_f64(dy, x, wt), p)
    for name, g, e in zip(("dx", "dw", "db"), got, want, strict=True):
        assert rel_error(g, e) < TOL, f"{name}: {rel_error(g, e):.2e}"


@pytest.mark.parametrize("conv", NUMBERS)
def test_padding_two_directly(conv, rng):
    """The kernels' padding 2 (the reference API stops at 1): padding 1 of a map padded by 1."""
    x, wt, b = _inputs(rng, (2, 3, 5, 6, 5, 2))
    y = conv_ladder.forward(_device(conv), conv, x, wt, b, 2)
    xpad = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert rel_error(y, R.conv2d_forward(xpad, *_f64(wt, b), 1)) < TOL


# Forward versions with block tiles of 64 and 128 channels: 129 output channels need 2-5 of
# them, the last nearly empty.
WIDE_CASES = [(4, None), (5, None)] + [(6, t) for t in conv_ladder.V6_TILES]


@pytest.mark.parametrize("conv, tile", WIDE_CASES, ids=lambda c: str(c))
def test_many_output_channel_tiles(conv, tile, rng, monkeypatch):
    if tile:
        monkeypatch.setenv("REDNET_CONV_TILE", f"{tile[0]}x{tile[1]}")
    x, wt, b = _inputs(rng, (2, 2, 129, 5, 7, 1))
    y = conv_ladder.forward(_device(conv), conv, x, wt, b, 1)
    assert rel_error(y, R.conv2d_forward(*_f64(x, wt, b), 1)) < TOL


def test_v6_tile_shapes_agree_bitwise(rng, monkeypatch):
    """Each output sums over k in the same order whatever the block shape."""
    x, wt, b = _inputs(rng, (2, 5, 17, 9, 8, 1))
    outs = []
    for bm, bn in conv_ladder.V6_TILES:
        monkeypatch.setenv("REDNET_CONV_TILE", f"{bm}x{bn}")
        outs.append(conv_ladder.forward(_device(6), 6, x, wt, b, 1))
    assert rel_error(outs[0], R.conv2d_forward(*_f64(x, wt, b), 1)) < TOL
    for y in outs[1:]:
        np.testing.assert_array_equal(y, outs[0])


def test_unaligned_weights_take_the_scalar_path(rng):
    """Versions 5-6 load weights as float4 only from a 16-byte aligned address: a view 4
    bytes into a buffer must still give the right answer."""
    x, wt, b = _inputs(rng, (2, 4, 6, 6, 7, 1))
    buf = np.empty(wt.size + 1, np.float32)
    view = buf[1:].reshape(wt.shape)
    view[...] = wt
    assert view.ctypes.data % 16 != 0
    expected = R.conv2d_forward(*_f64(x, wt, b), 1)
    for conv in (5, 6):
        assert rel_error(conv2d.conv2d_forward(_device(conv), x, view, b, 1), expected) < TOL


# (version, precision, v6 tile): the composed path (2), every v6 tile, v7 in each precision.
EPILOGUE_CASES = ([(2, "fp32", None)] + [(6, "fp32", t) for t in conv_ladder.V6_TILES]
                  + [(7, p, None) for p in TENSOR_CORE])


@pytest.mark.parametrize("conv, precision, tile", EPILOGUE_CASES, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7, 6, 1), (2, 4, 9, 6, 6, 1)], ids=_id)
def test_fused_epilogues(conv, precision, tile, shape, rng, monkeypatch):
    """conv2d_relu_forward and deconv2d_relu_forward (with and without the skip addition),
    fused into the store on versions 6 and 7, composed of separate kernels on the others:
    against the reference, and on float32 versions bitwise equal to the separate kernels.
    The second shape has 36 pixels a map: versions 6's float4 stores."""
    if tile:
        monkeypatch.setenv("REDNET_CONV_TILE", f"{tile[0]}x{tile[1]}")
    F = ops.get.__wrapped__("emulate", conv=conv,
                            precision=None if precision == "fp32" else precision)
    x, wt, b = _inputs(rng, shape)
    p = shape[-1]
    r = (lambda *a: _rounded(precision, *a)) if precision != "fp32" else _f64
    y = F.conv2d_relu_forward(x, wt, b, p)
    expected = np.maximum(R.conv2d_forward(*r(x, wt), b.astype(np.float64), p), 0)
    assert (expected == 0).any() and (expected > 0).any()
    assert rel_error(y, expected) < TOL
    # The decoder layer: deconv weights (C_in, C_out, 3, 3) and a skip of the output's shape.
    xd, wd, bd = _inputs(rng, shape, deconv=True)
    skip = rng.standard_normal(R.deconv2d.out_shape(xd, wd, p)).astype(np.float32)
    y1, out = F.deconv2d_relu_forward(xd, wd, bd, p, skip)
    e1, e2 = R.deconv2d_relu_forward(*r(xd, wd), bd.astype(np.float64), p, skip)
    assert rel_error(y1, e1) < TOL and rel_error(out, e2) < TOL
    assert ((e2 == 0) & (e1 > 0)).any()  # the second ReLU cuts somewhere
    np.testing.assert_array_equal(F.deconv2d_relu_forward(xd, wd, bd, p), y1)
    if precision == "fp32":  # the fusion changes where, not what, is computed
        plain = F.relu_forward(F.deconv2d_forward(xd, wd, bd, p))
        np.testing.assert_array_equal(y1, plain)
        np.testing.assert_array_equal(out, F.relu_forward(F.skip_add_forward(plain, skip)))


def test_fused_epilogue_misuse(rng):
    x, wt, b = _inputs(rng, (2, 3, 5, 7, 6, 1))
    with pytest.raises(ValueError, match="version 5 has no fused epilogue"):
        conv_ladder.forward(_device(5), 5, x, wt, b, 1, relu=True)
    skip = np.zeros((2, 5, 7, 6), np.float32)
    with pytest.raises(ValueError, match="needs relu"):
        conv_ladder.forward(_device(6), 6, x, wt, b, 1, skip=skip)
    F = ops.get("emulate", conv=6)
    xd, wd, bd = _inputs(rng, (2, 3, 5, 7, 6, 1), deconv=True)
    with pytest.raises(ValueError, match="skip"):
        F.deconv2d_relu_forward(xd, wd, bd, 1, np.zeros((2, 5, 7, 7), np.float32))


# ---- the weight gradient: split-K and its reproducibility ----
WG_SHAPES = [(2, 9, 17, 6, 7, 1), (1, 2, 65, 5, 5, 0), (3, 3, 5, 4, 9, 0)]


# (version, shape, splits): the rule's choice, one split, a few, and the most there can be
# (1000 is cut down to one step of pixels a split).
WG_CASES = [(number, shape, splits) for number in (2, 3) for shape, splits in
            [(WG_SHAPES[0], None), (WG_SHAPES[0], 1000), (WG_SHAPES[1], None),
             (WG_SHAPES[2], 1), (WG_SHAPES[2], 3)]]


@pytest.mark.parametrize("number, shape, splits", WG_CASES,
                         ids=[f"w{c[0]}-{_id(c[1])}-s{c[2]}" for c in WG_CASES])
def test_weight_grad_split_k(number, shape, splits, rng):
    """Any number of splits gives dw; two runs give the same bits."""
    x, wt, _ = _inputs(rng, shape)
    p = shape[-1]
    n, _, co, h, w, _ = shape
    dy = rng.standard_normal((n, co, h + 2 * p - 2, w + 2 * p - 2)).astype(np.float32)
    dev = _device(2)
    dw = conv_ladder.weight_grad(dev, number, dy, x, p, splits)
    assert rel_error(dw, R.conv2d_backward(*_f64(dy, x, wt), p)[1]) < TOL
    again = conv_ladder.weight_grad(dev, number, dy, x, p, splits)
    np.testing.assert_array_equal(dw, again)


def test_split_pixels():
    assert conv_ladder.split_pixels(1000, 4, 16, 1) == (1008, 1)
    chunk, splits = conv_ladder.split_pixels(1000, 4, 16, 7)
    assert chunk % 16 == 0 and splits == 7 and (splits - 1) * chunk < 1000 <= splits * chunk
    assert conv_ladder.split_pixels(40, 4, 16, 1000) == (16, 3)
    # RED-Net's 64 -> 64 layer, batch 16 of 50 x 50: 9 tiles of 64 x 64, 57 splits
    chunk, splits = conv_ladder.split_pixels(40000, 9, 16)
    assert splits == 57 and chunk == 704


# ---- choosing a version ----
def test_conv_versions_list_the_ladder():
    listed = ops.conv_versions()
    assert [v.number for v in listed] == [1, 2, 3, 4, 5, 6, 7]
    grads = {g.number for g in ops.weight_grad_versions()}
    assert grads == {1, 2, 3, 4}
    for v in listed:
        assert v.name and v.description and v.weight_grad in grads
        assert (kernel_dir() / v.file).is_file()
    for g in ops.weight_grad_versions():
        assert (kernel_dir() / g.file).is_file()
    for v in listed[2:]:  # the new files say where they stand in the ladder
        assert f"version {v.number} of 7" in (kernel_dir() / v.file).read_text()
    assert listed[-1].precisions == tuple(TENSOR_CORE) and listed[-1].weight_grad == 4


def test_get_with_conv_is_cached_and_defaults_unchanged():
    assert ops.get("emulate", conv=3) is ops.get("emulate", conv=3)
    assert ops.get("emulate", conv=3).device.conv == 3
    assert ops.get("emulate").device.conv == versions.DEFAULT["emulate"] == 6
    assert versions.DEFAULT["cuda"] == 2  # until a GPU has verified and timed the ladder
    F = ops.get("cpu", conv=4)  # NumPy whatever the version
    assert F.name == "cpu" and F.conv2d_forward is R.conv2d_forward


def test_the_default_can_be_set_for_a_whole_program(monkeypatch):
    monkeypatch.setenv("REDNET_CONV", "4")
    assert ops.get.__wrapped__("emulate").device.conv == 4  # around the cache
    assert ops.get.__wrapped__("emulate", conv=3).device.conv == 3
    monkeypatch.setenv("REDNET_CONV", "9")
    with pytest.raises(ValueError, match=r"REDNET_CONV='9': conv must be one of"):
        ops.get.__wrapped__("emulate")


@pytest.mark.parametrize("bad", [0, 8, "3", 2.0, True])
def test_get_rejects_an_unknown_version(bad):
    with pytest.raises(ValueError, match=r"conv must be one of \[1, 2, 3, 4, 5, 6, 7\]"):
        ops.get("emulate", conv=bad)


def test_autotune_keeps_the_fastest_tile():
    times = {(64, 128): 3.0, (128, 64): 2.0, (64, 64): 1.0, (32, 128): 4.0}
    ran = []
    current = []

    def run(tile):
        ran.append(tile)
        current[:] = [tile]

    def clock(fn):
        fn()
        return times[current[0]]

    assert conv_ladder.autotune(run, clock) == (64, 64)
    assert set(ran) == set(conv_ladder.V6_TILES)


def test_tile_rule_and_override(monkeypatch):
    assert conv_ladder.rule_tile(1, 40000) == (32, 128)
    assert conv_ladder.rule_tile(64, 40000) == (64, 128)
    assert conv_ladder.rule_tile(64, 500) == (64, 64)
    assert conv_ladder.rule_tile(128, 40000) == (128, 64)
    monkeypatch.setenv("REDNET_CONV_TILE", "16x16")
    with pytest.raises(ValueError, match="REDNET_CONV_TILE='16x16'"):
        conv_ladder.v6_tile(_device(6), (1, 1, 5, 5, 1, 1, False), lambda t: None)


# ---- version 7 and w4: the tensor cores ----
def _rounded(precision, *arrays):
    return [R.round_to(a, precision).astype(np.float64) for a in arrays]


@pytest.mark.parametrize("shape", SHAPES, ids=_id)
@pytest.mark.parametrize("precision", TENSOR_CORE)
def test_tensor_cores_forward_and_backward(precision, shape, rng):
    """Against the reference on inputs rounded to the precision (the products are exact, the
    sums float32: float32's tolerance), and against the unrounded reference (the
    precision's tolerance, R.precision.TOLERANCE)."""
    F = ops.get("emulate", precision=precision)
    assert (F.device.conv, F.device.precision) == (7, precision)
    x, wt, b = _inputs(rng, shape)
    p = shape[-1]
    y = F.conv2d_forward(x, wt, b, p)
    assert rel_error(y, R.conv2d_forward(*_rounded(precision, x, wt), b.astype(np.float64),
                                         p)) < TOL
    exact = R.conv2d_forward(*_f64(x, wt, b), p)
    assert rel_error(y, exact) < R.precision.TOLERANCE[precision]
    dy = rng.standard_normal(exact.shape).astype(np.float32)
    dx, dw, db = F.conv2d_backward(dy, x, wt, p)
    rdx, rdw, _ = R.conv2d_backward(*_rounded(precision, dy, x, wt), p)
    assert rel_error(dx, rdx) < TOL and rel_error(dw, rdw) < TOL
    _, _, rdb = R.conv2d_backward(*_f64(dy, x, wt), p)
    assert rel_error(db, rdb) < TOL  # the bias gradient stays float32


@pytest.mark.parametrize("precision", TENSOR_CORE)
def test_tensor_cores_deconv_and_wide_layers(precision, rng):
    F = ops.get("emulate", precision=precision)
    x, wt, b = _inputs(rng, (2, 5, 3, 6, 5, 1), deconv=True)
    y = F.deconv2d_forward(x, wt, b, 1)
    assert rel_error(y, R.deconv2d_forward(*_rounded(precision, x, wt),
                                           b.astype(np.float64), 1)) < TOL
    x, wt, b = _inputs(rng, (2, 2, 129, 5, 7, 1))  # 3 tiles of 64 channels, the last nearly empty
    y = conv_ladder.forward(F.device, 7, x, wt, b, 1)
    assert rel_error(y, R.conv2d_forward(*_rounded(precision, x, wt),
                                         b.astype(np.float64), 1)) < TOL


@pytest.mark.parametrize("precision", TENSOR_CORE)
@pytest.mark.parametrize("splits", [1, 3, None])
def test_w4_split_k_is_exact_and_reproducible(precision, splits, rng):
    shape = (3, 9, 70, 9, 7, 1)  # K = 81: two tiles of 64; 70 channels: two tiles
    x, wt, _ = _inputs(rng, shape)
    n, _, co, h, w, p = shape
    dy = rng.standard_normal((n, co, h, w)).astype(np.float32)
    dev = ops.get("emulate", precision=precision).device
    dw = conv_ladder.weight_grad(dev, 4, dy, x, p, splits)
    assert rel_error(dw, R.conv2d_backward(*_rounded(precision, dy, x, wt), p)[1]) < TOL
    np.testing.assert_array_equal(dw, conv_ladder.weight_grad(dev, 4, dy, x, p, splits))


def test_choosing_a_precision():
    assert ops.get("emulate", conv=7).device.precision == "tf32"
    assert ops.get("emulate", precision="fp32").device.conv == versions.DEFAULT["emulate"]
    assert ops.get("emulate", conv=4, precision="fp32").device.precision == "fp32"
    with pytest.raises(ValueError, match="version 3 computes in fp32, not bf16"):
        ops.get("emulate", conv=3, precision="bf16")
    with pytest.raises(ValueError, match="version 7 computes in tf32 or bf16 or fp16, not fp32"):
        ops.get("emulate", conv=7, precision="fp32")
    with pytest.raises(ValueError, match="precision must be one of fp32, tf32, bf16, fp16"):
        ops.get("cpu", precision="fp8")
    for precision in TENSOR_CORE:  # the NumPy rounding agrees with the emulator's kernels
        x = np.array([1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8 + 2.0 ** -20],
                     np.float32)
        assert np.all(R.round_to(x, precision) != x)


def test_version_7_does_not_depend_on_the_fragment_layout(rng):
    """Its bias is added after the accumulators went through shared memory, never by guessing
    which lane holds which element: a scrambled layout gives the same bits."""
    from rednet_cupy import runtime

    x, wt, b = _inputs(rng, SHAPES[3])
    dev = ops.get("emulate", precision="bf16").device
    natural = conv_ladder.forward(dev, 7, x, wt, b, 0)
    with runtime.fragment_layout("scrambled", 11):
        scrambled = conv_ladder.forward(dev, 7, x, wt, b, 0)
    np.testing.assert_array_equal(natural, scrambled)


@pytest.mark.parametrize("conv, precision", [(6, None), (7, "tf32"), (7, "bf16")])
def test_a_red_net_on_the_fused_versions(conv, precision, rng):
    """A whole RED10 (skips, residual) on the fused epilogues: its output as on the NumPy
    reference, and its gradients too. For version 7 the backward pass is compared from the
    same activations (the reference's backward run on the kernels' forward cache): rounding
    moves a few pre-activations across zero, and on a net this small one ReLU that opens or
    shuts changes a bias gradient by several percent, which says nothing about the kernels."""
    from rednet_cupy.model import RedNet, preset

    cfg = preset("RED10", width=6)
    ref = RedNet(cfg, ops.get("cpu"), seed=4)
    net = RedNet(cfg, ops.get("emulate", conv=conv, precision=precision), seed=4)
    x = rng.random((2, 1, 11, 9), dtype=np.float32)
    tol = TOL if precision is None else R.precision.TOLERANCE[precision]
    y_ref, y = ref.forward(x), net.forward(x)
    assert rel_error(y, y_ref) < tol
    dy = rng.standard_normal(y.shape).astype(np.float32)
    net.backward(dy)
    if precision is not None:
        ref._cache = dict(net._cache)
    ref.backward(dy)
    for k in ref.grads:  # ten layers of rounded inputs accumulate
        assert rel_error(net.grads[k], ref.grads[k]) < 10 * tol, k
