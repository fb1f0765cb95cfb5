"""benchmarks/bench_ops.py: it runs, it reports every op and network, and it refuses to time
an op whose result differs from PyTorch's. The timings themselves are not tested here."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from rednet_cupy import ops

bench = load_benchmark("bench_ops")
QUICK = ["--device", "cpu", "--small", "--min-time", "0", "--repeats", "1"]


def _rows(text: str, section: str) -> list[str]:
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_report_lists_every_op_and_network(tmp_path):
    out = tmp_path / "ops.md"
    assert bench.main([*QUICK, "--no-torch", "--out", str(out)]) == 0
    text = out.read_text()
    op_rows = _rows(text, "Ops")
    per_shape = ["conv2d forward", "conv2d backward", "deconv2d forward", "deconv2d backward"]
    for shape in bench.SMALL_SHAPES:
        for op in per_shape:
            assert sum(r.startswith(f"| {op} | {shape} ") for r in op_rows) == 1, (op, shape)
    for op in ("relu forward", "relu backward", "skip_add", "adam"):
        assert sum(r.startswith(f"| {op}") for r in op_rows) == 1, op
    net_rows = _rows(text, "Networks")
    assert [r.split(" | ")[0] for r in net_rows] == ["| RED10 training step", "| RED10 inference"]
    for r in op_rows + net_rows:  # a time in ms was measured for ours in every row
        assert float(r.split(" | ")[2]) > 0


def test_timer_counts_every_call():
    calls = []
    t = bench.time_call(lambda: calls.append(1), lambda: None, min_time=0.0, repeats=3)
    assert t >= 0 and len(calls) == 1 + 3  # one warm-up call, then 3 runs of k = 1


def test_a_wrong_op_is_not_timed(monkeypatch):
    """The comparison must stop the benchmark when ours is wrong, before any timing."""
    F = ops.get("cpu")
    right = np.ones((2, 3), np.float32)
    case = dict(name="fake op", ours=lambda: right + 0.01, torch=lambda: right)
    args = bench.argparse.Namespace(min_time=0.0, repeats=1)
    with pytest.raises(SystemExit, match="fake op.*differs from PyTorch"):
        bench.measure_case(F, case, "shape", (2, 3), args, lambda: None)
    case["ours"] = lambda: right + 1e-6
    row = bench.measure_case(F, case, "shape", (2, 3), args, lambda: None)
    assert row["diff"] == pytest.approx(1e-6, rel=0.1)


def test_torch_mirror_matches_our_network():
    """The PyTorch copy used for the network timings computes what RedNet computes (skips,
    residual, padding 1), so the ratio compares the same work."""
    pytest.importorskip("torch", reason="PyTorch is optional: the benchmark's yardstick only")
    import torch

    from rednet_cupy.model import RedNet, preset

    cfg = preset("RED20", width=6)
    net = RedNet(cfg, "cpu", seed=3)
    x = np.random.default_rng(0).random((2, 1, 11, 9), dtype=np.float32)
    mirror = bench.torch_mirror(cfg, net.host_params(), "cpu")
    with torch.no_grad():
        theirs = mirror(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), theirs, rtol=1e-4, atol=1e-5)
