"""Helpers shared by the kernel tests (test_<op>.py): device arrays of the right kind, and
deliberately wrong ones (float64, non-contiguous) that the wrappers must refuse."""

from __future__ import annotations

import numpy as np

# Sizes for one-thread-per-element kernels (256 threads a block): 1 element, and counts that
# are not multiples of 256, so the last block is partial.
ELEMENTWISE_SHAPES = [(1, 1, 1, 1), (3, 17, 5, 7), (1, 9, 31, 16), (3, 1, 17, 33)]


def assert_device_array(F, a, shape) -> None:
    assert isinstance(a, F.xp.ndarray), type(a)
    assert a.dtype == np.float32 and tuple(a.shape) == tuple(shape), (a.dtype, a.shape)


def strided(F, a):
    """A non-contiguous device array with the values (and shape) of `a`."""
    big = F.xp.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
    big[..., ::2] = F.asarray(a, dtype=a.dtype)
    view = big[..., ::2]
    assert not view.flags.c_contiguous
    return view


def bad(F, a, fault):
    """`a` on the device as float64 (fault "float64") or as a strided view (any other)."""
    return F.asarray(a, dtype=np.float64) if fault == "float64" else strided(F, a)
