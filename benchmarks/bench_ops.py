"""Time every op, one training step and one inference of RED-Net on a device, each against
PyTorch on the same hardware (cuDNN on a GPU, oneDNN on a CPU).

    python benchmarks/bench_ops.py                      # --device cuda: the kernels on the GPU
    python benchmarks/bench_ops.py --device cpu         # the vectorised NumPy reference
    python benchmarks/bench_ops.py --device emulate --small --no-write   # a quick run-through

Ops: conv2d and deconv2d forward and backward on the shapes a RED-Net meets (a training
batch of 16 50x50 patches, one 512x512 photo), relu, skip_add and adam. Each of ours is
first compared with PyTorch's result (the largest difference relative to the largest
value must stay below 1e-3, else the benchmark stops: a fast wrong kernel is worth
nothing), then both are timed the same way: synchronize, run the call k times,
synchronize, divide; k doubles until a run lasts `--min-time`, and the median of
`--repeats` such runs is reported. TF32 is switched off in PyTorch so both sides do float32
arithmetic.

Networks: one training step (forward, MSE, backward, Adam on every parameter) of RED10,
RED20 and RED30 (width 64 unless --width says otherwise) on 16 50x50 patches, and a forward
pass of RED30 on one 512x512 image, ours against a PyTorch copy of the same network started
from the same weights (their first losses must agree).

Without PyTorch only ours is timed. The result goes to benchmarks/results/ops_<device>_<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from rednet_cupy import ops  # noqa: E402
from rednet_cupy.model import RedNet, preset, skip_pairs  # noqa: E402

try:
    import torch
    import torch.nn.functional as tF
except ImportError:  # the benchmark must run without it
    torch = None

# (N, C_in, C_out, H, W): conv2d maps C_in -> C_out; deconv2d's weights are (C_in, C_out, 3, 3).
SHAPES = {
    "train 1->64": (16, 1, 64, 50, 50),
    "train 64->64": (16, 64, 64, 50, 50),
    "train 64->1": (16, 64, 1, 50, 50),
    "photo 64->64": (1, 64, 64, 512, 512),
}
SMALL_SHAPES = {"odd 3->5": (2, 3, 5, 9, 11), "odd 5->2": (3, 5, 2, 17, 6)}
ADAM_SIZE, SMALL_ADAM_SIZE = 1 << 20, 1000
NETS, SMALL_NETS = ("RED10", "RED20", "RED30"), ("RED10",)
TOLERANCE = 1e-3


# ------------------------------------------------------------------------------- timing
def time_call(fn: Callable[[], Any], sync: Callable[[], None], min_time: float,
              repeats: int) -> float:
    """Seconds per call of fn: median over `repeats` runs of k calls, k grown until one run
    lasts min_time. sync() waits for queued GPU work, so the clock sees the work itself."""

    def run(k: int) -> float:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        sync()
        return time.perf_counter() - t0

    fn()
    sync()
    k = 1
    while (elapsed := run(k)) < min_time and k < 1 << 14:
        k *= 2
    return statistics.median([elapsed / k] + [run(k) / k for _ in range(repeats - 1)])


def rel_diff(ours: Any, theirs: np.ndarray) -> float:
    """Largest |difference| relative to the largest |value| of the reference."""
    scale = max(float(np.abs(theirs).max()), 1e-30)
    return float(np.abs(np.asarray(ours, dtype=np.float64) - theirs).max()) / scale


# --------------------------------------------------------------------------- the ops
def op_cases(F, shape, tdev: str | None) -> list[dict]:
    """For one shape: [{name, flops, ours(), torch()}] for conv and deconv (torch() only
    when tdev names a PyTorch device)."""
    n, c_in, c_out, h, w = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, h, w), dtype=np.float32)
    dy = rng.standard_normal((n, c_out, h, w), dtype=np.float32)
    wc = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32) / np.float32(np.sqrt(9 * c_in))
    wd = rng.standard_normal((c_in, c_out, 3, 3), dtype=np.float32) / np.float32(np.sqrt(9 * c_in))
    b = rng.standard_normal(c_out, dtype=np.float32)
    d = {k: F.asarray(v) for k, v in dict(x=x, dy=dy, wc=wc, wd=wd, b=b).items()}
    macs = n * h * w * c_in * c_out * 9
    cases = [
        dict(name="conv2d forward", flops=2 * macs,
             ours=lambda: F.conv2d_forward(d["x"], d["wc"], d["b"], 1)),
        dict(name="conv2d backward", flops=4 * macs,
             ours=lambda: F.conv2d_backward(d["dy"], d["x"], d["wc"], 1)),
        dict(name="deconv2d forward", flops=2 * macs,
             ours=lambda: F.deconv2d_forward(d["x"], d["wd"], d["b"], 1)),
        dict(name="deconv2d backward", flops=4 * macs,
             ours=lambda: F.deconv2d_backward(d["dy"], d["x"], d["wd"], 1)),
    ]
    if tdev is not None:
        arrays = dict(x=x, dy=dy, wc=wc, wd=wd, b=b)
        t = {k: torch.from_numpy(v).to(tdev) for k, v in arrays.items()}
        mask = [True, True, True]
        bwd = torch.ops.aten.convolution_backward
        cases[0]["torch"] = lambda: tF.conv2d(t["x"], t["wc"], t["b"], padding=1)
        cases[1]["torch"] = lambda: bwd(t["dy"], t["x"], t["wc"], [c_out], [1, 1], [1, 1],
                                        [1, 1], False, [0, 0], 1, mask)
        cases[2]["torch"] = lambda: tF.conv_transpose2d(t["x"], t["wd"], t["b"], padding=1)
        cases[3]["torch"] = lambda: bwd(t["dy"], t["x"], t["wd"], [c_out], [1, 1], [1, 1],
                                        [1, 1], True, [0, 0], 1, mask)
    return cases


def elementwise_cases(F, shape, adam_size: int, tdev: str | None) -> list[dict]:
    n, _, c, h, w = shape
    rng = np.random.default_rng(1)
    a, g = (rng.standard_normal((n, c, h, w), dtype=np.float32) for _ in range(2))
    p, gp = (rng.standard_normal(adam_size, dtype=np.float32) for _ in range(2))
    m, v = np.zeros(adam_size, np.float32), np.zeros(adam_size, np.float32)
    d = {k: F.asarray(val) for k, val in dict(a=a, g=g, p=p, gp=gp, m=m, v=v).items()}
    y = F.relu_forward(d["a"])
    nbytes = a.nbytes
    cases = [
        dict(name="relu forward", bytes=2 * nbytes, ours=lambda: F.relu_forward(d["a"])),
        dict(name="relu backward", bytes=3 * nbytes, ours=lambda: F.relu_backward(d["g"], y)),
        dict(name="skip_add", bytes=3 * nbytes, ours=lambda: F.skip_add_forward(d["a"], d["g"])),
        # adam updates in place: reads p, g, m, v and writes p, m, v; not compared (the
        # state moves on with every call), its correctness is tests/test_adam.py's job.
        dict(name=f"adam ({adam_size:,} weights)", bytes=7 * p.nbytes, compare=False,
             ours=lambda: F.adam_step(d["p"], d["gp"], d["m"], d["v"], 1, 1e-3)),
    ]
    if tdev is not None:
        t = {k: torch.from_numpy(val).to(tdev) for k, val in dict(a=a, g=g, p=p, gp=gp).items()}
        ty = torch.relu(t["a"])
        cases[0]["torch"] = lambda: torch.relu(t["a"])
        cases[1]["torch"] = lambda: torch.ops.aten.threshold_backward(t["g"], ty, 0)
        cases[2]["torch"] = lambda: t["a"] + t["g"]
        param = torch.nn.Parameter(t["p"].clone())
        param.grad = t["gp"].clone()
        opt = torch.optim.Adam([param], lr=1e-3, fused=tdev == "cuda")
        cases[3]["torch"] = opt.step
    return cases


def host(out: Any, F) -> list[np.ndarray]:
    """An op's output(s) as NumPy arrays, whichever library made them."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    res = []
    for o in outs:
        if torch is not None and isinstance(o, torch.Tensor):
            res.append(o.detach().cpu().numpy().astype(np.float64))
        else:
            res.append(np.asarray(F.to_numpy(o), dtype=np.float64))
    return res


def measure_ops(F, args, tdev: str | None, sync_all) -> list[dict]:
    shapes = SMALL_SHAPES if args.small else SHAPES
    rows = []
    for label, shape in shapes.items():
        for case in op_cases(F, shape, tdev):
            rows.append(measure_case(F, case, label, shape, args, sync_all))
    label, shape = next(iter(shapes.items()))  # element-wise ops on the first shape's output
    for case in elementwise_cases(F, shape, SMALL_ADAM_SIZE if args.small else ADAM_SIZE, tdev):
        rows.append(measure_case(F, case, label, shape, args, sync_all))
    return rows


def measure_case(F, case: dict, label: str, shape, args, sync_all) -> dict:
    row = dict(op=case["name"], shape=label, dims=shape, flops=case.get("flops"),
               bytes=case.get("bytes"))
    if "torch" in case and case.get("compare", True):
        row["diff"] = max(rel_diff(o, t) for o, t in
                          zip(host(case["ours"](), F), host(case["torch"](), F), strict=True))
        if row["diff"] > TOLERANCE:
            raise SystemExit(f"{case['name']} on {label} {shape}: ours differs from PyTorch by "
                             f"{row['diff']:.2e} of the largest value (limit {TOLERANCE})")
    row["ours"] = time_call(case["ours"], sync_all, args.min_time, args.repeats)
    if "torch" in case:
        row["torch"] = time_call(case["torch"], sync_all, args.min_time, args.repeats)
    print(f"  {case['name']:28s} {label:14s} ours {row['ours'] * 1e3:9.3f} ms"
          + (f"  torch {row['torch'] * 1e3:9.3f} ms" if "torch" in row else ""), flush=True)
    return row


# ---------------------------------------------------------------------------- networks
def batch(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy batch (sigma 25/255) and its clean version, float32 NCHW, one channel."""
    rng = np.random.default_rng(seed)
    clean = rng.random((n, 1, size, size), dtype=np.float32)
    noisy = clean + np.float32(25 / 255) * rng.standard_normal(clean.shape, dtype=np.float32)
    return noisy, clean


class OurStep:
    """A RED-Net on an ops namespace with Adam moments; `step()` runs one training step
    (forward, MSE, backward, Adam on every parameter) on a fixed batch."""

    def __init__(self, F, cfg, x: np.ndarray, target: np.ndarray, lr: float = 1e-3) -> None:
        self.F, self.lr = F, lr
        self.x, self.target = F.asarray(x), F.asarray(target)
        self.net = RedNet(cfg, F)
        self.m = {k: F.xp.zeros_like(v) for k, v in self.net.params.items()}
        self.v = {k: F.xp.zeros_like(v) for k, v in self.net.params.items()}
        self.t = 0

    def step(self) -> float:
        F, net = self.F, self.net
        self.t += 1
        y = net.forward(self.x)
        loss = F.mse_loss_forward(y, self.target)
        net.backward(F.mse_loss_backward(y, self.target))
        for k, p in net.params.items():
            F.adam_step(p, net.grads[k], self.m[k], self.v[k], self.t, self.lr)
        return loss


def torch_mirror(cfg, params: dict[str, np.ndarray], tdev: str):
    """The same RED-Net in PyTorch modules, holding a copy of `params`."""
    nn = torch.nn
    n, skips = cfg.depth // 2, skip_pairs(cfg)

    class Mirror(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv2d(*params[f"conv{i}.weight"].shape[1::-1], 3, padding=cfg.padding)
                for i in range(1, n + 1))
            self.deconvs = nn.ModuleList(  # ConvTranspose2d weights are (C_in, C_out, 3, 3)
                nn.ConvTranspose2d(*params[f"deconv{i}.weight"].shape[:2], 3,
                                   padding=cfg.padding)
                for i in range(1, n + 1))

        def forward(self, x):
            feats, h = {}, x
            for i, conv in enumerate(self.convs, 1):
                h = feats[i] = torch.relu(conv(h))
            for i, deconv in enumerate(self.deconvs, 1):
                h = deconv(h)
                if i == n:
                    break
                h = torch.relu(h)
                if i in skips:
                    h = torch.relu(h + feats[skips[i]])
            return h + x if cfg.residual else h

    model = Mirror()
    with torch.no_grad():
        for kind, layers in (("conv", model.convs), ("deconv", model.deconvs)):
            for i, layer in enumerate(layers, 1):
                layer.weight.copy_(torch.from_numpy(params[f"{kind}{i}.weight"]))
                layer.bias.copy_(torch.from_numpy(params[f"{kind}{i}.bias"]))
    return model.to(tdev)


def measure_nets(F, args, tdev: str | None, sync_all) -> list[dict]:
    noisy, clean = batch(*((2, 12) if args.small else (16, 50)), seed=2)
    rows = []
    for name in SMALL_NETS if args.small else NETS:
        rows.append(train_step_row(F, preset(name, width=args.width), name, noisy, clean, args,
                                   tdev, sync_all))
    rng = np.random.default_rng(3)
    photo = rng.random((1, 1, 32, 40) if args.small else (1, 1, 512, 512), dtype=np.float32)
    name = "RED10" if args.small else "RED30"
    rows.append(inference_row(F, preset(name, width=args.width), name, photo, args, tdev,
                              sync_all))
    return rows


def train_step_row(F, cfg, name, noisy, clean, args, tdev, sync_all) -> dict:
    stepper = OurStep(F, cfg, noisy, clean)
    ours = stepper.step
    row = dict(what=f"{name} training step", dims=tuple(noisy.shape))
    if tdev is not None:
        model = torch_mirror(cfg, stepper.net.host_params(), tdev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        tx, tt = torch.from_numpy(noisy).to(tdev), torch.from_numpy(clean).to(tdev)

        def theirs() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            loss = tF.mse_loss(model(tx), tt)
            loss.backward()
            opt.step()
            return loss.detach()

        first_ours, first_torch = float(ours()), float(theirs())
        row["diff"] = abs(first_ours - first_torch) / abs(first_torch)
        if row["diff"] > TOLERANCE:
            raise SystemExit(f"{name}: first loss {first_ours} (ours) vs {first_torch} (torch)")
        row["torch"] = time_call(theirs, sync_all, args.min_time, args.repeats)
    row["ours"] = time_call(ours, sync_all, args.min_time, args.repeats)
    print(f"  {row['what']:28s} ours {row['ours'] * 1e3:9.2f} ms"
          + (f"  torch {row['torch'] * 1e3:9.2f} ms" if "torch" in row else ""), flush=True)
    return row


def inference_row(F, cfg, name, photo, args, tdev, sync_all) -> dict:
    net = RedNet(cfg, F)
    x = F.asarray(photo)
    row = dict(what=f"{name} inference", dims=tuple(photo.shape))
    if tdev is not None:
        model = torch_mirror(cfg, net.host_params(), tdev).eval()
        tx = torch.from_numpy(photo).to(tdev)

        def theirs():
            with torch.no_grad():
                return model(tx)

        row["diff"] = rel_diff(F.to_numpy(net.forward(x)), host(theirs(), F)[0])
        if row["diff"] > TOLERANCE:
            raise SystemExit(f"{name} inference differs from PyTorch by {row['diff']:.2e}")
        row["torch"] = time_call(theirs, sync_all, args.min_time, args.repeats)
    row["ours"] = time_call(lambda: net.forward(x), sync_all, args.min_time, args.repeats)
    print(f"  {row['what']:28s} ours {row['ours'] * 1e3:9.2f} ms"
          + (f"  torch {row['torch'] * 1e3:9.2f} ms" if "torch" in row else ""), flush=True)
    return row


# ----------------------------------------------------------------------------- report
def machine(F, tdev: str | None) -> dict[str, str]:
    info = {"date": dt.datetime.now().isoformat(timespec="seconds"), "device": F.name,
            "Python": platform.python_version(), "NumPy": np.__version__,
            "host CPU": platform.processor() or platform.machine()}
    if F.name == "cuda":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        info["GPU"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        info["GPU memory"] = f"{props['totalGlobalMem'] / 2**30:.1f} GiB"
        info["CUDA driver / runtime"] = (f"{cupy.cuda.runtime.driverGetVersion()} / "
                                         f"{cupy.cuda.runtime.runtimeGetVersion()}")
        info["CuPy"] = cupy.__version__
    if tdev is None:
        info["PyTorch"] = "absent (or --no-torch): only ours is timed"
    else:
        info["PyTorch"] = f"{torch.__version__} on {tdev}"
        if tdev == "cuda":
            info["cuDNN"] = str(torch.backends.cudnn.version())
        else:
            info["torch threads"] = str(torch.get_num_threads())
    return info


def rate(row: dict, seconds: float) -> str:
    if row.get("flops"):
        return f"{row['flops'] / seconds / 1e9:,.0f} GFLOP/s"
    if row.get("bytes"):
        return f"{row['bytes'] / seconds / 1e9:,.1f} GB/s"
    return ""


def ms(s: float) -> str:
    return f"{s * 1e3:.3f}" if s < 0.1 else f"{s * 1e3:.1f}"


def report(info: dict, op_rows: list[dict], net_rows: list[dict], args) -> str:
    lines = [f"# Ops and RED-Net on `{info['device']}` against PyTorch ({info['date'][:10]})", "",
             f"Produced by `python benchmarks/bench_ops.py --device {info['device']}"
             f"{' --small' if args.small else ''}`: median of {args.repeats} runs, each at least "
             f"{args.min_time * 1e3:.0f} ms of back-to-back calls; ours checked against "
             f"PyTorch first (relative difference below {TOLERANCE}). Shapes are (N, C_in, "
             "C_out, H, W), padding 1.", "", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "## Ops", "", "| op | shape | ours ms | rate | PyTorch ms | rate | "
              "ours / PyTorch | max rel. diff |", "|---|---|---|---|---|---|---|---|"]
    for r in op_rows:
        t = r.get("torch")
        lines.append(
            f"| {r['op']} | {r['shape']} {r['dims']} | {ms(r['ours'])} | {rate(r, r['ours'])} | "
            + (f"{ms(t)} | {rate(r, t)} | {r['ours'] / t:.2f} | " if t else "- | - | - | ")
            + (f"{r['diff']:.1e} |" if "diff" in r else "- |"))
    lines += ["", f"## Networks (width {args.width}, padding 1)", "",
              "| what | input | ours ms | PyTorch ms | ours / PyTorch |", "|---|---|---|---|---|"]
    for r in net_rows:
        t = r.get("torch")
        lines.append(f"| {r['what']} | {r['dims']} | {ms(r['ours'])} | "
                     + (f"{ms(t)} | {r['ours'] / t:.2f} |" if t else "- | - |"))
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", choices=ops.DEVICES)
    ap.add_argument("--small", action="store_true",
                    help="tiny odd shapes and RED10 only: a quick run-through, not a benchmark")
    ap.add_argument("--width", type=int, default=None,
                    help="feature maps of the networks (default 64; 8 with --small)")
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="seconds one timed run must last at least (default 0.2)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per call (default 5)")
    ap.add_argument("--no-torch", action="store_true", help="time ours only")
    ap.add_argument("--no-write", action="store_true", help="print only, write no result file")
    ap.add_argument("--out", type=Path, default=None,
                    help="result file (default benchmarks/results/ops_<device>_<date>.md)")
    args = ap.parse_args(argv)
    if args.width is None:
        args.width = 8 if args.small else 64
    try:
        F = ops.get(args.device)
    except RuntimeError as exc:  # e.g. no usable GPU: one line, not a traceback
        raise SystemExit(f"bench_ops: {exc}") from None
    tdev = None
    if torch is not None and not args.no_torch:
        tdev = "cuda" if F.name == "cuda" else "cpu"
        torch.backends.cudnn.allow_tf32 = False  # float32 on both sides
        torch.backends.cuda.matmul.allow_tf32 = False

    def sync_all() -> None:
        F.synchronize()
        if tdev == "cuda":
            torch.cuda.synchronize()

    info = machine(F, tdev)
    print(f"ops on {F.name}" + (f", PyTorch on {tdev}" if tdev else ""), flush=True)
    op_rows = measure_ops(F, args, tdev, sync_all)
    net_rows = measure_nets(F, args, tdev, sync_all)
    text = report(info, op_rows, net_rows, args)
    print()
    print(text)
    if not args.no_write:
        out = args.out or ROOT / "benchmarks" / "results" / f"ops_{F.name}_{dt.date.today()}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(out)
        print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
