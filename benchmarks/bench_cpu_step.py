"""Time one RED10 training step on the `cpu` ops namespace against the same network in PyTorch.

One step = forward + mse_loss + backward + an Adam update of every parameter, on a batch of
16 one-channel 50x50 float32 patches (the recipe of the shipped model, see DESIGN.md).
The PyTorch network is built from nn.Conv2d / nn.ConvTranspose2d (3x3, padding 1), ReLU,
the residual add, an MSE loss and torch.optim.Adam, and starts from *our* initial weights,
so both sides compute the same thing (checked: the first losses must agree).

The steps of the two are interleaved (ours, torch, ours, torch, ...) so that both see the
same background load: on a shared machine a burst of someone else's work then slows both
sides instead of one. The result is the median step time of each, its spread, their ratio,
and a per-op breakdown of ours from a separate, instrumented run.

    python benchmarks/bench_cpu_step.py                 # 20 timed steps each, writes the result
    python benchmarks/bench_cpu_step.py --steps 5 --no-write

It runs without PyTorch too; then only ours is timed and the result says torch is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench_ops puts the checkout on sys.path and imports PyTorch when it is there (else None).
from bench_ops import ROOT, OurStep, batch, torch, torch_mirror  # noqa: E402

from rednet_cupy import ops  # noqa: E402
from rednet_cupy.model import preset  # noqa: E402

TARGET = 1.5  # the project's requirement: ours <= 1.5 x PyTorch's step time
LR = 1e-3

# Per-op breakdown: which contract function counts under which row.
CATEGORIES = {
    "conv2d_forward": "conv fwd",
    "conv2d_relu_forward": "conv fwd (+ relu)",
    "conv2d_backward": "conv bwd",
    "deconv2d_forward": "deconv fwd",
    "deconv2d_relu_forward": "deconv fwd (+ relu, skip)",
    "deconv2d_backward": "deconv bwd",
    "relu_forward": "relu fwd",
    "relu_backward": "relu bwd",
    "skip_add_forward": "skip/residual add",
    "mse_loss_forward": "mse loss fwd+bwd",
    "mse_loss_backward": "mse loss fwd+bwd",
    "adam_step": "adam",
}


# ------------------------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def numpy_blas() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        text = f"{blas.get('name')} {blas.get('version')}"
        if blas.get("openblas configuration"):
            text += f" ({blas['openblas configuration']})"
        return text
    except Exception as exc:  # older NumPy: no dict mode
        return f"unknown ({type(exc).__name__})"


def threadpools() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} {p.get('num_threads')} threads"
        f" ({p.get('architecture', '?')})"
        for p in threadpool_info()
    )


def machine_info() -> dict[str, str]:
    info = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "CPU": cpu_model(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "cores usable (affinity)": str(len(os.sched_getaffinity(0)))
        if hasattr(os, "sched_getaffinity") else "?",
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "NumPy BLAS": numpy_blas(),
        "thread pools (threadpoolctl)": threadpools(),
        "thread env": ", ".join(
            f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                             "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                                             "OPENBLAS_L2_SIZE") if k in os.environ
        ) or "none set",
    }
    if torch is None:
        info["PyTorch"] = "absent (not installed): only ours is timed"
    else:
        info["PyTorch"] = torch.__version__
        info["torch.get_num_threads()"] = str(torch.get_num_threads())
        info["torch mkldnn (oneDNN)"] = str(torch.backends.mkldnn.is_available())
    return info


# ----------------------------------------------------------------------------- our step
def timed_namespace(F: SimpleNamespace, totals: dict[str, float]) -> SimpleNamespace:
    """A copy of F whose contract functions add their wall time to totals[category]."""

    def wrap(name, fn):
        cat = CATEGORIES[name]

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            totals[cat] = totals.get(cat, 0.0) + time.perf_counter() - t0
            return out

        return timed

    fields = dict(vars(F))
    fields.update({name: wrap(name, fields[name]) for name in CATEGORIES})
    return SimpleNamespace(**fields)


# --------------------------------------------------------------------------- torch step
def torch_step(our_params: dict[str, np.ndarray], x: np.ndarray, target: np.ndarray):
    """The same RED10 in PyTorch (nn.Conv2d / nn.ConvTranspose2d, ReLU, the residual add),
    starting from our initial weights; returns step()."""
    model = torch_mirror(preset("RED10"), our_params, "cpu")
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    tx, tt = torch.from_numpy(x), torch.from_numpy(target)
    loss_fn = torch.nn.MSELoss()

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(tx), tt)
        loss.backward()
        opt.step()
        return float(loss)

    return step


# ---------------------------------------------------------------------------- measuring
def spread(ts: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
    return {"median": statistics.median(ts), "min": min(ts), "max": max(ts),
            "q1": q[0], "q3": q[2]}


def run(args) -> dict:
    x, target = batch(args.batch, args.size)
    F = ops.get("cpu")
    ours = OurStep(F, preset("RED10"), x, target, lr=LR)
    init = {k: v.copy() for k, v in ours.net.params.items()}
    res: dict = {"info": machine_info(), "args": vars(args), "load_before": os.getloadavg()}

    t_step = None
    if torch is not None and not args.no_torch:
        t_step = torch_step(init, x, target)
        first_ours, first_torch = ours.step(), t_step()  # also the first warm-up step
        res["first_loss"] = (first_ours, first_torch)
        if not np.isclose(first_ours, first_torch, rtol=1e-4):
            raise SystemExit(f"the two networks differ: first loss {first_ours} (ours) vs "
                             f"{first_torch} (torch)")
    for _ in range(args.warmup):
        ours.step()
        if t_step:
            t_step()

    times: dict[str, list[float]] = {"ours": [], "torch": []}
    for i in range(args.steps):
        t0 = time.perf_counter()
        ours.step()
        times["ours"].append(time.perf_counter() - t0)
        if t_step:
            t0 = time.perf_counter()
            t_step()
            times["torch"].append(time.perf_counter() - t0)
        if not args.quiet:
            line = f"step {i + 1:3d}/{args.steps}: ours {times['ours'][-1]:.3f} s"
            if t_step:
                line += f"  torch {times['torch'][-1]:.3f} s"
            print(line, flush=True)
    res["ours"] = spread(times["ours"])
    if t_step:
        res["torch"] = spread(times["torch"])
        res["ratio"] = res["ours"]["median"] / res["torch"]["median"]
        pair = [a / b for a, b in zip(times["ours"], times["torch"], strict=True)]
        res["pair_ratio"] = spread(pair)

    # Per-op breakdown of ours: a separate run through a namespace that times every call.
    totals: dict[str, float] = {}
    prof = OurStep(timed_namespace(F, totals), preset("RED10"), x, target, lr=LR)
    prof.net.params = {k: v.copy() for k, v in init.items()}
    prof.step()
    totals.clear()
    t0 = time.perf_counter()
    for _ in range(args.profile_steps):
        prof.step()
    whole = (time.perf_counter() - t0) / args.profile_steps
    per_step = {k: v / args.profile_steps for k, v in totals.items()}
    per_step["other (model glue, python)"] = whole - sum(per_step.values())
    res["breakdown"] = per_step
    res["breakdown_step"] = whole
    res["load_after"] = os.getloadavg()
    return res


# ----------------------------------------------------------------------------- reporting
def fmt_spread(s: dict[str, float]) -> str:
    return (f"{s['median']:.3f} s (min {s['min']:.3f}, quartiles {s['q1']:.3f}-{s['q3']:.3f}, "
            f"max {s['max']:.3f})")


def report(res: dict) -> str:
    a = res["args"]
    lines = [
        f"# RED10 CPU training step: `cpu` ops vs PyTorch ({res['info']['date'][:10]})",
        "",
        f"One step = forward + MSE + backward + Adam on every parameter; batch {a['batch']} of "
        f"1x{a['size']}x{a['size']} float32; RED10 (width 64, padding 1, no skips, residual). "
        f"{a['steps']} timed steps each after {a['warmup'] + 1} warm-up steps, ours and "
        "PyTorch's interleaved. Produced by `python benchmarks/bench_cpu_step.py`.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in res["info"].items()]
    lb, la = res["load_before"], res["load_after"]
    lines += [f"| load average before / after | {lb[0]:.2f} / {la[0]:.2f} (1 min) |", ""]
    lines += ["## Step time", "", "| | median | min | quartiles | max |", "|---|---|---|---|---|"]
    for who in ("ours", "torch"):
        if who in res:
            s = res[who]
            lines.append(f"| {who} | {s['median']:.3f} s | {s['min']:.3f} s | "
                         f"{s['q1']:.3f}-{s['q3']:.3f} s | {s['max']:.3f} s |")
    lines.append("")
    if "ratio" in res:
        ok = "met" if res["ratio"] <= TARGET else "NOT met"
        pr = res["pair_ratio"]
        lines += [
            f"**Ratio ours / PyTorch (medians): {res['ratio']:.2f}** (target <= {TARGET}: {ok}); "
            f"median of the per-pair ratios {pr['median']:.2f} (min {pr['min']:.2f}, "
            f"max {pr['max']:.2f}). First losses: ours {res['first_loss'][0]:.6f}, "
            f"PyTorch {res['first_loss'][1]:.6f}.",
            "",
        ]
    else:
        lines += ["PyTorch is absent (or `--no-torch`): only ours is timed, no ratio.", ""]
    bd, whole = res["breakdown"], res["breakdown_step"]
    lines += [
        "## Where our step goes",
        "",
        f"Instrumented run of {a['profile_steps']} steps ({whole:.3f} s per step; the timers "
        "add a little), time per step in each op:",
        "",
        "| op | s / step | share |",
        "|---|---|---|",
    ]
    for k, v in sorted(bd.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v:.4f} | {100 * v / whole:.1f}% |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20, help="timed steps of each (default 20)")
    ap.add_argument("--warmup", type=int, default=2, help="extra warm-up steps (default 2)")
    ap.add_argument("--profile-steps", type=int, default=5,
                    help="steps of the instrumented per-op run (default 5)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=50)
    ap.add_argument("--no-torch", action="store_true", help="time ours only")
    ap.add_argument("--no-write", action="store_true", help="print only, write no result file")
    ap.add_argument("--out", type=Path, default=None,
                    help="result file (default benchmarks/results/cpu_step_<date>.md)")
    ap.add_argument("--quiet", action="store_true", help="no line per step")
    args = ap.parse_args(argv)
    res = run(args)
    text = report(res)
    print()
    print(text)
    if not args.no_write:
        out = args.out or ROOT / "benchmarks" / "results" / f"cpu_step_{dt.date.today()}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
