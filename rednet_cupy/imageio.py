"""Reading and writing images, and the colour conversions the evaluation protocols need.

Every image inside the package is a float32 NumPy array in [0, 1]: (H, W) for gray,
(H, W, 3) for colour. Reading normalises all the modes Pillow produces to that one form, so
nothing downstream has to know whether a file was 8-bit, 16-bit, palette or float; modes
that have no honest mapping are refused with the file name and the reason.
Writes are atomic (temporary file in the same folder, then `os.replace`), so an interrupted
run never leaves a half-written image or checkpoint where a good one used to be.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps

#: Extension (lower case, with dot) -> Pillow format name, for writing and for list_images.
FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
#: JPEG quality used by write_image: high, because results are compared by PSNR.
JPEG_QUALITY = 95

# MATLAB rgb2ycbcr (ITU-R BT.601, "studio swing"): for RGB in [0, 1],
# [Y, Cb, Cr] = OFFSET + MATRIX @ [R, G, B], so Y spans [16, 235]/255 and Cb, Cr [16, 240]/255.
_YCC_MATRIX = (
    np.array(
        [
            [65.481, 128.553, 24.966],
            [-37.797, -74.203, 112.0],
            [112.0, -93.786, -18.214],
        ]
    )
    / 255.0
)
_YCC_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
_YCC_INVERSE = np.linalg.inv(_YCC_MATRIX)
# ITU-R BT.601 luma weights: what Pillow's convert("L") and MATLAB's rgb2gray use.
_LUMA = np.array([0.299, 0.587, 0.114])


class ImageError(ValueError):
    """An image file that cannot be read or written; the message names the file and why."""


# ----------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file next to `path`; on success fsync it and rename it over `path`.

    The rename is atomic on POSIX and Windows, so readers see either the old file or the
    complete new one, never a torn write. On any exception the temporary file is removed and
    `path` is untouched. The temporary file is created with os.open(..., 0o666) so that the
    user's umask applies, as it would to a normally created file.
    """
    path = Path(path)
    if not path.parent.is_dir():  # else the error would name our temporary file
        why = "not a folder" if path.parent.exists() else "no such folder"
        raise FileNotFoundError(f"{path.parent}: {why} (writing {path.name})")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable (POSIX only; directories cannot be opened on Windows).
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ----------------------------------------------------------------------------- reading
def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as float32 in [0, 1]: (H, W) for gray, (H, W, 3) for colour.

    Modes: L, 1 -> gray; RGB -> colour; LA, RGBA -> alpha is dropped (alpha is transparency,
    not intensity: restoration works on the stored values, and compositing would invent a
    background); P -> RGB, or gray when every palette colour used is gray; I;16* and I ->
    divided by 65535 (I must hold 0..65535); F -> as stored, which must lie in [0, 1].
    Anything else (CMYK, YCbCr, LAB, HSV, signed 16-bit, ...) is refused. Of a multi-page
    file (TIFF, GIF) the first page is read. An EXIF Orientation tag (photos from cameras and
    phones) is applied, so the array is upright as a viewer shows the file.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    # Truncated files must fail loudly: with Pillow's global LOAD_TRUNCATED_IMAGES on (another
    # library may have set it) they decode with the missing part filled in. Off while we read.
    saved, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with Image.open(path) as im:
            im.load()  # decode now, so that truncation is detected here and not later
            # A camera stores a portrait photo as landscape pixels plus an EXIF Orientation
            # tag that viewers apply; apply it here too, or the output (written without the
            # tag) would show the photo on its side.
            return _to_array(ImageOps.exif_transpose(im), path)
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can identify") from None
    except PermissionError:
        raise ImageError(f"{path}: cannot read (permission denied)") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"{path}: refused, too many pixels ({e})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{path}: truncated or corrupt image ({e})") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def read_icc_profile(path: str | os.PathLike) -> bytes | None:
    """The ICC colour profile embedded in an image file (phones write Display P3 ones), or
    None. `rednet denoise` / `upscale` carry it to their output, so colours keep their
    meaning."""
    try:
        with Image.open(path) as im:
            icc = im.info.get("icc_profile")
    except (OSError, SyntaxError, ValueError):
        return None
    return bytes(icc) if icc else None


def icc_matches(icc: bytes | None, array: np.ndarray) -> bool:
    """Whether an ICC profile describes images like `array`: its header's colour space
    (bytes 16-19) is 'GRAY' for an (H, W) array, 'RGB ' for an (H, W, 3) one."""
    if not icc or len(icc) < 20:
        return False
    space = icc[16:20]
    return space == (b"GRAY" if np.ndim(array) == 2 else b"RGB ")


def _to_array(im: Image.Image, path: Path) -> np.ndarray:
    w, h = im.size
    if w == 0 or h == 0:
        raise ImageError(f"{path}: zero-size image ({w}x{h})")
    mode = im.mode
    if mode in ("L", "1"):
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    if mode in ("RGB", "RGBA"):
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    if mode == "LA":
        return np.asarray(im.getchannel("L"), dtype=np.float32) / 255.0
    if mode in ("P", "PA"):
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        return np.ascontiguousarray(rgb[..., 0]) if gray else rgb
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im).astype(np.float64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ImageError(
                f"{path}: mode {mode} values span {a.min():g}..{a.max():g}, "
                "outside the 16-bit range 0..65535"
            )
        return (a / 65535.0).astype(np.float32)
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        if not np.isfinite(a).all() or (a.size and (a.min() < 0 or a.max() > 1)):
            raise ImageError(
                f"{path}: float image (mode F) must hold finite values in [0, 1], "
                f"got {np.nanmin(a):g}..{np.nanmax(a):g}"
            )
        return np.array(a)
    raise ImageError(
        f"{path}: unsupported image mode {mode!r} "
        "(supported: L, 1, P, RGB, RGBA, LA, I;16, I, F); convert it to RGB or L first"
    )


# ----------------------------------------------------------------------------- writing
def write_image(path: str | os.PathLike, array: np.ndarray,
                icc_profile: bytes | None = None) -> None:
    """Write a float image in [0, 1] as 8-bit gray or RGB; the format follows the extension.

    Values are clipped to [0, 1] and rounded to the nearest of 256 levels. NaN or inf is
    refused rather than written as black: it means something upstream went wrong. The file
    appears atomically (see `atomic_write`). `icc_profile` (from read_icc_profile) is embedded
    when it describes this kind of image (icc_matches) and the format can hold one.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(
            f"{path}: unknown image extension {path.suffix!r} (use one of {sorted(FORMATS)})"
        )
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or a.size == 0:
        raise ImageError(f"{path}: cannot write shape {a.shape}, need (H, W) or (H, W, 3)")
    if a.dtype.kind in "iu":  # 0..255 integers would all clip to white
        raise ImageError(f"{path}: expected floats in [0, 1], got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise ImageError(f"{path}: array contains NaN or inf")
    u8 = np.round(np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    im = Image.fromarray(u8)  # uint8 (H, W) -> mode L, (H, W, 3) -> mode RGB
    options: dict = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    if icc_matches(icc_profile, a) and fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        options["icc_profile"] = icc_profile
    with atomic_write(path) as f:
        im.save(f, format=fmt, **options)


# ----------------------------------------------------------------------------- colour
def _check_rgb(img: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name}: expected an (H, W, 3) array, got shape {a.shape}")
    return a


def _float_dtype(a: np.ndarray) -> np.dtype:
    return np.result_type(a.dtype, np.float32) if a.dtype.kind == "f" else np.dtype(np.float32)


def to_gray(img: np.ndarray) -> np.ndarray:
    """Luma Y' = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, full range, as Pillow's "L").

    Gray input comes back unchanged, so callers can apply it to any image. This is the
    full-range luma used to turn colour training images gray, not the [16, 235] Y channel
    of `rgb_to_ycbcr` that super-resolution papers evaluate on.
    """
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        return a.astype(_float_dtype(a), copy=False)
    a = _check_rgb(a, "to_gray")
    return (a.astype(np.float64) @ _LUMA).astype(_float_dtype(a))


def rgb_to_ycbcr(img: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] -> YCbCr as MATLAB's rgb2ycbcr (BT.601): Y in [16, 235]/255.

    SR papers (SRCNN, VDSR, RED-Net) compute PSNR on this Y channel, so published numbers
    are only comparable when the same studio-swing scaling is used.
    """
    a = _check_rgb(img, "rgb_to_ycbcr")
    return (a.astype(np.float64) @ _YCC_MATRIX.T + _YCC_OFFSET).astype(_float_dtype(a))


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_ycbcr` (exact matrix inverse, no clipping)."""
    a = _check_rgb(ycc, "ycbcr_to_rgb")
    return ((a.astype(np.float64) - _YCC_OFFSET) @ _YCC_INVERSE.T).astype(_float_dtype(a))
