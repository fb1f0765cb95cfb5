"""The one finite-difference gradient checker, used by every test and by `rednet gradcheck`.

For a scalar loss L(x) the central difference

    dL/dx[i] ~ (L(x + h e_i) - L(x - h e_i)) / (2 h)

has error O(h^2) from truncation plus O(eps_machine * |L| / h) from rounding. In float64
(eps ~ 1e-16) with h = 1e-6 both are ~1e-10 relative, far below the 1e-6 we demand; in
float32 (eps ~ 1e-7) the rounding term alone is ~0.1, which is why gradients are checked
in float64 and the float32 kernels are instead compared against the float64-checked
reference.

Ops return arrays, not scalars, so checks use L = sum(y * r) with a fixed random r: then
dL/dy = r, and one backward call with dy = r gives the analytic gradients to compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class GradResult:
    """How one analytic gradient compares with its finite-difference estimate."""

    name: str
    shape: tuple[int, ...]
    rel_error: float
    tol: float

    @property
    def passed(self) -> bool:
        return bool(self.rel_error < self.tol)


def rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| / max(max |a|, max |n|): relative to the gradient's scale, so that
    entries that are ~0 do not turn rounding noise into huge element-wise ratios."""
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-300)
    return float(np.abs(analytic - numeric).max() / scale)


def numeric_grad(
    loss: Callable[[], float],
    x: np.ndarray,
    h: float = 1e-6,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """Central differences of `loss()` with respect to the entries of `x`, perturbed in place.

    `indices` (flat) limits the work to a sample of entries; the others are left 0.
    """
    if x.dtype != np.float64:
        raise ValueError(f"gradcheck: x must be float64 for a meaningful check, got {x.dtype}")
    flat = x.reshape(-1)  # a view: writing to it perturbs x itself
    if not np.shares_memory(flat, x):
        raise ValueError("gradcheck: x must be contiguous so that it can be perturbed in place")
    grad = np.zeros(x.size)
    for i in range(x.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + h
        plus = loss()
        flat[i] = old - h
        minus = loss()
        flat[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad.reshape(x.shape)


def check_gradients(
    loss: Callable[[], float],
    inputs: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    tol: float = 1e-6,
    h: float = 1e-6,
    max_entries: int | None = None,
    seed: int = 0,
) -> list[GradResult]:
    """Compare `analytic[name]` with central differences of `loss` w.r.t. `inputs[name]`.

    `loss()` must read the current contents of the arrays in `inputs`. With `max_entries`,
    a random sample of that many entries per array is checked (large arrays).
    """
    rng = np.random.default_rng(seed)
    results = []
    for name, x in inputs.items():
        a = analytic[name]
        if a.shape != x.shape:
            raise ValueError(f"gradcheck: gradient '{name}' has shape {a.shape}, input {x.shape}")
        idx = None
        if max_entries is not None and x.size > max_entries:
            idx = rng.choice(x.size, size=max_entries, replace=False)
        n = numeric_grad(loss, x, h, idx)
        if idx is not None:
            a, n = a.reshape(-1)[idx], n.reshape(-1)[idx]
        results.append(GradResult(name, tuple(x.shape), rel_error(a, n), tol))
    return results


def check_op(
    forward: Callable[..., np.ndarray],
    backward: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    inputs: dict[str, np.ndarray],
    seed: int = 0,
    **kwargs,
) -> list[GradResult]:
    """Check an op whose backward maps dy to one gradient per entry of `inputs`, in order.

    forward(**inputs) -> y; backward(dy) -> tuple of gradients named like `inputs`.
    """
    r = np.random.default_rng(seed + 1).standard_normal(forward(**inputs).shape)

    def loss() -> float:
        return float(np.sum(forward(**inputs) * r))

    grads = backward(r)
    return check_gradients(loss, inputs, dict(zip(inputs, grads, strict=True)), seed=seed, **kwargs)
