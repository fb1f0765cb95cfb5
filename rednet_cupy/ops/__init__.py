"""The ops contract: one namespace per device, the same names and signatures everywhere.

    F = ops.get("cpu")          # the NumPy reference, vectorised
    F = ops.get("emulate")      # kernels/*.cu compiled for this CPU by the emulator
    F = ops.get("cuda")         # kernels/*.cu compiled by CuPy for an NVIDIA GPU
    F = ops.get("auto")         # cuda when usable, else cpu
    F = ops.get("cuda", conv=5) # version 5 of the convolution kernels (ops.conv_versions())
    F = ops.get("cuda", precision="bf16")  # the tensor-core version 7, bf16 inputs

Besides the contract (conv2d_forward, conv2d_relu_forward, conv2d_backward, deconv2d_forward,
deconv2d_relu_forward, deconv2d_backward, relu_forward, relu_backward, skip_add_forward,
mse_loss_forward, mse_loss_backward, adam_step; the two *_relu_forward are the fused layers
of RED-Net, see ops/conv2d.forward_epilogue) every namespace carries: `name`, `xp` (numpy
or cupy), `asarray(a, dtype)` to move a NumPy array onto the device, `to_numpy(a)` to bring
one back, `synchronize()`.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import numpy as np

from rednet_cupy.ops import versions
from rednet_cupy.ops.versions import ConvVersion, WeightGradVersion

DEVICES = ("cpu", "emulate", "cuda")

CONTRACT = (
    "conv2d_forward",
    "conv2d_relu_forward",
    "conv2d_backward",
    "deconv2d_forward",
    "deconv2d_relu_forward",
    "deconv2d_backward",
    "relu_forward",
    "relu_backward",
    "skip_add_forward",
    "mse_loss_forward",
    "mse_loss_backward",
    "adam_step",
)


def resolve(device: str) -> str:
    """Map 'auto' to 'cuda' when a GPU is usable here, else 'cpu'; validate the name."""
    if device == "auto":
        from rednet_cupy import runtime

        return "cuda" if runtime.cuda_available()[0] else "cpu"
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of auto, {', '.join(DEVICES)}")
    return device


def conv_versions() -> tuple[ConvVersion, ...]:
    """The forward/input-gradient convolution versions: number, name, file, description and
    the weight-gradient version each runs with (`weight_grad_versions()`)."""
    return versions.VERSIONS


def weight_grad_versions() -> tuple[WeightGradVersion, ...]:
    return versions.WEIGHT_GRADS


# typed: conv=2.0 or conv=True must not find the namespace of conv=2 or conv=1.
@lru_cache(maxsize=None, typed=True)
def get(device: str = "auto", conv: int | None = None,
        precision: str | None = None) -> SimpleNamespace:
    """The ops namespace of `device` ('cpu', 'emulate', 'cuda' or 'auto').

    `conv` (an int of `conv_versions()`) picks the convolution kernels of a kernel device,
    None its default: version 6 on emulate (the quickest there), 2 on cuda until a GPU has
    timed the ladder (REDNET_CONV=N sets another). `precision` ("fp32", "tf32",
    "bf16", "fp16") is what the convolutions round their inputs to: anything but fp32 runs
    the tensor-core version 7 (sums stay float32). The cpu device accepts both and runs NumPy
    in float32 whatever they are."""
    name = resolve(device)
    conv = versions.check(conv)
    versions.resolve(conv, precision)  # a bad combination fails on every device
    if name == "cpu":
        from rednet_cupy import reference

        funcs = {op: getattr(reference, op) for op in CONTRACT}
        return SimpleNamespace(
            name="cpu",
            xp=np,
            asarray=lambda a, dtype=np.float32: np.ascontiguousarray(a, dtype=dtype),
            to_numpy=np.asarray,
            synchronize=lambda: None,
            **funcs,
        )
    from rednet_cupy.ops import device

    return device.namespace(name, conv, precision)
