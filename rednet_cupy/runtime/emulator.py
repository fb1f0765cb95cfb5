"""The "emulate" device: the kernel file compiled for the CPU, launched through ctypes.

What happens to a kernel source, and why:

1. One text rewrite, `extern __shared__ T name[];` (dynamic shared memory, sized at launch).
   C++ has no such thing; inside a function it becomes
   `T* const name = reinterpret_cast<T*>(rednet_emu::dynamic_shared);`, at file scope a macro
   with the same meaning. Line numbers are kept, and a `#line` directive makes compiler
   messages point into the original file. Everything else is left to cuda_emu.h.
2. After the source, one `extern "C"` launcher per kernel, which hands the kernel and the
   launch to `rednet_emu::launch` (see the header): blocks spread over the cores, the threads
   of a block run as fibers, or, when the file's text (with the headers it includes) names no
   barrier and no warp intrinsic, as a plain loop.
3. The library is compiled and cached (compiler.py) and loaded with ctypes.

Every launch runs under a schedule, the order in which a block's ready threads run:
"forward", "reverse" or "random" (a seeded permutation at every barrier). The default comes
from REDNET_EMU_SCHEDULE ("forward", "reverse", "random" or "random:<seed>"); `schedule()`
overrides it for a `with` block.

With REDNET_EMU_RACECHECK=1 the kernels are built instrumented (compiler.py) and a race on
shared memory, or on the pointer arguments' global memory (within a block, or between
blocks), ends the launch; `resolve_locations` turns the code and thread_local offsets
in its message into source lines and array names, with binutils' addr2line and readelf.

Inside runtime.profiling() (profile.py) a launch runs from a third build of the same source,
instrumented like the race check's but counting memory traffic; it is built the first time a
module is launched under profiling() and kept, and the default build is left as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import compiler, profile
from .errors import KernelError
from .signature import Param, mask_comments

# Idle OpenMP workers must sleep between launches, not spin: the Python code between two
# launches (and NumPy's own threads) needs the cores. libgomp reads this once, when it is
# first loaded, hence before any library is.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

# A file that names none of these runs its blocks as plain loops over the threads (no fibers).
_NEEDS_FIBERS = re.compile(
    r"\b(?:__syncthreads\w*|__syncwarp|__shfl(?:_up|_down|_xor)?_sync|__ballot_sync|"
    r"__any_sync|__all_sync|__activemask|load_matrix_sync|store_matrix_sync|mma_sync|"
    r"__pipeline_\w+)\b")

SCHEDULES = ("forward", "reverse", "random")
_schedule_override: tuple[str, int] | None = None

_DYNAMIC_SHARED = re.compile(
    r"\bextern\s+(?:__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s*)?|"
    r"__align__\s*\(\s*\d+\s*\)\s*__shared__\s+)"
    r"(?P<type>[A-Za-z_][\w\s]*?)\s*(?:__align__\s*\(\s*\d+\s*\)\s*)?"
    r"\b(?P<name>[A-Za-z_]\w*)\s*\[\s*\]\s*;"
)

# Only one emulated launch at a time in a process: launches share the header's globals
# (gridDim, blockDim, blockIdx) and the cores.
_launch_lock = threading.Lock()


def _brace_depth(text: str, end: int) -> int:
    return text.count("{", 0, end) - text.count("}", 0, end)


def translate(source: str, filename: str) -> str:
    """Rewrite dynamic shared memory declarations (the one thing cuda_emu.h cannot do)."""
    masked = mask_comments(source)
    pieces, last = [f'#line 1 "{filename}"\n'], 0
    for m in _DYNAMIC_SHARED.finditer(masked):
        ctype, name = " ".join(m.group("type").split()), m.group("name")
        if _brace_depth(masked, m.start()) > 0:
            new = f"{ctype}* const {name} = reinterpret_cast<{ctype}*>(rednet_emu::dynamic_shared);"
        else:
            new = f"#define {name} (reinterpret_cast<{ctype}*>(rednet_emu::dynamic_shared))"
        pieces += [source[last : m.start()], new, "\n" * masked.count("\n", m.start(), m.end())]
        last = m.end()
    pieces.append(source[last:])
    return "".join(pieces)


def launchers(kernels: list[str]) -> str:
    """One C entry point per kernel; the template in cuda_emu.h does the work."""
    out = ["\n#line 1 \"<rednet emulator launchers>\"\n"]
    for k in kernels:
        out.append(
            f'extern "C" __attribute__((visibility("default"))) int rednet_launch_{k}('
            f"unsigned gx, unsigned gy, unsigned gz, "
            f"unsigned bx, unsigned by, unsigned bz, std::size_t shared, void** args, "
            f"int mode, int schedule, unsigned long long seed, "
            f"unsigned long long layout_seed, char* err, std::size_t err_len) {{\n"
            f'  return rednet_emu::launch(&{k}, "{k}", gx, gy, gz, bx, by, bz, shared, args, '
            f"mode, schedule, seed, layout_seed, err, err_len);\n}}\n"
        )
    return "".join(out)


def needs_fibers(text: str) -> bool:
    """Whether kernel text (a file and the headers it includes) names a barrier or a warp
    intrinsic; without one, each block can run as a plain loop over its threads."""
    return _NEEDS_FIBERS.search(text) is not None


def parse_schedule(text: str) -> tuple[str, int]:
    """"forward", "reverse", "random" or "random:<seed>" as (name, seed)."""
    name, _, seed = text.strip().lower().partition(":")
    if name not in SCHEDULES or (seed and (name != "random" or not seed.isdigit())):
        raise ValueError(f"emulator schedule {text!r}: expected forward, reverse, random or "
                         f"random:<seed> (a non-negative integer)")
    return name, int(seed or 0)


def current_schedule() -> tuple[str, int]:
    """The schedule launches run under now: schedule()'s, else REDNET_EMU_SCHEDULE's."""
    if _schedule_override is not None:
        return _schedule_override
    return parse_schedule(os.environ.get("REDNET_EMU_SCHEDULE", "") or "forward")


@contextlib.contextmanager
def schedule(name: str, seed: int = 0) -> Iterator[None]:
    """Run the emulator's launches inside the `with` block under schedule `name`
    ("forward", "reverse" or "random", the last with `seed`)."""
    global _schedule_override
    parsed = parse_schedule(f"{name}:{seed}" if name == "random" else name)
    previous, _schedule_override = _schedule_override, parsed
    try:
        yield
    finally:
        _schedule_override = previous


_layout_override: int | None = None


def parse_fragment_layout(text: str) -> int:
    """"natural" (0) or "scrambled" / "scrambled:<seed>" (a non-zero layout seed)."""
    name, _, seed = text.strip().lower().partition(":")
    if name not in ("natural", "scrambled") or (seed and (name != "scrambled"
                                                          or not seed.isdigit())):
        raise ValueError(f"fragment layout {text!r}: expected natural, scrambled or "
                         f"scrambled:<seed> (a non-negative integer)")
    return 0 if name == "natural" else 1 + int(seed or 0)


def current_fragment_layout() -> int:
    """The WMMA fragment layout seed launches use now: fragment_layout()'s, else
    REDNET_EMU_FRAGMENTS's (0 = natural)."""
    if _layout_override is not None:
        return _layout_override
    return parse_fragment_layout(os.environ.get("REDNET_EMU_FRAGMENTS", "") or "natural")


@contextlib.contextmanager
def fragment_layout(name: str, seed: int = 0) -> Iterator[None]:
    """Inside the `with` block, WMMA fragments hold their elements in the "natural" layout
    or a "scrambled" one (a seeded permutation of which lane holds which element). CUDA
    leaves the layout unspecified: a kernel that reads `frag.x[i]` as a given row and column
    works on one GPU and not the next, and gives different results here when scrambled."""
    global _layout_override
    value = parse_fragment_layout(f"{name}:{seed}" if name == "scrambled" else name)
    previous, _layout_override = _layout_override, value
    try:
        yield
    finally:
        _layout_override = previous


def _included_text(source: str, include_dirs: list[Path], seen: set[Path] | None = None) -> str:
    """The text of every local header the source includes, recursively: part of the cache key,
    so that editing a .cuh rebuilds the kernels that use it."""
    seen = set() if seen is None else seen
    parts = []
    for name in re.findall(r'^\s*#\s*include\s*"([^"]+)"', source, flags=re.M):
        for d in include_dirs:
            path = (d / name).resolve()
            if path.is_file() and path not in seen:
                seen.add(path)
                text = path.read_text()
                parts += [str(path), text, _included_text(text, include_dirs, seen)]
                break
    return "\0".join(parts)


_SCALARS = {np.dtype(t): c for t, c in [
    (np.float32, ctypes.c_float), (np.float64, ctypes.c_double), (np.bool_, ctypes.c_bool),
    (np.int8, ctypes.c_int8), (np.uint8, ctypes.c_uint8), (np.int16, ctypes.c_int16),
    (np.uint16, ctypes.c_uint16), (np.int32, ctypes.c_int32), (np.uint32, ctypes.c_uint32),
    (np.int64, ctypes.c_int64), (np.uint64, ctypes.c_uint64)]}


def _tls_symbols(lib: Path) -> list[tuple[int, int, str]]:
    """(offset, size, demangled name) of each thread_local of the library: the __shared__
    arrays among them."""
    readelf = shutil.which("readelf")
    if readelf is None:
        return []
    done = subprocess.run([readelf, "-sW", "--demangle", str(lib)], capture_output=True,
                          text=True, timeout=60)
    out = []
    for line in done.stdout.splitlines():
        f = line.split(None, 7)
        if len(f) == 8 and f[3] == "TLS" and int(f[2]) > 0:
            out.append((int(f[1], 16), int(f[2]), f[7]))
    return out


def resolve_locations(message: str, lib: Path) -> str:
    """Turn the race check's {pc:0x...} (code offsets in `lib`) into file:line, and its
    {tls:0x...} (offsets in the library's thread_local block) into array name and offset."""
    pcs = re.findall(r"\{pc:(0x[0-9a-f]+)\}", message)
    addr2line = shutil.which("addr2line")
    if pcs and addr2line:
        done = subprocess.run([addr2line, "-e", str(lib), *pcs], capture_output=True,
                              text=True, timeout=60)
        lines = done.stdout.splitlines()
        for pc, where in zip(pcs, lines, strict=False):
            where = where.split(" (discriminator")[0]
            message = message.replace(f"{{pc:{pc}}}", where if "??" not in where else pc)
    tls = re.findall(r"\{tls:(0x[0-9a-f]+)\}", message)
    if tls:
        symbols = _tls_symbols(lib)
        for off in tls:
            o = int(off, 16)
            name = next((f"__shared__ {n}, byte offset {o - v}" for v, size, n in symbols
                         if v <= o < v + size), f"static shared memory at TLS offset {off}")
            message = message.replace(f"{{tls:{off}}}", name)
    return message


# cudaMalloc returns 256-byte aligned memory, and kernels may rely on it (WMMA loads need
# 32 bytes, vector loads 16); NumPy aligns to 16 bytes only.
DEVICE_ALIGNMENT = 256


def _aligned(a: np.ndarray, copies: dict[tuple[int, int, str], np.ndarray]) -> np.ndarray:
    """`a` itself when its data is 256-byte aligned, else a copy that is (written back after
    the launch when the kernel may write it); an array passed twice gets one copy."""
    if a.ctypes.data % DEVICE_ALIGNMENT == 0 or a.nbytes == 0:
        return a
    key = (a.ctypes.data, a.nbytes, a.dtype.str)
    if key in copies:
        return copies[key]
    raw = np.empty(a.nbytes + DEVICE_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % DEVICE_ALIGNMENT
    copy = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    copy[...] = a
    copies[key] = copy
    return copy


class EmulatorModule:
    """A kernel source built for the CPU; `launch` runs one checked launch."""

    xp = np

    def __init__(self, source: str, name: str, kernels: dict[str, list[Param]],
                 filename: str, include_dirs: list[Path]) -> None:
        if not kernels:
            raise KernelError(f'{name}: no extern "C" __global__ kernel in the source')
        if compiler.sanitizing():
            compiler.check_sanitizer_loaded()
        code = translate(source, filename) + launchers(list(kernels))
        included = _included_text(source, include_dirs)
        self.fibers = needs_fibers(mask_comments(source) + included)
        self._build = (code, name, include_dirs, included)
        self._kernels = list(kernels)
        self.path = compiler.build(code, name, include_dirs, included)
        self._lib, self._entry = _open(self.path, self._kernels)
        self._racecheck = compiler.racechecking()
        if self._racecheck:
            self._ignore_guards()
            self._lib.rednet_race_globals.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self._profile: tuple[Path, ctypes.CDLL, dict[str, Any]] | None = None

    def _profile_build(self) -> tuple[Path, ctypes.CDLL, dict[str, Any]]:
        """The profile build of this source (compiled on first use, then kept)."""
        if self._profile is None:
            path = compiler.build(*self._build, flag_list=compiler.PROFILE_FLAGS)
            lib, entries = _open(path, self._kernels)
            lib.rednet_profile_begin.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.rednet_profile_sites.argtypes = [ctypes.c_void_p, ctypes.c_long]
            lib.rednet_profile_sites.restype = ctypes.c_long
            lib.rednet_profile_barriers.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_long]
            lib.rednet_profile_barriers.restype = ctypes.c_long
            self._profile = (path, lib, entries)
        return self._profile

    def _ignore_guards(self) -> None:
        """Tell the race check which thread_locals are g++'s guard variables (of `__shared__`
        arrays of a class type, such as __half): each fiber reads them, and that is no race."""
        guards = [(off, size) for off, size, name in _tls_symbols(self.path)
                  if name.startswith("guard variable for")]
        n = len(guards)
        offsets = (ctypes.c_ulong * max(n, 1))(*[g[0] for g in guards])
        sizes = (ctypes.c_ulong * max(n, 1))(*[g[1] for g in guards])
        self._lib.rednet_emu_ignore_tls(offsets, sizes, n)

    def launch(self, kernel: str, params: list[Param], grid: tuple[int, int, int],
               block: tuple[int, int, int], args: list[Any], shared_mem: int) -> None:
        """Pass each argument by address: the C side reads it at the parameter's own type."""
        copies: dict[tuple[int, int, str], np.ndarray] = {}  # one copy per buffer, if aliased
        staged = [_aligned(a, copies) if p.pointer else a
                  for p, a in zip(params, args, strict=True)]
        values = [
            ctypes.c_void_p(a.ctypes.data) if p.pointer else _SCALARS[p.dtype](a.item())
            for p, a in zip(params, staged, strict=True)
        ]
        argv = (ctypes.c_void_p * max(len(values), 1))(*[ctypes.addressof(v) for v in values])
        err = ctypes.create_string_buffer(4096)
        name, seed = current_schedule()
        layout_seed = current_fragment_layout()
        profiled = profile.active()
        path, lib, entries = (self._profile_build() if profiled else
                              (self.path, self._lib, self._entry))
        with _launch_lock:
            if self._racecheck and not profiled:  # global memory: the arguments' bytes
                spans = [(a.ctypes.data, a.ctypes.data + a.nbytes) if p.pointer else (0, 0)
                         for p, a in zip(params, staged, strict=True)]
                lib.rednet_race_globals(
                    (ctypes.c_ulonglong * max(2 * len(spans), 1))(*[v for r in spans for v in r]),
                    len(spans))
            if profiled:  # global memory is the pointer arguments' bytes
                ranges = [(a.ctypes.data, a.ctypes.data + a.nbytes)
                          for p, a in zip(params, staged, strict=True) if p.pointer]
                flat = (ctypes.c_ulonglong * max(2 * len(ranges), 1))(
                    *[v for r in ranges for v in r])
                lib.rednet_profile_begin(flat, len(ranges))
            rc = entries[kernel](*grid, *block, shared_mem, argv, int(self.fibers),
                                 SCHEDULES.index(name), seed, layout_seed, err, len(err))
            if profiled and not rc:
                sites, barriers = _profile_rows(lib)
        for p, a, b in zip(params, args, staged, strict=True):
            if b is not a and not p.const:
                a[...] = b
        if rc:
            message = err.value.decode(errors="replace")
            message = re.sub(r"\{arg:(\d+)\}", lambda m: _argument(params, int(m.group(1))),
                             message)
            if "{pc:" in message or "{tls:" in message:
                message = resolve_locations(message, path)
            raise KernelError(message)
        if profiled:
            profile.record(profile.make_launch(kernel, grid, block, shared_mem, path, sites,
                                               barriers))


def _argument(params: list[Param], i: int) -> str:
    return f"argument {i + 1} ({params[i]})"


def _open(path: Path, kernels: list[str]) -> tuple[ctypes.CDLL, dict[str, Any]]:
    """Load a built library; its launch entry point per kernel."""
    lib = ctypes.CDLL(str(path))
    entries = {}
    for k in kernels:
        entry = getattr(lib, f"rednet_launch_{k}")
        entry.argtypes = [ctypes.c_uint] * 6 + [
            ctypes.c_size_t, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
            ctypes.c_ulonglong, ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_size_t]
        entry.restype = ctypes.c_int
        entries[k] = entry
    return lib, entries


def _profile_rows(lib: ctypes.CDLL) -> tuple[list[tuple[int, ...]], list[tuple[str, int, int]]]:
    """The last launch's counts from a profile build: per instruction (see
    rednet_profile_sites in cuda_emu_profile.h) and barriers per source line."""
    n = lib.rednet_profile_sites(None, 0)
    out = (ctypes.c_ulonglong * max(profile.SITE_FIELDS * n, 1))()
    lib.rednet_profile_sites(out, n)
    w = profile.SITE_FIELDS
    sites = [tuple(out[i * w:(i + 1) * w]) for i in range(n)]
    m = lib.rednet_profile_barriers(None, None, None, 0)
    files, lines = (ctypes.c_char_p * max(m, 1))(), (ctypes.c_int * max(m, 1))()
    counts = (ctypes.c_ulonglong * max(m, 1))()
    lib.rednet_profile_barriers(files, lines, counts, m)
    barriers = [(files[i].decode(errors="replace"), lines[i], counts[i]) for i in range(m)]
    return sites, barriers
