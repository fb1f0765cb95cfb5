"""Shared fixtures: random generators and the kernel devices usable on this machine."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

# Kernel outputs are NaN-filled before every launch (KernelDevice.empty), so an element a
# kernel forgets to write fails the comparison. The emulator does that by default; cuda only
# with REDNET_POISON=1, read when its ops namespace is built, hence set here, at import.
os.environ.setdefault("REDNET_POISON", "1")


def pytest_collection_modifyitems(config, items):
    """Skip GPU tests, with the reason, where no GPU is usable."""
    try:
        from rednet_cupy.runtime import cuda_available

        ok, why = cuda_available()
    except ImportError as exc:  # the runtime itself is broken: say so rather than hide it
        ok, why = False, f"rednet_cupy.runtime failed to import: {exc}"
    if ok:
        return
    skip = pytest.mark.skip(reason=f"no usable GPU: {why}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


KERNEL_DEVICES = ["emulate", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=KERNEL_DEVICES)
def kernel_device(request) -> str:
    """Each kernel test runs on the emulator, and on the GPU where there is one."""
    return request.param


def rel_error(a, b) -> float:
    """max |a - b| / max |b|, the measure every kernel-vs-reference test uses."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    assert np.isfinite(a).all(), "output has NaN/inf: an element was not written"
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def load_benchmark(name: str) -> ModuleType:
    """benchmarks/<name>.py as a module (the folder is not a package): the tests of a
    benchmark script run its functions directly."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module
