"""The kernel tests can tell a wrong kernel: deliberately broken copies of the real kernels
(one textual change each) are run through the normal wrappers and must FAIL the comparison
with the reference that the real kernels pass.

Each mutant is built from the kernel file's text with `runtime.load_source` and installed in
a fresh `KernelDevice`'s function cache under the name the wrapper launches, so everything
else (grids, blocks, NaN-filled outputs, the other kernels) is what the real op runs. The
unmutated text goes through the very same path and must pass: so a test here can only
succeed because of the mutation.
"""

from __future__ import annotations

import numpy as np
import pytest

from rednet_cupy import reference as R
from rednet_cupy import runtime
from rednet_cupy.ops import conv2d, conv_ladder, mse_loss
from rednet_cupy.ops.device import KernelDevice

PASS, FAIL = 1e-4, 1e-2  # the kernel tests' tolerance; what counts as clearly wrong


def error(got, expected) -> float:
    """Relative error as the kernel tests measure it; inf when an element is NaN or inf."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    if not np.isfinite(got).all():
        return float("inf")
    return float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-30))


def mutate(text: str, old: str, new: str) -> str:
    """Replace the one occurrence of `old`: the mutation must really happen."""
    assert text.count(old) == 1, f"expected exactly one {old!r} in the kernel source"
    out = text.replace(old, new)
    assert out != text
    return out


def device_with(op: str, kernel: str, source: str, name: str) -> KernelDevice:
    """A fresh emulator device whose `op`/`kernel` launches run `source`'s kernel instead."""
    dev = KernelDevice("emulate", np, poison=True)
    module = runtime.load_source(source, device="emulate", name=name,
                                 include_dirs=[runtime.kernel_dir()])
    dev._functions[(op, kernel)] = module.get_function(kernel)
    return dev


def source(op: str) -> str:
    return (runtime.kernel_dir() / f"{op}.cu").read_text()


def conv_inputs(shape, seed=0):
    n, ci, co, h, w, _ = shape
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, ci, h, w)).astype(np.float32),
            rng.standard_normal((co, ci, 3, 3)).astype(np.float32),
            rng.standard_normal(co).astype(np.float32))


def conv_forward_error(dev: KernelDevice, shape, seed=0) -> float:
    x, w, b = conv_inputs(shape, seed)
    y = conv2d.conv2d_forward(dev, x, w, b, shape[-1])
    expected = R.conv2d_forward(x.astype(np.float64), w.astype(np.float64),
                                b.astype(np.float64), shape[-1])
    return error(y, expected)


def conv_bias_grad_error(dev: KernelDevice, shape) -> float:
    x, w, _ = conv_inputs(shape)
    p = shape[-1]
    dy = np.random.default_rng(1).standard_normal(
        (x.shape[0], w.shape[0], x.shape[2] + 2 * p - 2, x.shape[3] + 2 * p - 2)
    ).astype(np.float32)
    _, _, db = conv2d.conv2d_backward(dev, dy, x, w, p)
    return error(db, dy.astype(np.float64).sum(axis=(0, 2, 3)))


def mse_error(dev: KernelDevice, shape) -> float:
    rng = np.random.default_rng(2)
    pred = rng.standard_normal(shape).astype(np.float32)
    target = rng.standard_normal(shape).astype(np.float32)
    loss = mse_loss.mse_loss_forward(dev, pred, target)
    return error(loss, R.mse_loss_forward(pred.astype(np.float64), target.astype(np.float64)))


# Shapes (N, C_in, C_out, H, W, padding) with full 16x16 tiles and several channels, so that
# a wrong patch element, a stale shared-memory value or a missing row has somewhere to show.
CONV_SHAPE = (2, 4, 9, 20, 37, 1)
CONV_SHAPE_P0 = (1, 3, 17, 35, 18, 0)

# name: (op, kernel, old text, new text, how to measure)
MUTANTS = {
    # (a) the tile load reads the patch one input row too low: every output shifted.
    "tile_load_row_off_by_one": (
        "conv2d", "conv2d_forward",
        "const int r = row0 + e / HALO, c = col0 + e % HALO;",
        "const int r = row0 + e / HALO + 1, c = col0 + e % HALO;",
        lambda dev: conv_forward_error(dev, CONV_SHAPE)),
    # (a') the copy loop stops one element short: patch[17][17] keeps a stale value, used
    # only by the bottom-right thread of a full tile for its bottom-right tap.
    "tile_load_loop_one_short": (
        "conv2d", "conv2d_forward",
        "for (int e = tid; e < HALO * HALO; e += TILE * TILE)",
        "for (int e = tid; e < HALO * HALO - 1; e += TILE * TILE)",
        lambda dev: conv_forward_error(dev, CONV_SHAPE_P0)),
    # (e) the write guard drops the last output row: it stays NaN (outputs are NaN-filled).
    "last_output_row_unwritten": (
        "conv2d", "conv2d_forward",
        "if (i < Ho && j < Wo) {",
        "if (i < Ho - 1 && j < Wo) {",
        lambda dev: conv_forward_error(dev, CONV_SHAPE_P0)),
    # (c) the tree reduction stops before its last round: s[1] is never added to s[0].
    "mse_reduction_drops_last_stride": (
        "mse_loss", "mse_loss_partial",
        "for (int stride = THREADS / 2; stride > 0; stride >>= 1) {",
        "for (int stride = THREADS / 2; stride > 1; stride >>= 1) {",
        lambda dev: mse_error(dev, (3, 2, 17, 33))),
    # (d) the bias gradient sums over every image but the last.
    "bias_grad_skips_last_image": (
        "conv2d", "conv2d_bias_grad",
        "for (int q = tid; q < N * HW; q += RED_THREADS) {",
        "for (int q = tid; q < (N - 1) * HW; q += RED_THREADS) {",
        lambda dev: conv_bias_grad_error(dev, (3, 4, 5, 9, 11, 0))),
}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_a_mutated_kernel_fails_the_comparison(name):
    op, kernel, old, new, measure = MUTANTS[name]
    text = source(op)
    original = measure(device_with(op, kernel, text, f"{op}_original"))
    assert original < PASS, f"the unmutated {op}.cu fails: rel error {original:.2e}"
    mutant = measure(device_with(op, kernel, mutate(text, old, new), f"{op}_{name}"))
    assert mutant > FAIL, f"mutant {name} not caught: rel error {mutant:.2e}"


# (b) The barrier between the loads of a channel's patch and weights and their use, taken
# out: a race. The emulator runs a block's 256 threads as fibers that switch only at a
# barrier, so without this one each thread computes with the patch and weights as they are
# when its turn comes: under the forward schedule thread t reads values that threads t+1,
# t+18, ... have not written yet (the previous channel's, or the previous block's), under
# the reverse schedule threads 255, 254, ... read values that threads below them have not
# written, and a random order mixes both. Several channels, so stale values differ from
# fresh ones. The result no longer depends on how the OS schedules threads: each schedule
# catches the race on every run.
RACE_SHAPE = (2, 6, 9, 33, 37, 1)
BARRIER = "__syncthreads();  // the patch and weights are complete before anyone reads them"


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random"])
def test_a_missing_barrier_is_caught(schedule):
    text = source("conv2d")
    with runtime.schedule(schedule, seed=1):
        original = conv_forward_error(device_with("conv2d", "conv2d_forward", text,
                                                  "conv2d_original"), RACE_SHAPE)
        assert original < PASS, f"the unmutated conv2d.cu fails: rel error {original:.2e}"
        racy = device_with("conv2d", "conv2d_forward",
                           mutate(text, BARRIER, "/* barrier removed */"), "conv2d_no_barrier")
        error_racy = conv_forward_error(racy, RACE_SHAPE)
    assert error_racy > FAIL, f"the race went unnoticed under {schedule}: {error_racy:.2e}"


# ---- the convolution ladder (ops/versions.py): the same tests catch its typical bugs ----
def ladder_forward_error(dev: KernelDevice, number: int, shape) -> float:
    x, w, b = conv_inputs(shape)
    y = conv_ladder.forward(dev, number, x, w, b, shape[-1])
    expected = R.conv2d_forward(x.astype(np.float64), w.astype(np.float64),
                                b.astype(np.float64), shape[-1])
    return error(y, expected)


def ladder_weight_grad_error(dev: KernelDevice, number: int, shape) -> float:
    x, w, _ = conv_inputs(shape)
    n, _, co, h, wd, p = shape
    dy = np.random.default_rng(1).standard_normal(
        (n, co, h + 2 * p - 2, wd + 2 * p - 2)).astype(np.float32)
    dw = conv_ladder.weight_grad(dev, number, dy, x, p, splits=3)
    expected = R.conv2d_backward(dy.astype(np.float64), x.astype(np.float64),
                                 w.astype(np.float64), p)[1]
    return error(dw, expected)


def tensor_core_error(dev: KernelDevice, weight_grad: bool, shape) -> float:
    """Version 7 (or w4) in tf32 against the reference on tf32-rounded inputs (what the
    tensor cores compute exactly, up to float32 sums)."""
    dev.precision = "tf32"
    x, w, b = conv_inputs(shape)
    p = shape[-1]
    f64 = [R.round_to(a, "tf32").astype(np.float64) for a in (x, w)]
    if not weight_grad:
        y = conv_ladder.forward(dev, 7, x, w, b, p)
        return error(y, R.conv2d_forward(*f64, b.astype(np.float64), p))
    dy = np.random.default_rng(1).standard_normal(
        (shape[0], shape[2], shape[3] + 2 * p - 2, shape[4] + 2 * p - 2)).astype(np.float32)
    dw = conv_ladder.weight_grad(dev, 4, dy, x, p, splits=3)
    rdy = R.round_to(dy, "tf32").astype(np.float64)
    return error(dw, R.conv2d_backward(rdy, f64[0], f64[1], p)[1])


LADDER_SHAPE = (2, 4, 9, 11, 13, 1)  # K = 36: 5 stages of 8; 286 pixels
DOUBLE_BUFFER = "if (more) store_shared(buf ^ 1);"

# name: (file, kernel, old text, new text, how to measure)
LADDER_MUTANTS = {
    # The next stage written over the copy being read, not the other one: later stages
    # compute on stale values (and race with the slower threads' reads).
    "v5_double_buffer_same_copy": (
        "conv2d_v5", "conv2d_forward", DOUBLE_BUFFER, "if (more) store_shared(buf);",
        lambda dev: ladder_forward_error(dev, 5, LADDER_SHAPE)),
    "v6_double_buffer_same_copy": (
        "conv2d_v6", "conv2d_forward_64x64", DOUBLE_BUFFER, "if (more) store_shared(buf);",
        lambda dev: ladder_forward_error(dev, 6, LADDER_SHAPE)),
    # The im2col gather takes every tap one column to the right.
    "v4_gather_column_off_by_one": (
        "conv2d_v4", "conv2d_forward", "col = pj + t % 3;", "col = pj + t % 3 + 1;",
        lambda dev: ladder_forward_error(dev, 4, LADDER_SHAPE)),
    # The split-K reduction leaves out the last chunk of pixels.
    "w2_reduce_drops_last_split": (
        "conv2d_w2", "conv2d_weight_grad_reduce", "for (int z = 0; z < splits; ++z)",
        "for (int z = 0; z < splits - 1; ++z)",
        lambda dev: ladder_weight_grad_error(dev, 2, LADDER_SHAPE)),
    # The accumulators leave in column-major order: every 16 x 16 tile transposed.
    "v7_accumulator_stored_transposed": (
        "conv2d_v7", "conv2d_forward_tf32", "acc, wmma::mem_row_major);",
        "acc, wmma::mem_col_major);",
        lambda dev: tensor_core_error(dev, False, LADDER_SHAPE)),
    # The stage is loaded as fragments before all of it has been written.
    "v7_no_barrier_before_the_fragments": (
        "conv2d_v7", "conv2d_forward_tf32",
        "__syncthreads();  // the stage is complete before any warp loads a fragment of it",
        "// (barrier removed)", lambda dev: tensor_core_error(dev, False, LADDER_SHAPE)),
    # A chunk runs on into the next one's pixels: those are counted twice.
    "w4_chunk_overruns": (
        "conv2d_w4", "conv2d_weight_grad_partial_tf32", "pend = min(Ptotal, pbeg + chunk);",
        "pend = min(Ptotal, pbeg + chunk + BK);",
        lambda dev: tensor_core_error(dev, True, LADDER_SHAPE)),
    "w3_double_buffer_same_copy": (
        "conv2d_w3", "conv2d_weight_grad_partial", DOUBLE_BUFFER, "if (more) store_shared(buf);",
        lambda dev: ladder_weight_grad_error(dev, 3, LADDER_SHAPE)),
}


@pytest.mark.parametrize("name", list(LADDER_MUTANTS))
def test_a_mutated_ladder_kernel_fails_the_comparison(name, monkeypatch):
    op, kernel, old, new, measure = LADDER_MUTANTS[name]
    monkeypatch.setenv("REDNET_CONV_TILE", "64x64")  # the v6 kernel that is mutated
    text = source(op)
    original = measure(device_with(op, kernel, text, f"{op}_original"))
    assert original < PASS, f"the unmutated {op}.cu fails: rel error {original:.2e}"
    mutant = measure(device_with(op, kernel, mutate(text, old, new), f"{op}_{name}"))
    assert mutant > FAIL, f"mutant {name} not caught: rel error {mutant:.2e}"
