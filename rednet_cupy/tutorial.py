"""Helpers shared by the notebooks in tutorials/: pick the device, size the work, check exercises.

    from rednet_cupy import tutorial
    T = tutorial.setup()            # prints the device and the size switch
    T.device, T.small, T.F, T.kernel_device   # 'cuda' or 'cpu', bool, ops namespaces
    tutorial.check("exercise 1", my_answer, expected)      # prints right / wrong / not yet
    tutorial.show_lines(runtime.kernel_dir() / "relu.cu", "relu_backward", "}")  # a slice

REDNET_TUTORIAL_SMALL=1 makes every notebook use small sizes and few steps (the tests set it);
without it a notebook runs at the full size meant for a learner.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from rednet_cupy import ops, runtime


@dataclass
class Setup:
    device: str  # where the model trains: 'cuda' when a GPU is usable, else 'cpu'
    kernel_device: str  # where the CUDA kernels run: 'cuda' or 'emulate'
    small: bool  # REDNET_TUTORIAL_SMALL=1: quick run, small sizes
    F: SimpleNamespace  # ops of `device`
    K: SimpleNamespace  # ops of `kernel_device`

    def pick(self, full: Any, small: Any) -> Any:
        """`full` for a learner's run, `small` under REDNET_TUTORIAL_SMALL=1."""
        return small if self.small else full

    def to_numpy(self, a: Any) -> np.ndarray:
        return self.K.to_numpy(a) if hasattr(a, "get") else np.asarray(a)


def setup(quiet: bool = False) -> Setup:
    """Choose the devices (GPU through CuPy when usable, the CPU otherwise) and print them."""
    gpu, why = runtime.cuda_available()
    device, kernel_device = ("cuda", "cuda") if gpu else ("cpu", "emulate")
    small = os.environ.get("REDNET_TUTORIAL_SMALL", "") not in ("", "0")
    # Notebooks 03-08 read kernels/conv2d.cu (version 2 of the convolution ladder): their
    # kernel namespace runs that version on every device; 09 picks versions by number.
    s = Setup(device, kernel_device, small, ops.get(device), ops.get(kernel_device, conv=2))
    if not quiet:
        where = "an NVIDIA GPU through CuPy" if gpu else f"this CPU (no GPU: {why})"
        print(f"kernels run on '{kernel_device}', training on '{device}': {where}")
        print("size: small (REDNET_TUTORIAL_SMALL=1)" if small else "size: full")
    return s


def show_lines(path: str | os.PathLike, first: str, last: str) -> None:
    """Print a file's lines from the first one containing `first` to the next one containing
    `last`: the notebooks show kernel source this way, never as a pasted copy."""
    from pathlib import Path

    lines = Path(path).read_text().splitlines()
    try:
        i = next(k for k, line in enumerate(lines) if first in line)
        j = next(k for k, line in enumerate(lines) if k >= i and last in line)
    except StopIteration:
        raise ValueError(f"{path}: no lines from {first!r} to {last!r}") from None
    print("\n".join(lines[i : j + 1]))


def check(name: str, answer: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Compare an exercise's answer with the expected value and say so in one line.

    `answer` None means the exercise is not attempted yet (the stored notebooks leave it so).
    """
    if answer is None:
        print(f"{name}: not attempted yet (replace None with your answer)")
        return False
    a = np.asarray(answer.get() if hasattr(answer, "get") else answer)
    e = np.asarray(expected.get() if hasattr(expected, "get") else expected)
    if a.shape != e.shape:
        print(f"{name}: wrong (shape {a.shape}, expected {e.shape})")
        return False
    ok = bool(np.allclose(a, e, rtol=rtol, atol=atol))
    if ok:
        print(f"{name}: right")
    else:
        err = float(np.max(np.abs(a.astype(np.float64) - e)))
        print(f"{name}: wrong (largest difference {err:.3g})")
    return ok
