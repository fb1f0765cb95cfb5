"""The "cuda" device, kept thin: CuPy compiles the same source with NVRTC and launches it.

CuPy is imported lazily, inside functions, so that everything else works on machines without
it. The argument checks are not here: loader.Function runs them for both devices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import KernelError
from .signature import Param

INSTALL_HINT = "pip install 'rednet-cupy[cuda12]' (CUDA 12) or 'rednet-cupy[cuda13]' (CUDA 13)"
HEADER_HINT = ("a CUDA header was not found: the cuda12 and cuda13 extras install the ones the "
               "kernels use (NVRTC, cudart and crt headers), or set CUDA_PATH to a CUDA toolkit")


def import_cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as e:
        raise KernelError(f"CuPy is not installed or does not import ({e}): {INSTALL_HINT}") from e
    return cupy


def cuda_available() -> tuple[bool, str]:
    """(True, "GPU name, compute capability") or (False, why not, precisely)."""
    try:
        import cupy
    except ImportError as e:
        if getattr(e, "name", None) == "cupy":
            return False, f"CuPy is not installed: {INSTALL_HINT}"
        return False, f"CuPy is installed but does not import ({e}): {INSTALL_HINT}"
    runtime = cupy.cuda.runtime
    try:
        driver = runtime.driverGetVersion()
    except Exception as e:  # CUDARuntimeError, or a missing libcuda.so
        return False, f"no NVIDIA driver usable by CuPy ({e})"
    if driver == 0:
        return False, "no NVIDIA driver installed (cudaDriverGetVersion returned 0)"
    try:
        count = runtime.getDeviceCount()
    except Exception as e:
        return False, f"the NVIDIA driver sees no usable GPU ({e})"
    if count == 0:
        return False, "the NVIDIA driver sees no GPU"
    props = runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return True, f"{name}, compute capability {props['major']}.{props['minor']}"


def info() -> dict[str, Any]:
    """What `rednet info` shows about the GPU side."""
    ok, reason = cuda_available()
    out: dict[str, Any] = {"available": ok, "reason": reason}
    if not ok:
        return out
    import cupy

    runtime = cupy.cuda.runtime
    props = runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    out.update(
        gpu=name.decode() if isinstance(name, bytes) else str(name),
        compute_capability=f"{props['major']}.{props['minor']}",
        cupy=cupy.__version__,
        cuda_runtime=_version(runtime.runtimeGetVersion()),
        cuda_driver=_version(runtime.driverGetVersion()),
    )
    return out


def _version(v: int) -> str:
    return f"{v // 1000}.{v % 1000 // 10}"


def nvrtc_options(include_dirs: Iterable[Path]) -> tuple[str, ...]:
    """The options CudaModule gives cupy.RawModule; tests/test_nvrtc.py compiles every kernel
    file with the same (nvrtc.py adds what CuPy adds on its way to NVRTC)."""
    dirs = [*include_dirs, *crt_include_dirs()]
    return ("-std=c++17", *(f"-I{d}" for d in dirs))


@functools.cache
def crt_include_dirs() -> tuple[Path, ...]:
    """The directory of CUDA's crt/ headers, where CuPy does not pass it itself.

    CuPy (>= 14) passes one CUDA include directory: the one with cuda_runtime.h that
    cuda.pathfinder finds (pip wheels first, then conda, CUDA_PATH, a system toolkit). mma.h
    includes "crt/mma.h". In a toolkit, and with CUDA 13's pip wheels (nvidia-cuda-crt installs
    into the same nvidia/cu13/include), crt/ is in that directory. With CUDA 12's pip wheels it
    is not: crt/ ships in nvidia-cuda-nvcc-cu12 (nvidia/cuda_nvcc/include), which pathfinder
    finds as "nvcc"."""
    try:
        from cuda.pathfinder import find_nvidia_header_directory
    except ImportError:  # an older CuPy, without pathfinder, looks for headers its own way
        return ()
    try:
        return _crt_dirs(find_nvidia_header_directory)
    except Exception:  # a failed lookup leaves the include path as CuPy makes it
        return ()


def _crt_dirs(find: Callable[[str], str | None]) -> tuple[Path, ...]:
    cudart = find("cudart")
    if cudart is None or (Path(cudart) / "crt" / "mma.h").is_file():
        return ()
    nvcc = find("nvcc")
    if nvcc is None or not (Path(nvcc) / "crt" / "mma.h").is_file():
        return ()
    # Only a crt-only directory: a whole toolkit's include/ (pathfinder's fallback for "nvcc")
    # would put its cuda_runtime.h and the rest ahead of the ones CuPy chose.
    if (Path(nvcc) / "cuda_runtime.h").is_file():
        return ()
    return (Path(nvcc),)


def header_hint(message: str) -> str:
    """HEADER_HINT on its own line when a compile failed on a missing header, else ""."""
    return f"\n({HEADER_HINT})" if "cannot open source file" in message else ""


class CudaModule:
    """A kernel source compiled by CuPy's RawModule; `launch` runs one checked launch."""

    def __init__(self, source: str, name: str, kernels: dict[str, list[Param]],
                 filename: str, include_dirs: list[Path]) -> None:
        cupy = import_cupy()
        self.xp = cupy
        try:
            self._raw = cupy.RawModule(code=source, options=nvrtc_options(include_dirs))
            # RawModule compiles on first use: do it now so a compile error surfaces at load.
            self._functions = {k: self._raw.get_function(k) for k in kernels}
        except Exception as e:  # cupy.cuda.compiler.CompileException and driver errors
            raise KernelError(f"{name} ({filename}): CuPy could not build the kernels:\n{e}"
                              + header_hint(str(e))) from e

    def launch(self, kernel: str, params: list[Param], grid: tuple[int, int, int],
               block: tuple[int, int, int], args: list[Any], shared_mem: int) -> None:
        self._functions[kernel](grid, block, tuple(args), shared_mem=shared_mem)
