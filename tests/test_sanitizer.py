"""Every kernel under AddressSanitizer and UndefinedBehaviorSanitizer, as compute-sanitizer
would run them on a GPU: the emulator's sanitizer mode (runtime.sanitizer_env()) builds each
kernel file with -fsanitize=address,undefined, and a subprocess calls every op of
ops.get("emulate") once on odd shapes, both paddings, comparing with the reference.

The same harness on a conv2d.cu mutated to write one element past the end of y must be
stopped by AddressSanitizer: so a clean run means something.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from rednet_cupy import runtime
from rednet_cupy.runtime import compiler

# Run in the sanitized subprocess. argv[1], if given, is a conv2d.cu whose conv2d_forward
# replaces the real one (loaded with load_source, installed in the device's function cache).
HARNESS = textwrap.dedent('''
    import sys
    from pathlib import Path

    import numpy as np

    from rednet_cupy import ops, runtime
    from rednet_cupy import reference as R

    F = ops.get("emulate", conv=2)  # kernels/conv2d.cu, which the mutant replaces
    assert F.device.poison
    if len(sys.argv) > 1:
        mutant = runtime.load_source(Path(sys.argv[1]).read_text(), device="emulate",
                                     name="conv2d_mutant")
        F.device._functions[("conv2d", "conv2d_forward")] = mutant.get_function("conv2d_forward")

    rng = np.random.default_rng(0)
    errors = {}


    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32)


    def check(name, got, expected):
        got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        finite = np.isfinite(got).all()
        scale = max(np.abs(expected).max(), 1e-30)
        errors[name] = float(np.abs(got - expected).max() / scale) if finite else np.inf


    def f64(*arrays):
        return [a.astype(np.float64) for a in arrays]


    for p in (0, 1):
        # conv2d: 19 x 17 -> partial 16 x 16 tiles; 9 output channels -> a partial group
        x, w, b = f32(2, 3, 19, 17), f32(9, 3, 3, 3), f32(9)
        y = F.conv2d_forward(x, w, b, p)
        check(f"conv2d_forward p{p}", y, R.conv2d_forward(*f64(x, w, b), p))
        dy = f32(*y.shape)
        for name, g, e in zip(("dx", "dw", "db"), F.conv2d_backward(dy, x, w, p),
                              R.conv2d_backward(*f64(dy, x, w), p)):
            check(f"conv2d_backward {name} p{p}", g, e)
        # deconv2d: 9 -> 3 channels, 5 x 7 grows (p 0) or stays (p 1)
        x, w, b = f32(2, 9, 5, 7), f32(9, 3, 3, 3), f32(3)
        y = F.deconv2d_forward(x, w, b, p)
        check(f"deconv2d_forward p{p}", y, R.deconv2d_forward(*f64(x, w, b), p))
        dy = f32(*y.shape)
        for name, g, e in zip(("dx", "dw", "db"), F.deconv2d_backward(dy, x, w, p),
                              R.deconv2d_backward(*f64(dy, x, w), p)):
            check(f"deconv2d_backward {name} p{p}", g, e)

    x, dy = f32(3, 5, 7, 9), f32(3, 5, 7, 9)
    y = F.relu_forward(x)
    check("relu_forward", y, R.relu_forward(*f64(x)))
    check("relu_backward", F.relu_backward(dy, y), R.relu_backward(*f64(dy, y)))
    a, b = f32(3, 5, 7, 9), f32(3, 5, 7, 9)
    check("skip_add_forward", F.skip_add_forward(a, b), R.skip_add_forward(*f64(a, b)))
    pred, target = f32(3, 1, 13, 37), f32(3, 1, 13, 37)
    check("mse_loss_forward", F.mse_loss_forward(pred, target),
          R.mse_loss_forward(*f64(pred, target)))
    check("mse_loss_backward", F.mse_loss_backward(pred, target),
          R.mse_loss_backward(*f64(pred, target)))
    param, m, v = f32(7, 3, 3, 3), np.zeros((7, 3, 3, 3), np.float32), np.zeros((7, 3, 3, 3),
                                                                             np.float32)
    ep, em, ev = f64(param, m, v)
    for t in (1, 2, 3):
        g = f32(7, 3, 3, 3)
        F.adam_step(param, g, m, v, t, 0.05)
        R.adam_step(ep, *f64(g), em, ev, t, 0.05)
    check("adam_step param", param, ep)
    check("adam_step m", m, em)
    check("adam_step v", v, ev)

    for name, err in errors.items():
        print(f"{name:32s} {err:.2e}")
    bad = {k: e for k, e in errors.items() if not e < 1e-4}
    print(f"checked {len(errors)} outputs, {len(bad)} off")
    sys.exit(1 if bad else 0)
''')

CONTRACT_CALLED = ("conv2d_forward", "conv2d_backward", "deconv2d_forward",
                   "deconv2d_backward", "relu_forward", "relu_backward", "skip_add_forward",
                   "mse_loss_forward", "mse_loss_backward", "adam_step")

# The store of conv2d_forward, shifted by one element: the last thread writes one float past
# the end of y (and every other output lands on its neighbour's place).
STORE = "y[(((size_t)n * C_out + co0 + k) * Ho + i) * Wo + j] = acc[k] + b[co0 + k];"
PAST_THE_END = "y[(((size_t)n * C_out + co0 + k) * Ho + i) * Wo + j + 1] = acc[k] + b[co0 + k];"


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    """Run the harness under the sanitizers, with a fresh emulator cache for this module."""
    if compiler.asan_runtime() is None:
        pytest.skip("the C++ compiler has no AddressSanitizer runtime (libasan.so): "
                    "apt-get install libasan8, or use g++")
    try:
        env = runtime.sanitizer_env()
    except runtime.KernelError as e:
        pytest.skip(str(e))
    base = tmp_path_factory.mktemp("sanitizer")
    env["REDNET_CACHE_DIR"] = str(base / "cache")
    script = base / "harness.py"
    script.write_text(HARNESS)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], env=env, cwd=base,
                              capture_output=True, text=True, timeout=600)

    run.base = base
    return run


def test_harness_calls_every_op():
    for name in CONTRACT_CALLED:
        assert f"F.{name}(" in HARNESS, name


def test_every_kernel_is_clean_under_the_sanitizers(sanitized):
    done = sanitized()
    report = done.stdout + done.stderr
    assert "ERROR: AddressSanitizer" not in done.stderr, report[-4000:]
    assert "runtime error:" not in done.stderr, report[-4000:]
    assert done.returncode == 0, report[-4000:]
    assert "checked 24 outputs, 0 off" in done.stdout, report[-4000:]


def test_a_write_past_the_end_is_reported(sanitized):
    text = (runtime.kernel_dir() / "conv2d.cu").read_text()
    assert text.count(STORE) == 1
    mutant = sanitized.base / "conv2d_past_the_end.cu"
    mutant.write_text(text.replace(STORE, PAST_THE_END))
    done = sanitized(str(mutant))
    report = done.stdout + done.stderr
    assert done.returncode != 0, report[-4000:]
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in done.stderr, report[-4000:]
    assert "in conv2d_forward" in done.stderr, report[-4000:]
    assert "checked" not in done.stdout  # stopped at the first bad write
