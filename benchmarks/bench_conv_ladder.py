"""The convolution ladder on a GPU: every version and precision, every pass, checked and then
timed, against cuDNN (through PyTorch) and a cuBLAS GEMM on a prebuilt im2col matrix.

    python benchmarks/bench_conv_ladder.py                     # on the GPU, RED-Net's shapes
    python benchmarks/bench_conv_ladder.py --device emulate --small --samples 3 --no-torch

Shapes: RED-Net's 64 -> 64 layer on a training batch (16 x 50x50) and on one 512x512 photo.
Passes: forward (y = conv(x, w) + b), input gradient (dx = conv(dy, flip(w)): the same forward
kernel), weight gradient (dw = dY . im2col(x)^T: versions w1-w4).

Every row is first checked: against the float64 reference computed on the inputs rounded to
its precision (reference.round_to), relative error below 1e-5 (float32 sums), or it is
reported WRONG and not timed (a fast wrong kernel is worth nothing; the exit status is then
1). Timing: CUDA events around each call, after --warmup calls, --samples samples; the median
and the 10th-90th percentile spread are reported. "hot": the same buffers every call (they sit
in L2 when they fit); "cold": calls rotate over copies of the inputs that together exceed
twice the L2 size, so every call reads from DRAM. TFLOP/s counts 2 * C_out * C_in * 9 * pixels
per pass; % of peak is against the GPU's dense peak for the row's precision
(rednet_cupy.gpu_model.PEAKS, a table of known GPUs; "?" for others). cuDNN rows:
torch.backends.cudnn.benchmark on, TF32 switched on or off explicitly per row, NCHW and
channels-last, bf16 and fp16 as tensors of that type. The GEMM row multiplies W (C_out x K)
by a prebuilt im2col matrix (K x pixels) with cuBLAS: the product alone, without the gather.

On the emulator (or with --device emulate) the same rows are checked and timed with the host
clock, which says nothing about a GPU: use it to check the harness. Asked for the GPU on a
machine without one, it says so and prints kernels/PROFILE.md (what can be known without a
GPU: traffic, occupancy, roofline) instead. The table goes to
benchmarks/results/conv_ladder_<device>_<date>.md and a plot of TFLOP/s beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from rednet_cupy import gpu_model, ops  # noqa: E402
from rednet_cupy import reference as R  # noqa: E402
from rednet_cupy.ops import conv2d, conv_ladder  # noqa: E402

# name: (N, C_in, C_out, H, W, padding)
SHAPES = {"train 16x64x50x50": (16, 64, 64, 50, 50, 1),
          "photo 1x64x512x512": (1, 64, 64, 512, 512, 1)}
SMALL_SHAPES = {"small 2x8x12x12": (2, 8, 8, 12, 12, 1),
                "small 1x8x20x20": (1, 8, 8, 20, 20, 1)}
PASSES = ("forward", "input_grad", "weight_grad")
STEP = "training step"  # a whole RED30 step: forward, MSE, backward, Adam
CHECK_TOL = 1e-5


@dataclass
class Row:
    shape: str
    pass_: str
    impl: str  # "ours v6", "ours w4", "cuDNN NCHW", "cuBLAS GEMM"
    precision: str
    flops: float
    error: float | None = None  # relative error against the reference; None: not checked
    hot: list[float] | None = None  # seconds per call
    cold: list[float] | None = None
    note: str = ""
    memory: int | None = None  # peak bytes of device memory (training steps)


# ------------------------------------------------------------------------------ timing
class Clock:
    """Seconds per call: CUDA events on a GPU, the host clock on the emulator."""

    def __init__(self, F) -> None:
        self.F = F

    def __call__(self, fn: Callable[[], Any]) -> float:
        if self.F.name != "cuda":
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0
        cuda = self.F.xp.cuda
        start, stop = cuda.Event(), cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        return cuda.get_elapsed_time(start, stop) / 1e3


def l2_bytes(F) -> int:
    if F.name != "cuda":
        return 1 << 20
    import cupy

    return int(cupy.cuda.Device().attributes.get("L2CacheSize", 50 << 20))


def sample(clock: Clock, make_call: Callable[[int], Callable[[], Any]], copies: int,
           samples: int, warmup: int) -> list[float]:
    """`samples` timings of make_call(i % copies)(), after `warmup` untimed calls."""
    for i in range(warmup):
        make_call(i % copies)()
    return [clock(make_call(i % copies)) for i in range(samples)]


# --------------------------------------------------------------------------- our rows
def inputs(shape, seed: int = 0) -> dict[str, np.ndarray]:
    n, ci, co, h, w, p = shape
    rng = np.random.default_rng(seed)
    ho, wo = h + 2 * p - 2, w + 2 * p - 2
    return {"x": rng.standard_normal((n, ci, h, w)).astype(np.float32),
            "w": (rng.standard_normal((co, ci, 3, 3)) / np.sqrt(9 * ci)).astype(np.float32),
            "b": rng.standard_normal(co).astype(np.float32),
            "dy": rng.standard_normal((n, co, ho, wo)).astype(np.float32)}


def reference(data: dict[str, np.ndarray], pass_: str, precision: str, p: int) -> np.ndarray:
    """float64 result of `pass_` on the inputs rounded to `precision`."""
    r = {k: R.round_to(v, precision).astype(np.float64) for k, v in data.items()}
    if pass_ == "forward":
        return R.conv2d_forward(r["x"], r["w"], data["b"].astype(np.float64), p)
    dx, dw, _ = R.conv2d_backward(r["dy"], r["x"], r["w"], p)
    return dx if pass_ == "input_grad" else dw


def our_call(F, version: int, pass_: str, arrays: dict, p: int) -> Callable[[], Any]:
    dev = F.device
    if pass_ == "forward":
        return lambda: conv_ladder.forward(dev, version, arrays["x"], arrays["w"], arrays["b"], p)
    if pass_ == "input_grad":
        zero = F.xp.zeros(arrays["x"].shape[1], dtype=np.float32)
        return lambda: conv_ladder.forward(dev, version, arrays["dy"], arrays["wf"], zero, 2 - p)
    return lambda: conv_ladder.weight_grad(dev, version, arrays["dy"], arrays["x"], p)


def device_sets(F, data: dict[str, np.ndarray], copies: int) -> list[dict]:
    out = []
    for _ in range(copies):
        arrays = {k: F.asarray(v) for k, v in data.items()}
        arrays["wf"] = conv2d.flip(F.device, arrays["w"])
        out.append(arrays)
    return out


def our_rows(name: str, shape, data, args) -> list[Row]:
    n, ci, co, h, w, p = shape
    flops = 2.0 * co * ci * 9 * n * (h + 2 * p - 2) * (w + 2 * p - 2)
    rows = []
    expected: dict[tuple[str, str], np.ndarray] = {}  # the reference, once per pass/precision
    kinds = [(v.number, prec, v.weight_grad) for v in ops.conv_versions() for prec in v.precisions]
    for version, precision, wgrad in kinds:
        F = ops.get(args.device, conv=version,
                    precision=None if precision == "fp32" else precision)
        sets = None
        for pass_ in PASSES:
            number = wgrad if pass_ == "weight_grad" else version
            label = f"ours w{number}" if pass_ == "weight_grad" else f"ours v{number}"
            if pass_ == "weight_grad" and any(r.impl == label and r.precision == precision
                                              and r.shape == name for r in rows):
                continue  # w1-w3 run with several forward versions: time each once
            if sets is None:
                sets = device_sets(F, data, copies_for(F, data, args))
            if (pass_, precision) not in expected:
                expected[pass_, precision] = reference(data, pass_, precision, p)
            rows.append(measure(F, Row(name, pass_, label, precision, flops), sets,
                                lambda s, F=F, n=number, ps=pass_: our_call(F, n, ps, s, p),
                                expected[pass_, precision], args))
    return rows


def copies_for(F, data: dict[str, np.ndarray], args) -> int:
    """Input copies whose total exceeds twice the L2 (cold timing), at least 1."""
    if args.samples == 0:
        return 1
    size = sum(v.nbytes for v in data.values())
    return max(1, min(64, -(-2 * l2_bytes(F) // size) + 1))


def measure(F, row: Row, sets: list[dict], call_for: Callable[[dict], Callable[[], Any]],
            expected: np.ndarray, args) -> Row:
    got = F.to_numpy(call_for(sets[0])())
    row.error = float(np.abs(np.asarray(got, np.float64) - expected).max()
                      / max(np.abs(expected).max(), 1e-30))
    if not np.isfinite(got).all() or row.error > CHECK_TOL:
        row.note = "WRONG: not timed"
        return row
    clock = Clock(F)
    row.hot = sample(clock, lambda i: call_for(sets[0]), 1, args.samples, args.warmup)
    if len(sets) > 1:
        row.cold = sample(clock, lambda i: call_for(sets[i]), len(sets), args.samples,
                          args.warmup)
    return row


# --------------------------------------------------------------------- cuDNN and cuBLAS
def torch_rows(name: str, shape, data, args) -> list[Row]:
    """cuDNN through PyTorch in the same process: per pass, precision and memory format."""
    import torch
    from torch.nn import grad as tgrad

    torch.backends.cudnn.benchmark = True
    n, ci, co, h, w, p = shape
    flops = 2.0 * co * ci * 9 * n * (h + 2 * p - 2) * (w + 2 * p - 2)
    dtypes = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16,
              "fp16": torch.float16}
    rows = []
    for precision, dtype in dtypes.items():
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        for fmt, memory in (("NCHW", torch.contiguous_format),
                            ("channels-last", torch.channels_last)):
            t = {k: torch.from_numpy(v).cuda().to(dtype) for k, v in data.items()}
            for k in ("x", "w", "dy"):
                t[k] = t[k].contiguous(memory_format=memory)
            for pass_, call in torch_calls(torch, tgrad, t, p).items():
                row = Row(name, pass_, f"cuDNN {fmt}", precision, flops)
                got = call().float().cpu().numpy()
                expected = reference(data, pass_, precision if precision != "tf32" else "fp32", p)
                row.error = float(np.abs(got - expected).max() / np.abs(expected).max())
                row.hot = torch_samples(call, args)
                rows.append(row)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    return rows


def torch_calls(torch, tgrad, t: dict, p: int) -> dict[str, Callable[[], Any]]:
    conv = torch.nn.functional.conv2d
    return {"forward": lambda: conv(t["x"], t["w"], t["b"], padding=p),
            "input_grad": lambda: tgrad.conv2d_input(t["x"].shape, t["w"], t["dy"], padding=p),
            "weight_grad": lambda: tgrad.conv2d_weight(t["x"], t["w"].shape, t["dy"], padding=p)}


def torch_samples(call: Callable[[], Any], args) -> list[float]:
    import torch

    for _ in range(args.warmup):
        call()
    out = []
    for _ in range(args.samples):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        stop.record()
        stop.synchronize()
        out.append(start.elapsed_time(stop) / 1e3)
    return out


def gemm_row(F, name: str, shape, data, args) -> Row:
    """cuBLAS (through CuPy) on W (C_out x K) . X (K x pixels), X built beforehand."""
    n, ci, co, h, w, p = shape
    flops = 2.0 * co * ci * 9 * n * (h + 2 * p - 2) * (w + 2 * p - 2)
    xs = data["x"].astype(np.float64)
    y = R.conv2d_forward(xs, data["w"].astype(np.float64), np.zeros(co), p)
    cols = im2col(data["x"], p)
    W = F.asarray(data["w"].reshape(co, -1))
    X = F.asarray(cols)
    blas = "cuBLAS" if F.name == "cuda" else "NumPy's BLAS"
    row = Row(name, "forward", f"GEMM on a prebuilt im2col ({blas})", "fp32", flops)
    got = F.to_numpy(W @ X).reshape(co, n, -1).transpose(1, 0, 2).reshape(y.shape)
    row.error = float(np.abs(got - y).max() / np.abs(y).max())
    row.hot = sample(Clock(F), lambda i: (lambda: W @ X), 1, args.samples, args.warmup)
    return row


def im2col(x: np.ndarray, p: int) -> np.ndarray:
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = h + 2 * p - 2, w + 2 * p - 2
    cols = np.empty((c * 9, n * ho * wo), np.float32)
    for ci in range(c):
        for t in range(9):
            cols[ci * 9 + t] = xp[:, ci, t // 3:t // 3 + ho, t % 3:t % 3 + wo].reshape(-1)
    return cols


# ----------------------------------------------------------------- a whole training step
def step_rows(args, torch_on: bool) -> list[Row]:
    """One RED30 training step (batch 16 of 50x50; RED10 on 2 of 12x12 with --small) per
    version and precision, and PyTorch's (cuDNN) in fp32, tf32 and bf16 autocast."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_ops

    from rednet_cupy.model import preset

    name = "RED10 2x12x12" if args.small else "RED30 16x50x50"
    noisy, clean = bench_ops.batch(*((2, 12) if args.small else (16, 50)))
    cfg = preset(name.split()[0], width=8 if args.small else 64)
    samples = max(3, args.samples // 10)
    rows = []
    for v in ops.conv_versions():
        for precision in v.precisions:
            F = ops.get(args.device, conv=v.number,
                        precision=None if precision == "fp32" else precision)
            pool = F.xp.get_default_memory_pool() if F.name == "cuda" else None
            if pool is not None:
                pool.free_all_blocks()
            stepper = bench_ops.OurStep(F, cfg, noisy, clean)
            row = Row(name, STEP, f"ours v{v.number}+w{v.weight_grad}", precision, 0.0)
            row.hot = sample(Clock(F), lambda i, s=stepper: s.step, 1, samples, 2)
            if pool is not None:  # CuPy's pool keeps what the step used at its peak
                row.memory = int(pool.total_bytes())
            rows.append(row)
    if torch_on:
        rows += torch_step_rows(bench_ops, cfg, name, noisy, clean, samples, stepper)
    return rows


def torch_step_rows(bench_ops, cfg, name, noisy, clean, samples, stepper) -> list[Row]:
    import torch

    torch.cuda.reset_peak_memory_stats()
    model = bench_ops.torch_mirror(cfg, stepper.net.host_params(), "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tx, tt = torch.from_numpy(noisy).cuda(), torch.from_numpy(clean).cuda()
    rows = []
    for precision in ("fp32", "tf32", "bf16"):
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"

        def step(precision=precision):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = torch.nn.functional.mse_loss(model(tx), tt)
            loss.backward()
            opt.step()

        row = Row(name, STEP, "PyTorch (cuDNN)", precision, 0.0)
        row.hot = torch_samples(step, argparse.Namespace(samples=samples, warmup=2))
        row.memory = int(torch.cuda.max_memory_allocated())
        torch.cuda.reset_peak_memory_stats()
        rows.append(row)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    return rows


# ------------------------------------------------------- the fastest verified version
def fastest_verified(rows: list[Row], shape: str) -> dict[str, dict]:
    """Per precision: the forward version (with its weight gradient) whose forward, input
    gradient and weight gradient on `shape` were all checked and timed, with the least total
    hot median time; versions with a WRONG row are out."""
    best: dict[str, dict] = {}
    for v in ops.conv_versions():
        for precision in v.precisions:
            labels = {"forward": f"ours v{v.number}", "input_grad": f"ours v{v.number}",
                      "weight_grad": f"ours w{v.weight_grad}"}
            times = []
            for pass_, label in labels.items():
                row = next((r for r in rows if (r.shape, r.pass_, r.impl, r.precision)
                            == (shape, pass_, label, precision)), None)
                if row is None or not row.hot or row.note:
                    break
                times.append(summary(row.hot)[0])
            else:
                total = sum(times)
                if precision not in best or total < best[precision]["seconds"]:
                    best[precision] = {"version": v.number, "seconds": total}
    return best


def record_default(best: dict[str, dict], arch: str, info: dict[str, str],
                   path: Path) -> None:
    """Merge this GPU's fastest verified versions into ops/verified.json (atomically)."""
    table = json.loads(path.read_text()) if path.is_file() else {}
    table[arch] = {p: {**b, "gpu": info.get("GPU", "?"), "date": info["date"]}
                   for p, b in best.items()}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


# ------------------------------------------------------------------------------ report
def machine(F, torch_on: bool) -> dict[str, str]:
    info = {"date": dt.datetime.now().isoformat(timespec="seconds"), "device": F.name}
    if F.name == "cuda":
        import cupy

        rt = cupy.cuda.runtime
        props = rt.getDeviceProperties(0)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        attrs = cupy.cuda.Device().attributes
        info.update({"GPU": gpu, "SM clock (max)": f"{attrs.get('ClockRate', 0) / 1e3:.0f} MHz",
                     "memory clock": f"{attrs.get('MemoryClockRate', 0) / 1e3:.0f} MHz",
                     "L2": f"{l2_bytes(F) / 2**20:.0f} MiB",
                     "CUDA driver / runtime": f"{rt.driverGetVersion()} / {rt.runtimeGetVersion()}",
                     "CuPy": cupy.__version__})
    if torch_on:
        import torch

        info["PyTorch / cuDNN"] = f"{torch.__version__} / {torch.backends.cudnn.version()}"
    return info


def ms(s: tuple[float, float, float] | None) -> str:
    return f"{s[0] * 1e3:.3f} ({s[1] * 1e3:.3f}-{s[2] * 1e3:.3f})" if s else "-"


def summary(times: list[float] | None) -> tuple[float, float, float] | None:
    if not times:
        return None
    q = np.percentile(times, [10, 50, 90])
    return float(q[1]), float(q[0]), float(q[2])


def cudnn_time(rows: list[Row], row: Row) -> float | None:
    """The fastest cuDNN row of the same shape, pass and precision (hot)."""
    best = [summary(r.hot)[0] for r in rows if r.impl.startswith(("cuDNN", "PyTorch")) and r.hot
            and (r.shape, r.pass_, r.precision) == (row.shape, row.pass_, row.precision)]
    return min(best) if best else None


def report(info: dict[str, str], rows: list[Row]) -> str:
    out = ["# Convolution ladder benchmark", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += ["", "Median time per call (10th-90th percentile), TFLOP/s from the hot median; "
            "error: relative to the float64 reference on inputs rounded to the row's precision "
            "(cuDNN tf32: against float32 inputs).", ""]
    for shape in dict.fromkeys(r.shape for r in rows):
        for pass_ in (*PASSES, STEP):
            part = [r for r in rows if r.shape == shape and r.pass_ == pass_]
            if not part:
                continue
            out += [f"## {shape}, {pass_}", "",
                    "| implementation | precision | error | hot ms | cold ms | TFLOP/s | % peak "
                    "| vs cuDNN |", "|---|---|---:|---:|---:|---:|---:|---:|"]
            for r in part:
                hot, cold = summary(r.hot), summary(r.cold)
                tf = r.flops / hot[0] / 1e12 if hot else None
                pk = gpu_model.peak_tflops(info.get("GPU", ""), r.precision)
                ref = cudnn_time(rows, r)
                out.append(f"| {r.impl} | {r.precision} | "
                           f"{'-' if r.error is None else f'{r.error:.1e}'} | {ms(hot)} | "
                           f"{ms(cold)} | {'-' if not tf else f'{tf:.3g}'} | "
                           f"{f'{100 * tf / pk:.0f}%' if tf and pk else ('?' if tf else '-')} | "
                           f"{f'{ref / hot[0]:.2f}x' if ref and hot else '-'} |"
                           + (f" peak memory {r.memory / 2**20:.0f} MiB" if r.memory else "")
                           + (f" {r.note}" if r.note else ""))
            out.append("")
    return "\n".join(out)


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r.shape for r in rows))
    fig, axes = plt.subplots(len(shapes), len(PASSES), figsize=(5 * len(PASSES), 4 * len(shapes)),
                             squeeze=False)
    for i, shape in enumerate(shapes):
        for j, pass_ in enumerate(PASSES):
            part = [r for r in rows if r.shape == shape and r.pass_ == pass_ and r.hot
                    and r.flops]
            ax = axes[i][j]
            ax.barh([f"{r.impl} {r.precision}" for r in part],
                    [r.flops / summary(r.hot)[0] / 1e12 for r in part],
                    color=["tab:blue" if r.impl.startswith("ours") else "gray" for r in part])
            ax.set_title(f"{shape}: {pass_}", fontsize=9)
            ax.set_xlabel("TFLOP/s")
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "emulate"])
    ap.add_argument("--small", action="store_true", help="small shapes (a run-through)")
    ap.add_argument("--samples", type=int, default=200, help="timed calls per row")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls before them")
    ap.add_argument("--no-torch", action="store_true", help="leave out the cuDNN rows")
    ap.add_argument("--no-step", action="store_true", help="leave out the training steps")
    ap.add_argument("--record-default", action="store_true",
                    help="write the fastest verified version per precision for this GPU's "
                         "architecture to rednet_cupy/ops/verified.json (the cuda default)")
    ap.add_argument("--out", help="report path (default benchmarks/results/"
                    "conv_ladder_<device>_<date>.md)")
    args = ap.parse_args(argv)
    if args.device == "cuda":
        from rednet_cupy.runtime import cuda_available

        ok, why = cuda_available()
        if not ok:
            print(f"no GPU to time on ({why}); what is known without one, from "
                  f"kernels/PROFILE.md (benchmarks/conv_profile_table.py):\n")
            print((ROOT / "kernels" / "PROFILE.md").read_text())
            return 0
    F = ops.get(args.device)
    torch_on = False
    if not args.no_torch and args.device == "cuda":
        try:
            import torch

            torch_on = torch.cuda.is_available()
        except ImportError:
            print("PyTorch is not installed: only ours and cuBLAS are timed")
    rows: list[Row] = []
    for name, shape in (SMALL_SHAPES if args.small else SHAPES).items():
        data = inputs(shape)
        print(f"{name}: ours", flush=True)
        rows += our_rows(name, shape, data, args)
        rows.append(gemm_row(F, name, shape, data, args))
        if torch_on:
            print(f"{name}: cuDNN", flush=True)
            rows += torch_rows(name, shape, data, args)
    if not args.no_step:
        print("training steps", flush=True)
        rows += step_rows(args, torch_on)
    out = Path(args.out) if args.out else (
        ROOT / "benchmarks" / "results" / f"conv_ladder_{args.device}_{dt.date.today()}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    text = report(machine(F, torch_on), rows)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out)
    plot(rows, out.with_suffix(".png"))
    print(text)
    if args.record_default and args.device == "cuda" and not args.small:
        from rednet_cupy.ops import versions
        from rednet_cupy.ops.device import capability

        major, minor = capability()
        best = fastest_verified(rows, next(iter(SHAPES)))
        record_default(best, f"sm_{major}{minor}", machine(F, torch_on), versions.VERIFIED)
        print(f"recorded in {versions.VERIFIED}: {best}")
    wrong = [r for r in rows if r.note.startswith("WRONG")]
    for r in wrong:
        print(f"WRONG: {r.impl} {r.precision} {r.pass_} on {r.shape}: error {r.error:.2e}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
