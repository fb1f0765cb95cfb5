"""The emulator's race check (REDNET_EMU_RACECHECK=1): every project kernel runs clean under
it, and a shared-memory location written by one thread and read or written by another in the
same barrier interval ends the launch with a message naming the kernel, the block, the array
and offset, both threads and both source lines.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import runtime
from rednet_cupy.ops import conv2d
from rednet_cupy.ops.device import KernelDevice, namespace

KERNELS = Path(__file__).resolve().with_name("kernels")
CHECKS, WARPS = KERNELS / "runtime_checks.cu", KERNELS / "warp_checks.cu"

pytestmark = pytest.mark.skipif(shutil.which("addr2line") is None,
                                reason="binutils' addr2line is needed to name source lines")


@pytest.fixture(scope="module")
def racecheck(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDNET_CACHE_DIR", str(tmp_path_factory.mktemp("rednet-cache")))
        mp.delenv("REDNET_EMU_SANITIZE", raising=False)
        mp.setenv("REDNET_EMU_RACECHECK", "1")
        yield


def line_of(path: Path, text: str, after: str = "") -> int:
    """The line holding `text` (the first after the line holding `after`, if given)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i + 1 for i in range(start, len(lines)) if text in lines[i])


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_the_project_kernels_with_shared_memory_run_clean(racecheck):
    """conv2d.cu (also deconv2d's kernels) and mse_loss.cu: the files with __shared__ arrays
    and barriers. The others use no shared memory, so they cannot race there."""
    from rednet_cupy import reference as R

    F = namespace("emulate")  # a fresh namespace: its kernels are built in race-check mode
    rng = np.random.default_rng(0)
    x, w, b = f32(rng, 2, 3, 19, 17), f32(rng, 9, 3, 3, 3), f32(rng, 9)
    y = F.conv2d_forward(x, w, b, 1)
    np.testing.assert_allclose(y, R.conv2d_forward(x, w, b, 1), rtol=1e-4, atol=1e-4)
    for g, e in zip(F.conv2d_backward(y, x, w, 1), R.conv2d_backward(y, x, w, 1),
                    strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-3)
    pred, target = f32(rng, 3, 2, 17, 33), f32(rng, 3, 2, 17, 33)
    loss = F.mse_loss_forward(pred, target)
    assert abs(float(loss) - float(((pred - target) ** 2).mean())) < 1e-4


def test_test_kernels_without_races_run_clean(racecheck):
    checks, warps = runtime.load_source(CHECKS), runtime.load_source(WARPS)
    x = np.arange(4 * 256, dtype=np.float32)
    y = np.zeros_like(x)
    checks.reverse_blocks(4, 256, (x, y))
    checks.two_barriers(4, 256, (x, y, x.size))
    sums = np.zeros(16, np.float32)
    checks.block_sums(16, 64, (x, sums, x.size), shared_mem=4 * 64)
    warps.syncwarp_swap(4, 64, (x[:256], y[:256]))  # ordered by __syncwarp, not a barrier
    np.testing.assert_array_equal(y[:256], x[:256].reshape(-1, 2)[:, ::-1].ravel())
    warps.warp_sums(4, 256, (x, np.zeros(32, np.float32)))


def test_a_race_on_static_shared_memory_is_named(racecheck):
    checks = runtime.load_source(CHECKS)
    x = np.arange(2 * 256, dtype=np.float32)
    with pytest.raises(runtime.KernelError) as e:
        checks.reverse_blocks_racy(2, 256, (x, np.zeros_like(x)))
    msg = str(e.value)
    write = line_of(CHECKS, "tile[threadIdx.x] = x[base + threadIdx.x];",
                    after="void reverse_blocks_racy")
    assert msg.startswith("reverse_blocks_racy: race on shared memory in block (0, 0, 0): "
                          "__shared__ reverse_blocks_racy::tile, byte offset 512 was read by "
                          "thread 127 (warp 3, lane 31) at "), msg
    assert f"runtime_checks.cu:{write + 1} and written by thread 128 (warp 4, lane 0) at " in msg
    assert f"runtime_checks.cu:{write} in the same barrier interval" in msg


def test_a_race_on_dynamic_shared_memory_is_named(racecheck):
    checks = runtime.load_source(CHECKS)
    with pytest.raises(runtime.KernelError) as e:
        checks.neighbour_dynamic_racy(1, 64, (np.zeros(64, np.float32),), shared_mem=4 * 64)
    msg = str(e.value)
    read = line_of(CHECKS, "slots[(threadIdx.x + 1) % blockDim.x]")
    assert "dynamic shared memory (extern __shared__), byte offset 4 was read by thread 0 " \
           f"(warp 0, lane 0) at {CHECKS}:{read} and written by thread 1 (warp 0, lane 1) at " \
           f"{CHECKS}:{read - 1}" in msg, msg


def test_a_race_between_lanes_of_a_warp(racecheck):
    warps = runtime.load_source(WARPS)
    x = np.arange(64, dtype=np.float32)
    with pytest.raises(runtime.KernelError, match=r"syncwarp_swap_racy: race on shared memory "
                       r"in block \(0, 0, 0\): __shared__ syncwarp_swap_racy::s, byte offset 4 "
                       r"was read by thread 0 \(warp 0, lane 0\)"):
        warps.syncwarp_swap_racy(1, 64, (x, np.zeros_like(x)))


@pytest.mark.parametrize("schedule", ["forward", "reverse", "random"])
def test_the_missing_conv2d_barrier_is_a_reported_race(racecheck, schedule):
    """The mutation of tests/test_kernel_mutations.py, found without comparing any output."""
    path = runtime.kernel_dir() / "conv2d.cu"
    barrier = "__syncthreads();  // the patch and weights are complete before anyone reads them"
    text = path.read_text()
    racy = runtime.load_source(text.replace(barrier, ""), name="conv2d")
    dev = KernelDevice("emulate", np, poison=True)
    dev._functions[("conv2d", "conv2d_forward")] = racy.get_function("conv2d_forward")
    rng = np.random.default_rng(1)
    with runtime.schedule(schedule, seed=2), pytest.raises(runtime.KernelError) as e:
        conv2d.conv2d_forward(dev, f32(rng, 1, 2, 16, 16), f32(rng, 8, 2, 3, 3), f32(rng, 8), 1)
    msg = str(e.value)
    assert msg.startswith("conv2d_forward: race on shared memory in block (0, 0, 0): __shared__ "
                          "conv2d_forward::"), msg
    lines = {line_of(path, "patch[e / HALO][e % HALO] ="), line_of(path, "wsh[k][tid % 9] ="),
             line_of(path, "const float v = patch[ty + ki][tx + kj];"),
             line_of(path, "acc[k] += wsh[k][ki * 3 + kj] * v;")}
    named = {int(n) for n in re.findall(r"conv2d\.cu:(\d+)", msg)}
    assert len(named) == 2 and named <= lines, (named, lines, msg)


# ---- global memory ----
def test_blocks_writing_one_global_element_race(racecheck):
    checks = runtime.load_source(CHECKS)
    out = np.zeros(4, np.float32)
    checks.blocks_write(4, 32, (out, np.int32(0)))  # an element each: no race
    np.testing.assert_array_equal(out, np.arange(4))
    line = line_of(CHECKS, "if (threadIdx.x == 0) out[shared_slot ? 0 : blockIdx.x]")
    with pytest.raises(runtime.KernelError, match=(
            rf"blocks_write: race on global memory: argument 1 \(float\* out\), byte offset "
            rf"0, was written by block \(0, 0, 0\) thread 0 at .*runtime_checks.cu:{line} and "
            rf"written by block \(1, 0, 0\) thread 0 at .*runtime_checks.cu:{line} \(blocks "
            rf"are not ordered within a launch\)")):
        checks.blocks_write(4, 32, (out, np.int32(1)))


def test_a_global_race_within_a_block(racecheck):
    checks = runtime.load_source(CHECKS)
    y = np.zeros(64, np.float32)
    checks.neighbour_global(1, 64, (y, np.int32(1)))
    np.testing.assert_array_equal(y, np.arange(64) + (np.arange(64) + 1) % 64)
    read = line_of(CHECKS, "MARK global-read")
    with pytest.raises(runtime.KernelError, match=(
            rf"neighbour_global: race on global memory: argument 1 \(float\* y\), byte offset "
            rf"4, was read by block \(0, 0, 0\) thread 0 at .*runtime_checks.cu:{read} and "
            rf"written by block \(0, 0, 0\) thread 1 at .*runtime_checks.cu:{read - 2} in the "
            rf"same barrier interval")):
        checks.neighbour_global(1, 64, (np.zeros(64, np.float32), np.int32(0)))


def test_every_ladder_version_runs_clean(racecheck):
    """Shared and global memory, every forward and weight-gradient version and precision."""
    from rednet_cupy import ops
    from rednet_cupy import reference as R
    from rednet_cupy.ops import conv_ladder

    rng = np.random.default_rng(3)
    x, w, b = f32(rng, 2, 5, 9, 7), f32(rng, 6, 5, 3, 3), f32(rng, 6)
    dy = f32(rng, 2, 6, 9, 7)
    want = R.conv2d_forward(x, w, b, 1)
    for v in ops.conv_versions():
        for precision in v.precisions:
            dev = namespace("emulate", conv=v.number,
                            precision=None if precision == "fp32" else precision).device
            y = conv_ladder.forward(dev, v.number, x, w, b, 1)
            assert np.abs(y - want).max() < 0.05 * np.abs(want).max(), (v.number, precision)
            conv_ladder.weight_grad(dev, v.weight_grad, dy, x, 1)
