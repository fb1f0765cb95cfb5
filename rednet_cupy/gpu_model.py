"""A paper model of two GPUs, for reasoning about a kernel without running it on one.

`occupancy` says how many warps a multiprocessor keeps in flight for a kernel's registers,
shared memory and block size (the hardware's allocation rules). `roofline` bounds a kernel's
speed from what it computes and what it moves through the L1 / shared-memory data path, the
numbers the emulator's memory profile counts exactly (runtime.profiling()):

    time >= FLOPs / peak                      (the arithmetic units)
    time >= bytes through L1/shared / (SMs x clock x 128 B)

On sm_80 and sm_90, L1 and shared memory are one SRAM with one data path delivering 128
bytes per clock per multiprocessor: a global sector (32 B) read through L1 and a shared
wavefront (up to 128 B, one pass of the 32 banks) both take their share of it. What this
leaves out (DRAM and L2 bandwidth, latency, instruction issue) can only make a kernel slower,
so the bound is an upper bound on TFLOP/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Dense peak TFLOP/s (no sparsity) per precision, from NVIDIA's data sheets (SXM parts): fp32
# on the CUDA cores, the others on the tensor cores. Keyed by a part of the GPU's name.
PEAKS = {"H200": {"fp32": 67.0, "tf32": 495.0, "bf16": 989.0, "fp16": 989.0},
         "H100": {"fp32": 67.0, "tf32": 495.0, "bf16": 989.0, "fp16": 989.0},
         "A100": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
         "L4": {"fp32": 30.0, "tf32": 60.0, "bf16": 121.0, "fp16": 121.0},
         "T4": {"fp32": 8.1, "fp16": 65.0}}


def peak_tflops(gpu_name: str, precision: str) -> float | None:
    """The dense peak of the GPU whose name contains a key of PEAKS, or None."""
    for key, table in PEAKS.items():
        if key in gpu_name:
            return table.get(precision)
    return None


@dataclass(frozen=True)
class Gpu:
    name: str
    arch: str
    sms: int
    clock_ghz: float  # boost clock
    regs_per_sm: int = 65536
    smem_per_sm: int = 164 * 1024  # usable shared memory per SM (bytes)
    max_warps: int = 64
    max_blocks: int = 32

    def peak_tflops(self, precision: str) -> float:
        return PEAKS[self.name.split()[0]][precision]


A100 = Gpu("A100 SXM", "sm_80", 108, 1.41, smem_per_sm=164 * 1024)
H100 = Gpu("H100 SXM", "sm_90", 132, 1.83, smem_per_sm=228 * 1024)
GPUS = (A100, H100)


def kernel_resources(arch: str, path: Path | None = None) -> dict[tuple[str, str], tuple]:
    """What ptxas reported per kernel for `arch` ("sm_80"), from kernels/RESOURCES.md
    (benchmarks/kernel_resources.py writes it): (file, kernel) -> (registers, shared bytes,
    spill bytes)."""
    if path is None:
        from rednet_cupy.runtime import kernel_dir

        path = kernel_dir() / "RESOURCES.md"
    text = path.read_text().split(f"## {arch}")[1].split("\n## ")[0]
    out = {}
    for line in text.splitlines():
        cells = [c.strip(" `") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0].endswith(".cu"):
            out[cells[0], cells[1]] = (int(cells[2]), int(cells[3]),
                                       int(cells[4]) + int(cells[5]))
    return out


def occupancy(gpu: Gpu, registers: int, shared_bytes: int, threads: int) -> float:
    """Share of the multiprocessor's warp slots a kernel fills: blocks are limited by
    registers (allocated per warp in units of 256), shared memory, and the block and warp
    limits."""
    warps = -(-threads // 32)
    regs_per_warp = -(-registers * 32 // 256) * 256
    by_regs = gpu.regs_per_sm // (regs_per_warp * warps) if registers else gpu.max_blocks
    by_smem = gpu.smem_per_sm // shared_bytes if shared_bytes else gpu.max_blocks
    blocks = min(by_regs, by_smem, gpu.max_blocks, gpu.max_warps // warps)
    return blocks * warps / gpu.max_warps


def roofline(gpu: Gpu, precision: str, flops: float, global_sectors: float,
             shared_wavefronts: float) -> float:
    """Upper bound on TFLOP/s: the arithmetic peak, or the L1/shared data path's 128 bytes
    per clock per SM carrying 32 bytes per global sector and 128 per shared wavefront."""
    path_bytes = 32.0 * global_sectors + 128.0 * shared_wavefronts
    path_per_s = gpu.sms * gpu.clock_ghz * 1e9 * 128.0
    memory_bound = flops / (path_bytes / path_per_s) / 1e12 if path_bytes else float("inf")
    return min(gpu.peak_tflops(precision), memory_bound)
