"""The numbered versions of the convolution kernels, from naive to warp-tiled.

Forward / input-gradient versions v1-v6 (the input gradient and deconv2d's forward pass are
the same kernel on flipped weights) and weight-gradient versions w1-w3. Each lives in its own
kernels/ file, whose header says what it changes from the previous one and why; version 2 and
w1 are the original kernels/conv2d.cu. `ops.get(device, conv=N)` runs version N with its
paired weight gradient.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ConvVersion:
    number: int
    name: str
    file: str  # under kernels/
    description: str
    weight_grad: int  # the weight-gradient version run with it


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
)

# Emulate: version 2 (the tests' long-standing kernels, and quick on the emulator's threads).
# Cuda: the default is the fastest version *verified* on a GPU, and no version has run on one
# yet, so it stays at version 2 until benchmarks/gpu_check.sh has checked and timed the
# ladder; version 6 (the most reuse per load, its tile shape timed per layer) is what the
# design expects to win, and `conv=6` or REDNET_CONV=6 selects it.
# REDNET_CONV=N overrides both (for a whole program, e.g. a training run on another version).
DEFAULT = {"emulate": 2, "cuda": 2}


def check(conv: object) -> int | None:
    """None, or the number of a forward version; anything else is a ValueError."""
    numbers = [v.number for v in VERSIONS]
    if conv is None:
        return None
    if isinstance(conv, bool) or not isinstance(conv, int) or conv not in numbers:
        raise ValueError(f"conv must be one of {numbers} (see ops.conv_versions()), got {conv!r}")
    return conv


def default(device: str) -> int:
    """The version `device` ("emulate" or "cuda") runs when none is asked for."""
    forced = os.environ.get("REDNET_CONV")
    if not forced:
        return DEFAULT[device]
    numbers = [v.number for v in VERSIONS]
    if forced.strip() not in {str(n) for n in numbers}:
        raise ValueError(f"REDNET_CONV={forced!r}: conv must be one of {numbers}")
    return int(forced)


def version(number: int) -> ConvVersion:
    return VERSIONS[number - 1]
