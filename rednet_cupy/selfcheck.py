"""`rednet gradcheck`: every op's backward and a whole RED-Net against finite differences.

All checks run on the float64 NumPy reference (the definition of the gradients); the
kernels are then held to that reference by the test suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from rednet_cupy import reference as R
from rednet_cupy.model import RedNet, preset
from rednet_cupy.reference.gradcheck import GradResult, check_gradients, check_op


@dataclass
class Row:
    op: str
    shape: str
    results: list[GradResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def _op_rows(rng: np.random.Generator) -> Iterator[Row]:
    # Odd, non-square sizes, batch > 1, one and several channels, both paddings.
    for n, c_in, c_out, h, w, p in [(2, 1, 3, 7, 5, 0), (3, 4, 2, 6, 9, 1), (1, 3, 1, 5, 5, 1)]:
        x = rng.standard_normal((n, c_in, h, w))
        wc, bc = rng.standard_normal((c_out, c_in, 3, 3)), rng.standard_normal(c_out)
        shape = f"x{x.shape} p={p}"
        yield Row("conv2d", shape, check_op(
            lambda x, w, b, p=p: R.conv2d_forward(x, w, b, p),
            lambda dy, x=x, wc=wc, p=p: R.conv2d_backward(dy, x, wc, p),
            {"x": x, "w": wc, "b": bc},
        ))
        wd, bd = rng.standard_normal((c_in, c_out, 3, 3)), rng.standard_normal(c_out)
        yield Row("deconv2d", shape, check_op(
            lambda x, w, b, p=p: R.deconv2d_forward(x, w, b, p),
            lambda dy, x=x, wd=wd, p=p: R.deconv2d_backward(dy, x, wd, p),
            {"x": x, "w": wd, "b": bd},
        ))
    x = rng.standard_normal((2, 3, 5, 7))
    yield Row("relu", f"x{x.shape}", check_op(
        R.relu_forward, lambda dy: (R.relu_backward(dy, R.relu_forward(x)),), {"x": x}
    ))
    a, b = rng.standard_normal((2, 3, 5, 7)), rng.standard_normal((2, 3, 5, 7))
    yield Row("skip_add", f"a{a.shape}", check_op(
        R.skip_add_forward, lambda dy: (dy, dy), {"a": a, "b": b}
    ))
    pred, target = rng.standard_normal((3, 1, 4, 6)), rng.standard_normal((3, 1, 4, 6))
    yield Row("mse_loss", f"pred{pred.shape}", check_gradients(
        lambda: R.mse_loss_forward(pred, target),
        {"pred": pred},
        {"pred": R.mse_loss_backward(pred, target)},
    ))


def relu_margin(net: RedNet) -> float:
    """Smallest |input| of any ReLU after conv/deconv in the last forward pass.

    Central differences are only valid where the loss is smooth on [p - h, p + h]. If a
    pre-activation lies within ~h of zero, perturbing one weight moves it across the ReLU's
    kink and the estimate is off by a large factor, though the gradient is right. (The
    ReLU after a skip sum needs no margin: both summands are already ReLU outputs.)
    """
    c, p, P = net._cache, net.cfg.padding, net.params
    margins = []
    for i in range(1, net.n + 1):
        pre = R.conv2d_forward(c[f"conv{i}.in"], P[f"conv{i}.weight"], P[f"conv{i}.bias"], p)
        margins.append(np.abs(pre).min())
    for i in range(1, net.n):
        pre = R.deconv2d_forward(c[f"deconv{i}.in"], P[f"deconv{i}.weight"],
                                 P[f"deconv{i}.bias"], p)
        margins.append(np.abs(pre).min())
    return float(min(margins))


def network_row(name: str = "RED10", width: int = 4, size: int = 16, batch: int = 2,
                padding: int = 1, seed: int = 0, max_entries: int | None = None,
                margin: float = 1e-4) -> Row:
    """Gradient check of a whole RED-Net: every parameter and the input.

    Draws weights and input again (next seed) until every ReLU input is at least `margin`
    away from the kink; see `relu_margin`.
    """
    cfg = preset(name, width=width, padding=padding)
    for attempt in range(50):
        rng = np.random.default_rng([seed, attempt])
        net = RedNet(cfg, "cpu", seed=int(rng.integers(2**31)), dtype=np.float64)
        # Random biases: with zero biases, a unit whose inputs are all zero sits exactly
        # on the ReLU's kink.
        for k, v in net.params.items():
            if k.endswith(".bias"):
                v += 0.1 * rng.standard_normal(v.shape)
        x = rng.standard_normal((batch, cfg.in_channels, size, size + 1))
        y = net.forward(x)
        if relu_margin(net) >= margin:
            break
    else:
        raise RuntimeError(f"gradcheck: no draw kept every ReLU input {margin} from zero")
    r = rng.standard_normal(y.shape)
    dx = net.backward(r)
    results = check_gradients(
        lambda: float(np.sum(net.forward(x) * r)),
        {"x": x, **net.params},
        {"x": dx, **net.grads},
        max_entries=max_entries,
    )
    return Row(f"{name} (width {width}, pad {padding})", f"x{x.shape}", results)


def run(seed: int = 0) -> list[Row]:
    rng = np.random.default_rng(seed)
    rows = list(_op_rows(rng))
    rows.append(network_row("RED10", padding=1, seed=seed))
    rows.append(network_row("RED20", padding=0, size=23, seed=seed, max_entries=60))
    return rows


def format_table(rows: list[Row]) -> str:
    lines = [f"{'op':<26} {'shape':<24} {'max rel. error per gradient':<44} result"]
    for row in rows:
        worst = max(row.results, key=lambda r: r.rel_error)
        errs = " ".join(f"{r.name}={r.rel_error:.1e}" for r in row.results[:3])
        if len(row.results) > 3:
            errs = f"{len(row.results)} grads, worst {worst.name}={worst.rel_error:.1e}"
        lines.append(f"{row.op:<26} {row.shape:<24} {errs:<44} "
                     f"{'pass' if row.passed else 'FAIL'}")
    return "\n".join(lines)
