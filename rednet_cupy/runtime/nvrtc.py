"""Compile a kernel file with NVRTC through CuPy, as the cuda device will, without a GPU.

cupy.RawModule needs a GPU to compile (CuPy takes -arch from the current device), so this
drives CuPy's NVRTC bindings directly, for an architecture chosen by the caller, with the
options the cuda device ends up passing to nvrtcCompileProgram, in CuPy's order:

  * gpu.nvrtc_options: what CudaModule gives RawModule (-std=c++17, the kernel file's folder,
    the crt/ headers' folder where CuPy misses it);
  * cupy._core.core.assemble_cupy_compiler_options: CuPy's bundled CCCL and header folders and
    the CUDA include folder that cuda.pathfinder finds. It is called, not copied, so a CuPy that
    finds headers differently is checked as it is;
  * -ftz=true (cupy/cuda/compiler.py, _compile_with_cache_cuda);
  * -arch=sm_XX, a cubin, as CuPy asks for whenever its NVRTC knows the architecture, and
    --device-as-default-execution-space (_compile_using_nvrtc_no_warning).

Left out: --pch, which CuPy adds with NVRTC >= 12.8: a precompiled-header cache, it changes how
fast a file compiles, not whether it does.

A kernel file that needs a newer GPU than the oldest checked says so in its header comment with
a line `// requires: sm_80` (see kernels/README.md); `required_arch` reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from . import gpu
from .errors import KernelError
from .loader import read_source

# Turing (T4, RTX 20xx), Ampere (A100, RTX 30xx), Hopper (H100): the oldest GPU CUDA 13 still
# supports, the first with cp.async and bf16 tensor cores, and the newest datacentre part.
# benchmarks/kernel_resources.py compiles the same three with nvcc.
ARCHS = (75, 80, 90)

_REQUIRES = re.compile(r"//\s*requires:\s*sm_(\d+)\s*")


def required_arch(source: str) -> int | None:
    """N from a `// requires: sm_N` line of the header comment (the `//` lines before the
    first line of code), or None. Later lines do not count: a comment inside the code that
    mentions the convention must not turn a check off."""
    for line in source.splitlines():
        text = line.strip()
        if not text:
            continue
        if not text.startswith("//"):
            return None
        match = _REQUIRES.fullmatch(text)
        if match:
            return int(match.group(1))
    return None


def available() -> tuple[bool, str]:
    """(True, "NVRTC x.y") or (False, why not): CuPy missing, or its NVRTC library not loading."""
    try:
        from cupy.cuda import nvrtc
    except ImportError as e:
        return False, f"CuPy is not installed or does not import ({e}): {gpu.INSTALL_HINT}"
    try:
        major, minor = nvrtc.getVersion()
    except Exception as e:  # no libnvrtc where CuPy looks for it
        return False, f"CuPy's NVRTC library does not load ({e}): {gpu.INSTALL_HINT}"
    return True, f"NVRTC {major}.{minor}"


def compile_options(include_dirs: Iterable[Path], arch: int) -> tuple[str, ...]:
    """Every option the cuda device's compile of a file with these include folders passes to
    NVRTC on a GPU of compute capability `arch` (75 for sm_75); see the module docstring."""
    from cupy._core import core

    options = core.assemble_cupy_compiler_options(gpu.nvrtc_options(include_dirs))
    return (*options, "-ftz=true", f"-arch=sm_{arch}", "--device-as-default-execution-space")


def compile_source(source: str, filename: str, include_dirs: Iterable[Path], arch: int) -> bytes:
    """The cubin NVRTC makes of `source`; KernelError naming `filename` with NVRTC's log if
    it does not compile."""
    from cupy.cuda import nvrtc

    try:
        options = compile_options(include_dirs, arch)
    except Exception as e:  # e.g. CuPy's "Failed to find CUDA headers"
        raise KernelError(f"{filename}: no NVRTC options for sm_{arch}: {e}") from e
    program = nvrtc.createProgram(source, filename, (), ())
    try:
        nvrtc.compileProgram(program, options)
        return nvrtc.getCUBIN(program)
    except Exception as e:
        log = nvrtc.getProgramLog(program)
        raise KernelError(f"{filename}: NVRTC failed for sm_{arch} ({e}):\n{log}"
                          + gpu.header_hint(log)) from e
    finally:
        nvrtc.destroyProgram(program)


def compile_file(path: str | os.PathLike, arch: int) -> bytes:
    """compile_source on a .cu file, read with the include folders the cuda device uses."""
    text, _, filename, include_dirs = read_source(Path(path))
    return compile_source(text, filename, include_dirs, arch)
