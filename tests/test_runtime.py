"""The kernel runtime: signatures, launch checks, the emulator's execution model, its cache,
its compiler errors and sanitizer mode, and the CuPy path (with a GPU, or a stand-in CuPy).

Kernels under test live in tests/kernels/*.cu and are plain CUDA (they compile with nvcc)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import runtime
from rednet_cupy.runtime import compiler, gpu, loader

KERNELS = Path(__file__).resolve().with_name("kernels")
CHECKS = KERNELS / "runtime_checks.cu"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One fresh emulator cache for this file, so no test depends on the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        directory = tmp_path_factory.mktemp("rednet-cache")
        mp.setenv("REDNET_CACHE_DIR", str(directory))
        mp.delenv("REDNET_EMU_SANITIZE", raising=False)
        mp.delenv("CXX", raising=False)
        yield directory


@pytest.fixture
def mod(kernel_device, cache):
    return runtime.load_source(CHECKS, device=kernel_device)


@pytest.fixture
def emu(cache):
    return runtime.load_source(CHECKS, device="emulate")


def host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


# ---- signatures ---------------------------------------------------------------------------

SIGNATURES = r'''
#define TILE 16
__device__ float helper(float v) { return v; }          // not a kernel
__global__ void cxx_linkage(float* y) {}                   // C++ name mangling: not listed
extern "C" __global__ void __launch_bounds__(256, 2)
saxpy(int n, float a,
      const float* __restrict__ x,   /* read */
      float* __restrict__ y)         // written
{ }
extern "C" __global__ __launch_bounds__(TILE * TILE) void widths(
    unsigned n, long long big, double d, unsigned char* bytes, const int* idx,
    float* const fixed, bool flag) {}
extern "C" {
__global__ void in_block(void) {}
}
extern "C" __global__ void proto(const float*, int);
extern "C" __global__ void proto(const float* x, int n) {}
'''


def test_signatures_are_parsed():
    k = runtime.parse_kernels(SIGNATURES)
    assert list(k) == ["saxpy", "widths", "in_block", "proto"]
    P = runtime.Param
    assert k["saxpy"] == [P("n", "int", False, False), P("a", "float", False, False),
                          P("x", "const float*", True, True), P("y", "float*", True, False)]
    assert k["widths"] == [
        P("n", "unsigned int", False, False), P("big", "long long", False, False),
        P("d", "double", False, False), P("bytes", "unsigned char*", True, False),
        P("idx", "const int*", True, True), P("fixed", "float*", True, False),
        P("flag", "bool", False, False)]
    assert [p.dtype for p in k["widths"]][:4] == [np.uint32, np.int64, np.float64, np.uint8]
    assert k["in_block"] == []
    assert [p.name for p in k["proto"]] == ["x", "n"]


@pytest.mark.parametrize("param", ["float4* v", "float** p", "float& r", "size_t n", "Foo f"])
def test_unsupported_parameter_type_is_a_kernel_error(param):
    with pytest.raises(runtime.KernelError, match=r"k: parameter 0 .*does not support"):
        runtime.parse_kernels(f'extern "C" __global__ void k({param}) {{}}')


def test_functions_carry_their_parameters(emu):
    fn = emu.get_function("reverse_dynamic")
    assert fn is emu.reverse_dynamic
    assert [str(p) for p in fn.params] == ["const float* x", "float* y", "int n"]
    with pytest.raises(runtime.KernelError, match="no kernel 'nope'.*reverse_blocks"):
        emu.get_function("nope")
    with pytest.raises(AttributeError):
        emu.nope  # noqa: B018


# ---- launch checks ------------------------------------------------------------------------

def _bad_launches(xp):
    """(kernel, grid, block, args, shared_mem, expected message parts) for each mistake."""
    x, y = xp.zeros(256, np.float32), xp.zeros(256, np.float32)
    return {
        "dtype": ("reverse_dynamic", 1, 256, (xp.zeros(256), y, 256), 0,
                  ["reverse_dynamic: parameter 'x' (const float*) expects a C-contiguous "
                   f"float32 {xp.__name__} array, got float64"]),
        "strided": ("reverse_dynamic", 1, 256, (xp.zeros(512, np.float32)[::2], y, 256), 0,
                    ["parameter 'x'", "non-contiguous", "ascontiguousarray"]),
        "not an array": ("reverse_dynamic", 1, 256, ([0.0] * 256, y, 256), 0,
                         ["parameter 'x'", "got list"]),
        "int too large": ("reverse_dynamic", 1, 256, (x, y, 2**31), 0,
                          ["parameter 'n' (int)", "-2147483648..2147483647", "2147483648"]),
        "float for int": ("reverse_dynamic", 1, 256, (x, y, 256.0), 0,
                          ["parameter 'n' (int) expects a Python int", "got float 256.0"]),
        "bool for int": ("reverse_dynamic", 1, 256, (x, y, True), 0, ["parameter 'n'", "bool"]),
        "array for scalar": ("reverse_dynamic", 1, 256, (x, y, x), 0, ["parameter 'n'"]),
        "float overflow": ("atomic_sum", 1, 1, (x, 1e39), 0, ["'value' (float)", "overflows"]),
        "arg count": ("reverse_dynamic", 1, 256, (x, y), 0,
                      ["reverse_dynamic(const float* x, float* y, int n) takes 3 arguments, "
                       "got 2"]),
        "block too large": ("reverse_dynamic", 1, (1024, 2), (x, y, 256), 0,
                            ["block (1024, 2) has 2048 threads", "at most 1024"]),
        "block z": ("reverse_dynamic", 1, (1, 1, 65), (x, y, 256), 0, ["block.z = 65"]),
        "grid zero": ("reverse_dynamic", 0, 256, (x, y, 256), 0, ["grid.x = 0"]),
        "grid 4-d": ("reverse_dynamic", (1, 1, 1, 1), 256, (x, y, 256), 0, ["1 to 3"]),
        "grid y": ("reverse_dynamic", (1, 65536), 256, (x, y, 256), 0, ["grid.y = 65536"]),
        "shared": ("reverse_dynamic", 1, 256, (x, y, 256), 48 * 1024 + 1, ["shared_mem"]),
        "args not tuple": ("reverse_dynamic", 1, 256, x, 0, ["args must be a tuple"]),
    }


@pytest.mark.parametrize("case", list(_bad_launches(np)))
def test_bad_launch_is_a_launch_error(mod, case):
    kernel, grid, block, args, shared, parts = _bad_launches(mod.backend.xp)[case]
    with pytest.raises(runtime.LaunchError) as e:
        mod.get_function(kernel)(grid, block, args, shared_mem=shared)
    for part in parts:
        assert part in str(e.value)


def test_read_only_array_only_for_const_pointers(emu):
    x, y = np.arange(256, dtype=np.float32), np.zeros(256, np.float32)
    x.flags.writeable = False
    emu.reverse_dynamic(1, 256, (x, y, 256), shared_mem=1024)  # x is const float*: fine
    y.flags.writeable = False
    with pytest.raises(runtime.LaunchError, match=r"'y' \(float\*\) expects a C-contiguous "
                       r"writeable float32 numpy array.*got a read-only array"):
        emu.reverse_dynamic(1, 256, (x, y, 256), shared_mem=1024)


def test_scalars_arrive_at_their_own_width(mod):
    xp = mod.backend.xp
    out = xp.zeros(5)
    mod.echo_scalars(1, 1, (-7, 2**40 + 3, 1.5, 1e300, np.uint32(2**32 - 1), out))
    np.testing.assert_array_equal(host(out), [-7, 2**40 + 3, 1.5, 1e300, 2**32 - 1])


# ---- execution model ----------------------------------------------------------------------

@pytest.mark.parametrize("grid, block", [((3, 2, 2), (4, 3, 2)), (2, (32, 32)), (5, 1)])
def test_thread_and_block_indices(mod, grid, block):
    grid = tuple(grid) if isinstance(grid, tuple) else (grid,)
    block = tuple(block) if isinstance(block, tuple) else (block,)
    grid3, block3 = grid + (1,) * (3 - len(grid)), block + (1,) * (3 - len(block))
    xp = mod.backend.xp
    out = xp.full(6 * int(np.prod(grid3)) * int(np.prod(block3)), -1, np.int32)
    mod.thread_ids(grid if len(grid) > 1 else grid[0], block, (out,))
    # C order over (gz, gy, gx, bz, by, bx) is the kernel's linear index: x fastest.
    gz, gy, gx, tz, ty, tx = np.indices(grid3[::-1] + block3[::-1]).reshape(6, -1)
    expected = np.stack([tx, ty, tz, gx, gy, gz], axis=1).ravel()
    np.testing.assert_array_equal(host(out), expected)


def test_static_shared_memory_with_barrier(mod):
    xp = mod.backend.xp
    x = xp.asarray(np.random.default_rng(0).standard_normal(8 * 256), dtype=np.float32)
    y = xp.full_like(x, np.nan)
    mod.reverse_blocks(8, 256, (x, y))
    np.testing.assert_array_equal(host(y).reshape(8, 256), host(x).reshape(8, 256)[:, ::-1])


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random"])
def test_missing_barrier_is_a_race(emu, schedule):
    """Without __syncthreads() a thread reads the tile before its writer got there (on a GPU,
    too): under every schedule some thread reads before the thread it reads from writes."""
    x = np.arange(16 * 256, dtype=np.float32)
    y = np.full_like(x, np.nan)
    with runtime.schedule(schedule, seed=1):
        emu.reverse_blocks_racy(16, 256, (x, y))
    assert not np.array_equal(y.reshape(16, 256), x.reshape(16, 256)[:, ::-1])


@pytest.mark.parametrize("n, threads", [(1000, 128), (256, 256), (5, 32)])
def test_dynamic_shared_memory(mod, n, threads):
    xp = mod.backend.xp
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    blocks = -(-n // threads)
    y = xp.full(n, np.nan, np.float32)
    mod.reverse_dynamic(blocks, threads, (xp.asarray(x), y, n), shared_mem=4 * threads)
    padded = np.zeros(blocks * threads, np.float32)
    padded[:n] = x
    np.testing.assert_array_equal(host(y), padded.reshape(blocks, threads)[:, ::-1].ravel()[:n])


def test_file_scope_dynamic_shared_memory(mod):
    xp = mod.backend.xp
    n, threads = 1000, 64
    x = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    blocks = -(-n // threads)
    sums = xp.full(blocks, np.nan, np.float32)
    mod.block_sums(blocks, threads, (xp.asarray(x), sums, n), shared_mem=4 * threads)
    expected = np.add.reduceat(x.astype(np.float64), np.arange(0, n, threads))
    np.testing.assert_allclose(host(sums), expected, rtol=1e-5, atol=1e-5)


def test_unwritten_dynamic_shared_memory_reads_nan(emu):
    out = np.zeros(3 * 64, np.float32)
    emu.read_unwritten_shared(3, 64, (out,), shared_mem=4 * 64)
    assert np.isnan(out).all()


def test_float_atomic_add_from_many_threads(mod):
    xp = mod.backend.xp
    total = xp.zeros(1, np.float32)
    mod.atomic_sum(64, 256, (total, 0.5))
    assert host(total)[0] == 64 * 256 * 0.5  # exact: every partial sum is representable


def test_int_atomic_add_returns_old_values(mod):
    xp = mod.backend.xp
    counter, tickets = xp.zeros(1, np.int32), xp.full(32 * 128, -1, np.int32)
    mod.take_tickets(32, 128, (counter, tickets))
    assert host(counter)[0] == 32 * 128
    np.testing.assert_array_equal(np.sort(host(tickets)), np.arange(32 * 128))


def test_syncthreads_count(mod):
    xp = mod.backend.xp
    n, threads = 1000, 128
    x = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    counts = xp.full(8, -1, np.int32)
    mod.count_positive(8, threads, (xp.asarray(x), counts, n))
    padded = np.zeros(8 * threads, np.float32)
    padded[:n] = x
    np.testing.assert_array_equal(host(counts), (padded.reshape(8, threads) > 0).sum(axis=1))


def test_min_max_overloads(mod):
    xp = mod.backend.xp
    n = 77
    x = np.linspace(-3, 3, n, dtype=np.float32)
    y, d = xp.zeros(n, np.float32), xp.zeros(n, np.int32)
    mod.clamp_and_distance(3, 32, (xp.asarray(x), y, d, n))
    np.testing.assert_array_equal(host(y), np.clip(x, -1, 1))
    i = np.arange(n)
    np.testing.assert_array_equal(host(d), np.minimum(i, n - 1 - i) + i // 32)


def test_blocks_need_no_os_thread_per_cuda_thread(cache):
    """A block's threads are fibers: a 256-thread block with barriers runs on one OS thread
    (OMP_THREAD_LIMIT=1), where one OS thread per CUDA thread could not."""
    code = textwrap.dedent(f"""
        import numpy as np
        from pathlib import Path
        from rednet_cupy import runtime
        m = runtime.load_source(Path({str(CHECKS)!r}))
        x = np.arange(4 * 256, dtype=np.float32)
        y = np.full_like(x, np.nan)
        m.reverse_blocks(4, 256, (x, y))
        print("OK" if np.array_equal(y.reshape(4, 256), x.reshape(4, 256)[:, ::-1]) else "WRONG")
    """)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "OK", done.stdout + done.stderr


# ---- build, cache, errors -----------------------------------------------------------------

TINY = 'extern "C" __global__ void inc(float* y) { y[threadIdx.x] += 1.0f; }\n'


def test_cache_is_reused_and_a_changed_source_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("REDNET_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("REDNET_EMU_SANITIZE", raising=False)
    compiled = compiler.stats["compiled"]
    mod = runtime.load_source(TINY, name="tiny")
    assert compiler.stats["compiled"] == compiled + 1
    (lib,) = (tmp_path / "emulator").glob("*.so")
    assert lib == mod.backend.path
    mtime = lib.stat().st_mtime_ns

    loader.clear()  # forget the in-process module: only the disk cache is left
    again = runtime.load_source(TINY, name="tiny")
    assert again is not mod and again.backend.path == lib
    assert compiler.stats["compiled"] == compiled + 1 and lib.stat().st_mtime_ns == mtime
    y = np.zeros(4, np.float32)
    again.inc(1, 4, (y,))
    np.testing.assert_array_equal(y, 1)

    runtime.load_source(TINY.replace("1.0f", "2.0f"), name="tiny")
    assert compiler.stats["compiled"] == compiled + 2
    assert len(list((tmp_path / "emulator").glob("*.so"))) == 2


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("REDNET_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.cache_dir() == tmp_path / "xdg" / "rednet-cupy"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert runtime.cache_dir() == Path.home() / ".cache" / "rednet-cupy"
    monkeypatch.setenv("REDNET_CACHE_DIR", str(tmp_path / "mine"))
    assert runtime.cache_dir() == tmp_path / "mine"


def test_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("REDNET_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    with pytest.raises(runtime.CompilerNotFound, match=r"CXX='/nonexistent/g\+\+'.*"
                       r"apt-get install g\+\+"):
        runtime.load_source(TINY, name="tiny")
    info = runtime.info()
    assert not info["compiler"]["available"] and "emulate" not in info["devices"]


def test_compile_error_carries_the_compilers_message(cache):
    broken = TINY + 'extern "C" __global__ void bad(float* y) {\n  y[0] = undeclared_name;\n}\n'
    with pytest.raises(runtime.KernelError) as e:
        runtime.load_source(broken, name="broken")
    message = str(e.value)
    assert "broken.cu:3" in message and "undeclared_name" in message and "error" in message


def test_no_kernel_in_source(cache):
    with pytest.raises(runtime.KernelError, match='no extern "C" __global__ kernel'):
        runtime.load_source("__device__ float f(float x) { return x; }", name="empty")


def test_load_names_the_project_kernels(cache):
    assert runtime.kernel_dir().name == "kernels"
    with pytest.raises(runtime.KernelError, match="no kernel file no_such_op.cu"):
        runtime.load("no_such_op")
    with pytest.raises(ValueError, match="device must be one of emulate, cuda"):
        runtime.load_source(TINY, device="cpu")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
@pytest.mark.parametrize("path", sorted(KERNELS.glob("*.cu")), ids=lambda p: p.name)
def test_test_kernels_are_valid_cuda(path, tmp_path):
    done = subprocess.run(["nvcc", "-cubin", "-arch=sm_90", "-o", str(tmp_path / "k.cubin"),
                           str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---- sanitizer ----------------------------------------------------------------------------

def test_sanitizer_needs_the_asan_runtime_preloaded(cache, monkeypatch):
    import ctypes

    if hasattr(ctypes.CDLL(None), "__asan_init"):
        pytest.skip("this Python already runs with AddressSanitizer")
    monkeypatch.setenv("REDNET_EMU_SANITIZE", "1")
    with pytest.raises(runtime.KernelError, match=r"LD_PRELOAD=\$\(g\+\+ -print-file-name="
                       r"libasan.so\) ASAN_OPTIONS=detect_leaks=0 REDNET_EMU_SANITIZE=1"):
        runtime.load_source(TINY, name="tiny")


OVERRUNS = {
    # an off-by-one past the end of a NumPy array (global memory)
    "global": ("out_of_bounds.cu", "y = np.zeros(1000, np.float32)",
               "m.fill_past_end(4, 256, (y, 1000))", "out_of_bounds.cu:5 in fill_past_end"),
    # a launch given less dynamic shared memory than the kernel uses
    "shared": ("runtime_checks.cu", "x = np.zeros(1000, np.float32); y = x.copy()",
               "m.reverse_dynamic(8, 128, (x, y, 1000), shared_mem=256)",
               "runtime_checks.cu:42 in reverse_dynamic"),
}


@pytest.mark.parametrize("case", list(OVERRUNS))
def test_sanitizer_catches_an_out_of_bounds_write(cache, case):
    if compiler.asan_runtime() is None:
        pytest.skip("the C++ compiler has no AddressSanitizer runtime (libasan.so)")
    file, setup, launch, where = OVERRUNS[case]
    code = textwrap.dedent(f"""
        import numpy as np
        from pathlib import Path
        from rednet_cupy import runtime
        m = runtime.load_source(Path({str(KERNELS / file)!r}))
        {setup}
        {launch}
        print("not caught")
    """)
    done = subprocess.run([sys.executable, "-c", code], env=runtime.sanitizer_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "not caught" not in done.stdout, done.stdout + done.stderr
    assert "AddressSanitizer: heap-buffer-overflow" in done.stderr
    assert where in done.stderr, done.stderr[-3000:]


# ---- the cuda path ------------------------------------------------------------------------

def test_cuda_available_says_why(monkeypatch):
    ok, reason = runtime.cuda_available()
    assert isinstance(ok, bool) and reason
    monkeypatch.setitem(sys.modules, "cupy", None)  # as if CuPy were not installed
    ok, reason = runtime.cuda_available()
    assert not ok and "pip install 'rednet-cupy[cuda12]'" in reason and "[cuda13]" in reason


def test_info_reports_devices_and_tools(cache):
    info = runtime.info()
    assert info["devices"][:2] == ["cpu", "emulate"]
    assert info["compiler"]["available"] and info["compiler"]["version"]
    assert info["emulator_cache"] == str(cache / "emulator") and info["sanitizer"] is False
    assert ("cuda" in info["devices"]) == info["cuda"]["available"]


def _fake_cupy(calls):
    """Just enough of CuPy to see what the cuda path hands it."""

    class ndarray(np.ndarray):
        pass

    class RawModule:
        def __init__(self, code, options):
            calls.append(("RawModule", code, options))

        def get_function(self, name):
            return lambda grid, block, args, shared_mem=0: calls.append(
                (name, grid, block, args, shared_mem))

    return types.SimpleNamespace(__name__="cupy", ndarray=ndarray, RawModule=RawModule)


def test_cuda_path_hands_cupy_checked_arguments(monkeypatch, cache):
    calls = []
    cupy = _fake_cupy(calls)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(loader, "_modules", {})  # keep the stand-in out of the module memo
    mod = runtime.load_source(CHECKS, device="cuda")
    # with CUDA 12's pip wheels, nvrtc_options also names the folder of the crt/ headers
    assert calls[0] == ("RawModule", CHECKS.read_text(), gpu.nvrtc_options([KERNELS]))
    assert calls[0][2][:2] == ("-std=c++17", f"-I{KERNELS}")
    x = np.zeros(256, np.float32).view(cupy.ndarray)
    y = np.zeros(256, np.float32).view(cupy.ndarray)
    mod.reverse_dynamic(2, (128,), (x, y, 256), shared_mem=512)
    name, grid, block, args, shared = calls[-1]
    assert (name, grid, block, shared) == ("reverse_dynamic", (2, 1, 1), (128, 1, 1), 512)
    assert args[0] is x and args[1] is y and type(args[2]) is np.int32
    with pytest.raises(runtime.LaunchError, match="expects a C-contiguous float32 cupy array, "
                       "got a numpy array"):
        mod.reverse_dynamic(2, 128, (np.zeros(256, np.float32), y, 256))
