"""Evaluation: every method scored at every level on the same degraded inputs, PSNR of the
noisy input as sigma implies, a table with every method, and a PNG grid."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from PIL import Image

from rednet_cupy.evaluate import evaluate, save_grid, scores_csv, table
from rednet_cupy.model import RedNet, preset


def mid_gray(h: int, w: int, seed: int, colour: bool = False) -> np.ndarray:
    """Smooth image in [0.3, 0.7]: sigma-25 noise is ~3.5 sigma from clipping at 0 or 1."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 0.5 + 0.15 * np.sin(x / 6.0 + seed) * np.cos(y / 9.0)
    if not colour:
        return base.astype(np.float32)
    tint = rng.uniform(-0.05, 0.05, 3)
    return np.clip(base[..., None] + tint, 0, 1).astype(np.float32)


IMAGES = [("flat", mid_gray(64, 72, 0)), ("tinted", mid_gray(60, 64, 1, colour=True))]
LEVELS = [15.0, 25.0]


def tiny() -> RedNet:
    return RedNet(preset("RED10", depth=4, width=4), "cpu", seed=2)


def identity() -> RedNet:
    n = tiny()
    n.params["deconv2.weight"][...] = 0
    n.params["deconv2.bias"][...] = 0
    return n


@pytest.fixture(scope="module")
def denoise_run():
    models = {"tiny": tiny(), "identity": identity()}
    return evaluate(models, IMAGES, "denoise", LEVELS, baselines=True, keep=1, progress=False)


def by(scores, **kw):
    return [s for s in scores if all(getattr(s, k) == v for k, v in kw.items())]


def test_every_method_image_and_level_scored_once(denoise_run):
    scores, _ = denoise_run
    methods = ["noisy input", "nlm (scikit-image)", "wavelet (scikit-image)",
               "tv (scikit-image)", "tiny", "identity"]
    assert list(dict.fromkeys(s.method for s in scores)) == methods
    keys = [(s.image, s.level, s.method) for s in scores]
    assert sorted(keys) == sorted((i, lv, m) for i, _ in IMAGES for lv in LEVELS for m in methods)
    for s in scores:
        assert math.isfinite(s.psnr) and 0 < s.ssim <= 1 and s.seconds >= 0


@pytest.mark.parametrize("sigma", LEVELS)
def test_noisy_input_psnr_is_what_sigma_implies(denoise_run, sigma):
    """Unclipped Gaussian noise of sigma/255 has PSNR 20 log10(255 / sigma): 24.61 dB at
    15, 20.17 dB at 25 (up to the sampling error of ~4000 pixels per image)."""
    scores, _ = denoise_run
    noisy = [s.psnr for s in by(scores, method="noisy input", level=sigma)]
    assert len(noisy) == 2
    assert np.mean(noisy) == pytest.approx(20 * np.log10(255 / sigma), abs=0.3)


def test_methods_see_the_same_degraded_input(denoise_run):
    """The identity network scores exactly as the noisy input does (same noise, same
    clipping), and the classical denoisers beat the noisy input on a smooth image."""
    scores, _ = denoise_run
    for name, _ in IMAGES:
        for lv in LEVELS:
            noisy = by(scores, image=name, level=lv, method="noisy input")[0]
            ident = by(scores, image=name, level=lv, method="identity")[0]
            assert (ident.psnr, ident.ssim) == (noisy.psnr, noisy.ssim)
            for m in ("nlm (scikit-image)", "wavelet (scikit-image)", "tv (scikit-image)"):
                assert by(scores, image=name, level=lv, method=m)[0].psnr > noisy.psnr + 1, m


def test_noise_is_reproducible(denoise_run):
    """The noise of each image is seeded: a second evaluation scores the same."""
    scores, _ = denoise_run
    again, _ = evaluate({}, IMAGES, "denoise", [25.0], baselines=False, progress=False)
    first = by(scores, level=25.0, method="noisy input")
    assert [s.psnr for s in again] == [s.psnr for s in first]


def test_table_lists_every_method_with_its_averages(denoise_run):
    scores, _ = denoise_run
    md = table(scores, "denoise", title="two images")
    lines = md.splitlines()
    assert lines[0] == "### two images"
    assert lines[1] == "| method | sigma 15 | sigma 25 |"
    for m in dict.fromkeys(s.method for s in scores):
        sel = by(scores, method=m, level=25.0)
        cell = f"{np.mean([s.psnr for s in sel]):.2f} / {np.mean([s.ssim for s in sel]):.4f}"
        row = next(line for line in lines if line.startswith(f"| {m} |"))
        assert row.endswith(f"| {cell} |"), (row, cell)
    assert "averaged over 2 images" in lines[-1]
    assert not table(scores, "denoise").startswith("\n")


def test_csv_holds_every_score_behind_the_table(denoise_run):
    scores, _ = denoise_run
    rows = list(csv.DictReader(io.StringIO(scores_csv(scores))))
    assert len(rows) == len(scores)
    for row, s in zip(rows, scores, strict=True):
        assert (row["image"], float(row["level"]), row["method"]) == (s.image, s.level, s.method)
        assert float(row["psnr"]) == pytest.approx(s.psnr, abs=1e-4)
        assert float(row["ssim"]) == pytest.approx(s.ssim, abs=1e-5)


def test_grid_png(denoise_run, tmp_path):
    """keep=1: one example per level, the clean image then every method; save_grid writes
    a real PNG and nothing else."""
    _, examples = denoise_run
    assert [(name, lv) for name, lv, _ in examples] == [("flat", 15.0), ("flat", 25.0)]
    for _, _, shown in examples:
        assert [cap.split("\n")[0] for cap, _ in shown][:2] == ["clean", "noisy input"]
        assert len(shown) == 7 and all(img.shape == (64, 72) for _, img in shown)
    save_grid(examples, tmp_path / "grid.png")
    with Image.open(tmp_path / "grid.png") as im:
        im.load()
        assert im.format == "PNG" and im.width > 400
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_super_resolution_protocol():
    """SR: Y channel, cropped to a multiple of the scale; the identity network scores as
    bicubic, and a smooth image upscales well above 25 dB."""
    images = [("gray", mid_gray(37, 53, 3)), ("rgb", mid_gray(37, 53, 4, colour=True))]
    scores, examples = evaluate({"identity": identity()}, images, "sr", [2.0, 3.0],
                                keep=2, progress=False)
    assert {(s.image, s.level, s.method) for s in scores} == {
        (i, lv, m) for i, _ in images for lv in (2.0, 3.0) for m in ("bicubic", "identity")}
    for name, _ in images:
        for lv in (2.0, 3.0):
            bic = by(scores, image=name, level=lv, method="bicubic")[0]
            assert (by(scores, image=name, level=lv, method="identity")[0].psnr == bic.psnr)
            assert bic.psnr > 25
    shapes = {(name, lv): shown[0][1].shape for name, lv, shown in examples}
    assert shapes == {("gray", 2.0): (36, 52), ("rgb", 2.0): (36, 52),
                      ("gray", 3.0): (36, 51), ("rgb", 3.0): (36, 51)}
    assert "| bicubic |" in table(scores, "sr") and "scale 3" in table(scores, "sr")


def test_eight_bit_protocol_rounds_clips_and_seeds_from_1000():
    """8-bit inputs: every noisy value on the 256-level grid, clipped at 0 and 1, and the
    noise of image i drawn from default_rng(1000 + i), as the documented protocol says."""
    from rednet_cupy.data import degrade_image, quantize_8bit

    dark = [("dark", (0.05 + 0.0 * mid_gray(40, 44, 3)).astype(np.float32))]
    scores, examples = evaluate({"identity": identity()}, dark, "denoise", [50.0],
                                baselines=False, keep=1, progress=False, eight_bit=True)
    shown = dict(examples[0][2][1:2])  # the noisy input as the grid shows it
    noisy = next(iter(shown.values()))
    np.testing.assert_array_equal(noisy, quantize_8bit(noisy))
    expect = degrade_image(dark[0][1], "denoise", 50.0, seed=1000, eight_bit=True)
    np.testing.assert_array_equal(noisy, expect)
    assert (noisy == 0).mean() > 0.1  # one-sided noise near black: clipped often
    f, _ = evaluate({}, dark, "denoise", [50.0], baselines=False, progress=False)
    assert by(scores, method="noisy input")[0].psnr != f[0].psnr


def test_eight_bit_protocol_scores_models_with_and_without_the_clipping_correction():
    """With 8-bit input a model's row is what `rednet denoise` gives (clipping.debias of its
    output), beside a row without the correction; the float protocol has only the model."""
    from rednet_cupy.clipping import debias
    from rednet_cupy.data import degrade_image
    from rednet_cupy.infer import restore_gray
    from rednet_cupy.metrics import psnr

    img = [("ramp", np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1)))]
    net = tiny()
    scores, _ = evaluate({"tiny": net}, img, "denoise", [25.0], baselines=False,
                         progress=False, eight_bit=True)
    assert [s.method for s in scores] == ["noisy input", "tiny", "tiny, no clipping correction"]
    noisy = degrade_image(img[0][1], "denoise", 25.0, seed=1000, eight_bit=True)
    raw = restore_gray(net, noisy, tile=512)
    fixed, sigma = debias(noisy, raw)
    assert sigma > 0 and np.abs(fixed - raw).max() > 1e-3  # the correction did something
    assert by(scores, method="tiny")[0].psnr == pytest.approx(
        psnr(img[0][1], np.clip(fixed, 0, 1)), abs=1e-9)
    assert by(scores, method="tiny, no clipping correction")[0].psnr == pytest.approx(
        psnr(img[0][1], np.clip(raw, 0, 1)), abs=1e-9)
    f, _ = evaluate({"tiny": net}, img, "denoise", [25.0], baselines=False, progress=False)
    assert [s.method for s in f] == ["noisy input", "tiny"]


def test_bm3d_baseline_runs_where_installed():
    pytest.importorskip("bm3d")
    img = [("flat", mid_gray(48, 48, 0))]
    scores, _ = evaluate({}, img, "denoise", [25.0], baselines=False, progress=False,
                         bm3d=True)
    noisy, bm = by(scores, method="noisy input")[0], by(scores, method="BM3D")[0]
    assert bm.psnr > noisy.psnr + 5
    assert not by(scores, method="BM3D + clipping correction")  # float input: nothing clipped
    scores, _ = evaluate({}, img, "denoise", [25.0], baselines=False, progress=False,
                         bm3d=True, eight_bit=True)
    assert [s.method for s in scores] == ["noisy input", "BM3D", "BM3D + clipping correction"]


def test_published_rows_for_known_sets_only():
    from rednet_cupy.evaluate import published_rows

    rows = published_rows("B100", "sr", [4.0, 2.0, 3.0])
    assert "| SRCNN (published) | 31.36 | 28.41 | 26.90 |" in rows
    assert "| VDSR (published) | 31.90 | 28.82 | 27.29 |" in rows
    assert not any("bicubic" in r for r in rows)  # measured, not quoted
    assert "| BM3D (published) | - | 29.97 | 26.72 |" in published_rows("set12", "denoise",
                                                                        [10.0, 25.0, 50.0])
    assert published_rows("holiday_photos", "sr", [2.0]) == []
    assert published_rows("Set5", "sr", [2.5]) == []


def test_sr_scores_follow_the_matlab_protocol():
    """The reference is Y rounded to 8 bits, outputs are rounded to 8 bits before scoring,
    and `scale` pixels are shaved: an output that differs from the reference only in the
    shaved border, or by less than half a grey level, scores as perfect."""
    from rednet_cupy.evaluate import _sr_scores, sr_y

    rgb = mid_gray(30, 33, 5, colour=True)
    y = sr_y(rgb)
    np.testing.assert_array_equal(y * 255, np.round(y * 255))  # on the 8-bit grid
    q = np.round(rgb.astype(np.float64) * 255) / 255  # the 8-bit file
    lum = 16 + (65.481 * q[..., 0] + 128.553 * q[..., 1] + 24.966 * q[..., 2])
    assert np.abs(y * 255 - lum).max() <= 0.5 + 1e-4  # Y of the 8-bit RGB, rounded
    out = y + 0.4 / 255
    out[:2, :] = 0  # inside the shaved border at scale 2
    p, s = _sr_scores(y, out, 2)
    assert p == float("inf") and s == pytest.approx(1.0)
    assert _sr_scores(y, out, 1)[0] < 30
