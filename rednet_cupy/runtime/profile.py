"""The emulator's memory-traffic profile: what each launch asks of global and shared memory.

    with runtime.profiling() as prof:
        F.conv2d_forward(x, w, b, 1)
    launch = prof.launches[0]
    launch.global_load_sectors / launch.global_load_requests   # 4 when coalesced, up to 32
    print(prof.table())                                          # per source line

Inside `profiling()`, every launch on the `emulate` device runs from a separate build of its
kernel file (compiler.PROFILE_FLAGS) that counts, per warp-level instruction, global load and
store requests and the 32-byte sectors they touch, shared-memory requests and the wavefronts
their bank conflicts need, and barriers; cuda_emu_profile.h says how, and what is exact. The
results come back per source instruction; here they are named by file:line (addr2line) and
summed per line and per launch. Launches on the `cuda` device are not recorded.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

# Where each site's row from rednet_profile_sites() goes, by (space, write).
_COUNTERS = {
    (0, 0): ("global_load_requests", "global_load_sectors", "bytes_global"),
    (0, 1): ("global_store_requests", "global_store_sectors", "bytes_global"),
    (1, 0): ("shared_load_requests", "shared_load_wavefronts", "bytes_shared"),
    (1, 1): ("shared_store_requests", "shared_store_wavefronts", "bytes_shared"),
}
SITE_FIELDS = 7  # pc, space, write, size, requests, sectors or wavefronts, bytes


@dataclass
class Counts:
    """Memory traffic of some warp-level instructions (a launch, or one source line)."""

    global_load_requests: int = 0
    global_load_sectors: int = 0
    global_store_requests: int = 0
    global_store_sectors: int = 0
    shared_load_requests: int = 0
    shared_load_wavefronts: int = 0
    shared_store_requests: int = 0
    shared_store_wavefronts: int = 0
    barriers: int = 0
    bytes_global: int = 0  # asked for by the threads (not sectors x 32)
    bytes_shared: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(Counts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def counts(self) -> Counts:
        """Just the numbers (a LaunchProfile without its name and lines)."""
        return Counts(**{f.name: getattr(self, f.name) for f in fields(Counts)})


@dataclass
class LaunchProfile(Counts):
    """One launch: its totals, and the same numbers per source line ("file:line")."""

    kernel: str = ""
    grid: tuple[int, int, int] = (1, 1, 1)
    block: tuple[int, int, int] = (1, 1, 1)
    shared_mem: int = 0
    lines: dict[str, Counts] = field(default_factory=dict)


@dataclass
class Profile:
    """What `profiling()` yields: the launches made inside it, in order."""

    launches: list[LaunchProfile] = field(default_factory=list)

    def total(self, kernel: str | None = None) -> Counts:
        """The sum over the launches (of `kernel` only, if given)."""
        out = Counts()
        for launch in self.launches:
            if kernel is None or launch.kernel == kernel:
                out.add(launch)
        return out

    def table(self, source: bool = True) -> str:
        """Every launch as a text table (format_table)."""
        return "\n\n".join(format_table(launch, source=source) for launch in self.launches)


_active: list[Profile] = []


@contextlib.contextmanager
def profiling() -> Iterator[Profile]:
    """Profile the emulator's launches inside the `with` block (nested blocks each get every
    launch made inside them)."""
    prof = Profile()
    _active.append(prof)
    try:
        yield prof
    finally:
        _active.remove(prof)


def active() -> bool:
    """Whether launches are being profiled now."""
    return bool(_active)


# pc offsets already named, per library.
_names: dict[tuple[str, int], str] = {}


def _is_runtime(where: str) -> bool:
    return Path(where.rsplit(":", 1)[0]).name.startswith("cuda_emu")


def _addr2line(lib: Path, pcs: list[int]) -> dict[int, str]:
    """file:line of each code offset. With inlining, the innermost frame outside the runtime's
    headers: an access made by __ldg() belongs to the kernel line that called it."""
    tool = shutil.which("addr2line")
    if tool is None or not pcs:
        return {pc: hex(pc) for pc in pcs}
    done = subprocess.run([tool, "-a", "-i", "-e", str(lib), *map(hex, pcs)],
                          capture_output=True, text=True, timeout=120)
    frames: dict[int, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith("0x"):
            current = int(line, 16)
            frames[current] = []
        elif current is not None:
            frames[current].append(line.split(" (discriminator")[0].strip())
    out = {}
    for pc in pcs:
        known = [f for f in frames.get(pc, []) if "??" not in f]
        kernel = [f for f in known if not _is_runtime(f)]
        out[pc] = (kernel or known or [hex(pc)])[0]
    return out


def _name_sites(lib: Path, pcs: Iterable[int]) -> dict[int, str]:
    missing = sorted({pc for pc in pcs if (str(lib), pc) not in _names})
    for pc, where in _addr2line(lib, missing).items():
        _names[(str(lib), pc)] = where
    return {pc: _names[(str(lib), pc)] for pc in pcs}


def make_launch(kernel: str, grid: tuple[int, int, int], block: tuple[int, int, int],
                shared_mem: int, lib: Path, sites: list[tuple[int, ...]],
                barriers: list[tuple[str, int, int]]) -> LaunchProfile:
    """A launch's record from the library's rows: sites (pc, space, write, size, requests,
    units, bytes) and barriers (file, line, count)."""
    launch = LaunchProfile(kernel=kernel, grid=grid, block=block, shared_mem=shared_mem)
    names = _name_sites(lib, [row[0] for row in sites])
    for pc, space, write, _size, requests, units, nbytes in sites:
        line = launch.lines.setdefault(names[pc], Counts())
        for target in (launch, line):
            req, unit, byte = _COUNTERS[(space, write)]
            setattr(target, req, getattr(target, req) + requests)
            setattr(target, unit, getattr(target, unit) + units)
            setattr(target, byte, getattr(target, byte) + nbytes)
    for file, number, count in barriers:
        launch.lines.setdefault(f"{file}:{number}", Counts()).barriers += count
        launch.barriers += count
    return launch


def record(launch: LaunchProfile) -> None:
    for prof in _active:
        prof.launches.append(launch)


def _line_key(where: str) -> tuple[str, int]:
    file, _, number = where.rpartition(":")
    return (file, int(number)) if number.isdigit() else (where, 0)


def _source_line(where: str) -> str:
    file, number = _line_key(where)
    try:
        text = Path(file).read_text().splitlines()[number - 1].strip()
    except (OSError, IndexError, ValueError):
        return ""
    return text if len(text) <= 48 else text[:45] + "..."


_COLUMNS = (  # heading, what it shows
    ("gld req", "global_load_requests"), ("sectors", "global_load_sectors"),
    ("gst req", "global_store_requests"), ("sectors", "global_store_sectors"),
    ("sld req", "shared_load_requests"), ("wavefr", "shared_load_wavefronts"),
    ("sst req", "shared_store_requests"), ("wavefr", "shared_store_wavefronts"),
    ("bar", "barriers"),
)


def _ratio(units: int, requests: int) -> str:
    return f"{units / requests:.1f}" if requests else "-"


def format_table(launch: LaunchProfile, source: bool = True) -> str:
    """A launch as a text table: one row per source line (and the total), with requests,
    sectors (global) or wavefronts (shared) and their ratio per request: 4 sectors and 1
    wavefront per request for coalesced, conflict-free float accesses."""
    heads = ["line", *(h for h, _ in _COLUMNS), "sec/req", "wf/req"]
    rows = []
    for where in sorted(launch.lines, key=_line_key):
        c = launch.lines[where]
        file, number = _line_key(where)
        label = f"{Path(file).name}:{number}"
        rows.append((label, c, _source_line(where) if source else ""))
    rows.append(("total", launch, ""))
    table = []
    for label, c, text in rows:
        sectors = _ratio(c.global_load_sectors + c.global_store_sectors,
                         c.global_load_requests + c.global_store_requests)
        waves = _ratio(c.shared_load_wavefronts + c.shared_store_wavefronts,
                       c.shared_load_requests + c.shared_store_requests)
        table.append([label, *(str(getattr(c, a)) for _, a in _COLUMNS), sectors, waves, text])
    widths = [max(len(r[i]) for r in [heads, *table]) for i in range(len(heads))]
    lines = [f"{launch.kernel} grid {launch.grid} block {launch.block}: "
             f"{launch.bytes_global} bytes global, {launch.bytes_shared} bytes shared"]
    lines.append("  ".join(h.rjust(w) if i else h.ljust(w)
                           for i, (h, w) in enumerate(zip(heads, widths, strict=True))))
    for r in table:
        cells = [c.rjust(w) if i else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r[:-1], widths, strict=True))]
        lines.append("  ".join(cells) + (f"  {r[-1]}" if r[-1] else ""))
    return "\n".join(lines)
