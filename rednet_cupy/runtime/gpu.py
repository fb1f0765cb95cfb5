"""The "cuda" device, kept thin: CuPy compiles the same source with NVRTC and launches it.

CuPy is imported lazily, inside functions, so that everything else works on machines without
it. The argument checks are not here: loader.Function runs them for both devices.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import KernelError
from .signature import Param

INSTALL_HINT = "pip install 'rednet-cupy[cuda12]' (CUDA 12) or 'rednet-cupy[cuda13]' (CUDA 13)"


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


class CudaModule:
    """A kernel source compiled by CuPy's RawModule; `launch` runs one checked launch."""

    def __init__(self, source: str, name: str, kernels: dict[str, list[Param]],
                 filename: str, include_dirs: list[Path]) -> None:
        cupy = import_cupy()
        self.xp = cupy
        options = ("-std=c++17", *(f"-I{d}" for d in include_dirs))
        try:
            self._raw = cupy.RawModule(code=source, options=options)
            # RawModule compiles on first use: do it now so a compile error surfaces at load.
            self._functions = {k: self._raw.get_function(k) for k in kernels}
        except Exception as e:  # cupy.cuda.compiler.CompileException and driver errors
            raise KernelError(f"{name} ({filename}): CuPy could not build the kernels:\n{e}") from e

    def launch(self, kernel: str, params: list[Param], grid: tuple[int, int, int],
               block: tuple[int, int, int], args: list[Any], shared_mem: int) -> None:
        self._functions[kernel](grid, block, tuple(args), shared_mem=shared_mem)
