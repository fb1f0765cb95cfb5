"""Every kernel file compiles with NVRTC, the compiler CuPy uses, as the cuda device runs it.

No GPU is needed: rednet_cupy/runtime/nvrtc.py drives CuPy's NVRTC bindings with the options
CudaModule passes plus those CuPy adds, for sm_75, sm_80 and sm_90, and the CUDA headers come
from wherever CuPy finds them (with the cuda12/cuda13 extras: NVIDIA's pip wheels). Skipped, with
the reason, where CuPy or its NVRTC library is not installed; CI installs the cuda13 extra.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from rednet_cupy import runtime
from rednet_cupy.runtime import gpu, loader, nvrtc

ROOT = Path(__file__).resolve().parents[1]
# The checkout's kernels (every file, so new ones are covered as they come) and the test ones.
KERNEL_FILES = sorted((ROOT / "kernels").glob("*.cu")) + sorted(
    (ROOT / "tests" / "kernels").glob("*.cu"))

NVRTC_OK, NVRTC_WHY = nvrtc.available()
needs_nvrtc = pytest.mark.skipif(not NVRTC_OK, reason=NVRTC_WHY)

# What a tensor-core kernel includes: mma.h pulls in crt/mma.h, which is where pip-installed
# CUDA headers have been incomplete (see gpu.crt_include_dirs).
HEADERS_PROBE = """\
#include <mma.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda_pipeline.h>
using namespace nvcuda;
extern "C" __global__ void probe(const __nv_bfloat16* a, const __nv_bfloat16* b, float* c) {
    __shared__ float staged[32];
    __pipeline_memcpy_async(&staged[threadIdx.x % 32], &c[threadIdx.x % 32], sizeof(float));
    __pipeline_commit();
    __pipeline_wait_prior(0);
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, __half2float(__float2half(staged[0])));
    wmma::load_matrix_sync(fa, a, 16);
    wmma::load_matrix_sync(fb, b, 16);
    wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}
"""


def test_there_are_kernels_to_compile():
    names = {p.name for p in KERNEL_FILES}
    assert {"conv2d.cu", "relu.cu", "skip_add.cu", "mse_loss.cu", "adam.cu",
            "runtime_checks.cu"} <= names


@needs_nvrtc
@pytest.mark.parametrize("arch", nvrtc.ARCHS, ids=lambda a: f"sm_{a}")
@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_kernel_file_compiles(path, arch):
    source = path.read_text()
    needed = nvrtc.required_arch(source)
    if needed is not None and arch < needed:
        pytest.skip(f"{path.name} says `// requires: sm_{needed}`")
    cubin = nvrtc.compile_file(path, arch)
    assert cubin[:4] == b"\x7fELF", "NVRTC made no cubin"
    # extern "C" keeps the names unmangled: each kernel of the file is a symbol of the cubin.
    kernels = runtime.parse_kernels(source)
    assert kernels
    missing = [k for k in kernels if k.encode() not in cubin]
    assert not missing, f"kernels missing from the sm_{arch} cubin: {missing}"


@needs_nvrtc
def test_tensor_core_headers_are_found():
    """mma.h (and its crt/mma.h), cuda_fp16.h, cuda_bf16.h and cuda_pipeline.h, found where a
    pip-installed CuPy finds them; bf16 WMMA needs sm_80."""
    cubin = nvrtc.compile_source(HEADERS_PROBE, "headers_probe.cu", [], 80)
    assert cubin[:4] == b"\x7fELF" and b"probe" in cubin


@needs_nvrtc
def test_a_broken_kernel_fails_naming_its_file(tmp_path):
    path = tmp_path / "broken.cu"
    path.write_text('extern "C" __global__ void k(float* y) { y[0] = undefined_name; }\n')
    with pytest.raises(runtime.KernelError, match=r"broken\.cu: NVRTC failed for sm_80") as e:
        nvrtc.compile_file(path, 80)
    assert "undefined_name" in str(e.value) and str(path) in str(e.value)


@needs_nvrtc
def test_the_check_passes_the_cuda_devices_options(tmp_path):
    """nvrtc.compile_options extends what CudaModule gives RawModule; it does not replace it."""
    device = gpu.nvrtc_options([tmp_path])
    options = nvrtc.compile_options([tmp_path], 90)
    positions = [options.index(o) for o in device]
    assert positions == sorted(positions), options
    assert "-arch=sm_90" in options and any(o.startswith("-I") and o != f"-I{tmp_path}"
                                           for o in options), options


def test_cuda_module_passes_nvrtc_options(monkeypatch):
    """The cuda device compiles with gpu.nvrtc_options, the options the check starts from."""
    calls = []

    class RawModule:
        def __init__(self, code, options):
            calls.append(options)

        def get_function(self, name):
            return None

    monkeypatch.setitem(sys.modules, "cupy",
                        types.SimpleNamespace(__name__="cupy", RawModule=RawModule))
    monkeypatch.setattr(loader, "_modules", {})
    path = ROOT / "kernels" / "relu.cu"
    runtime.load_source(path, device="cuda")
    assert calls == [gpu.nvrtc_options([path.parent])]
    assert calls[0][:2] == ("-std=c++17", f"-I{path.parent}")


def test_required_arch_reads_the_header_only():
    assert nvrtc.required_arch("// wmma.cu: tensor cores\n//\n// requires: sm_80\n\n"
                               "extern \"C\" __global__ void k() {}\n") == 80
    assert nvrtc.required_arch("//requires:sm_90\n") == 90
    assert nvrtc.required_arch("// conv.cu\nextern \"C\" __global__ void k() {}\n") is None
    # after the first line of code it is an ordinary comment
    assert nvrtc.required_arch("#include <mma.h>\n// requires: sm_80\n") is None
    # and a mention in prose is not the convention
    assert nvrtc.required_arch("// a file may say `// requires: sm_80`\n") is None


def test_crt_headers_are_added_only_when_cupy_misses_them(tmp_path):
    def make(name: str, *files: str) -> Path:
        for f in files:
            (tmp_path / name / f).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name / f).write_text("")
        return tmp_path / name

    toolkit = make("toolkit", "cuda_runtime.h", "crt/mma.h")
    runtime_only = make("cuda_runtime", "cuda_runtime.h", "mma.h")
    nvcc_wheel = make("cuda_nvcc", "crt/mma.h", "fatbinary_section.h")
    empty = make("nothing", "fatbinary_section.h")

    def finder(found: dict[str, Path | None]):
        return lambda name: None if found.get(name) is None else str(found[name])

    # a toolkit, or CUDA 13's wheels: crt/ is beside cuda_runtime.h, nothing to add
    assert gpu._crt_dirs(finder({"cudart": toolkit, "nvcc": toolkit})) == ()
    # CUDA 12's wheels: crt/ is in the nvcc wheel's folder
    assert gpu._crt_dirs(finder({"cudart": runtime_only, "nvcc": nvcc_wheel})) == (nvcc_wheel,)
    # no crt/ anywhere, or only in a whole other toolkit: leave CuPy's choice alone
    assert gpu._crt_dirs(finder({"cudart": runtime_only, "nvcc": empty})) == ()
    assert gpu._crt_dirs(finder({"cudart": runtime_only, "nvcc": toolkit})) == ()
    assert gpu._crt_dirs(finder({"cudart": None})) == ()
