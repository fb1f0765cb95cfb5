"""The numbered versions of the convolution kernels, from naive to tensor cores.

Forward / input-gradient versions v1-v7 (the input gradient and deconv2d's forward pass are
the same kernel on flipped weights) and weight-gradient versions w1-w4. Each lives in its own
kernels/ file, whose header says what it changes from the previous one and why; version 2 and
w1 are the original kernels/conv2d.cu. `ops.get(device, conv=N)` runs version N with its
paired weight gradient. Versions 1-6 compute in float32 ("fp32"); version 7 and w4 run on the
tensor cores in one of the precisions "tf32", "bf16" or "fp16" (inputs rounded to it, sums
in float32), chosen with `ops.get(device, precision=...)`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConvVersion:
    number: int
    name: str
    file: str  # under kernels/
    description: str
    weight_grad: int  # the weight-gradient version run with it
    precisions: tuple[str, ...] = ("fp32",)  # what its inputs are rounded to


@dataclass(frozen=True)
class WeightGradVersion:
    number: int
    name: str
    file: str
    description: str


VERSIONS: tuple[ConvVersion, ...] = (
    ConvVersion(1, "naive", "conv2d_v1.cu",
                "one thread per output value, every input and weight loaded from global memory",
                1),
    ConvVersion(2, "shared tile", "conv2d.cu",
                "16x16 output tile per block, input patch and weights staged in shared memory "
                "per input channel, 8 output channels per thread", 1),
    ConvVersion(3, "register blocking", "conv2d_v3.cu",
                "4 pixels x 8 output channels per thread from registers, 4 input channels "
                "per shared-memory stage", 1),
    ConvVersion(4, "implicit GEMM", "conv2d_v4.cu",
                "C_out x (N*Ho*Wo) x (C_in*9) matrix product over flattened pixels, 64x64 "
                "block tile, 4x4 outputs per thread", 2),
    ConvVersion(5, "float4 + double buffer", "conv2d_v5.cu",
                "version 4 with float4 shared/global loads and stores where aligned and "
                "double-buffered shared memory", 2),
    ConvVersion(6, "warp tiling", "conv2d_v6.cu",
                "per-warp sub-tiles, 32-64 outputs per thread, block shape tuned per layer; "
                "fused bias + ReLU variant", 3),
    ConvVersion(7, "tensor cores", "conv2d_v7.cu",
                "WMMA fragments on the tensor cores, inputs rounded to tf32, bf16 or fp16 as "
                "they are staged, float32 accumulation; 4 warps of 2x2 16x16 fragments", 4,
                ("tf32", "bf16", "fp16")),
)

WEIGHT_GRADS: tuple[WeightGradVersion, ...] = (
    WeightGradVersion(1, "block per channel pair", "conv2d.cu",
                      "a 256-thread block per (c_in, c_out), strided over pixels, tree-reduced"),
    WeightGradVersion(2, "split-K implicit GEMM", "conv2d_w2.cu",
                      "16x16 tiles of dW over pixel chunks into a workspace, then a fixed-order "
                      "sum of the chunks (deterministic, no atomics)"),
    WeightGradVersion(3, "warp-tiled split-K", "conv2d_w3.cu",
                      "version 2 with 64x64 tiles, per-warp sub-tiles, 32 sums per thread, "
                      "float4 shared reads, double buffering"),
    WeightGradVersion(4, "tensor-core split-K", "conv2d_w4.cu",
                      "version 3's split-K product on the tensor cores (WMMA), dY and x rounded "
                      "to the precision, float32 partials, version 2's fixed-order reduce"),
)

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
TENSOR_CORE_VERSION = 7
# The compute capability each precision's tensor-core instructions need.
MIN_CAPABILITY = {"tf32": (8, 0), "bf16": (8, 0), "fp16": (7, 0)}

# Emulate: version 6, the quickest there (its warp tiles cross the fewest barriers per output:
# RED10 forward + backward in 3.2 s of CPU time against version 2's 14.9 s, within 17x of the
# NumPy `cpu` device; benchmarks/bench_emulator.py). The tutorials that read kernels/conv2d.cu
# ask for version 2 by number.
# Cuda: the default is the fastest version *verified* on a GPU of the same architecture
# (VERIFIED below); where none has run it is version 2, until benchmarks/gpu_check.sh has
# checked and timed the ladder. Version 6 (the most reuse per load, its tile shape timed per
# layer) is what the design expects to win in float32; `conv=6` or REDNET_CONV=6 selects it.
# REDNET_CONV=N overrides both (for a whole program, e.g. a training run on another version).
DEFAULT = {"emulate": 6, "cuda": 2}
# What a GPU has verified: benchmarks/bench_conv_ladder.py --record-default writes, per
# architecture ("sm_90") and precision, the fastest version whose every pass it checked and
# timed at RED-Net's training shape. The cuda device's default comes from here when the file
# names its architecture, and is DEFAULT["cuda"] otherwise.
VERIFIED = Path(__file__).with_name("verified.json")


def verified(arch: str, precision: str = "fp32", path: Path | None = None) -> int | None:
    """The fastest verified version for `arch` and `precision`, or None."""
    path = VERIFIED if path is None else path
    if not path.is_file():
        return None
    try:
        table = json.loads(path.read_text())
        number = table[arch][precision]["version"]
    except (KeyError, TypeError, ValueError):
        return None
    return number if number in [v.number for v in VERSIONS] else None


def check(conv: object) -> int | None:
    """None, or the number of a forward version; anything else is a ValueError."""
    numbers = [v.number for v in VERSIONS]
    if conv is None:
        return None
    if isinstance(conv, bool) or not isinstance(conv, int) or conv not in numbers:
        raise ValueError(f"conv must be one of {numbers} (see ops.conv_versions()), got {conv!r}")
    return conv


def resolve(conv: int | None, precision: str | None) -> tuple[int | None, str]:
    """(conv, precision) made consistent: a tensor-core precision means version 7, version 7
    means tf32 unless told otherwise, and float32 versions only compute in "fp32"."""
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if conv is None and precision not in (None, "fp32"):
        conv = TENSOR_CORE_VERSION
    if conv is None:
        return None, "fp32"
    allowed = version(conv).precisions
    precision = precision or allowed[0]
    if precision not in allowed:
        raise ValueError(f"version {conv} computes in {' or '.join(allowed)}, not {precision} "
                         f"(tensor-core precisions: conv={TENSOR_CORE_VERSION})")
    return conv, precision


def default(device: str, arch: str | None = None) -> int:
    """The version `device` ("emulate" or "cuda") runs when none is asked for; on cuda, the
    fastest version verified on `arch` when there is one."""
    forced = os.environ.get("REDNET_CONV")
    if not forced:
        if device == "cuda" and arch and (number := verified(arch)) is not None:
            return number
        return DEFAULT[device]
    numbers = [v.number for v in VERSIONS]
    if forced.strip() not in {str(n) for n in numbers}:
        raise ValueError(f"REDNET_CONV={forced!r}: conv must be one of {numbers}")
    return int(forced)


def version(number: int) -> ConvVersion:
    return VERSIONS[number - 1]
