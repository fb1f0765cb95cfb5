"""adam: one bias-corrected Adam update (Kingma & Ba, 2015), in place.

    m     <- beta1 * m + (1 - beta1) * g
    v     <- beta2 * v + (1 - beta2) * g^2
    m_hat  = m / (1 - beta1^t)          t = step, counted from 1
    v_hat  = v / (1 - beta2^t)
    param <- param - lr * m_hat / (sqrt(v_hat) + eps)

The bias corrections undo the pull of m and v towards their zero start in early steps.
"""

from __future__ import annotations

import numpy as np

from rednet_cupy import checks

OP = "adam"


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> None:
    check(param, grad, m, v, step, lr, beta1, beta2, eps)
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    c1 = 1 - beta1**step
    c2 = 1 - beta2**step
    param -= (lr / c1) * m / (np.sqrt(v / c2) + eps)


def check(param, grad, m, v, step, lr, beta1, beta2, eps, xp=np, dtypes=checks.FLOAT_DTYPES):
    """Shared by every device: the arrays must agree exactly and the scalars make sense."""
    checks.array(OP, "param", param, None, dtypes, xp)
    for name, a in (("grad", grad), ("m", m), ("v", v)):
        checks.array(OP, name, a, param.ndim, dtypes, xp)
        checks.same_shape(OP, name, a, param.shape, "the shape of param")
    checks.same_dtype(OP, param=param, grad=grad, m=m, v=v)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        expected = "an int >= 1 (Adam counts steps from 1)"
        raise checks.fail(OP, "step", expected, checks.describe(step))
    for name, val, lo, hi in (
        ("lr", lr, 0.0, np.inf), ("beta1", beta1, 0.0, 1.0), ("beta2", beta2, 0.0, 1.0),
        ("eps", eps, 0.0, np.inf),
    ):
        if not isinstance(val, (float, int, np.floating)) or not (lo <= val < hi):
            raise checks.fail(OP, name, f"a number in [{lo}, {hi})", checks.describe(val))
