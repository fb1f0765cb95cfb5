"""Read the C parameter lists of a source's `extern "C" __global__` kernels.

The parameter types are what the launch checks compare arguments against (dtype of a
pointer's array, width and range of a scalar), on both devices. The emulator does not need
them to pass arguments: its launcher lets the C++ compiler read each argument at the kernel's
own parameter type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import KernelError

# Element types a kernel parameter may have (as a scalar or behind a pointer), and the NumPy
# dtype of the same width and kind. The sizes are those of CUDA on 64-bit Linux and of
# x86-64 g++, which agree.
C_TYPES: dict[str, np.dtype] = {
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
    "bool": np.dtype(np.bool_),
    "char": np.dtype(np.int8),
    "signed char": np.dtype(np.int8),
    "unsigned char": np.dtype(np.uint8),
    "short": np.dtype(np.int16),
    "unsigned short": np.dtype(np.uint16),
    "int": np.dtype(np.int32),
    "unsigned int": np.dtype(np.uint32),
    "long long": np.dtype(np.int64),
    "unsigned long long": np.dtype(np.uint64),
    "int8_t": np.dtype(np.int8),
    "uint8_t": np.dtype(np.uint8),
    "int16_t": np.dtype(np.int16),
    "uint16_t": np.dtype(np.uint16),
    "int32_t": np.dtype(np.int32),
    "uint32_t": np.dtype(np.uint32),
    "int64_t": np.dtype(np.int64),
    "uint64_t": np.dtype(np.uint64),
    # Half precision (cuda_fp16.h); bfloat16 (cuda_bf16.h) travels as its 16 bits in a uint16
    # array, since NumPy has no bfloat16.
    "__half": np.dtype(np.float16),
    "half": np.dtype(np.float16),
    "__nv_bfloat16": np.dtype(np.uint16),
    "nv_bfloat16": np.dtype(np.uint16),
}

# Spellings that mean the same type as a key of C_TYPES.
_ALIASES = {
    "signed": "int",
    "signed int": "int",
    "unsigned": "unsigned int",
    "short int": "short",
    "signed short": "short",
    "signed short int": "short",
    "unsigned short int": "unsigned short",
    "long long int": "long long",
    "signed long long": "long long",
    "signed long long int": "long long",
    "unsigned long long int": "unsigned long long",
}

_QUALIFIERS = {"const", "volatile", "__restrict__", "__restrict", "restrict"}
_TYPE_WORDS = {"unsigned", "signed", "int", "long", "short", "char", "float", "double", "bool",
               "void"} | set(C_TYPES)


@dataclass(frozen=True)
class Param:
    """One kernel parameter. `ctype` is normalised C, e.g. "const float*" or "int";
    `const` means the pointed-to data is const (a top-level const changes nothing for the
    caller and is dropped)."""

    name: str
    ctype: str
    pointer: bool
    const: bool

    @property
    def base(self) -> str:
        """The element type: "float" for "const float*"."""
        return self.ctype.removeprefix("const ").rstrip("*")

    @property
    def dtype(self) -> np.dtype:
        return C_TYPES[self.base]

    def __str__(self) -> str:
        return f"{self.ctype} {self.name}"


def mask_comments(source: str) -> str:
    """`source` with comments replaced by spaces (newlines kept, so offsets and line numbers
    stay valid); string and character literals are skipped, not masked."""
    out = list(source)
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c in "\"'":
            j = i + 1
            while j < n and source[j] != c and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            i = j + 1
        elif source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in source[i:j]]
            i = j
        else:
            i += 1
    return "".join(out)


# `__global__`, `void` and `__launch_bounds__(...)` in any order, then the kernel's name.
_KERNEL = re.compile(
    r"(?P<spec>(?:(?:__global__|void|__launch_bounds__\s*\([^()]*\))\s+)+)"
    r"(?P<name>[A-Za-z_]\w*)\s*\("
)
_EXTERN_C = re.compile(r'extern\s*"C"\s*$')
_EXTERN_C_BLOCK = re.compile(r'extern\s*"C"\s*\{')


def _closing(text: str, start: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at text[start]."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    raise KernelError(f"unbalanced '{open_}' in kernel source")


def _extern_c_blocks(text: str) -> list[tuple[int, int]]:
    blocks = []
    for m in _EXTERN_C_BLOCK.finditer(text):
        blocks.append((m.end() - 1, _closing(text, m.end() - 1, "{", "}")))
    return blocks


def parse_kernels(source: str) -> dict[str, list[Param]]:
    """Every `extern "C" __global__ void name(...)` of `source`, in order of appearance.

    Kernels with C++ linkage are skipped: neither CuPy (without name expressions) nor the
    emulator can find them by their plain name."""
    text = mask_comments(source)
    blocks = _extern_c_blocks(text)
    kernels: dict[str, list[Param]] = {}
    unnamed: set[str] = set()
    for m in _KERNEL.finditer(text):
        spec = m.group("spec")
        if "__global__" not in spec or not re.search(r"\bvoid\b", spec):
            continue
        if not (_EXTERN_C.search(text[max(0, m.start() - 40) : m.start()])
                or any(a < m.start() < b for a, b in blocks)):
            continue
        name = m.group("name")
        open_ = m.end() - 1
        params_text = text[open_ + 1 : _closing(text, open_, "(", ")")]
        params = parse_params(name, params_text)
        if name not in kernels or name in unnamed:
            kernels[name] = params  # a definition after a prototype brings the names
        if any(p.name == f"arg{i}" for i, p in enumerate(params)):
            unnamed.add(name)
        else:
            unnamed.discard(name)
    return kernels


def parse_params(kernel: str, text: str) -> list[Param]:
    """Parse a C parameter list such as "const float* __restrict__ x, float* y, int n"."""
    text = " ".join(text.split())
    if text in ("", "void"):
        return []
    return [_param(kernel, i, part.strip()) for i, part in enumerate(text.split(","))]


def _param(kernel: str, index: int, text: str) -> Param:
    tokens = re.findall(r"[A-Za-z_]\w*|\S", text)
    stars = tokens.count("*")
    unsupported = stars > 1 or any(t in ("&", "[", "]", "<", "(") for t in tokens)
    star = tokens.index("*") if stars else len(tokens)
    before = [t for t in tokens[:star] if t not in _QUALIFIERS]
    const = "const" in tokens[:star] and stars == 1
    name = ""
    if stars:
        after = [t for t in tokens[star + 1 :] if t not in _QUALIFIERS]
        unsupported |= len(after) > 1
        name = after[0] if after else ""
    elif len(before) > 1 and before[-1] not in _TYPE_WORDS:
        name = before.pop()
    base = " ".join(before)
    base = _ALIASES.get(base, base)
    if unsupported or base not in C_TYPES or not all(re.fullmatch(r"\w+", t) for t in before):
        supported = ", ".join(sorted(C_TYPES))
        raise KernelError(
            f"{kernel}: parameter {index} '{text}' has a type the runtime does not support; "
            f"use one of {supported}, or a pointer to one of them"
        )
    ctype = ("const " if const else "") + base + ("*" if stars else "")
    return Param(name or f"arg{index}", ctype, bool(stars), const)
