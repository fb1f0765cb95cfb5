"""Check a launch against the kernel's C signature before it happens, for both devices.

Raw CuPy passes whatever it is given: a float64 array to a `float*` parameter is read as
garbage, a strided view is read as if it were contiguous, a Python int goes out as 64 bits
into an `int` slot. Here each of these is a LaunchError that names the kernel, the parameter,
its C type, what was expected and what came; and each scalar is converted to the NumPy scalar
of its C type, so that CuPy (and the emulator) pass it at the right width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from .errors import LaunchError
from .signature import Param

MAX_THREADS_PER_BLOCK = 1024
MAX_BLOCK = (1024, 1024, 64)
MAX_GRID = (2**31 - 1, 65535, 65535)
MAX_SHARED_BYTES = 48 * 1024  # what every GPU gives without an opt-in attribute


def _describe(value: Any) -> str:
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        kind = type(value).__module__.split(".")[0]
        return f"a {kind} array of dtype {value.dtype} and shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:80]


def _dims(kernel: str, what: str, value: Any, limits: tuple[int, int, int]) -> tuple[int, int, int]:
    dims = value if isinstance(value, (tuple, list)) else (value,)
    ok = 1 <= len(dims) <= 3 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) for d in dims
    )
    if not ok:
        raise LaunchError(f"{kernel}: {what} must be a positive int or a tuple of 1 to 3 "
                          f"positive ints, got {value!r}")
    full = tuple(int(d) for d in dims) + (1,) * (3 - len(dims))
    for axis, d, limit in zip("xyz", full, limits, strict=True):
        if not 1 <= d <= limit:
            raise LaunchError(f"{kernel}: {what}.{axis} = {d} is outside CUDA's range "
                              f"1..{limit} (in {what} {value!r})")
    return full  # type: ignore[return-value]


def check_launch(
    kernel: str,
    params: Sequence[Param],
    grid: Any,
    block: Any,
    args: Any,
    shared_mem: Any,
    xp: ModuleType,
) -> tuple[tuple[int, int, int], tuple[int, int, int], list[Any], int]:
    """Validate one launch; return (grid, block, converted args, shared_mem).

    `xp` is the array module of the device (numpy for the emulator, cupy for the GPU):
    pointer parameters take its ndarray and nothing else."""
    grid3 = _dims(kernel, "grid", grid, MAX_GRID)
    block3 = _dims(kernel, "block", block, MAX_BLOCK)
    threads = block3[0] * block3[1] * block3[2]
    if threads > MAX_THREADS_PER_BLOCK:
        raise LaunchError(f"{kernel}: block {block!r} has {threads} threads; CUDA allows at most "
                          f"{MAX_THREADS_PER_BLOCK} per block")
    if (isinstance(shared_mem, (bool, np.bool_)) or not isinstance(shared_mem, (int, np.integer))
            or not 0 <= shared_mem <= MAX_SHARED_BYTES):
        raise LaunchError(f"{kernel}: shared_mem must be an int number of bytes in "
                          f"0..{MAX_SHARED_BYTES}, got {shared_mem!r}")
    if not isinstance(args, (tuple, list)):
        raise LaunchError(f"{kernel}: args must be a tuple of the kernel's arguments, got "
                          f"{_describe(args)}")
    if len(args) != len(params):
        signature = ", ".join(str(p) for p in params)
        raise LaunchError(f"{kernel}({signature}) takes {len(params)} arguments, got {len(args)}")
    converted = [convert(kernel, p, a, xp) for p, a in zip(params, args, strict=True)]
    return grid3, block3, converted, int(shared_mem)


def convert(kernel: str, param: Param, value: Any, xp: ModuleType) -> Any:
    """Check one argument and return what goes to the kernel: the array itself, or a NumPy
    scalar of exactly the parameter's C type."""

    def fail(expected: str, got: str) -> LaunchError:
        return LaunchError(f"{kernel}: parameter '{param.name}' ({param.ctype}) expects "
                           f"{expected}, got {got}")

    dtype = param.dtype
    if param.pointer:
        access = "" if param.const else "writeable "
        expected = f"a C-contiguous {access}{dtype} {xp.__name__} array"
        if not isinstance(value, xp.ndarray):
            raise fail(expected, _describe(value))
        if value.dtype != dtype:
            raise fail(expected, f"{value.dtype} (an array of shape {tuple(value.shape)})")
        if not value.flags.c_contiguous:
            raise fail(expected + f" (use {xp.__name__}.ascontiguousarray)",
                       f"a non-contiguous view of shape {tuple(value.shape)} strides "
                       f"{tuple(value.strides)}")
        if not param.const and not getattr(value.flags, "writeable", True):
            raise fail(expected + " (the kernel may write through this pointer; declare it "
                       "const in the kernel if it does not)", "a read-only array")
        return value
    if dtype == np.bool_:
        if not isinstance(value, (bool, np.bool_)):
            raise fail("a bool", _describe(value))
        return np.bool_(value)
    if dtype.kind in "iu":
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise fail("a Python int or NumPy integer", _describe(value))
        info = np.iinfo(dtype)
        if not info.min <= int(value) <= info.max:
            raise fail(f"an integer in {info.min}..{info.max} ({dtype.itemsize * 8}-bit "
                       f"{param.base})", f"{int(value)}, which does not fit")
        return dtype.type(value)
    real = (int, float, np.integer, np.floating)
    if not isinstance(value, real) or isinstance(value, (bool, np.bool_)):
        raise fail("a real number (Python int or float, NumPy integer or floating)",
                   _describe(value))
    expected = f"a number within {dtype} range (|x| <= {np.finfo(dtype).max:.4g})"
    try:
        real_value = float(value)
    except OverflowError:
        raise fail(expected, f"{value!r}, which overflows") from None
    with np.errstate(over="ignore"):
        out = dtype.type(real_value)
    if np.isinf(out) and not math.isinf(real_value):
        raise fail(expected, f"{value!r}, which overflows to inf")
    return out
