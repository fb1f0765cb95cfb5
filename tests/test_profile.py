"""The emulator's memory-traffic profile (runtime.profiling()) against a small model of the
GPU's rules, written here from NVIDIA's description rather than from the emulator's code:
a warp-level global access touches the distinct 32-byte sectors its lanes' bytes fall in; a
shared access needs, per part of the warp (32 lanes for up to 4 bytes, 16 for 8, 8 for 16),
as many wavefronts as the most distinct 4-byte words in one of the 32 banks.

Kernels: tests/kernels/profile_checks.cu. Then the project's convolutions: the shared-memory
tiled version 2 must read fewer global sectors per output than the naive version 1.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import runtime
from rednet_cupy.ops.device import namespace

KERNELS = Path(__file__).resolve().with_name("kernels")
CHECKS = KERNELS / "profile_checks.cu"

pytestmark = pytest.mark.skipif(shutil.which("addr2line") is None,
                                reason="binutils' addr2line is needed to name source lines")

# (block index, thread index) -> the byte offset a thread accesses, or None if it does not.
Pattern = Callable[[int, int], int | None]


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDNET_CACHE_DIR", str(tmp_path_factory.mktemp("rednet-cache")))
        mp.delenv("REDNET_EMU_SANITIZE", raising=False)
        mp.delenv("REDNET_EMU_RACECHECK", raising=False)
        yield runtime.load_source(CHECKS)


def line_of(marker: str) -> str:
    """"file:line" of the line of profile_checks.cu that carries `// MARK <marker>`."""
    for number, text in enumerate(CHECKS.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"MARK {marker}"):
            return f"{CHECKS}:{number}"
    raise AssertionError(marker)


def sectors(offsets: list[int], size: int) -> int:
    return len({s for a in offsets for s in range(a // 32, (a + size - 1) // 32 + 1)})


def wavefronts(lanes: dict[int, int], size: int) -> int:
    part = 32 if size <= 4 else 16 if size <= 8 else 8
    total = 0
    for first in range(0, 32, part):
        words = {w for lane, a in lanes.items() if first <= lane < first + part
                 for w in range(a // 4, (a + size - 1) // 4 + 1)}
        if words:
            total += max(Counter(w % 32 for w in words).values())
    return total


def warps(grid: int, block: int, pattern: Pattern) -> list[dict[int, int]]:
    """Each warp's lanes that access, with their byte offsets (one access per thread)."""
    out = []
    for b in range(grid):
        for base in range(0, block, 32):
            lanes = {t - base: pattern(b, t) for t in range(base, min(base + 32, block))}
            lanes = {lane: a for lane, a in lanes.items() if a is not None}
            if lanes:
                out.append(lanes)
    return out


def global_model(grid: int, block: int, pattern: Pattern, size: int) -> tuple[int, int]:
    """(requests, sectors)."""
    ws = warps(grid, block, pattern)
    return len(ws), sum(sectors(list(w.values()), size) for w in ws)


def shared_model(grid: int, block: int, pattern: Pattern, size: int) -> tuple[int, int]:
    """(requests, wavefronts)."""
    ws = warps(grid, block, pattern)
    return len(ws), sum(wavefronts(w, size) for w in ws)


def only(prof: runtime.Profile) -> runtime.LaunchProfile:
    assert len(prof.launches) == 1, prof.launches
    return prof.launches[0]


@pytest.mark.parametrize("grid, block, n", [(2, 64, 128), (3, 48, 130), (1, 32, 7)])
def test_a_coalesced_copy(mod, grid, block, n):
    """4 sectors per full warp; partial warps (48 threads: 32 + 16) and a partial last
    block touch fewer. Plain-loop mode: no barrier in the kernel."""
    x = np.arange(grid * block, dtype=np.float32)
    y = np.zeros_like(x)
    with runtime.profiling() as prof:
        mod.copy(grid, block, (x, y, np.int32(n)))
    np.testing.assert_array_equal(y[:n], x[:n])
    p = only(prof)

    def pattern(b: int, t: int) -> int | None:
        return 4 * (b * block + t) if b * block + t < n else None

    requests, sects = global_model(grid, block, pattern, 4)
    if block % 32 == 0 and n == grid * block:
        assert sects == 4 * requests
    assert (p.global_load_requests, p.global_load_sectors) == (requests, sects)
    assert (p.global_store_requests, p.global_store_sectors) == (requests, sects)
    assert p.bytes_global == 2 * 4 * n and p.bytes_shared == 0
    assert (p.shared_load_requests, p.shared_store_requests, p.barriers) == (0, 0, 0)
    assert p.kernel == "copy" and p.grid == (grid, 1, 1) and p.block == (block, 1, 1)
    assert list(p.lines) == [line_of("copy")]
    assert p.lines[line_of("copy")] == p.counts()


@pytest.mark.parametrize("stride", [1, 2, 4, 8, 32])
def test_a_strided_load_touches_a_sector_per_lane(mod, stride):
    grid, block, n = 2, 64, 128
    x = np.arange(n * stride, dtype=np.float32)
    y = np.zeros(n, np.float32)
    with runtime.profiling() as prof:
        mod.gather(grid, block, (x, y, np.int32(stride), np.int32(n)))
    np.testing.assert_array_equal(y, x[::stride])
    p = only(prof)
    load = p.lines[line_of("gather load")]
    store = p.lines[line_of("gather store")]
    requests, sects = global_model(grid, block, lambda b, t: 4 * stride * (b * block + t), 4)
    assert (load.global_load_requests, load.global_load_sectors) == (requests, sects)
    if stride >= 8:
        assert sects == 32 * requests  # every lane in a sector of its own
    assert (store.global_store_requests, store.global_store_sectors) == (requests, 4 * requests)
    assert load.global_store_requests == store.global_load_requests == 0


def test_an_access_through_ldg_belongs_to_the_kernel_line(mod):
    x = np.arange(64, dtype=np.float32)
    with runtime.profiling() as prof:
        mod.copy_ldg(1, 64, (x, np.zeros_like(x), np.int32(64)))
    p = only(prof)
    assert list(p.lines) == [line_of("ldg")]
    assert (p.global_load_requests, p.global_load_sectors) == (2, 8)


def test_a_float4_copy(mod):
    grid, block, n = 2, 64, 100
    x = np.arange(4 * grid * block, dtype=np.float32)
    y = np.zeros_like(x)
    with runtime.profiling() as prof:
        mod.copy4(grid, block, (x, y, np.int32(n)))
    np.testing.assert_array_equal(y[:4 * n], x[:4 * n])
    p = only(prof)
    requests, sects = global_model(
        grid, block, lambda b, t: 16 * (b * block + t) if b * block + t < n else None, 16)
    assert sectors([16 * t for t in range(32)], 16) == 16  # a full warp: 512 bytes
    assert (p.global_load_requests, p.global_load_sectors) == (requests, sects)
    assert (p.global_store_requests, p.global_store_sectors) == (requests, sects)
    assert p.bytes_global == 2 * 16 * n


def test_each_iteration_of_a_loop_is_a_request(mod):
    """The k-th execution of the load by each lane forms the warp's k-th request."""
    grid, block, reps = 2, 64, 5
    x = np.arange(reps * grid * block, dtype=np.float32)
    y = np.zeros(grid * block, np.float32)
    with runtime.profiling() as prof:
        mod.sum_rows(grid, block, (x, y, np.int32(reps)))
    np.testing.assert_allclose(y, x.reshape(reps, -1).sum(axis=0))
    load = only(prof).lines[line_of("sum_rows")]
    requests, sects = 0, 0
    for k in range(reps):
        r, s = global_model(grid, block, lambda b, t, k=k: 4 * (k * grid * block + b * block + t),
                            4)
        requests, sects = requests + r, sects + s
    assert (load.global_load_requests, load.global_load_sectors) == (requests, sects)


def test_local_arrays_are_not_global_memory(mod):
    x = np.arange(64, dtype=np.float32)
    with runtime.profiling() as prof:
        mod.local_array(1, 64, (x, np.zeros_like(x), np.int32(64)))
    p = only(prof)
    assert (p.global_load_requests, p.global_store_requests) == (2, 2)
    assert (p.shared_load_requests, p.shared_store_requests) == (0, 0)


@pytest.mark.parametrize("kernel", ["shared_stride", "dynamic_stride"])
@pytest.mark.parametrize("stride", [0, 1, 2, 3, 4, 16, 32, 33])
def test_shared_bank_conflicts(mod, kernel, stride):
    """Stride 1 and 33: conflict-free; 2: two words per bank; 32: all 32 lanes in one bank;
    0: every lane on the same word, a broadcast."""
    grid, block = 2, 64
    y = np.zeros(grid * block, np.float32)
    with runtime.profiling() as prof:
        getattr(mod, kernel)(grid, block, (y, np.int32(stride)), shared_mem=4 * 1024)
    p = only(prof)

    def word(b: int, t: int) -> int:
        return 4 * ((t * stride) & 1023)

    requests, waves = shared_model(grid, block, word, 4)
    expected = {0: 1, 1: 1, 2: 2, 3: 1, 4: 4, 16: 16, 32: 32, 33: 1}[stride]
    assert waves == expected * requests  # the model agrees with the textbook cases
    assert (p.shared_store_requests, p.shared_store_wavefronts) == (requests, waves)
    assert (p.shared_load_requests, p.shared_load_wavefronts) == (requests, waves)
    assert p.bytes_shared == 2 * 4 * grid * block
    assert p.barriers == grid * block // 32
    if kernel == "shared_stride":
        assert p.lines[line_of("shared store")].shared_store_wavefronts == waves
        assert p.lines[line_of("shared load")].shared_load_wavefronts == waves
        assert p.lines[line_of("shared barrier")].barriers == p.barriers


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_wide_shared_accesses_are_served_in_parts(mod, stride):
    """float2 per half warp and float4 per quarter warp: 2 and 4 wavefronts at the least."""
    grid, block = 1, 64
    x = np.arange(4 * block, dtype=np.float32)
    with runtime.profiling() as prof:
        mod.shared_wide(grid, block, (x, np.zeros(block, np.float32), np.int32(stride)))
    p = only(prof)
    for size, store, load in [(8, "wide store2", "wide load2"), (16, "wide store4", "wide load4")]:
        requests, waves = shared_model(grid, block,
                                       lambda b, t, size=size: size * ((t * stride) & 255), size)
        assert waves >= (2 if size == 8 else 4) * requests
        s, ld = p.lines[line_of(store)], p.lines[line_of(load)]
        assert (s.shared_store_requests, s.shared_store_wavefronts) == (requests, waves)
        assert (ld.shared_load_requests, ld.shared_load_wavefronts) == (requests, waves)


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random"])
def test_barriers_and_the_schedule(mod, schedule):
    """One barrier per warp and __syncthreads(); the counts do not depend on the order the
    threads run in."""
    grid, block, passes = 3, 96, 4
    with runtime.schedule(schedule, seed=5), runtime.profiling() as prof:
        mod.barriers(grid, block, (np.zeros(grid * block, np.float32), np.int32(passes)))
        mod.shared_stride(grid, block, (np.zeros(grid * block, np.float32), np.int32(2)))
    bars, strided = prof.launches
    warps_in_grid = grid * block // 32
    assert bars.barriers == 2 * passes * warps_in_grid
    assert bars.lines[line_of("barrier one")].barriers == passes * warps_in_grid
    assert bars.lines[line_of("barrier two")].barriers == passes * warps_in_grid
    assert bars.shared_load_requests == bars.shared_store_requests == passes * warps_in_grid
    assert bars.shared_load_wavefronts == passes * warps_in_grid
    requests, waves = shared_model(grid, block, lambda b, t: 4 * ((t * 2) & 1023), 4)
    assert (strided.shared_load_requests, strided.shared_load_wavefronts) == (requests, waves)


def test_only_launches_inside_profiling_are_recorded(mod):
    x = np.arange(64, dtype=np.float32)
    y = np.zeros_like(x)
    with runtime.profiling() as outer:
        mod.copy(1, 64, (x, y, np.int32(64)))
        with runtime.profiling() as inner:
            mod.gather(1, 64, (x, y, np.int32(1), np.int32(64)))
    mod.copy(1, 64, (x, y, np.int32(64)))  # the default build again
    assert [p.kernel for p in outer.launches] == ["copy", "gather"]
    assert [p.kernel for p in inner.launches] == ["gather"]
    assert outer.total().global_load_requests == 4
    assert outer.total("gather").global_load_requests == 2
    profile_build = mod.backend._profile_build()[0]
    assert profile_build != mod.backend.path and profile_build.exists()


def test_the_table_names_lines_and_source(mod):
    x = np.arange(256, dtype=np.float32)
    with runtime.profiling() as prof:
        mod.gather(1, 64, (x, np.zeros(64, np.float32), np.int32(4), np.int32(64)))
    table = prof.table()
    head, columns, *rows = table.splitlines()
    assert head.startswith("gather grid (1, 1, 1) block (64, 1, 1)")
    assert columns.split()[:3] == ["line", "gld", "req"]
    label = "profile_checks.cu:" + line_of("gather load").rsplit(":", 1)[1]
    load = next(r for r in rows if r.split()[0] == label)
    assert "x[i * stride]" in load and "16.0" in load.split()
    assert rows[-1].startswith("total")


def test_the_tiled_convolution_reads_fewer_sectors_per_output():
    """kernels/conv2d_v1.cu loads every input and weight from global memory; conv2d.cu
    (version 2) stages them in shared memory, so it must touch fewer global sectors per
    output, and use shared memory where version 1 uses none."""
    from rednet_cupy import reference as R

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 8, 16, 16)).astype(np.float32)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    per_output = {}
    for version in (1, 2):
        F = namespace("emulate", conv=version)
        with runtime.profiling() as prof:
            y = F.conv2d_forward(x, w, b, 1)
        np.testing.assert_allclose(y, R.conv2d_forward(x, w, b, 1), rtol=1e-4, atol=1e-4)
        total = prof.total()
        per_output[version] = (total.global_load_sectors / y.size,
                               total.shared_load_wavefronts / y.size)
    assert per_output[2][0] < per_output[1][0], per_output
    assert per_output[1][1] == 0 < per_output[2][1], per_output


def test_the_profile_command(capsys):
    """`rednet profile relu`: one launch over n = 2 * 64 floats, each read and written once,
    coalesced: a request per warp, 4 sectors per request."""
    from rednet_cupy.cli import main

    assert main(["profile", "relu", "--shape", "1,2,8,8", "--no-source"]) == 0
    out = capsys.readouterr().out.splitlines()
    n = 2 * 64
    requests = n // 32
    assert out[0].startswith("relu_forward grid")
    assert out[0].endswith(f"{2 * 4 * n} bytes global, 0 bytes shared")
    total = next(line for line in out if line.startswith("total")).split()
    assert total[1:5] == [str(requests), str(4 * requests)] * 2
    assert f"{n} outputs" in out[-1]
    assert f"{4 * requests / n:.2f} global load sectors" in out[-1]


@pytest.mark.parametrize("kernel, pad", [("transpose", 0), ("transpose_padded", 1)])
def test_a_shared_memory_transpose_with_and_without_padding(mod, kernel, pad):
    """The column read of a 32x32 tile: 32 wavefronts per request unpadded, 1 with one float
    of padding per row; the row write is conflict-free either way."""
    x = np.arange(1024, dtype=np.float32)
    y = np.zeros_like(x)
    with runtime.profiling() as prof:
        getattr(mod, kernel)(1, (32, 32), (x, y))
    np.testing.assert_array_equal(y.reshape(32, 32), x.reshape(32, 32).T)
    launch = only(prof)
    row = 32 + pad  # floats per tile row
    read = shared_model(1, 1024, lambda b, t: 4 * ((t % 32) * row + t // 32), 4)
    write = shared_model(1, 1024, lambda b, t: 4 * ((t // 32) * row + t % 32), 4)
    assert read == (32, 32 * (32 if pad == 0 else 1))
    assert (launch.shared_load_requests, launch.shared_load_wavefronts) == read
    assert (launch.shared_store_requests, launch.shared_store_wavefronts) == write == (32, 32)
    counts = launch.lines[line_of("transpose-read")]
    assert counts.shared_load_wavefronts / counts.shared_load_requests == (32 if pad == 0 else 1)
