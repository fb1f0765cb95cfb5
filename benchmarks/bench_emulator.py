"""Time the `emulate` device: the cost of one block, and of a RED-Net pass, against `cpu`.

Two measurements (issue 23 sets a target for each):

1. block: tests/kernels/runtime_checks.cu's `two_barriers` kernel, blocks of 256 threads that
   each cross two __syncthreads(), launched with --blocks blocks; the result is wall time per
   block in microseconds (all cores working, so on 2 cores two blocks run at once).
   Target: <= 50 us per block.
2. red10: RED10 (width 64, padding 1) forward + backward on a batch of 2 one-channel 50x50
   images, on `emulate` and on `cpu` (the NumPy reference ops); the result is the ratio.
   Target: emulate within 30x of cpu.

    python benchmarks/bench_emulator.py                      # both, prints a Markdown table
    python benchmarks/bench_emulator.py --part block --blocks 8
    python benchmarks/bench_emulator.py --part conv1         # one 1->64 conv layer only

`conv1` times only the first conv layer's forward launch (1 -> 64 channels on the same
batch); it exists to measure an emulator too slow for a whole RED10 pass.

The environment variable REDNET_EMU_SCHEDULE (forward, reverse, random[:seed]) applies as in
any other use of the emulator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from rednet_cupy import ops, runtime  # noqa: E402
from rednet_cupy.model import RedNet, preset  # noqa: E402

CHECKS = ROOT / "tests" / "kernels" / "runtime_checks.cu"


def timed(fn, repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall times of `repeats` calls after a warm-up; their CPU times (all threads of the
    process) go to `cpu`, a measure that a busy machine disturbs less."""
    fn()  # warm-up: compiles and caches the kernel library
    out = []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return out


def bench_block(blocks: int, repeats: int) -> dict[str, float]:
    mod = runtime.load_source(CHECKS, device="emulate")
    n = blocks * 256
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    y = np.empty_like(x)
    cpu: list[float] = []
    times = timed(lambda: mod.two_barriers(blocks, 256, (x, y, n)), repeats, cpu)
    expected = x + np.roll(x.reshape(blocks, 256), -1, axis=1).ravel()
    expected = expected.reshape(blocks, 256)
    expected = (expected + np.roll(expected, 1, axis=1)).ravel()
    assert np.allclose(y, expected, rtol=1e-6, atol=1e-6), "two_barriers computed a wrong y"
    per_block = [t / blocks * 1e6 for t in times]
    return {"median_us": statistics.median(per_block), "min_us": min(per_block),
            "cpu_us": statistics.median(c / blocks * 1e6 for c in cpu)}


def red10_pass(device: str):
    cfg = preset("RED10", width=64)
    F = ops.get(device)
    net = RedNet(cfg, F)
    rng = np.random.default_rng(0)
    x = F.asarray(rng.standard_normal((2, 1, 50, 50)).astype(np.float32))
    dy = F.asarray(rng.standard_normal((2, 1, 50, 50)).astype(np.float32))

    def run():
        net.forward(x)
        net.backward(dy)

    return run


def bench_conv1(repeats: int) -> float:
    F = ops.get("emulate")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 50, 50)).astype(np.float32)
    w = rng.standard_normal((64, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    return statistics.median(timed(lambda: F.conv2d_forward(x, w, b, 1), repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["all", "block", "red10", "conv1"], default="all")
    ap.add_argument("--blocks", type=int, default=256, help="blocks per launch (block part)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    schedule = os.environ.get("REDNET_EMU_SCHEDULE", "forward")
    print(f"cores: {os.cpu_count()}, schedule: {schedule}, load average: {os.getloadavg()[0]:.2f}")
    if args.part in ("all", "block"):
        r = bench_block(args.blocks, args.repeats)
        print(f"| block (256 threads, 2 barriers), {args.blocks} blocks a launch | "
              f"{r['median_us']:.1f} us per block (min {r['min_us']:.1f}) | CPU time "
              f"{r['cpu_us']:.1f} us per block | target <= 50 us |")
    if args.part == "conv1":
        print(f"| conv1 forward (2x1x50x50 -> 64 ch) on emulate | "
              f"{bench_conv1(args.repeats):.3f} s |")
    if args.part in ("all", "red10"):
        cpu_cpu: list[float] = []
        emu_cpu: list[float] = []
        cpu = statistics.median(timed(red10_pass("cpu"), args.repeats, cpu_cpu))
        emu = statistics.median(timed(red10_pass("emulate"), max(1, args.repeats // 2), emu_cpu))
        c, e = statistics.median(cpu_cpu), statistics.median(emu_cpu)
        print(f"| RED10 w64 fwd+bwd, batch 2 of 50x50 | wall: cpu {cpu:.3f} s, emulate "
              f"{emu:.3f} s, ratio {emu / cpu:.1f}x | CPU time: cpu {c:.3f} s, emulate {e:.3f} s, "
              f"ratio {e / c:.1f}x | target <= 30x |")


if __name__ == "__main__":
    main()
