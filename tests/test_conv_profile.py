"""Each step of the convolution ladder claims, in its kernel file's header, what it saves; the
emulator's memory profile (exact per warp instruction) must show it, on a layer with RED-Net's
64 output channels and a map that no 2-D tile divides. benchmarks/conv_profile_table.py makes
kernels/PROFILE.md from the same measurements at full size; this checks the claims and that
the table is there for every version.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from rednet_cupy import ops, runtime

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (1, 16, 64, 20, 20)  # N, C_in, C_out, H, W: 64 channels fill the GEMM tiles


def _load():
    path = ROOT / "benchmarks" / "conv_profile_table.py"
    spec = importlib.util.spec_from_file_location("conv_profile_table", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


table = _load()


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    fwd = table.forward_rows(SHAPE, rng)
    wg = table.weight_grad_rows(SHAPE, rng)
    return {f"{r.label.split()[0]} {r.precision}": r for r in fwd + wg}


def per_out(row, field: str) -> float:
    return getattr(row.counts, field) / row.outputs


def wavefronts(row) -> float:
    c = row.counts
    return (c.shared_load_wavefronts + c.shared_store_wavefronts) / row.outputs


def test_v2_stages_inputs_in_shared_memory(rows):
    """v2: 'input patch and weights staged in shared memory': a fraction of v1's global reads."""
    assert per_out(rows["v2 fp32"], "global_load_sectors") < per_out(
        rows["v1 fp32"], "global_load_sectors") / 10


def test_v3_register_blocking_reads_less_shared_memory(rows):
    """v3: several pixels x channels per thread from registers: fewer shared wavefronts."""
    assert wavefronts(rows["v3 fp32"]) < wavefronts(rows["v2 fp32"]) / 1.5


def test_v4_flattened_pixels_waste_no_threads(rng):
    """v4: 'a block's 64 pixels run on across rows and images': on a 50x50 map the blocks
    cover barely more outputs than there are (v3's 32x16 tiles: over 1.6 times as many)."""
    n, ci, co = 1, 4, 64
    x = rng.standard_normal((n, ci, 50, 50)).astype(np.float32)
    w = rng.standard_normal((co, ci, 3, 3)).astype(np.float32)
    cover = {}
    for version, per_block in ((3, 32 * 16 * 8), (4, 64 * 64)):
        F = ops.get("emulate", conv=version)
        with runtime.profiling() as prof:
            F.conv2d_forward(x, w, np.zeros(co, np.float32), 1)
        grid = prof.launches[0].grid
        cover[version] = grid[0] * grid[1] * grid[2] * per_block / (n * co * 2500)
    assert cover[3] > 1.6 and cover[4] < 1.05


def test_v5_float4_and_double_buffering(rows):
    """v5: '16-byte shared loads' (fewer shared requests) and 'one barrier per stage'."""
    assert per_out(rows["v5 fp32"], "shared_load_requests") < per_out(
        rows["v4 fp32"], "shared_load_requests") / 1.5
    assert per_out(rows["v5 fp32"], "barriers") < per_out(rows["v4 fp32"], "barriers")


def test_v6_warp_tiles_read_less_shared_memory(rows, monkeypatch):
    """v6: 'up to 4 multiply-adds per shared float (version 5: 2)': the 64x128 tile (a warp's
    32x64 sub-tile) reads half as many shared wavefronts per output as v5; the 64x64 tile,
    which the rule picks for this small layer, a quarter fewer (2.67 per float)."""
    def loads(row) -> float:
        return per_out(row, "shared_load_wavefronts")

    assert loads(rows["v6 fp32"]) < loads(rows["v5 fp32"]) / 1.3
    # A 16x16 map: 256 pixels, which both versions' tiles (64 and 128 pixels) divide.
    monkeypatch.setenv("REDNET_CONV_TILE", "64x128")
    even = {r.label.split()[0]: r for r in table.forward_rows((1, 16, 64, 16, 16),
                                                             np.random.default_rng(0))}
    assert even["v6"].kernel == "conv2d_forward_64x128"
    assert loads(even["v6"]) < loads(even["v5"]) / 1.9


def test_v7_fragments_move_less_per_flop(rows):
    """v7: a warp reads a 16x16 fragment once for 16x16x16 multiply-adds: fewer shared
    wavefronts per output than v6 even counted element by element."""
    for precision in ("tf32", "bf16", "fp16"):
        assert wavefronts(rows[f"v7 {precision}"]) < wavefronts(rows["v6 fp32"])


def test_split_k_weight_gradients(rows):
    """w2: 'x is read C_out times over and dy C_in times' in w1, here once per 16-wide tile;
    w3: 64-wide tiles and per-warp sub-tiles: fewer global reads and barriers than w2."""
    assert per_out(rows["w2 fp32"], "global_load_sectors") < per_out(
        rows["w1 fp32"], "global_load_sectors") / 3
    assert per_out(rows["w3 fp32"], "global_load_sectors") < per_out(
        rows["w2 fp32"], "global_load_sectors")
    assert per_out(rows["w3 fp32"], "barriers") < per_out(rows["w2 fp32"], "barriers") / 3


def test_the_generated_table_lists_every_version():
    text = (runtime.kernel_dir() / "PROFILE.md").read_text()
    assert "Generated by `python benchmarks/conv_profile_table.py`" in text
    for v in ops.conv_versions():
        for precision in v.precisions:
            assert f"| v{v.number} {v.name} | {precision} |" in text
    for g in ops.weight_grad_versions():
        assert f"| w{g.number} {g.name} |" in text
