"""What every kernel costs a GPU: registers, shared memory, spills, barriers, per architecture.

Compiles each kernels/*.cu with nvcc for sm_75 (Turing), sm_80 (Ampere) and sm_90 (Hopper),
    nvcc -cubin -arch=sm_XX --resource-usage -o <tmp>.cubin kernels/<op>.cu
reads ptxas's report and writes it as tables to kernels/RESOURCES.md. No GPU is needed, only
nvcc. tests/test_nvcc.py runs the same compiles (through this file's functions) and fails on
any spill.

    python benchmarks/kernel_resources.py             # writes kernels/RESOURCES.md
    python benchmarks/kernel_resources.py --print     # prints it instead
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ROOT / "kernels"
ARCHS = ("sm_75", "sm_80", "sm_90")
NVCC_PLACES = ("/usr/local/cuda/bin/nvcc", "/usr/local/bin/nvcc")


def find_nvcc() -> str | None:
    """nvcc on PATH, else in the usual install places; None when there is none."""
    found = shutil.which("nvcc")
    if found:
        return found
    for place in NVCC_PLACES:
        if os.path.isfile(place) and os.access(place, os.X_OK):
            return place
    return None


def nvcc_version(nvcc: str) -> str:
    """'Cuda compilation tools, release 13.0, V13.0.88', the line of `nvcc --version` that
    names the release."""
    text = subprocess.run([nvcc, "--version"], capture_output=True, text=True,
                          timeout=60).stdout
    lines = [ln.strip() for ln in text.splitlines() if "release" in ln]
    return lines[0] if lines else text.strip().splitlines()[-1]


@dataclass
class Kernel:
    name: str
    registers: int | None = None
    smem: int = 0  # static shared memory, bytes
    barriers: int | None = None  # older ptxas do not report it
    stack: int | None = None
    spill_stores: int | None = None
    spill_loads: int | None = None


@dataclass
class Report:
    """ptxas's resource report for one file and one architecture."""

    file: str
    arch: str
    returncode: int
    output: str
    kernels: dict[str, Kernel] = field(default_factory=dict)
    # Spills of every function ptxas lists: the kernels, and any __device__ function it did
    # not inline. name -> (stack frame, spill stores, spill loads) in bytes.
    frames: dict[str, tuple[int, int, int]] = field(default_factory=dict)


_ENTRY = re.compile(r"Compiling entry function '(\w+)' for '(\w+)'")
_PROPS = re.compile(r"Function properties for (\w+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers")
_BARRIERS = re.compile(r"used (\d+) barriers")
_SMEM = re.compile(r"(\d+) bytes smem")


def parse(output: str, arch: str) -> tuple[dict[str, Kernel], dict[str, tuple[int, int, int]]]:
    """The kernels and the stack frames/spills in the text of `nvcc --resource-usage`."""
    kernels: dict[str, Kernel] = {}
    frames: dict[str, tuple[int, int, int]] = {}
    entry = props = None
    for line in output.splitlines():
        if m := _ENTRY.search(line):
            if m.group(2) != arch:
                raise ValueError(f"ptxas compiled {m.group(1)} for {m.group(2)}, not {arch}")
            entry = kernels.setdefault(m.group(1), Kernel(m.group(1)))
        elif m := _PROPS.search(line):
            props = m.group(1)
        elif (m := _FRAME.search(line)) and props is not None:
            frames[props] = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if props in kernels:
                k = kernels[props]
                k.stack, k.spill_stores, k.spill_loads = frames[props]
            props = None
        elif (m := _USED.search(line)) and entry is not None:
            entry.registers = int(m.group(1))
            if b := _BARRIERS.search(line):
                entry.barriers = int(b.group(1))
            if s := _SMEM.search(line):
                entry.smem = int(s.group(1))
            entry = None
    return kernels, frames


def compile_one(nvcc: str, path: Path, arch: str) -> Report:
    with tempfile.TemporaryDirectory(prefix="rednet-nvcc-") as tmp:
        argv = [nvcc, "-cubin", f"-arch={arch}", "--resource-usage",
                "-o", str(Path(tmp) / f"{path.stem}.cubin"), str(path)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    report = Report(path.name, arch, done.returncode, output)
    if done.returncode == 0:
        report.kernels, report.frames = parse(output, arch)
    return report


def compile_all(nvcc: str, files: list[Path] | None = None, archs=ARCHS,
                workers: int = 2) -> list[Report]:
    """Every file for every architecture, `workers` compiles at a time, in (arch, file) order."""
    files = sorted(KERNELS.glob("*.cu")) if files is None else files
    jobs = [(path, arch) for arch in archs for path in files]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: compile_one(nvcc, *job), jobs))


def _cell(v: int | None) -> str:
    return "n/a" if v is None else str(v)


def render(reports: list[Report], version: str, date: str) -> str:
    out = [
        "# Kernel resources",
        "",
        "What ptxas reports for every kernel in `kernels/*.cu`, generated by",
        f"`python benchmarks/kernel_resources.py` on {date} with nvcc ({version}):",
        "",
        "    nvcc -cubin -arch=sm_XX --resource-usage -o <tmp>.cubin kernels/<op>.cu",
        "",
        "How to read it:",
        "- **registers**: per thread. A block of 256 threads needs 256 times as many from its",
        "  multiprocessor's 65536, so fewer registers let more blocks run at once (occupancy).",
        "- **shared memory**: static `__shared__` bytes per block (no kernel here uses dynamic",
        "  shared memory).",
        "- **spill stores / loads**: bytes moved between registers and local memory (slow,",
        "  off-chip) because the registers did not suffice. `tests/test_nvcc.py` requires 0.",
        "- **stack**: bytes of stack frame per thread (0: no local arrays left in memory).",
        "- **barriers**: hardware barriers the kernel uses (`__syncthreads()` uses barrier 0).",
        "",
    ]
    for arch in dict.fromkeys(r.arch for r in reports):
        out += [f"## {arch}", "",
                "| file | kernel | registers | shared memory (bytes) | spill stores (bytes) "
                "| spill loads (bytes) | stack (bytes) | barriers |",
                "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in (r for r in reports if r.arch == arch):
            if r.returncode != 0:
                out.append(f"| {r.file} | **nvcc failed** (exit {r.returncode}) | | | | | | |")
                continue
            for k in sorted(r.kernels.values(), key=lambda k: k.name):
                out.append(f"| {r.file} | `{k.name}` | {_cell(k.registers)} | {k.smem} | "
                           f"{_cell(k.spill_stores)} | {_cell(k.spill_loads)} | "
                           f"{_cell(k.stack)} | {_cell(k.barriers)} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print instead of writing the file")
    parser.add_argument("--out", type=Path, default=KERNELS / "RESOURCES.md")
    args = parser.parse_args(argv)
    nvcc = find_nvcc()
    if nvcc is None:
        print("nvcc not found (looked on PATH and in " + ", ".join(NVCC_PLACES) + ")",
              file=sys.stderr)
        return 2
    reports = compile_all(nvcc)
    text = render(reports, nvcc_version(nvcc), datetime.date.today().isoformat())
    if args.print:
        print(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    failed = [r for r in reports if r.returncode != 0]
    for r in failed:
        print(f"nvcc failed on {r.file} for {r.arch}:\n{r.output}", file=sys.stderr)
    spills = [(r.arch, name, f) for r in reports for name, f in r.frames.items() if f[1] or f[2]]
    for arch, name, f in spills:
        print(f"{arch} {name}: {f[1]} bytes spill stores, {f[2]} bytes spill loads",
              file=sys.stderr)
    return 1 if failed or spills else 0


if __name__ == "__main__":
    sys.exit(main())
