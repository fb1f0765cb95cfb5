"""Every kernel compiles with nvcc for sm_75, sm_80 and sm_90, with no register spills.

No GPU is needed, only nvcc (skipped, with the reason, where there is none). The compiles and
the parsing of ptxas's `--resource-usage` report are those of benchmarks/kernel_resources.py,
which writes the same numbers to kernels/RESOURCES.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from rednet_cupy import runtime

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ROOT / "kernels"  # the checkout's kernels and their docs (not the installed copy)


def _load_resources_module():
    path = ROOT / "benchmarks" / "kernel_resources.py"
    spec = importlib.util.spec_from_file_location("kernel_resources", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


resources = _load_resources_module()
KERNEL_FILES = sorted(KERNELS.glob("*.cu"))


@pytest.fixture(scope="module")
def reports():
    nvcc = resources.find_nvcc()
    if nvcc is None:
        pytest.skip("nvcc not found (looked on PATH and in "
                    + ", ".join(resources.NVCC_PLACES) + ")")
    return {(r.file, r.arch): r for r in resources.compile_all(nvcc, KERNEL_FILES)}


def test_there_are_kernels_to_compile():
    assert {p.name for p in KERNEL_FILES} >= {"conv2d.cu", "relu.cu", "skip_add.cu",
                                               "mse_loss.cu", "adam.cu"}


@pytest.mark.parametrize("arch", resources.ARCHS)
@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.name)
def test_compiles_without_spills(reports, path, arch):
    r = reports[(path.name, arch)]
    assert r.returncode == 0, f"nvcc failed for {arch}:\n{r.output}"
    # One report per kernel of the file, so that an empty or unparsed output cannot pass.
    expected = set(runtime.parse_kernels(path.read_text()))
    assert expected and set(r.kernels) == expected, (sorted(r.kernels), r.output)
    for k in r.kernels.values():
        assert k.registers is not None and k.registers > 0, (k, r.output)
        assert k.spill_stores is not None and k.spill_loads is not None, (k, r.output)
    spills = {name: f for name, f in r.frames.items() if f[1] or f[2]}
    assert not spills, f"register spills (stack, stores, loads) for {arch}: {spills}"


def test_the_parser_reads_ptxas_output():
    """A report in the shape ptxas prints (CUDA 12/13), including a non-inlined function."""
    text = """\
ptxas info    : 0 bytes gmem
ptxas info    : Function properties for helper
    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
ptxas info    : Compiling entry function 'k1' for 'sm_80'
ptxas info    : Function properties for k1
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 40 registers, used 1 barriers, 1024 bytes smem, 380 bytes cmem[0]
ptxas info    : Compiling entry function 'k2' for 'sm_80'
ptxas info    : Function properties for k2
    16 bytes stack frame, 12 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 255 registers, 368 bytes cmem[0]
"""
    kernels, frames = resources.parse(text, "sm_80")
    assert set(kernels) == {"k1", "k2"}
    assert (kernels["k1"].registers, kernels["k1"].smem, kernels["k1"].barriers) == (40, 1024, 1)
    assert (kernels["k2"].registers, kernels["k2"].smem, kernels["k2"].barriers) == (255, 0, None)
    assert (kernels["k2"].spill_stores, kernels["k2"].spill_loads) == (12, 8)
    assert frames == {"helper": (8, 4, 4), "k1": (0, 0, 0), "k2": (16, 12, 8)}


def test_the_resource_report_is_in_the_docs():
    text = (KERNELS / "RESOURCES.md").read_text()
    for arch in resources.ARCHS:
        assert f"## {arch}" in text
    for path in KERNEL_FILES:
        for kernel in runtime.parse_kernels(path.read_text()):
            assert f"`{kernel}`" in text, f"{kernel} missing from kernels/RESOURCES.md"
    assert "RESOURCES.md" in (KERNELS / "README.md").read_text()
