"""Find the host C++ compiler, build emulator libraries, cache them, and set up the sanitizer.

A library is cached as cache_dir()/emulator/<sha256>.so, the hash taken over everything that
changes the binary: the translated source, the emulator header, the flags and the compiler's
identity. It is built in a temporary file and renamed into place with os.replace(), which is
atomic, so two processes building the same kernel at once both end with a complete library.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import CompilerNotFound, KernelError

HEADER = Path(__file__).with_name("cuda_emu.h")
# The emulator's own <mma.h>, <cuda_fp16.h>, <cuda_bf16.h> and <cuda_pipeline.h>: found
# before any system CUDA headers, since they are passed with -I.
EMU_INCLUDE = Path(__file__).with_name("include")
# The headers cuda_emu.h includes (e.g. cuda_emu_profile.h): part of every cache key too.
HEADERS = (HEADER, *sorted(p for p in HEADER.parent.glob("cuda_emu_*.h")))
# __shared__ arrays are thread_local in a dlopen()ed library, so every kernel reaches them
# through the dynamic TLS model; on x86-64 TLS descriptors make that a load instead of a
# __tls_get_addr() call (RED10 forward + backward on `emulate`: about 15% less CPU time).
_TLS = ("-mtls-dialect=gnu2",) if platform.machine() in ("x86_64", "AMD64") else ()
# Every kernel library carries its own copy of the emulator (cuda_emu.h), whose layout can
# differ from library to library (e.g. built with -DREDNET_EMU_UCONTEXT). Hidden visibility
# and no STB_GNU_UNIQUE symbols (which the dynamic linker merges across RTLD_LOCAL libraries,
# e.g. the statics of inline functions) keep each library's runtime state its own.
_PRIVATE = ("-fvisibility=hidden", "-fno-gnu-unique")
FLAGS = ("-std=c++17", "-O2", *_TLS, *_PRIVATE, "-fopenmp", "-shared", "-fPIC")
SANITIZE_FLAGS = ("-std=c++17", *_TLS, *_PRIVATE, "-fopenmp", "-shared", "-fPIC",
                  "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1")
# Race-check mode: g++'s ThreadSanitizer instrumentation (a call before every load and
# store) with cuda_emu.h's own definitions of the called functions, so no ThreadSanitizer
# runtime is involved: the object is linked without -fsanitize (see build()).
RACECHECK_FLAGS = (*FLAGS, "-fsanitize=thread", "--param=tsan-instrument-func-entry-exit=0",
                   "-gdwarf-4", "-DREDNET_EMU_RACECHECK")
# Profile mode (runtime.profiling()): the same instrumentation, with cuda_emu_profile.h's
# definitions counting memory traffic instead. So that each access is the GPU thread's own:
# no loop vectorisation (a CPU's SIMD load would stand in for several iterations' loads), and
# no scalar replacement of aggregates (which splits `float4 v = p[i]` and
# `p[i] = make_float4(...)` into per-member accesses where the GPU makes one 16-byte access).
# No identical-code folding: two kernels with the same code would share one's source lines.
PROFILE_FLAGS = (*FLAGS, "-fsanitize=thread", "--param=tsan-instrument-func-entry-exit=0",
                 "-fno-tree-loop-vectorize", "-fno-tree-sra", "-fno-ipa-icf", "-gdwarf-4",
                 "-DREDNET_EMU_PROFILE")
INSTALL_HINT = ("install a C++17 compiler with OpenMP (Debian/Ubuntu: apt-get install g++; "
                "Fedora: dnf install gcc-c++; conda: conda install gxx) or set CXX to one")

# How many libraries this process compiled, and how many it found in the cache (tests use it).
stats = {"compiled": 0, "cached": 0}


def cache_dir() -> Path:
    """$REDNET_CACHE_DIR, else $XDG_CACHE_HOME/rednet-cupy, else ~/.cache/rednet-cupy."""
    if os.environ.get("REDNET_CACHE_DIR"):
        return Path(os.environ["REDNET_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rednet-cupy"


def sanitizing() -> bool:
    """Sanitizer mode: REDNET_EMU_SANITIZE set to anything but "", "0", "false", "no"."""
    return os.environ.get("REDNET_EMU_SANITIZE", "").lower() not in ("", "0", "false", "no")


def racechecking() -> bool:
    """Race-check mode: REDNET_EMU_RACECHECK set to anything but "", "0", "false", "no"."""
    return os.environ.get("REDNET_EMU_RACECHECK", "").lower() not in ("", "0", "false", "no")


def compiler_command() -> list[str]:
    """$CXX (may hold arguments, e.g. "ccache g++"), else the first of g++, c++, clang++."""
    cxx = os.environ.get("CXX")
    if cxx:
        command = shlex.split(cxx)
        if not command or not shutil.which(command[0]):
            raise CompilerNotFound(f"CXX={cxx!r} is not an executable compiler: {INSTALL_HINT}")
        return command
    for candidate in ("g++", "c++", "clang++"):
        if shutil.which(candidate):
            return [candidate]
    raise CompilerNotFound(f"no C++ compiler (g++, c++, clang++) on PATH: {INSTALL_HINT}")


@functools.lru_cache(maxsize=8)
def _version(command: tuple[str, ...], path: str) -> str:
    del path  # part of the cache key only: a different binary under the same name
    try:
        done = subprocess.run([*command, "--version"], capture_output=True, text=True,
                              timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise CompilerNotFound(
            f"{' '.join(command)} --version failed ({e}): {INSTALL_HINT}") from e
    return done.stdout.strip()


def compiler_version(command: list[str]) -> str:
    """The compiler's full `--version` text (first line is the human-readable part)."""
    return _version(tuple(command), shutil.which(command[0]) or command[0])


def flags() -> tuple[str, ...]:
    if racechecking():
        if sanitizing():
            raise KernelError("REDNET_EMU_RACECHECK and REDNET_EMU_SANITIZE cannot be combined "
                              "(g++ instruments for one sanitizer at a time); set one of them")
        return RACECHECK_FLAGS
    return SANITIZE_FLAGS if sanitizing() else FLAGS


def build(source: str, name: str, include_dirs: list[Path], extra_key: str = "",
          flag_list: tuple[str, ...] | None = None) -> Path:
    """Compile translated `source` into a cached shared library and return its path.

    `extra_key` carries what else the build depends on (the text of included headers);
    `flag_list` replaces the flags of the current mode (flags()), e.g. PROFILE_FLAGS."""
    command = compiler_command()
    flag_list = flags() if flag_list is None else flag_list
    header = "\0".join(h.read_text() for h in (*HEADERS, *sorted(EMU_INCLUDE.glob("*.h"))))
    key = hashlib.sha256()
    # The command itself too: $CXX may carry options ("g++ -DX") that change the binary.
    for part in (source, header, " ".join(flag_list), shlex.join(command),
                 compiler_version(command), extra_key):
        key.update(part.encode())
        key.update(b"\0")
    out_dir = cache_dir() / "emulator"
    target = out_dir / f"{key.hexdigest()}.so"
    if target.exists():
        stats["cached"] += 1
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".build-{name}-") as tmp:
        cpp, lib = Path(tmp) / f"{name}.cpp", Path(tmp) / f"{name}.so"
        cpp.write_text(source)
        includes = [f"-I{d}" for d in [*include_dirs, EMU_INCLUDE]]
        argv = [*command, *flag_list, "-include", str(HEADER), *includes, "-o", str(lib), str(cpp)]
        steps = [argv]
        if "-fsanitize=thread" in flag_list:  # compile, then link without the TSan runtime
            obj = lib.with_suffix(".o")
            steps = [[*command, *flag_list, "-c", "-include", str(HEADER), *includes, "-o",
                      str(obj), str(cpp)],
                     [*command, *FLAGS, "-o", str(lib), str(obj)]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                raise KernelError(f"{name}: the C++ compiler rejected the kernel source "
                                  f"(command: {shlex.join(step)}):\n{done.stderr.strip()}")
        os.replace(cpp, target.with_suffix(".cpp"))  # the translated source, for the curious
        os.replace(lib, target)
    stats["compiled"] += 1
    return target


def asan_runtime() -> str | None:
    """Path of the compiler's libasan.so, or None when it has none."""
    try:
        command = compiler_command()
        done = subprocess.run([*command, "-print-file-name=libasan.so"], capture_output=True,
                              text=True, timeout=60)
    except (KernelError, OSError, subprocess.SubprocessError):
        return None
    path = done.stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def sanitizer_env() -> dict[str, str]:
    """A copy of os.environ set up to run Python with the sanitized emulator, e.g.
    `subprocess.run([sys.executable, "script.py"], env=runtime.sanitizer_env())`.

    AddressSanitizer's runtime must be loaded before anything else in the process, so it goes
    in LD_PRELOAD; leak detection is off because the Python interpreter itself never frees
    some memory at exit and would drown the report."""
    lib = asan_runtime()
    if lib is None:
        raise KernelError("the C++ compiler has no AddressSanitizer runtime (libasan.so); "
                          "install it (Debian/Ubuntu: apt-get install libasan8) or use g++")
    env = dict(os.environ)
    env.update(LD_PRELOAD=lib, ASAN_OPTIONS="detect_leaks=0",
               UBSAN_OPTIONS="print_stacktrace=1", REDNET_EMU_SANITIZE="1")
    return env


def check_sanitizer_loaded() -> None:
    """Raise (instead of letting ASan abort the interpreter) when a sanitized library is about
    to be loaded into a process that did not start with the ASan runtime preloaded."""
    import ctypes

    if hasattr(ctypes.CDLL(None), "__asan_init"):
        return
    raise KernelError(
        "REDNET_EMU_SANITIZE=1 builds kernels with AddressSanitizer, whose runtime must be "
        "loaded first in the process. Run Python as:\n"
        "  LD_PRELOAD=$(g++ -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 "
        "REDNET_EMU_SANITIZE=1 python ...\n"
        "or, from Python, subprocess.run(..., env=rednet_cupy.runtime.sanitizer_env())"
    )
