"""What the kernel wrappers need from a device, the same for `emulate` and `cuda`.

The wrappers in this package (conv2d.py, relu.py, ...) choose grids and blocks, check
shapes and allocate outputs through a `KernelDevice`; only `runtime.load` differs between
the emulator and CuPy. So what CI runs on the emulator is the code that runs on the GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np

from rednet_cupy import checks, runtime

F32 = (np.dtype(np.float32),)


@dataclass
class KernelDevice:
    name: str  # "emulate" or "cuda"
    xp: Any  # numpy or cupy
    # Fill every output with NaN before the kernel runs, so that an element the kernel
    # forgets to write shows up as NaN instead of whatever the allocator left there.
    # On by default on the emulator (cheap there); REDNET_POISON=1 turns it on for cuda.
    poison: bool = True
    # Which version of the convolution ladder conv2d and deconv2d run (ops/versions.py), and
    # the block shape version 6 chose for each layer shape (ops/conv_ladder.py).
    conv: int = 2
    # What version 7 / w4 round their inputs to: "tf32", "bf16" or "fp16" ("fp32" for 1-6).
    precision: str = "fp32"
    tiles: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    _functions: dict[tuple[str, str], Any] = field(default_factory=dict)

    def launch(self, op: str, kernel: str, grid, block, args, shared_mem: int = 0) -> None:
        key = (op, kernel)
        if key not in self._functions:
            self._functions[key] = runtime.load(op, device=self.name).get_function(kernel)
        self._functions[key](grid, block, args, shared_mem=shared_mem)

    def empty(self, shape: tuple[int, ...]):
        a = self.xp.empty(shape, dtype=np.float32)
        if self.poison:
            a.fill(np.nan)
        return a

    def zeros(self, shape: tuple[int, ...]):
        return self.xp.zeros(shape, dtype=np.float32)

    def check(self, op: str, **arrays: Any) -> None:
        """Kernels read raw float32 memory: the arrays must be exactly that."""
        for arg, a in arrays.items():
            checks.array(op, arg, a, None, F32, self.xp, contiguous=True)


def blocks_for(n: int, threads: int = 256, cap: int = 4096) -> int:
    """Blocks for a grid-stride loop over n elements: enough to cover n, at most `cap`."""
    return max(1, min(cap, -(-n // threads)))


def capability() -> tuple[int, int]:
    """(major, minor) compute capability of the GPU CuPy uses (cuda_available() must hold)."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    return int(props["major"]), int(props["minor"])


def make_device(name: str, conv: int | None = None,
                precision: str | None = None) -> KernelDevice:
    """The device `name`, running version `conv` of the convolution ladder in `precision`
    (None: the device's default, see ops/versions.py; on cuda, the fastest version verified
    on the GPU's architecture)."""
    from rednet_cupy.ops import versions

    conv, precision = versions.resolve(conv, precision)
    if name == "emulate":
        if conv is None:
            conv, precision = versions.resolve(versions.default("emulate"), None)
        return KernelDevice("emulate", np, poison=os.environ.get("REDNET_POISON", "1") == "1",
                            conv=conv, precision=precision)
    ok, why = runtime.cuda_available()
    if not ok:
        raise RuntimeError(f"device 'cuda' is not usable here: {why}")
    import cupy

    have = capability()
    if conv is None:
        conv, precision = versions.resolve(versions.default("cuda", f"sm_{have[0]}{have[1]}"),
                                           None)
    need = versions.MIN_CAPABILITY.get(precision)
    if need and have < need:
        raise RuntimeError(f"precision {precision} needs a GPU of compute capability "
                           f"{need[0]}.{need[1]} or newer; this one is {have[0]}.{have[1]}"
                           + (" (fp16 is available)" if have >= (7, 0) else ""))
    return KernelDevice("cuda", cupy, poison=os.environ.get("REDNET_POISON", "0") == "1",
                        conv=conv, precision=precision)


def namespace(name: str, conv: int | None = None,
              precision: str | None = None) -> SimpleNamespace:
    """The ops contract for a kernel device: every function bound to that device."""
    from rednet_cupy.ops import adam, conv2d, deconv2d, mse_loss, relu, skip_add

    dev = make_device(name, conv, precision)
    xp = dev.xp
    funcs = {
        "conv2d_forward": conv2d.conv2d_forward,
        "conv2d_relu_forward": conv2d.conv2d_relu_forward,
        "conv2d_backward": conv2d.conv2d_backward,
        "deconv2d_forward": deconv2d.deconv2d_forward,
        "deconv2d_relu_forward": deconv2d.deconv2d_relu_forward,
        "deconv2d_backward": deconv2d.deconv2d_backward,
        "relu_forward": relu.relu_forward,
        "relu_backward": relu.relu_backward,
        "skip_add_forward": skip_add.skip_add_forward,
        "mse_loss_forward": mse_loss.mse_loss_forward,
        "mse_loss_backward": mse_loss.mse_loss_backward,
        "adam_step": adam.adam_step,
    }
    if name == "cuda":
        def synchronize() -> None:
            xp.cuda.Device().synchronize()

        to_numpy = xp.asnumpy
    else:
        def synchronize() -> None:
            return None

        to_numpy = np.asarray
    return SimpleNamespace(
        name=name,
        xp=xp,
        device=dev,
        asarray=lambda a, dtype=np.float32: xp.ascontiguousarray(xp.asarray(a, dtype=dtype)),
        to_numpy=to_numpy,
        synchronize=synchronize,
        **{k: partial(f, dev) for k, f in funcs.items()},
    )
