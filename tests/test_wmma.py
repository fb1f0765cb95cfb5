"""Tensor cores (nvcuda::wmma), half and bfloat16, and asynchronous copies, against NumPy
references written from the CUDA Programming Guide and the IEEE formats: GEMMs of every
shape, type and layout; the rounding of every conversion; the mistakes that must end a launch
with a message; a kernel that depends on the unspecified fragment layout; races on a tile
loaded as a fragment; copies waited for too late.

Kernels: tests/kernels/wmma_checks.cu (plain CUDA for sm_80+, also run on a GPU).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import reference as R
from rednet_cupy import runtime
from rednet_cupy.runtime import emulator

KERNELS = Path(__file__).resolve().with_name("kernels")
WMMA = KERNELS / "wmma_checks.cu"
# The GEMM kernels: (name, tile M x N, step K, input type, A column-major, B column-major).
GEMMS = [
    ("gemm_h16_rr", 16, 16, 16, "half", False, False),
    ("gemm_h16_cc", 16, 16, 16, "half", True, True),
    ("gemm_h32x8_rc", 32, 8, 16, "half", False, True),
    ("gemm_h8x32_rr", 8, 32, 16, "half", False, False),
    ("gemm_bf16_rr", 16, 16, 16, "bf16", False, False),
    ("gemm_bf16_cc", 16, 16, 16, "bf16", True, True),
    ("gemm_tf32_rr", 16, 16, 8, "tf32", False, False),
    ("gemm_tf32_cc", 16, 16, 8, "tf32", True, True),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDNET_CACHE_DIR", str(tmp_path_factory.mktemp("rednet-cache")))
        mp.delenv("REDNET_EMU_SANITIZE", raising=False)
        mp.delenv("REDNET_EMU_RACECHECK", raising=False)
        mp.delenv("REDNET_EMU_FRAGMENTS", raising=False)
        yield


@pytest.fixture
def mod(kernel_device, cache):
    return runtime.load_source(WMMA, device=kernel_device)


@pytest.fixture
def emu(cache):
    return runtime.load_source(WMMA, device="emulate")


def host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def device_array(mod, a: np.ndarray):
    return mod.backend.xp.asarray(a)


def line_of(marker: str) -> int:
    for number, text in enumerate(WMMA.read_text().splitlines(), start=1):
        if f"MARK {marker}" in text:
            return number
    raise AssertionError(marker)


# ---- the formats, from their definitions -----------------------------------------------------
def bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, round to nearest even; NaN -> 0x7fff."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FFF), rounded)


def bf16_value(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def tf32_round(x: np.ndarray) -> np.ndarray:
    """To tf32 (10 mantissa bits), to nearest, ties away from zero (cvt.rna.tf32.f32): the
    package's NumPy rounding, which the tensor-core convolution tests use too."""
    return R.round_to(x, "tf32")


def tf32_cut(x: np.ndarray) -> np.ndarray:
    u = np.asarray(x, np.float32).view(np.uint32)
    return (u & np.uint32(0xFFFFE000)).view(np.float32)


def gemm_case(rng, kind: str, m: int, n: int, k: int):
    """Inputs as the kernel takes them, and their values as float64."""
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    if kind == "half":
        a, b = a.astype(np.float16), b.astype(np.float16)
        return a, b, a.astype(np.float64), b.astype(np.float64)
    if kind == "bf16":
        a, b = bf16_bits(a), bf16_bits(b)
        return a, b, bf16_value(a).astype(np.float64), bf16_value(b).astype(np.float64)
    return a, b, tf32_round(a).astype(np.float64), tf32_round(b).astype(np.float64)


def accumulation_bound(av, bv, c, k: int) -> np.ndarray:
    """What float accumulation of k exact products onto c may lose: k roundings of at most
    half an ulp of the running sum, each below 2^-24 times sum |terms|."""
    return (k + 1) * 2.0 ** -24 * (np.abs(av) @ np.abs(bv) + np.abs(c)) + 1e-30


# ---- GEMMs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,tm,tn,tk,kind,a_col,b_col", GEMMS)
def test_gemm_matches_the_float64_product(mod, rng, name, tm, tn, tk, kind, a_col, b_col):
    m, n, k = 2 * tm, 3 * tn, 4 * tk  # several tiles each way, several steps of k
    a, b, av, bv = gemm_case(rng, kind, m, n, k)
    c = rng.standard_normal((m, n)).astype(np.float32)
    d = device_array(mod, np.full((m, n), np.nan, np.float32))
    args = [np.ascontiguousarray(a.T) if a_col else a, np.ascontiguousarray(b.T) if b_col else b]
    extra = (np.int32(1),) if kind == "tf32" else ()  # convert with __float_to_tf32
    getattr(mod, name)((n // tn, m // tm, 1), (32, 1, 1),
                       (*[device_array(mod, x) for x in args], device_array(mod, c), d,
                        np.int32(m), np.int32(n), np.int32(k), *extra))
    ref = av @ bv + c
    err = np.abs(host(d) - ref)
    assert np.isfinite(host(d)).all()
    assert (err <= accumulation_bound(av, bv, c, k)).all(), f"max error {err.max():.3g}"


def test_column_major_and_half_accumulators(mod, rng):
    """Accumulators loaded and stored column-major (memory holds the transpose), and
    accumulating in half: the result rounded to half once (a GPU's half accumulation may
    round along the way: within half's precision of the float64 result)."""
    a = rng.standard_normal((16, 16)).astype(np.float16)
    b = rng.standard_normal((16, 16)).astype(np.float16)
    c = rng.standard_normal((16, 16)).astype(np.float32)
    c_h = rng.standard_normal((16, 16)).astype(np.float16)
    d = device_array(mod, np.full((16, 16), np.nan, np.float32))
    d_h = device_array(mod, np.full((16, 16), np.nan, np.float16))
    mod.tile_acc_layouts((1, 1, 1), (32, 1, 1), (device_array(mod, a), device_array(mod, b),
                                                 device_array(mod, np.ascontiguousarray(c.T)),
                                                 d, device_array(mod, c_h), d_h))
    av, bv = a.astype(np.float64), b.astype(np.float64)
    ref = av @ bv + c
    assert (np.abs(host(d).T - ref) <= accumulation_bound(av, bv, c, 16)).all()
    ref_h = av @ bv + c_h.astype(np.float64)
    err = np.abs(host(d_h).astype(np.float64) - ref_h)
    assert (err <= 2.0 ** -10 * (np.abs(av) @ np.abs(bv) + np.abs(c_h))).all(), err.max()


def test_tf32_inputs_not_converted_are_cut_to_tf32(emu, rng):
    """The tensor core reads the top 19 bits of a float: an input not passed through
    __float_to_tf32 is truncated (the emulator's rule; a GPU leaves it unspecified)."""
    m = n = 16
    k = 16
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.zeros((m, n), np.float32)
    out = {}
    for convert in (0, 1):
        d = np.full((m, n), np.nan, np.float32)
        emu.gemm_tf32_rr((1, 1, 1), (32, 1, 1), (a, b, c, d, np.int32(m), np.int32(n),
                                                  np.int32(k), np.int32(convert)))
        out[convert] = d
    for convert, rounding in ((0, tf32_cut), (1, tf32_round)):
        av, bv = rounding(a).astype(np.float64), rounding(b).astype(np.float64)
        assert (np.abs(out[convert] - av @ bv) <= accumulation_bound(av, bv, c, k)).all()
    assert not np.array_equal(out[0], out[1])


def test_results_do_not_depend_on_the_fragment_layout(emu, rng):
    """A kernel that uses fragments only through load/mma/store gives bitwise the same
    result in a scrambled layout."""
    m, n, k = 32, 48, 64
    a, b, _, _ = gemm_case(rng, "half", m, n, k)
    c = rng.standard_normal((m, n)).astype(np.float32)
    outs = []
    for layout, seed in (("natural", 0), ("scrambled", 1), ("scrambled", 2)):
        d = np.full((m, n), np.nan, np.float32)
        with runtime.fragment_layout(layout, seed):
            emu.gemm_h16_rr((n // 16, m // 16, 1), (32, 1, 1),
                            (a, b, c, d, np.int32(m), np.int32(n), np.int32(k)))
        outs.append(d)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


def test_a_kernel_that_guesses_the_fragment_layout_fails_when_scrambled(emu, rng):
    a = rng.standard_normal((16, 16)).astype(np.float16)
    b = rng.standard_normal((16, 16)).astype(np.float16)
    bias = rng.standard_normal(16).astype(np.float32)
    product = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-5 * np.abs(product).max()

    def run(guess: int) -> np.ndarray:
        d = np.full((16, 16), np.nan, np.float32)
        emu.epilogue_h16((1, 1, 1), (32, 1, 1), (a, b, bias, d, np.int32(guess)))
        return d

    assert np.abs(run(1) - np.maximum(product + bias, 0)).max() < tol  # natural: the guess holds
    with runtime.fragment_layout("scrambled", 5):
        assert np.abs(run(0) - np.maximum(product, 0)).max() < tol  # elementwise: still right
        assert np.abs(run(1) - np.maximum(product + bias, 0)).max() > 0.1  # the guess: wrong


def test_fragment_layout_settings(monkeypatch):
    assert emulator.parse_fragment_layout("natural") == 0
    assert emulator.parse_fragment_layout("scrambled") != emulator.parse_fragment_layout(
        "scrambled:7")
    with pytest.raises(ValueError, match="natural, scrambled"):
        emulator.parse_fragment_layout("shuffled")
    monkeypatch.setenv("REDNET_EMU_FRAGMENTS", "scrambled:3")
    assert emulator.current_fragment_layout() == emulator.parse_fragment_layout("scrambled:3")
    with runtime.fragment_layout("natural"):
        assert emulator.current_fragment_layout() == 0


# ---- mistakes ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,offset,threads,message", [
    (1, 0, 32, r"lane 0 passes pointer 0x[0-9a-f]+, ldm 16, row_major but lane 5 passes "
               r"0x[0-9a-f]+, ldm 32"),
    (0, 1, 32, r"pointer 0x[0-9a-f]+ is not 32-byte \(256-bit\) aligned"),
    (0, 0, 48, r"warp 1: wmma::load_matrix_sync at .*wmma_checks.cu:{line} is reached by "
               r"lanes 0-15 only; lanes 16-31 do not exist"),
])
def test_misuse_ends_the_launch_with_a_message(emu, rng, mode, offset, threads, message):
    a = rng.standard_normal(512).astype(np.float16)
    d = np.full((16, 16), np.nan, np.float32)
    pattern = "misuse_h16: block \\(0, 0, 0\\), .*" + message.format(line=line_of("misuse-load"))
    with pytest.raises(runtime.KernelError, match=pattern):
        emu.misuse_h16((1, 1, 1), (threads, 1, 1), (a, d, np.int32(mode), np.int32(offset)))


def test_tensor_core_calls_make_a_file_run_on_fibers():
    assert emulator.needs_fibers("wmma::mma_sync(acc, a, b, acc);")
    assert emulator.needs_fibers("__pipeline_commit();")
    assert not emulator.needs_fibers("y[i] = __half2float(x[i]);")


def test_unaligned_arrays_reach_the_kernel_aligned_and_come_back(emu, rng):
    """cudaMalloc aligns to 256 bytes and WMMA needs 32: the emulator stages NumPy arrays
    that are not, and copies written ones back."""
    m = n = k = 16
    a, b, av, bv = gemm_case(rng, "half", m, n, k)
    c = rng.standard_normal((m, n)).astype(np.float32)
    raw = np.full(m * n + 1, np.nan, np.float32)
    d = raw[1:].reshape(m, n)  # 4 bytes off whatever alignment raw has
    emu.gemm_h16_rr((1, 1, 1), (32, 1, 1), (a, b, c, d, np.int32(m), np.int32(n), np.int32(k)))
    assert (np.abs(d - (av @ bv + c)) <= accumulation_bound(av, bv, c, k)).all()
    assert np.isnan(raw[0])


# ---- half, bfloat16, tf32 ----------------------------------------------------------------------
def special_values(rng) -> np.ndarray:
    h = 2.0 ** -24  # the smallest half subnormal
    edges = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e9, np.inf, -np.inf,
             np.nan, h, h / 2, h * 0.5000001, 1.5 * h, 2.5 * h, 2.0 ** -14, 2.0 ** -14 - h / 2,
             1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8,
             1.0 + 2.0 ** -11 + 2.0 ** -20, 3.0e38, 1.0e-40]
    spread = rng.standard_normal(200) * 10.0 ** rng.uniform(-9, 5, 200)
    return np.concatenate([edges, spread]).astype(np.float32)


def test_half_bfloat16_tf32_conversions_and_arithmetic(mod, rng):
    x = special_values(rng)
    y = rng.permutation(x)
    n = x.size
    outs = {k: device_array(mod, np.full(n, np.nan, np.float16))
            for k in ("to_half", "sum", "prod", "fma")}
    back = device_array(mod, np.full(n, np.nan, np.float32))
    to_bf16 = device_array(mod, np.full(n, 0xFFFF, np.uint16))
    tf32 = device_array(mod, np.full(n, np.nan, np.float32))
    mod.half_ops(((n + 63) // 64, 1, 1), (64, 1, 1),
                 (device_array(mod, x), device_array(mod, y), outs["to_half"], back,
                  outs["sum"], outs["prod"], outs["fma"], to_bf16, tf32, np.int32(n)))
    with np.errstate(all="ignore"):  # overflow to infinity is part of the test
        hx, hy = x.astype(np.float16), y.astype(np.float16)  # NumPy rounds to nearest even
        fx, fy = hx.astype(np.float64), hy.astype(np.float64)
        want = {"to_half": hx, "sum": (fx + fy).astype(np.float16),
                "prod": (fx * fy).astype(np.float16), "fma": (fx * fy + fx).astype(np.float16)}
    for key, ref in want.items():
        got = host(outs[key])
        same = (got.view(np.uint16) == ref.view(np.uint16)) | (np.isnan(got) & np.isnan(ref))
        assert same.all(), f"{key}: {x[~same][:5]} -> {got[~same][:5]}, expected {ref[~same][:5]}"
    assert np.array_equal(host(back), hx.astype(np.float32), equal_nan=True)
    assert np.array_equal(host(to_bf16), bf16_bits(x))
    assert np.array_equal(host(tf32), tf32_round(x), equal_nan=True)


def test_half_and_bfloat16_shuffles(mod, rng):
    h = rng.standard_normal(32).astype(np.float16)
    b = bf16_bits(rng.standard_normal(32).astype(np.float32))
    h_out = device_array(mod, np.full(32, np.nan, np.float16))
    b_out = device_array(mod, np.zeros(32, np.uint16))
    mod.shuffle_half((1, 1, 1), (32, 1, 1), (device_array(mod, h), device_array(mod, b), h_out,
                                             b_out, np.int32(5)))
    lanes = np.arange(32) ^ 5
    assert np.array_equal(host(h_out), h[lanes]) and np.array_equal(host(b_out), b[lanes])


# ---- asynchronous copies -------------------------------------------------------------------------
@pytest.mark.parametrize("zfill", [0, 4])
def test_async_copies_arrive_after_the_wait(mod, rng, zfill):
    threads = 64
    src = rng.standard_normal(4 * threads).astype(np.float32)
    dst = device_array(mod, np.full(4 * threads, np.nan, np.float32))
    mod.async_copy((1, 1, 1), (threads, 1, 1), (device_array(mod, src), dst, np.int32(0),
                                                np.int32(zfill)), shared_mem=16 * threads)
    stage = src.copy()
    if zfill:
        stage[3::4] = 0.0  # the last 4 of each second 8-byte copy
    words = np.arange(4 * threads)
    assert np.array_equal(host(dst), stage[(words + 7) % (4 * threads)])


def test_reading_before_the_wait_sees_no_data(emu, rng):
    """On a GPU the copy may or may not have landed; here it never has."""
    threads = 64
    src = rng.standard_normal(4 * threads).astype(np.float32)
    dst = np.full(4 * threads, 0.0, np.float32)
    emu.async_copy((1, 1, 1), (threads, 1, 1), (src, dst, np.int32(1), np.int32(0)),
                   shared_mem=16 * threads)
    assert np.isnan(dst).mean() > 0.9


def test_a_wait_with_nothing_committed_is_an_error(emu):
    src = np.arange(32, dtype=np.float32)
    with pytest.raises(runtime.KernelError, match=(
            r"async_uncommitted: block \(0, 0, 0\), thread 0: __pipeline_wait_prior\(0\) at "
            rf".*wmma_checks.cu:{line_of('uncommitted-wait')} with nothing committed \(1 copies "
            r"issued\)")):
        emu.async_uncommitted((1, 1, 1), (32, 1, 1), (src, np.zeros(32, np.float32)),
                              shared_mem=128)


def test_an_unsupported_wmma_shape_does_not_compile(cache):
    source = """#include <mma.h>
using namespace nvcuda;
extern "C" __global__ void bad(float* d) {
    wmma::fragment<wmma::matrix_a, 16, 16, 8, __half, wmma::row_major> a;  // k 8: tf32 only
}
"""
    with pytest.raises(runtime.KernelError, match="this use/shape/type/layout is not one a "
                       "tensor core has"):
        runtime.load_source(source, device="emulate", name="bad_shape")


# ---- race check ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def racecheck(tmp_path_factory):
    if shutil.which("addr2line") is None:
        pytest.skip("binutils' addr2line is needed to name source lines")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDNET_CACHE_DIR", str(tmp_path_factory.mktemp("rednet-cache")))
        mp.delenv("REDNET_EMU_SANITIZE", raising=False)
        mp.setenv("REDNET_EMU_RACECHECK", "1")
        yield runtime.load_source(WMMA, device="emulate")


def test_a_tile_loaded_as_a_fragment_without_a_barrier_is_a_race(racecheck, rng):
    a = rng.standard_normal((16, 16)).astype(np.float32)
    b = rng.standard_normal((16, 16)).astype(np.float16)
    d = np.full((16, 16), np.nan, np.float32)
    racecheck.staged_h16((1, 1, 1), (64, 1, 1), (a, b, d, np.int32(1)))  # with the barrier
    ref = a.astype(np.float16).astype(np.float64) @ b.astype(np.float64)
    assert np.abs(d - ref).max() < 1e-4
    store = next(i + 1 for i, t in enumerate(WMMA.read_text().splitlines())
                 if "tile[i] = __float2half" in t)
    pattern = (rf"staged_h16: race on shared memory in block \(0, 0, 0\): __shared__ "
               rf"staged_h16::tile, byte offset \d+ was read by thread \d+ \(warp 0, lane \d+\) "
               rf"at .*wmma_checks.cu:{line_of('staged-load')} and written by thread \d+ "
               rf"\(warp 1, lane \d+\) at .*wmma_checks.cu:{store} ")
    with pytest.raises(runtime.KernelError, match=pattern):
        racecheck.staged_h16((1, 1, 1), (64, 1, 1), (a, b, d, np.int32(0)))


def test_an_async_copy_read_before_its_wait_is_a_race(racecheck, rng):
    src = rng.standard_normal(256).astype(np.float32)
    dst = np.zeros(256, np.float32)
    racecheck.async_copy((1, 1, 1), (64, 1, 1), (src, dst, np.int32(0), np.int32(0)),
                         shared_mem=1024)
    with pytest.raises(runtime.KernelError, match=r"async_copy: race on shared memory .* "
                       r"dynamic shared memory \(extern __shared__\)"):
        racecheck.async_copy((1, 1, 1), (64, 1, 1), (src, dst, np.int32(1), np.int32(0)),
                             shared_mem=1024)
