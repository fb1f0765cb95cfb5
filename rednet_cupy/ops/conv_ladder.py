"""Launch configurations of the convolution ladder (rednet_cupy/ops/versions.py).

`forward(dev, version, ...)` runs one forward kernel, `weight_grad(dev, version, ...)` one
weight gradient; the arguments are already checked (ops/conv2d.py does that). Every forward
version has the signature of conv2d_forward in kernels/conv2d.cu. Version 6 comes in several
block shapes: on a GPU each layer shape is timed once with each and the fastest is kept; on the
emulator a rule picks one. REDNET_CONV_TILE=BMxBN (e.g. 64x128) forces a shape.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from rednet_cupy.ops.device import KernelDevice, blocks_for
from rednet_cupy.ops.versions import version

V6_TILES: tuple[tuple[int, int], ...] = ((64, 128), (128, 64), (64, 64), (32, 128))
SPLIT_TARGET_BLOCKS = 512  # enough blocks to keep every multiprocessor of a large GPU busy
SPLIT_MIN_STEPS = 8  # each split runs at least this many pixel steps (amortises its store)
SPLIT_MAX = 256


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


FUSED = (6, 7)  # the versions with fused epilogues (bias + ReLU, and the skip addition)


def forward(dev: KernelDevice, number: int, x, w, b, padding: int, relu: bool = False,
            skip=None):
    """y = conv(x, w) + b with version `number`; relu: y = max(0, y); skip (an array of y's
    shape, with relu): also out = max(0, y + skip), returned as (y, out). The epilogues are
    fused into the store of versions 6 and 7 only."""
    n, c_in, h, wd = x.shape
    c_out = w.shape[0]
    ho, wo = h + 2 * padding - 2, wd + 2 * padding - 2
    p = n * ho * wo
    y = dev.empty((n, c_out, ho, wo))
    args = (x, w, b, y, n, c_in, h, wd, c_out, padding)
    op = version(number).file.removesuffix(".cu")
    if (relu or skip is not None) and number not in FUSED:
        raise ValueError(f"version {number} has no fused epilogue (versions 6 and 7 have)")
    if skip is not None and not relu:
        raise ValueError("the skip epilogue is max(0, max(0, conv + b) + skip): it needs relu")
    prefix = "conv2d_forward_relu_skip" if skip is not None else (
        "conv2d_forward_relu" if relu else "conv2d_forward")
    out = None
    if skip is not None:
        out = dev.empty(y.shape)
        args = (x, w, b, y, skip, out, n, c_in, h, wd, c_out, padding)
    if number == 1:
        dev.launch(op, "conv2d_forward", (_cdiv(y.size, 256),), (256,), args)
    elif number == 2:
        dev.launch(op, "conv2d_forward", (_cdiv(wo, 16), _cdiv(ho, 16), n * _cdiv(c_out, 8)),
                   (16, 16), args)
    elif number == 3:
        dev.launch(op, "conv2d_forward", (_cdiv(wo, 32), _cdiv(ho, 16), n * _cdiv(c_out, 8)),
                   (32, 4), args)
    elif number in (4, 5):
        dev.launch(op, "conv2d_forward", (_cdiv(p, 64), _cdiv(c_out, 64)), (256,), args)
    elif number == 7:
        dev.launch(op, f"{prefix}_{dev.precision}", (_cdiv(p, 64), _cdiv(c_out, 64)),
                   (128,), args)
    else:
        def run(tile: tuple[int, int]) -> None:
            bm, bn = tile
            dev.launch(op, f"{prefix}_{bm}x{bn}", (_cdiv(p, bn), _cdiv(c_out, bm)), (128,), args)

        run(v6_tile(dev, (n, c_in, h, wd, c_out, padding, relu, skip is not None), run))
    return y if out is None else (y, out)


def v6_tile(dev: KernelDevice, key: tuple, run: Callable[[tuple[int, int]], None]):
    """The block shape version 6 uses for a layer: forced, timed once per shape, or by rule."""
    forced = os.environ.get("REDNET_CONV_TILE")
    if forced:
        tile = tuple(int(s) for s in forced.lower().split("x"))
        if tile not in V6_TILES:
            raise ValueError(f"REDNET_CONV_TILE={forced!r}: expected one of "
                             + ", ".join(f"{m}x{n}" for m, n in V6_TILES))
        return tile
    if dev.name != "cuda":
        n, _, h, wd, c_out, padding = key[:6]
        return rule_tile(c_out, n * (h + 2 * padding - 2) * (wd + 2 * padding - 2))
    if key not in dev.tiles:
        dev.tiles[key] = autotune(run, cuda_clock(dev))
    return dev.tiles[key]


def rule_tile(c_out: int, pixels: int) -> tuple[int, int]:
    """A block shape without timing: as many channels per block as the layer has, up to 128,
    and 128 pixels wide unless that leaves too few blocks."""
    if c_out <= 32:
        return (32, 128)
    if c_out <= 64:
        return (64, 128) if pixels >= 128 * 64 else (64, 64)
    return (128, 64)


def autotune(run: Callable[[tuple[int, int]], None],
             clock: Callable[[Callable[[], None]], float], repeats: int = 3) -> tuple[int, int]:
    """The tile of V6_TILES whose run is fastest (the best of `repeats` timings each, after
    one untimed run). `clock(fn)` returns the seconds fn takes."""
    best, best_time = V6_TILES[0], float("inf")
    for tile in V6_TILES:
        run(tile)
        seconds = min(clock(lambda t=tile: run(t)) for _ in range(repeats))
        if seconds < best_time:
            best, best_time = tile, seconds
    return best


def cuda_clock(dev: KernelDevice) -> Callable[[Callable[[], None]], float]:
    """Seconds a launch takes on the GPU, measured with CUDA events around it."""
    def clock(fn: Callable[[], None]) -> float:
        start, stop = dev.xp.cuda.Event(), dev.xp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        return dev.xp.cuda.get_elapsed_time(start, stop) / 1e3

    return clock


def split_pixels(pixels: int, tiles: int, step: int, splits: int | None = None):
    """(chunk, splits): the pixels cut into `splits` chunks of `chunk` (a multiple of `step`,
    the last one shorter). Chosen from the shape alone, so that a rerun sums in the same order."""
    if splits is None:
        splits = min(SPLIT_MAX, _cdiv(SPLIT_TARGET_BLOCKS, tiles),
                     _cdiv(pixels, step * SPLIT_MIN_STEPS))
    splits = max(1, min(splits, _cdiv(pixels, step)))
    chunk = _cdiv(_cdiv(pixels, splits), step) * step
    return chunk, _cdiv(pixels, chunk)


def weight_grad(dev: KernelDevice, number: int, dy, x, padding: int,
                splits: int | None = None):
    """dw = sum over pixels of dy x im2col(x), with weight-gradient version `number`."""
    n, c_in, h, wd = x.shape
    c_out = dy.shape[1]
    dw = dev.empty((c_out, c_in, 3, 3))
    if number == 1:
        dev.launch("conv2d", "conv2d_weight_grad", (c_in, c_out), (256,),
                   (dy, x, dw, n, c_in, h, wd, c_out, padding))
        return dw
    op = f"conv2d_w{number}"
    k = c_in * 9
    pixels = n * dy.shape[2] * dy.shape[3]
    # (tile of dW, pixels per stage, block); w4's stage depth is its precision's (16 for
    # tf32, 32 for fp16/bf16).
    tile, step, block = {2: (16, 16, (16, 16)), 3: (64, 16, (128,)),
                         4: (64, 16 if dev.precision == "tf32" else 32, (128,))}[number]
    tiles = _cdiv(k, tile) * _cdiv(c_out, tile)
    chunk, splits = split_pixels(pixels, tiles, step, splits)
    part = dev.empty((splits, c_out, k))
    partial = f"conv2d_weight_grad_partial_{dev.precision}" if number == 4 else (
        "conv2d_weight_grad_partial")
    dev.launch(op, partial, (_cdiv(k, tile), _cdiv(c_out, tile), splits),
               block, (dy, x, part, n, c_in, h, wd, c_out, padding, chunk))
    # One fixed-order reduce for every split-K version: w2's.
    dev.launch("conv2d_w2", "conv2d_weight_grad_reduce", (blocks_for(dw.size),), (256,),
               (part, dw, dw.size, splits))
    return dw
