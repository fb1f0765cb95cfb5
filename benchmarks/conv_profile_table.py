"""Why each step of the convolution ladder should be faster, without a GPU: kernels/PROFILE.md.

    python benchmarks/conv_profile_table.py            # writes kernels/PROFILE.md
    python benchmarks/conv_profile_table.py --small --out /tmp/p.md   # a quick run-through

For every forward version (v7 in each precision) and every weight-gradient version, on
RED-Net's 64 -> 64 layer (one 50x50 training patch, and a 96x96 map standing in for a photo,
whose tiles divide it), it records:
  * the emulator's memory-traffic profile (runtime.profiling(), exact per warp instruction):
    global load sectors and shared-memory wavefronts per output value, and the bytes they
    move through the L1/shared data path per FLOP;
  * ptxas's registers, shared memory and spills (kernels/RESOURCES.md) and the occupancy
    they allow on sm_80 and sm_90 (rednet_cupy.gpu_model.occupancy);
  * the roofline bound that follows on an A100 and an H100 (gpu_model.roofline): the
    arithmetic peak of the row's precision, or the L1/shared path, whichever binds.
Nothing in it is typed by hand: rerun it after changing a kernel (and kernel_resources.py
after changing its registers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rednet_cupy import gpu_model, ops, runtime  # noqa: E402
from rednet_cupy.ops import conv_ladder  # noqa: E402

# name: (N, C_in, C_out, H, W); padding 1
SHAPES = {"50x50 patch": (1, 64, 64, 50, 50), "96x96 map": (1, 64, 64, 96, 96)}
SMALL_SHAPES = {"12x12 map": (1, 16, 16, 12, 12)}
THREADS = {1: 256, 2: 256, 3: 128, 4: 256, 5: 256, 6: 128, 7: 128}
WG_THREADS = {1: 256, 2: 256, 3: 128, 4: 128}


@dataclass
class Row:
    label: str
    precision: str
    kernel: str  # the main kernel, whose resources are shown
    threads: int
    outputs: int
    flops: float
    counts: runtime.Counts


def forward_rows(shape, rng) -> list[Row]:
    n, ci, co, h, w = shape
    x = rng.standard_normal((n, ci, h, w)).astype(np.float32)
    wt = (rng.standard_normal((co, ci, 3, 3)) / np.sqrt(9 * ci)).astype(np.float32)
    b = np.zeros(co, np.float32)
    outputs, flops = n * co * h * w, 2.0 * n * co * h * w * ci * 9
    rows = []
    for v in ops.conv_versions():
        for precision in v.precisions:
            F = ops.get("emulate", conv=v.number,
                        precision=None if precision == "fp32" else precision)
            with runtime.profiling() as prof:
                F.conv2d_forward(x, wt, b, 1)
            kernel = prof.launches[-1].kernel
            rows.append(Row(f"v{v.number} {v.name}", precision, kernel, THREADS[v.number],
                            outputs, flops, prof.total()))
    return rows


def weight_grad_rows(shape, rng) -> list[Row]:
    n, ci, co, h, w = shape
    x = rng.standard_normal((n, ci, h, w)).astype(np.float32)
    dy = rng.standard_normal((n, co, h, w)).astype(np.float32)
    outputs, flops = co * ci * 9, 2.0 * n * co * h * w * ci * 9
    rows = []
    for g in ops.weight_grad_versions():
        precisions = ("tf32", "bf16", "fp16") if g.number == 4 else ("fp32",)
        for precision in precisions:
            dev = ops.get("emulate", precision=None if precision == "fp32" else precision).device
            with runtime.profiling() as prof:
                conv_ladder.weight_grad(dev, g.number, dy, x, 1)
            kernel = prof.launches[0].kernel  # the partial sums (the reduce is small)
            rows.append(Row(f"w{g.number} {g.name}", precision, kernel, WG_THREADS[g.number],
                            outputs, flops, prof.total()))
    return rows


def resources(arch: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(file, kernel) -> (registers, shared bytes, spill bytes) from kernels/RESOURCES.md."""
    text = (runtime.kernel_dir() / "RESOURCES.md").read_text().split(f"## {arch}")[1]
    text = text.split("\n## ")[0]
    out = {}
    for line in text.splitlines():
        cells = [c.strip(" `") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0].endswith(".cu"):
            out[cells[1], cells[0]] = (int(cells[2]), int(cells[3]), int(cells[4]) + int(cells[5]))
    return out


def kernel_resources(table: dict, kernel: str, label: str) -> tuple[int, int, int]:
    """Resources of `kernel` in the row's file (kernel names repeat across files)."""
    number = label.split()[0]
    files = {"v2": "conv2d.cu", "w1": "conv2d.cu"}
    file = files.get(number, f"conv2d_{number}.cu" if number.startswith("w") else
                     f"conv2d_{number}.cu")
    return table[kernel, file]


def render(tables: dict[str, tuple[list[Row], list[Row]]]) -> str:
    res = {g.arch: resources(g.arch) for g in gpu_model.GPUS}
    out = ["# The convolution ladder, measured without a GPU", "",
           f"Generated by `python benchmarks/conv_profile_table.py` on {dt.date.today()} (do not "
           "edit by hand). Per output value: global load sectors (32 bytes each) and "
           "shared-memory wavefronts (one pass of the 32 banks; more than one request's worth "
           "means bank conflicts), from the emulator's exact memory profile; *path B/FLOP*: "
           "bytes those move through the L1/shared data path (32 per sector, 128 per "
           "wavefront) per FLOP; registers, shared memory and occupancy from ptxas "
           "(RESOURCES.md); *bound*: the roofline, TFLOP/s, min(peak of the precision, "
           "data path / path B/FLOP) on an A100 (sm_80) and an H100 (sm_90), "
           "rednet_cupy/gpu_model.py. The bound is an upper limit: DRAM, L2, latency and "
           "instruction issue are left out. Tensor-core rows count their fragment loads "
           "element by element (a GPU uses wider instructions there).", ""]
    for shape, (fwd, wgrad) in tables.items():
        for title, rows in ((f"Forward, {shape}", fwd), (f"Weight gradient, {shape}", wgrad)):
            out += [f"## {title}", "",
                    "| version | precision | gld sectors / out | shared wavefronts / out | "
                    "barriers / 1k out | path B/FLOP | regs sm_80/90 | smem | spills | "
                    "occupancy sm_80/90 | bound A100 | bound H100 |",
                    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for r in rows:
                c = r.counts
                path = (32 * (c.global_load_sectors + c.global_store_sectors)
                        + 128 * (c.shared_load_wavefronts + c.shared_store_wavefronts))
                regs, occ, bounds = [], [], []
                smem = spills = 0
                for g in gpu_model.GPUS:
                    rg, smem, spills = kernel_resources(res[g.arch], r.kernel, r.label)
                    regs.append(str(rg))
                    occ.append(f"{gpu_model.occupancy(g, rg, smem, r.threads):.0%}")
                    bounds.append(gpu_model.roofline(
                        g, r.precision, r.flops,
                        c.global_load_sectors + c.global_store_sectors,
                        c.shared_load_wavefronts + c.shared_store_wavefronts))
                out.append(
                    f"| {r.label} | {r.precision} | {c.global_load_sectors / r.outputs:.3g} | "
                    f"{(c.shared_load_wavefronts + c.shared_store_wavefronts) / r.outputs:.3g} | "
                    f"{1000 * c.barriers / r.outputs:.3g} | {path / r.flops:.3g} | "
                    f"{'/'.join(regs)} | {smem} | {spills} | {'/'.join(occ)} | "
                    f"{bounds[0]:.3g} | {bounds[1]:.3g} |")
            out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="one small shape (a run-through)")
    ap.add_argument("--out", default=str(ROOT / "kernels" / "PROFILE.md"))
    args = ap.parse_args(argv)
    tables = {}
    for name, shape in (SMALL_SHAPES if args.small else SHAPES).items():
        print(f"profiling {name} ...", flush=True)
        rng = np.random.default_rng(0)
        tables[name] = (forward_rows(shape, rng), weight_grad_rows(shape, rng))
    text = render(tables)
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out)
    print(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
