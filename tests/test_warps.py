"""Warp-level intrinsics against NumPy references written from the CUDA Programming Guide's
description (not from the emulator's code): shuffles of each kind and type with partial
masks, widths below 32 and out-of-range source lanes; votes; __syncwarp; __activemask; and
the mistakes that must end a launch with a message instead of a hang.

Kernels: tests/kernels/warp_checks.cu (plain CUDA, also run on a GPU where there is one).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import runtime

KERNELS = Path(__file__).resolve().with_name("kernels")
WARPS = KERNELS / "warp_checks.cu"
FULL = 0xFFFFFFFF
MASKS = [FULL, 0x0000FFFF, 0x5555AAAA, 0x80000001]
WIDTHS = [32, 16, 8, 4, 1]
TYPES = {"i32": np.int32, "u32": np.uint32, "f32": np.float32, "i64": np.int64,
         "f64": np.float64}
OPS = {"shfl": 0, "up": 1, "down": 2, "xor": 3}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDNET_CACHE_DIR", str(tmp_path_factory.mktemp("rednet-cache")))
        mp.delenv("REDNET_EMU_SANITIZE", raising=False)
        yield


@pytest.fixture
def mod(kernel_device, cache):
    return runtime.load_source(WARPS, device=kernel_device)


@pytest.fixture
def emu(cache):
    return runtime.load_source(WARPS, device="emulate")


def host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def line_of(marker: str) -> int:
    """The line of warp_checks.cu that carries `// MARK <marker>`."""
    for number, text in enumerate(WARPS.read_text().splitlines(), start=1):
        if f"MARK {marker}" in text:
            return number
    raise AssertionError(marker)


def source_lane(op: str, lane: int, arg: int, width: int) -> int:
    """The lane whose value `lane` receives, as the Programming Guide states it."""
    start = lane // width * width  # first lane of the caller's width segment
    if op == "shfl":  # srcLane modulo width, within the caller's segment
        return start + arg % width
    if op == "up":  # lanes below the segment start: the caller's own value
        return lane - arg if lane - arg >= start else lane
    if op == "down":  # lanes past the segment end: the caller's own value
        return lane + arg if lane + arg < start + width else lane
    src = lane ^ (arg & 0xFFFFFFFF)  # xor: earlier segments may be read, later ones not
    return src if src < start + width else lane


def shuffle_reference(op, x, arg, width, mask, threads):
    """Expected output; where the source lane took part; where a lane took part at all."""
    y = np.zeros_like(x)
    defined = np.zeros(x.shape, bool)
    present = np.zeros(x.shape, bool)
    for g in range(x.size):
        t = g % threads
        lane = t % 32
        warp0 = g - lane  # global index of the warp's lane 0
        if not (mask >> lane) & 1:
            continue
        present[g] = True
        src = source_lane(op, lane, int(arg[g]), width)
        if (mask >> src) & 1 and t - lane + src < threads:
            y[g] = x[warp0 + src]
            defined[g] = True
    return y, defined, present


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("type_name", list(TYPES))
def test_shuffles_match_the_reference(mod, op, type_name):
    dtype = TYPES[type_name]
    xp = mod.backend.xp
    rng = np.random.default_rng(OPS[op])
    threads, blocks = 64, 2
    n = threads * blocks
    x = (rng.standard_normal(n) * 1000).astype(dtype) if dtype in (np.float32, np.float64) \
        else rng.integers(0, 2**31 - 1, n).astype(dtype)
    lo, hi = (-40, 70) if op in ("shfl", "xor") else (0, 40)  # delta is unsigned
    for width in WIDTHS:
        for mask in MASKS:
            arg = rng.integers(lo, hi, n).astype(np.int32)
            y = xp.zeros(n, dtype)
            mod.get_function(f"shuffle_{type_name}")(
                blocks, threads, (xp.asarray(x), xp.asarray(arg), y, OPS[op], width,
                                  np.uint32(mask)))
            got = host(y)
            expected, defined, present = shuffle_reference(op, x, arg, width, mask, threads)
            where = f"{op} width {width} mask {mask:#010x}"
            np.testing.assert_array_equal(got[defined], expected[defined], err_msg=where)
            np.testing.assert_array_equal(got[~present], 0, err_msg=where)  # exited: unwritten
            if mod.device == "emulate":  # undefined on a GPU; all-one bits here
                undefined = present & ~defined
                assert (got[undefined].view(np.uint8) == 0xFF).all(), where


def test_every_shuffle_case_occurs():
    """The random operands above reach each case the reference distinguishes."""
    rng = np.random.default_rng(0)
    seen = set()
    for op in OPS:
        lo, hi = (-40, 70) if op in ("shfl", "xor") else (0, 40)
        for width in WIDTHS:
            for lane, arg in zip(rng.integers(0, 32, 200), rng.integers(lo, hi, 200),
                                 strict=True):
                src = source_lane(op, int(lane), int(arg), width)
                start = lane // width * width
                seen.add((op, "own" if src == lane else
                          "earlier segment" if src < start else "in segment"))
    assert {("up", "own"), ("down", "own"), ("xor", "own"), ("xor", "earlier segment"),
            ("shfl", "in segment")} <= seen


@pytest.mark.parametrize("mask", MASKS)
def test_votes(mod, mask):
    xp = mod.backend.xp
    threads, blocks = 64, 3
    n = threads * blocks
    rng = np.random.default_rng(mask & 0xFFFF)
    pred = (rng.random(n) < 0.6).astype(np.int32)
    pred[threads: 2 * threads] = 1  # block 1: every lane votes yes
    ballot, any_, all_ = xp.zeros(n, np.uint32), xp.full(n, -1, np.int32), \
        xp.full(n, -1, np.int32)
    mod.votes(blocks, threads, (xp.asarray(pred), ballot, any_, all_, np.uint32(mask)))
    for g in range(n):
        lane = g % threads % 32
        if not (mask >> lane) & 1:
            continue
        warp0 = g - lane
        bits = sum(1 << k for k in range(32) if (mask >> k) & 1 and pred[warp0 + k])
        assert host(ballot)[g] == bits
        assert host(any_)[g] == int(bits != 0)
        assert host(all_)[g] == int(bits == mask)


@pytest.mark.parametrize("threads", [32, 96, 256])
def test_warp_shuffle_reduction(mod, threads):
    xp = mod.backend.xp
    x = np.random.default_rng(threads).standard_normal(threads * 2).astype(np.float32)
    sums = xp.full(threads * 2 // 32, np.nan, np.float32)
    mod.warp_sums(2, threads, (xp.asarray(x), sums))
    np.testing.assert_allclose(host(sums), x.reshape(-1, 32).sum(axis=1), rtol=1e-5, atol=1e-5)


def test_shuffle_from_a_lane_the_block_lacks_is_poison(emu):
    """A block of 48 threads: warp 1 has lanes 0-15 only, so a full-mask shuffle_down by 16
    reads lanes that do not exist (undefined on a GPU, NaN here), and by 8 mostly does not."""
    x = np.arange(48, dtype=np.float32)
    y = np.zeros(48, np.float32)
    for delta, expect_nan in ((16, np.arange(32, 48)), (8, np.arange(40, 48))):
        arg = np.full(48, delta, np.int32)
        emu.shuffle_f32(1, 48, (x, arg, y, 2, 32, np.uint32(FULL)))
        nan = np.flatnonzero(np.isnan(y))
        np.testing.assert_array_equal(nan, expect_nan)
        ok = np.setdiff1d(np.arange(48), nan)
        src = np.array([source_lane("down", int(g % 32), delta, 32) + g // 32 * 32 for g in ok])
        np.testing.assert_array_equal(y[ok], x[src])


def test_syncwarp_orders_shared_memory(mod):
    xp = mod.backend.xp
    x = np.arange(4 * 64, dtype=np.float32)
    y = xp.zeros_like(xp.asarray(x))
    mod.syncwarp_swap(4, 64, (xp.asarray(x), y))
    np.testing.assert_array_equal(host(y), x.reshape(-1, 2)[:, ::-1].ravel())


def test_activemask_names_the_lanes_present(mod):
    xp = mod.backend.xp
    out = xp.zeros(2 * 40, np.uint32)
    mod.active_masks(2, 40, (out,))
    expected = np.tile(np.r_[np.full(32, FULL), np.full(8, 0xFF)], 2)
    np.testing.assert_array_equal(host(out), expected)


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random"])
def test_warp_results_do_not_depend_on_the_schedule(emu, schedule):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(256).astype(np.float32)
    arg = rng.integers(-40, 70, 256).astype(np.int32)
    outputs = []
    for s in ("forward", schedule):
        y = np.zeros(256, np.float32)
        with runtime.schedule(s, seed=3):
            emu.shuffle_f32(2, 128, (x, arg, y, 3, 8, np.uint32(0x5555AAAA)))
        outputs.append(y)
    np.testing.assert_array_equal(outputs[0].view(np.uint32), outputs[1].view(np.uint32))


# ---- mistakes -----------------------------------------------------------------------------

def run_error(emu, kernel, threads=64, blocks=2) -> str:
    """The launch's error message, with the failing block's index written as block (B, 0, 0):
    every block fails the same way, and with blocks spread over several workers which of
    them reports first is a matter of timing."""
    y = np.zeros(blocks * threads, np.int32)
    with pytest.raises(runtime.KernelError) as e:
        emu.get_function(kernel)(blocks, threads, (y,))
    return re.sub(r"block \(\d+, 0, 0\)", "block (B, 0, 0)", str(e.value), count=1)


def test_lane_outside_its_mask_is_an_error(emu):
    msg = run_error(emu, "lane_outside_mask")
    assert msg.startswith("lane_outside_mask: block (B, 0, 0), warp 0, lane 0 (thread 0): "
                          "__shfl_sync(mask 0x00000002)"), msg
    assert f"warp_checks.cu:{line_of('outside')}" in msg and "leaves the calling lane" in msg


def test_partners_that_never_arrive_are_named(emu):
    msg = run_error(emu, "partners_at_barrier")
    assert msg.startswith("partners_at_barrier: block (B, 0, 0), warp 0: lanes 0-15 wait in "
                          "__shfl_sync(mask 0xffffffff) at "), msg
    assert f"warp_checks.cu:{line_of('shuffle')}" in msg
    assert "lanes 16-31 wait at __syncthreads() at " in msg
    assert f"warp_checks.cu:{line_of('barrier')}" in msg


def test_mismatched_collectives_are_named(emu):
    msg = run_error(emu, "mismatched_votes", threads=32, blocks=1)
    assert "warp 0: lanes " in msg and "wait in __ballot_sync(mask 0xffffffff)" in msg, msg
    assert "wait in __any_sync(mask 0xffffffff)" in msg
    assert f"warp_checks.cu:{line_of('ballot')}" in msg
    assert f"warp_checks.cu:{line_of('any')}" in msg


def test_barrier_reached_by_some_threads_is_an_error(emu):
    msg = run_error(emu, "partial_barrier")
    assert msg.startswith("partial_barrier: block (B, 0, 0): __syncthreads() reached by only "
                          "some threads: threads 0-39 wait at "), msg
    assert f"warp_checks.cu:{line_of('partial')}" in msg
    assert "threads 40-63 exited without reaching it" in msg


def test_width_not_a_power_of_two_is_an_error(emu):
    msg = run_error(emu, "bad_width", threads=32, blocks=1)
    assert "__shfl_sync(width 3)" in msg and f"warp_checks.cu:{line_of('width')}" in msg, msg


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random"])
def test_the_emulator_works_after_an_error(emu, schedule):
    with runtime.schedule(schedule, seed=7):
        run_error(emu, "partners_at_barrier")
        run_error(emu, "lane_outside_mask")
        x = np.random.default_rng(0).standard_normal(256).astype(np.float32)
        sums = np.zeros(8, np.float32)
        emu.warp_sums(2, 128, (x, sums))
    np.testing.assert_allclose(sums, x.reshape(-1, 32).sum(axis=1), rtol=1e-5, atol=1e-5)
