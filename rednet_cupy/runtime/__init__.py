"""Kernel runtime: load kernels/*.cu for the GPU (CuPy) or for the CPU emulator, launch them.

    mod = runtime.load("relu", device="emulate")      # or device="cuda"
    mod.relu_forward(grid, block, (x, y, np.int32(n)))  # CuPy's RawKernel call shape

Both devices check every argument against the kernel's C signature before the launch.
See emulator.py and cuda_emu.h for how the emulator runs CUDA on a CPU, and profile.py for
`with runtime.profiling() as prof:`, the emulator's memory-traffic profile of each launch.
"""

from __future__ import annotations

import subprocess
from typing import Any

from .compiler import cache_dir, compiler_command, compiler_version, sanitizer_env, sanitizing
from .emulator import SCHEDULES, current_schedule, fragment_layout, schedule
from .errors import CompilerNotFound, KernelError, LaunchError
from .gpu import cuda_available
from .loader import Function, Module, kernel_dir, load, load_source
from .profile import Counts, LaunchProfile, Profile, format_table, profiling
from .signature import Param, parse_kernels

__all__ = [
    "SCHEDULES", "CompilerNotFound", "Counts", "Function", "KernelError", "LaunchError",
    "LaunchProfile", "Module", "Param", "Profile", "cache_dir", "cuda_available",
    "current_schedule", "format_table", "fragment_layout", "info", "kernel_dir", "load",
    "load_source", "parse_kernels", "profiling", "sanitizer_env", "schedule",
]


def _compiler_info() -> dict[str, Any]:
    try:
        command = compiler_command()
        version = compiler_version(command).splitlines()[0]
    except (KernelError, subprocess.SubprocessError, OSError) as e:
        return {"available": False, "reason": str(e)}
    import shutil

    return {"available": True, "command": " ".join(command),
            "path": shutil.which(command[0]), "version": version}


def info() -> dict[str, Any]:
    """What this machine can run, for `rednet info`: the usable devices, the GPU (name,
    compute capability, CuPy and CUDA versions, or why not), the C++ compiler for the emulator
    (or why not), the emulator's cache directory, and whether sanitizer mode is on."""
    from . import gpu

    cuda = gpu.info()
    cxx = _compiler_info()
    devices = ["cpu"] + (["emulate"] if cxx["available"] else []) + (
        ["cuda"] if cuda["available"] else [])
    try:
        kernels = str(kernel_dir())
    except KernelError as e:
        kernels = f"not found ({e})"
    return {
        "devices": devices,
        "cuda": cuda,
        "compiler": cxx,
        "emulator_cache": str(cache_dir() / "emulator"),
        "sanitizer": sanitizing(),
        "kernel_dir": kernels,
    }
