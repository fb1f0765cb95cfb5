"""The emulator's schedules: every op of the `emulate` namespace gives the same bits whether a
block's threads run forward, in reverse or in seeded random orders (a kernel that is correct
on a GPU cannot depend on the order), and matches the reference under each. A kernel whose
barrier was removed gives different results under different schedules: comparing schedules
finds a race even without a reference.

Also: the schedule setting itself (REDNET_EMU_SCHEDULE, runtime.schedule) and the ucontext
fallback that platforms other than x86-64 use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import ops, runtime
from rednet_cupy.ops import conv2d
from rednet_cupy.ops.device import KernelDevice
from rednet_cupy.runtime import compiler, emulator

SCHEDULES = [("forward", 0), ("reverse", 0), ("random", 1), ("random", 2)]


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def every_op(F) -> dict[str, list[np.ndarray]]:
    """Each op of the contract once, on odd shapes (partial tiles, partial channel groups)."""
    rng = np.random.default_rng(0)
    out = {}
    for p in (0, 1):
        x, w, b = f32(rng, 2, 3, 19, 17), f32(rng, 9, 3, 3, 3), f32(rng, 9)
        y = F.conv2d_forward(x, w, b, p)
        out[f"conv2d_forward p{p}"] = [y]
        out[f"conv2d_backward p{p}"] = list(F.conv2d_backward(f32(rng, *y.shape), x, w, p))
        x, w, b = f32(rng, 2, 9, 5, 7), f32(rng, 9, 3, 3, 3), f32(rng, 3)
        y = F.deconv2d_forward(x, w, b, p)
        out[f"deconv2d_forward p{p}"] = [y]
        out[f"deconv2d_backward p{p}"] = list(F.deconv2d_backward(f32(rng, *y.shape), x, w, p))
    x, dy = f32(rng, 3, 5, 7, 9), f32(rng, 3, 5, 7, 9)
    out["relu"] = [F.relu_forward(x), F.relu_backward(dy, x)]
    out["skip_add"] = [F.skip_add_forward(x, dy)]
    pred, target = f32(rng, 3, 2, 17, 33), f32(rng, 3, 2, 17, 33)
    out["mse_loss"] = [np.asarray(F.mse_loss_forward(pred, target)),
                       F.mse_loss_backward(pred, target)]
    param, grad = f32(rng, 1000), f32(rng, 1000)
    m, v = np.zeros_like(param), np.zeros_like(param)
    F.adam_step(param, grad, m, v, 1, 1e-3)
    out["adam"] = [param, m, v]
    return {k: [np.atleast_1d(np.array(a, copy=True)) for a in v] for k, v in out.items()}


@pytest.fixture(scope="module")
def results():
    F = ops.get("emulate")
    by_schedule = {}
    for name, seed in SCHEDULES:
        with runtime.schedule(name, seed):
            by_schedule[(name, seed)] = every_op(F)
    return by_schedule, every_op(ops.get("cpu"))


@pytest.mark.parametrize("schedule", SCHEDULES[1:], ids=lambda s: f"{s[0]}{s[1] or ''}")
def test_every_op_gives_the_same_bits_under_every_schedule(results, schedule):
    by_schedule, _ = results
    forward, other = by_schedule[("forward", 0)], by_schedule[schedule]
    for op, arrays in forward.items():
        for a, b in zip(arrays, other[op], strict=True):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), op


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: f"{s[0]}{s[1] or ''}")
def test_every_op_matches_the_reference_under_every_schedule(results, schedule):
    by_schedule, reference = results
    for op, arrays in by_schedule[schedule].items():
        for a, e in zip(arrays, reference[op], strict=True):
            e = np.asarray(e, np.float64)
            assert np.isfinite(a).all(), op
            assert np.abs(a - e).max() <= 1e-4 * max(np.abs(e).max(), 1e-30), op


def test_a_race_shows_as_a_difference_between_schedules():
    """conv2d_forward with its first barrier removed: no reference needed, the schedules
    disagree (forward reads neighbours' patch values before they are written, reverse
    reads them after)."""
    text = (runtime.kernel_dir() / "conv2d.cu").read_text()
    barrier = "__syncthreads();  // the patch and weights are complete before anyone reads them"
    assert text.count(barrier) == 1
    racy = runtime.load_source(text.replace(barrier, ""), name="conv2d_racy_schedules")
    dev = KernelDevice("emulate", np, poison=True)
    dev._functions[("conv2d", "conv2d_forward")] = racy.get_function("conv2d_forward")
    rng = np.random.default_rng(3)
    x, w, b = f32(rng, 2, 4, 20, 37), f32(rng, 9, 4, 3, 3), f32(rng, 9)
    outputs = []
    for name, seed in SCHEDULES:
        with runtime.schedule(name, seed):
            outputs.append(np.array(conv2d.conv2d_forward(dev, x, w, b, 1)))
    assert any(not np.array_equal(outputs[0], o) for o in outputs[1:])


def test_schedule_setting(monkeypatch):
    monkeypatch.delenv("REDNET_EMU_SCHEDULE", raising=False)
    assert runtime.current_schedule() == ("forward", 0)
    monkeypatch.setenv("REDNET_EMU_SCHEDULE", "random:42")
    assert runtime.current_schedule() == ("random", 42)
    with runtime.schedule("reverse"):
        assert runtime.current_schedule() == ("reverse", 0)
        with runtime.schedule("random", seed=5):
            assert runtime.current_schedule() == ("random", 5)
        assert runtime.current_schedule() == ("reverse", 0)
    assert runtime.current_schedule() == ("random", 42)
    for bad in ("sideways", "forward:3", "random:x"):
        monkeypatch.setenv("REDNET_EMU_SCHEDULE", bad)
        with pytest.raises(ValueError, match="expected forward, reverse, random"):
            runtime.current_schedule()


def test_plain_loop_mode_is_chosen_from_the_text():
    assert not emulator.needs_fibers('extern "C" __global__ void k(float* y) { y[0] = 1; }')
    for name in ("__syncthreads()", "__syncthreads_count(1)", "__syncwarp()",
                 "__shfl_xor_sync(~0u, v, 1)", "__ballot_sync(~0u, 1)", "__activemask()"):
        assert emulator.needs_fibers(f"void f() {{ {name}; }}"), name


def test_the_ucontext_fallback(tmp_path, monkeypatch):
    """Platforms without the hand-written switch (anything but x86-64) use ucontext; build
    the kernels that way here and run barriers and warp collectives on it."""
    monkeypatch.setenv("REDNET_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("REDNET_EMU_SANITIZE", raising=False)
    monkeypatch.setenv("CXX", f"{compiler.compiler_command()[0]} -DREDNET_EMU_UCONTEXT")
    kernels = Path(__file__).resolve().with_name("kernels")
    checks = runtime.load_source(kernels / "runtime_checks.cu")
    warps = runtime.load_source(kernels / "warp_checks.cu")
    x = np.arange(4 * 256, dtype=np.float32)
    for name, seed in SCHEDULES:
        with runtime.schedule(name, seed):
            y = np.full_like(x, np.nan)
            checks.reverse_blocks(4, 256, (x, y))
            np.testing.assert_array_equal(y.reshape(4, 256), x.reshape(4, 256)[:, ::-1])
            sums = np.zeros(32, np.float32)
            warps.warp_sums(4, 256, (x, sums))
            np.testing.assert_array_equal(sums, x.reshape(-1, 32).sum(axis=1))
