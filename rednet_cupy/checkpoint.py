"""Checkpoints: one .npz of named arrays plus a JSON header, safe to write and safe to load.

Safe to write: the file is written next to its destination, fsync'd and renamed over it, so a
crash or Ctrl-C mid-save leaves the previous checkpoint intact. Safe to load: pickle is never
allowed (a checkpoint from the internet cannot run code), and every way a file can be wrong
becomes one CheckpointError line that names the file. The file stays an ordinary .npz:
`np.load(path)["conv1.w"]` works without this module.

The header is JSON text stored as a uint8 array under HEADER_KEY, wrapped as
{"format": FORMAT_NAME, "version": FORMAT_VERSION, "header": <your header>}.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .imageio import atomic_write

HEADER_KEY = "__header__"
FORMAT_NAME = "rednet_cupy.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be written, read or used; one line naming the file."""


def _check_name(path: Path, name: Any) -> None:
    # Names become zip member names "<name>.npy"; these rules keep the round trip exact.
    if not isinstance(name, str) or not name or name == HEADER_KEY:
        raise CheckpointError(f"{path}: invalid array name {name!r}")
    if "\0" in name or "\\" in name or name.startswith("/"):
        raise CheckpointError(f"{path}: array name {name!r} may not contain NUL, '\\' or start '/'")


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], header: dict) -> None:
    """Write `arrays` and `header` to `path` atomically (the path is used exactly as given).

    Names may contain '/' and '.' ("enc/conv1.w") and come back unchanged. The header must
    be JSON-serialisable; tuples come back as lists and dict keys as strings. CuPy arrays
    are copied to the host.
    """
    path = Path(path)
    payload: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        _check_name(path, name)
        if type(value).__module__.startswith("cupy"):
            value = value.get()  # device -> host; NumPy refuses implicit conversion
        a = np.asarray(value)
        if a.dtype.hasobject:
            raise CheckpointError(f"{path}: array {name!r} has dtype object (would need pickle)")
        payload[name] = a
    wrapped = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "header": header}
    try:
        text = json.dumps(wrapped, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: header is not JSON-serialisable ({e})") from None
    payload[HEADER_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    # What np.savez does, written out: one "<name>.npy" member per array in an uncompressed
    # zip. Done by hand so that names such as "file" cannot collide with savez's arguments.
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        for name, a in payload.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint written by `save_checkpoint`: (arrays, header). Pickle is refused."""
    path = Path(path)

    def fail(reason: str) -> CheckpointError:
        return CheckpointError(f"{path}: {reason}".replace("\n", " "))

    if not path.exists():
        raise fail("no such checkpoint file")
    if path.is_dir():
        raise fail("is a directory, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise fail(f"cannot read ({e.strerror or e})") from None
    if magic != b"PK\x03\x04":
        what = "a .npy file" if magic[:2] == b"\x93N" else "empty" if not magic else "not a zip"
        raise fail(f"not an .npz checkpoint ({what})")
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                try:
                    value = npz[name]
                except ValueError as e:
                    if "pickle" in str(e) or "Object arrays" in str(e):
                        raise fail(
                            f"array {name!r} is an object array; refusing to unpickle"
                        ) from None
                    raise
                if not isinstance(value, np.ndarray):
                    raise fail(f"member {name!r} is not a .npy array")
                arrays[name] = value
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise fail(f"truncated or corrupt ({type(e).__name__}: {e})") from None
    raw = arrays.pop(HEADER_KEY, None)
    if raw is None:
        raise fail(f"no {HEADER_KEY} entry (not a rednet_cupy checkpoint?)")
    return arrays, _parse_header(raw, fail)


def _parse_header(raw: np.ndarray, fail: Callable[[str], CheckpointError]) -> dict:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise fail(f"invalid header: {HEADER_KEY} must be 1-D uint8, got {raw.dtype} {raw.shape}")
    try:
        wrapped = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise fail(f"invalid header: not UTF-8 JSON ({e})") from None
    if not isinstance(wrapped, dict) or wrapped.get("format") != FORMAT_NAME:
        raise fail(f"invalid header: format is not {FORMAT_NAME!r}")
    if wrapped.get("version") != FORMAT_VERSION:
        raise fail(
            f"checkpoint format version {wrapped.get('version')!r}; this rednet_cupy reads "
            f"version {FORMAT_VERSION}"
        )
    header = wrapped.get("header")
    if not isinstance(header, dict):
        raise fail("invalid header: the header is not a JSON object")
    return header


def _normalise(v: Any) -> Any:
    """What v looks like after a trip through JSON (tuples -> lists, numpy scalars -> Python)."""
    try:
        return json.loads(json.dumps(v, default=lambda o: o.item()))
    except (TypeError, ValueError, AttributeError):
        return v


def check_compatible(header: dict, expected: dict, what: str = "checkpoint") -> None:
    """Raise CheckpointError listing every key of `expected` whose value in `header` differs
    (or is missing): e.g. loading RED10 weights into a RED30 model fails here, by name,
    instead of deep inside a shape mismatch."""
    missing = object()
    bad = []
    for key, want in expected.items():
        got = header.get(key, missing)
        if got is missing:
            bad.append(f"{key}: missing, expected {want!r}")
        elif _normalise(got) != _normalise(want):
            bad.append(f"{key}: {what} has {got!r}, expected {want!r}")
    if bad:
        raise CheckpointError(f"{what} is incompatible: " + "; ".join(bad))
