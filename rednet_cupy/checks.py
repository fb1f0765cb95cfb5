"""Input checks shared by every op on every device.

Each failure raises ValueError naming the op, the argument, what was expected and what
came, so that a wrong call fails at the door instead of broadcasting silently or
reading past the end of a buffer inside a kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fail(op: str, arg: str, expected: str, got: str) -> ValueError:
    return ValueError(f"{op}: argument '{arg}' must be {expected}, got {got}")


def describe(a: Any) -> str:
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return f"{type(a).__module__.split('.')[0]} array of shape {tuple(a.shape)} dtype {a.dtype}"
    return f"{type(a).__name__} {a!r}"[:80]


def array(
    op: str,
    arg: str,
    a: Any,
    ndim: int | None,
    dtypes: tuple[np.dtype, ...] = FLOAT_DTYPES,
    xp: Any = None,
    contiguous: bool = False,
) -> None:
    """Check that `a` is an array of rank `ndim` (None: any rank) with one of `dtypes`.

    With `xp` (numpy or cupy) it must be that library's ndarray; without, either will do
    (shape checks are shared by the NumPy reference and the kernels of both devices).
    """
    if xp is not None and not isinstance(a, xp.ndarray):
        raise fail(op, arg, f"a {xp.__name__}.ndarray", describe(a))
    if xp is None and not is_array(a):
        raise fail(op, arg, "a numpy or cupy ndarray", describe(a))
    if ndim is not None and a.ndim != ndim:
        raise fail(op, arg, f"a {ndim}-d array", f"shape {tuple(a.shape)} ({a.ndim}-d)")
    if a.dtype not in dtypes:
        names = " or ".join(str(d) for d in dtypes)
        raise fail(op, arg, f"of dtype {names}", f"dtype {a.dtype}")
    if contiguous and not a.flags.c_contiguous:
        raise fail(op, arg, "C-contiguous (use xp.ascontiguousarray)", "a strided view")


def is_array(a: Any) -> bool:
    return type(a).__name__ == "ndarray" and type(a).__module__.split(".")[0] in ("numpy", "cupy")


def finite(op: str, arg: str, a: Any) -> None:
    """Reject NaN and inf. Used on weights and biases, where the check is cheap."""
    # x - x is 0 for every finite x and NaN for NaN and +-inf; works for NumPy and CuPy alike.
    if a.size and not bool(((a - a) == 0).all()):
        raise fail(op, arg, "finite (no NaN or inf)", "an array containing NaN or inf")


def same_dtype(op: str, **arrays: Any) -> None:
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        got = ", ".join(f"{k}={v}" for k, v in dtypes.items())
        raise ValueError(f"{op}: all arrays must share one dtype, got {got}")


def same_shape(op: str, arg: str, a: Any, expected: tuple[int, ...], what: str) -> None:
    if tuple(a.shape) != tuple(expected):
        raise fail(op, arg, f"of shape {tuple(expected)} ({what})", f"shape {tuple(a.shape)}")


def padding(op: str, p: Any) -> int:
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or int(p) not in (0, 1):
        raise fail(op, "padding", "0 or 1", describe(p))
    return int(p)


def conv_weights(op: str, w: Any, b: Any) -> None:
    array(op, "w", w, 4)
    if tuple(w.shape[2:]) != (3, 3):
        raise fail(op, "w", "3x3 kernels, shape (*, *, 3, 3)", f"shape {tuple(w.shape)}")
    if b is not None:
        array(op, "b", b, 1)
    finite(op, "w", w)
    if b is not None:
        finite(op, "b", b)
