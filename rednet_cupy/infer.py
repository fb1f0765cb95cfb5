"""Running a trained RED-Net on whole images: any size, tiled so memory stays bounded.

A large photo is cut into tiles that overlap by `overlap` pixels; each tile is restored on
its own and only its centre is kept, so every kept pixel saw at least overlap/2 pixels of
real context on each side. The default overlap is twice the network's reach (`depth`
pixels each side: every 3x3 layer looks one pixel further), so tiled and whole-image
results agree to float rounding.
"""

from __future__ import annotations

import numpy as np

from rednet_cupy.clipping import debias
from rednet_cupy.data import dihedral, undo_dihedral
from rednet_cupy.imageio import rgb_to_ycbcr, ycbcr_to_rgb
from rednet_cupy.model import RedNet


def _run(net: RedNet, batch: np.ndarray) -> np.ndarray:
    F = net.F
    return F.to_numpy(net.forward(F.asarray(batch)))


def reach(net: RedNet) -> int:
    """How many pixels away an output pixel's inputs lie: one per 3x3 layer."""
    return net.cfg.depth


def tile_count(shape_hw: tuple[int, int], tile: int, overlap: int) -> int:
    """How many tiles `_tiled` runs on an image of this size (for a progress bar)."""
    h, w = shape_hw
    if h <= tile and w <= tile:
        return 1
    step = tile - overlap
    return len(range(0, max(h - overlap, 1), step)) * len(range(0, max(w - overlap, 1), step))


def restore_gray(net: RedNet, img: np.ndarray, tile: int = 256, overlap: int | None = None,
                 ensemble: bool = False, bar=None) -> np.ndarray:
    """Restore one (H, W) image in [0, 1] scale; returns float32 (H, W), not clipped.
    `overlap` defaults to 2 * reach(net). `bar`: a tqdm bar advanced by one per tile."""
    img = np.asarray(img, dtype=np.float32)
    if overlap is None:
        overlap = 2 * reach(net)
    if img.ndim != 2:
        raise ValueError(f"restore_gray: expected an (H, W) image, got shape {img.shape}")
    if tile <= 2 * overlap:
        raise ValueError(f"tile ({tile}) must be larger than twice the overlap ({overlap})")
    if min(img.shape) < net.min_size():
        raise ValueError(f"image of {img.shape[0]}x{img.shape[1]} pixels is smaller than the "
                         f"{net.min_size()}x{net.min_size()} this network needs")
    if not ensemble:
        return _tiled(net, img, tile, overlap, bar)
    # The paper's self-ensemble: restore the 8 flips/rotations, undo each, average. Summed
    # in float64 (a float32 running sum rounds at 3x, 5x, 7x), so that 8 equal outputs
    # average to exactly that output, as for an equivariant network; one buffer is kept
    # instead of 8 copies of the image.
    acc = np.zeros(img.shape, np.float64)
    for k in range(8):
        acc += undo_dihedral(_tiled(net, np.ascontiguousarray(dihedral(img, k)), tile, overlap,
                                    bar), k)
    return (acc / 8).astype(np.float32)


def _tiled(net: RedNet, img: np.ndarray, tile: int, overlap: int, bar=None) -> np.ndarray:
    h, w = img.shape
    if h <= tile and w <= tile:
        out = _run(net, img[None, None])[0, 0]
        if bar is not None:
            bar.update(1)
        return out
    out = np.empty_like(img)
    step = tile - overlap
    half = overlap // 2
    for y0 in range(0, max(h - overlap, 1), step):
        for x0 in range(0, max(w - overlap, 1), step):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ys, xs = max(0, y1 - tile), max(0, x1 - tile)  # full-size tiles at the edges
            res = _run(net, img[None, None, ys:y1, xs:x1])[0, 0]
            # Keep the centre; at the image border keep up to the border.
            ky0 = ys if ys == 0 else y0 + half
            kx0 = xs if xs == 0 else x0 + half
            ky1 = y1 if y1 == h else y1 - half
            kx1 = x1 if x1 == w else x1 - half
            out[ky0:ky1, kx0:kx1] = res[ky0 - ys:ky1 - ys, kx0 - xs:kx1 - xs]
            if bar is not None:
                bar.update(1)
    return out


def bicubic_upscale(img: np.ndarray, scale: float) -> np.ndarray:
    """Enlarge (H, W) or (H, W, C) by `scale` with MATLAB's bicubic `imresize` (the resizer
    the SR model was trained with): the network's input, which it then sharpens (RED-Net
    restores at the output resolution). Float32, neither rounded nor clipped."""
    from rednet_cupy.imresize import imresize

    if not scale >= 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    h, w = img.shape[:2]
    size = (round(h * scale), round(w * scale))
    return imresize(np.asarray(img, dtype=np.float64), output_shape=size).astype(np.float32)


def restore(net: RedNet, img: np.ndarray, task: str = "denoise", progress: bool = False,
            clipped: bool = False, **kw) -> np.ndarray:
    """Restore a gray (H, W) or colour (H, W, 3) image with a one-channel model.

    Colour denoising runs the model on R, G and B separately (Gaussian noise is independent
    per channel). Colour super-resolution runs it on the luminance Y only and upsamples
    Cb and Cr bicubically, the standard protocol (the eye resolves detail in Y).
    clipped=True (denoising): the noisy input was clipped to [0, 1], as every image read from
    a file is; each denoised plane then has the clipping bias taken out (`clipping.debias`).
    progress=True shows a bar over the tiles (with rate and ETA) when there is more than one.
    """
    from tqdm.auto import tqdm

    img = np.asarray(img, dtype=np.float32)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise ValueError(f"restore: expected (H, W) or (H, W, 3), got shape {img.shape}")
    if clipped and task != "denoise":
        raise ValueError(f"restore: clipped=True is a correction of clipped noise, for task "
                         f"'denoise', not {task!r}")
    planes = 3 if img.ndim == 3 and task == "denoise" else 1
    tile = kw.get("tile", 256)
    overlap = kw.get("overlap") or 2 * reach(net)
    total = planes * (8 if kw.get("ensemble") else 1) * tile_count(img.shape[:2], tile, overlap)
    with tqdm(total=total, desc=task, unit="tile", disable=not progress or total == 1,
              leave=False) as bar:
        if task == "denoise":
            out = []
            for plane in [img] if img.ndim == 2 else [img[..., c] for c in range(3)]:
                den = restore_gray(net, plane, bar=bar, **kw)
                out.append(debias(plane, den)[0] if clipped else den)
            return out[0] if img.ndim == 2 else np.stack(out, axis=-1)
        if img.ndim == 2:
            return restore_gray(net, img, bar=bar, **kw)
        ycc = rgb_to_ycbcr(img)
        ycc[..., 0] = restore_gray(net, ycc[..., 0], bar=bar, **kw)
        return ycbcr_to_rgb(ycc)
