"""`rednet gradcheck`: the table, the exit status, the time budget."""

import subprocess
import sys
import time

import pytest

import rednet_cupy.selfcheck as selfcheck
from rednet_cupy import ops
from rednet_cupy.cli import main


def test_gradcheck_passes_prints_a_table_and_is_fast():
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rednet_cupy.cli", "gradcheck"],
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    for op in ("conv2d", "deconv2d", "relu", "skip_add", "mse_loss", "RED10", "RED20"):
        assert op in out.stdout
    assert "FAIL" not in out.stdout
    assert elapsed < 60


def test_gradcheck_exits_non_zero_on_a_failure(capsys):
    real = selfcheck.R.relu_backward
    # ops.get caches each namespace: clear it on both sides so the broken relu stays here.
    ops.get.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(selfcheck.R, "relu_backward", lambda dy, y: 0.5 * real(dy, y))
            assert main(["gradcheck"]) == 1
    finally:
        ops.get.cache_clear()
    assert "FAIL" in capsys.readouterr().out
