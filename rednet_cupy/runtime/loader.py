"""Load a kernel source for a device and launch its kernels the way CuPy does.

`Module` and `Function` are the same for both devices; only the backend behind them differs
(emulator.EmulatorModule or gpu.CudaModule). Every launch goes through one check
(arguments.check_launch) before it reaches either backend.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

# Importing emulator sets OMP_WAIT_POLICY, which must happen before OpenMP is first loaded.
from . import compiler, emulator, gpu
from .arguments import check_launch
from .errors import KernelError
from .signature import Param, parse_kernels

DEVICES = ("emulate", "cuda")


def kernel_dir() -> Path:
    """Where kernels/*.cu are: inside the package once installed (setuptools maps the
    top-level kernels/ to rednet_cupy.kernels), else kernels/ next to the package in a source
    checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "kernels", package.parent / "kernels"):
        if candidate.is_dir():
            return candidate
    raise KernelError(f"no kernels directory found (looked in {package / 'kernels'} and "
                      f"{package.parent / 'kernels'})")


class Function:
    """One kernel: `fn(grid, block, args, shared_mem=0)`, as CuPy's RawKernel is called."""

    def __init__(self, module: Module, name: str, params: list[Param]) -> None:
        self.module, self.name, self.params = module, name, params

    def __call__(self, grid: Any, block: Any, args: Any, shared_mem: int = 0) -> None:
        backend = self.module.backend
        grid3, block3, converted, shared = check_launch(
            self.name, self.params, grid, block, args, shared_mem, backend.xp)
        backend.launch(self.name, self.params, grid3, block3, converted, shared)

    def __repr__(self) -> str:
        params = ", ".join(str(p) for p in self.params)
        return f"<kernel {self.name}({params}) on {self.module.device}>"


class Module:
    """The kernels of one source, built for one device."""

    def __init__(self, source: str, name: str, device: str, filename: str,
                 include_dirs: list[Path]) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r} "
                             f"(the 'cpu' device runs the NumPy reference and has no kernels)")
        self.name, self.device, self.source = name, device, source
        self.kernels = parse_kernels(source)
        backend = emulator.EmulatorModule if device == "emulate" else gpu.CudaModule
        self.backend = backend(source, name, self.kernels, filename, include_dirs)
        self._functions = {k: Function(self, k, p) for k, p in self.kernels.items()}

    def get_function(self, name: str) -> Function:
        try:
            return self._functions[name]
        except KeyError:
            raise KernelError(f"{self.name}: no kernel {name!r}; it has "
                              f"{', '.join(self._functions) or 'none'}") from None

    def __getattr__(self, name: str) -> Function:
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"module {self.name!r} has no kernel {name!r}")

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._functions]

    def __repr__(self) -> str:
        return f"<kernels {self.name} on {self.device}: {', '.join(self._functions)}>"


# Modules already built in this process, by everything that makes them differ.
_modules: dict[tuple, Module] = {}
_modules_lock = threading.Lock()


def read_source(source: str | os.PathLike, name: str | None = None,
                include_dirs: list[str | os.PathLike] | None = None
                ) -> tuple[str, str, str, list[Path]]:
    """(text, name, filename, include_dirs) of a source as load_source builds it; the NVRTC
    compile check (nvrtc.py) reads files through here too, so it sees the same include
    directories as the cuda device. A file's own folder comes first, then `include_dirs`."""
    extra = [Path(d).resolve() for d in include_dirs or []]
    if isinstance(source, os.PathLike):
        path = Path(source).resolve()
        return path.read_text(), name or path.stem, str(path), [path.parent, *extra]
    name = name or "kernels"
    return str(source), name, f"{name}.cu", extra


def load_source(source: str | os.PathLike, device: str = "emulate",
                name: str | None = None,
                include_dirs: list[str | os.PathLike] | None = None) -> Module:
    """Build CUDA source (text, or a pathlib.Path / os.PathLike to a .cu file) for `device`.

    A str is always source text; pass a Path for a file. Local `#include "x.cuh"` is resolved
    next to the file, then in `include_dirs` (for source text: only there)."""
    text, name, filename, dirs = read_source(source, name, include_dirs)
    key = (text, name, device, filename, tuple(dirs), compiler.sanitizing(),
           compiler.racechecking(), os.environ.get("CXX"), str(compiler.cache_dir()))
    with _modules_lock:
        if key not in _modules:
            _modules[key] = Module(text, name, device, filename, dirs)
        return _modules[key]


def load(name: str, device: str = "emulate") -> Module:
    """Build kernels/<name>.cu of the project for `device` ("emulate" or "cuda")."""
    directory = kernel_dir()
    path = directory / (name if name.endswith(".cu") else f"{name}.cu")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.cu"))) or "none"
        raise KernelError(f"no kernel file {path.name} in {directory} (there are: {known})")
    return load_source(path, device=device)


def clear() -> None:
    """Forget the modules built in this process (the on-disk cache stays)."""
    with _modules_lock:
        _modules.clear()
