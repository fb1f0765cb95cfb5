"""The `rednet` command, run in-process: every bad input is one "rednet: error:" line and a
non-zero exit, never a traceback; the happy paths write what they promise.

Tiny models (4 layers, 4 feature maps), 16x16 patches and small synthetic images.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from rednet_cupy.checkpoint import load_checkpoint, save_checkpoint
from rednet_cupy.cli import build_parser, main
from rednet_cupy.imageio import read_image
from rednet_cupy.infer import restore
from rednet_cupy.model import preset
from rednet_cupy.train import TrainConfig, Trainer, export_model, fit, load_model

H, W = 37, 53  # non-square, not a multiple of anything


def gray_u8(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = 128 + 60 * np.sin(x / 5.0 + seed) * np.cos(y / 7.0) + rng.normal(0, 10, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def rednet(capsys, *argv) -> tuple[int, str, str]:
    """Run `rednet ARGV...` in this process: (exit code, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_error_line(result: tuple[int, str, str], *fragments: str) -> str:
    """Exactly one stderr line "rednet: error: ..." containing every fragment; exit 1."""
    rc, _, err = result
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rednet: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert rc == 1
    return lines[0]


TINY = ["--depth", 4, "--width", 4, "--patch-size", 16, "--batch-size", 2, "--quiet",
        "--device", "cpu"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> SimpleNamespace:
    """Images, a training folder and a tiny denoising model, made once for the module."""
    root = tmp_path_factory.mktemp("cli")
    f = SimpleNamespace(root=root)
    f.gray = root / "gray.png"
    Image.fromarray(gray_u8(H, W, 0)).save(f.gray)
    f.rgb = root / "rgb.png"
    Image.fromarray(np.stack([gray_u8(H, W, s) for s in (1, 2, 3)], axis=-1)).save(f.rgb)
    f.data = root / "data"
    f.data.mkdir()
    Image.fromarray(gray_u8(24, 28, 4)).save(f.data / "a.png")
    Image.fromarray(gray_u8(20, 32, 5)).save(f.data / "b.png")
    f.val = root / "val"
    f.val.mkdir()
    Image.fromarray(gray_u8(20, 20, 6)).save(f.val / "v.png")
    cfg = TrainConfig(levels="25", steps=2, batch_size=2, patch_size=16, log_every=1)
    tr = Trainer(preset("RED10", depth=4, width=4), cfg, [gray_u8(24, 28, 4) / 255.0],
                 device="cpu")
    fit(tr, root / "api-run", progress=False)
    f.model = root / "model.npz"
    export_model(tr, f.model)
    return f


# ----------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", [[], ["train"], ["denoise"], ["upscale"], ["eval"],
                                     ["demo"], ["export"], ["gradcheck"], ["profile"],
                                     ["info"]])
def test_help_of_every_command(command, capsys):
    """`rednet [COMMAND] --help` prints usage and exits 0."""
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: rednet {' '.join(command)}".rstrip())


def test_every_subcommand_is_covered_by_the_help_test():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"train", "denoise", "upscale", "eval", "demo", "export",
                                "gradcheck", "profile", "info"}


# ----------------------------------------------------------------------------- bad images
def test_bad_input_images(files, tmp_path, capsys):
    """Missing, directory, text named .png, empty and truncated inputs: one line each,
    naming the file, and no output written."""
    out = tmp_path / "out.png"
    text = tmp_path / "notes.png"
    text.write_text("not a picture\n")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    cases = [(tmp_path / "missing.png", "no such file"), (tmp_path, "is a directory"),
             (text, "not an image"), (empty, "empty file"), (cut, "truncated or corrupt")]
    for path, why in cases:
        result = rednet(capsys, "denoise", path, "-o", out, "--model", files.model,
                        "--device", "cpu")
        assert_error_line(result, str(path), why)
    assert not out.exists()


def test_bad_output_paths(files, tmp_path, capsys):
    """An unknown extension or a missing folder is refused; nothing is left behind."""
    assert_error_line(rednet(capsys, "denoise", files.gray, "-o", tmp_path / "out.xyz",
                             "--model", files.model, "--device", "cpu"),
                      "unknown image extension '.xyz'")
    assert_error_line(rednet(capsys, "denoise", files.gray, "-o", tmp_path / "no" / "out.png",
                             "--model", files.model, "--device", "cpu"),
                      str(tmp_path / "no"), "no such folder")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_output(files, tmp_path, capsys, monkeypatch):
    """A write that dies half-way (disk full) leaves neither the output nor a temporary."""

    def half_then_fail(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half an image")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    result = rednet(capsys, "denoise", files.gray, "-o", tmp_path / "out.png", "--model",
                    files.model, "--device", "cpu")
    assert_error_line(result, "No space left on device")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- bad models
def test_bad_model_files(files, tmp_path, capsys):
    """Missing, truncated, not-a-zip, pickled-object and wrong-architecture model files
    are each refused in one line that names the file."""
    header = load_checkpoint(files.model)[1]
    raw = np.load(files.model)["__header__"]
    data = files.model.read_bytes()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __header__=raw, **{"conv1.weight": np.array([None, {"x": 1}], object)})
    wider = tmp_path / "wider.npz"  # width-8 weights under a width-4 header
    weights = load_model(files.model, device="cpu")[0].host_params()
    weights["conv1.weight"] = np.zeros((8, 1, 3, 3), np.float32)
    save_checkpoint(wider, weights, header)
    bad_cfg = tmp_path / "bad_cfg.npz"
    save_checkpoint(bad_cfg, weights, {**header, "model": {**header["model"], "depth": 5}})
    no_header = tmp_path / "no_header.npz"
    np.savez(no_header, w=np.ones(3))

    cases = [(tmp_path / "missing.npz", "no such checkpoint file"),
             (truncated, "truncated or corrupt"),
             (files.gray, "not an .npz checkpoint"),
             (pickled, "object array; refusing to unpickle"),
             (wider, "weights do not fit the architecture"),
             (bad_cfg, "invalid model configuration"),
             (no_header, "no __header__ entry")]
    for path, why in cases:
        result = rednet(capsys, "denoise", files.gray, "-o", tmp_path / "out.png", "--model",
                        path, "--device", "cpu")
        assert_error_line(result, str(path), why)
    assert not (tmp_path / "out.png").exists()


def test_model_of_the_other_task_is_refused(files, sr_run, tmp_path, capsys, monkeypatch):
    """A denoiser cannot upscale and an SR model (exported or a training checkpoint)
    cannot denoise; upscale without --model and without the shipped model says how to get
    one."""
    import rednet_cupy.pretrained

    out = tmp_path / "out.png"
    monkeypatch.setattr(rednet_cupy.pretrained, "UPSCALER", tmp_path / "red20_sr.npz")
    assert_error_line(rednet(capsys, "upscale", files.gray, "-o", out, "--scale", 2),
                      "red20_sr.npz is missing from this installation: train one with")
    monkeypatch.undo()
    assert_error_line(rednet(capsys, "upscale", files.gray, "-o", out, "--scale", 2,
                             "--model", files.model, "--device", "cpu"),
                      "is a 'denoise' model, not a 'sr' model")
    for model in (sr_run / "model.npz", sr_run / "checkpoint.npz"):
        assert_error_line(rednet(capsys, "denoise", files.gray, "-o", out, "--model", model,
                                 "--device", "cpu"),
                          "is a 'sr' model, not a 'denoise' model")
    assert not out.exists()


def test_image_smaller_than_a_padding_0_network_needs(tmp_path, capsys):
    """Padding 0 needs at least depth + 1 pixels: refused in one line."""
    cfg = TrainConfig(levels="25", steps=1, batch_size=1, patch_size=16)
    tr = Trainer(preset("RED10", depth=4, width=4, padding=0), cfg,
                 [gray_u8(16, 16, 0) / 255.0], device="cpu")
    export_model(tr, tmp_path / "p0.npz")
    Image.fromarray(gray_u8(4, 30, 1)).save(tmp_path / "thin.png")
    assert_error_line(rednet(capsys, "denoise", tmp_path / "thin.png", "-o", tmp_path / "o.png",
                             "--model", tmp_path / "p0.npz", "--device", "cpu"),
                      "4x30 pixels is smaller than the 5x5 this network needs")


# ----------------------------------------------------------------------------- bad training
def test_bad_training_data(files, tmp_path, capsys):
    """Missing folder, a file, no images, a broken image, an image smaller than the patch,
    an empty level list: one line each, and no run folder content written."""
    empty = tmp_path / "empty"
    empty.mkdir()
    only_text = tmp_path / "text"
    only_text.mkdir()
    (only_text / "readme.txt").write_text("no images here")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_text("not a png")
    small = tmp_path / "small"
    small.mkdir()
    Image.fromarray(gray_u8(30, 30, 0)).save(small / "big.png")
    Image.fromarray(gray_u8(10, 12, 0)).save(small / "tiny.png")
    run = tmp_path / "run"
    cases = [(["--data", tmp_path / "missing"], ["missing", "no such folder"]),
             (["--data", files.gray], ["not a folder"]),
             (["--data", empty], [str(empty), "no image files"]),
             (["--data", only_text], ["no image files"]),
             (["--data", broken], [str(broken / "a.png"), "not an image"]),
             (["--data", small], [str(small / "tiny.png"), "10x12 pixels, smaller than the "
                                  "patch size 16x16"]),
             (["--data", files.data, "--levels", ","], ["empty list of levels"]),
             (["--data", files.data, "--steps", 0], ["steps must be >= 1"])]
    for args, fragments in cases:
        result = rednet(capsys, "train", *TINY, "--val", files.val, "--out", run, *args)
        assert_error_line(result, *fragments)
    assert not run.exists() or list(run.iterdir()) == []


def test_diverging_training_is_one_line(files, tmp_path, capsys, monkeypatch):
    """TrainingDiverged reaches the user as one line with the remedy."""
    from rednet_cupy import ops

    monkeypatch.setattr(ops.get("cpu"), "mse_loss_forward", lambda pred, target: float("inf"))
    result = rednet(capsys, "train", *TINY, "--data", files.data, "--val", files.val,
                    "--steps", 3, "--out", tmp_path / "run")
    assert_error_line(result, "loss became inf at step 1", "lower the learning rate")


# ----------------------------------------------------------------------------- training
def test_train_writes_checkpoint_model_and_curve(files, tmp_path, capsys):
    """`rednet train` with tiny settings writes checkpoint.npz, model.npz and curve.png, and
    prints a log line per checkpoint even before the first logged loss."""
    run = tmp_path / "run"
    rc, out, err = rednet(capsys, "train", *TINY, "--data", files.data, "--val", files.val,
                          "--steps", 3, "--ckpt-every", 1, "--log-every", 2, "--out", run)
    assert rc == 0, err
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz", "curve.png", "model.npz"]
    assert "step 1/3: lr" in out and "step 2/3: loss" in out and "done: 3 steps" in out
    net, header = load_model(run / "model.npz", device="cpu")
    assert (net.cfg.depth, net.cfg.width) == (4, 4)
    assert header["kind"] == "rednet-cupy model" and header["task"] == "denoise"
    assert header["step"] == 3
    assert load_checkpoint(run / "checkpoint.npz")[1]["step"] == 3
    assert (run / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the training checkpoint works as --model too, with the exported model's weights
    for model in ("model.npz", "checkpoint.npz"):
        rc, _, err = rednet(capsys, "denoise", files.gray, "-o", tmp_path / f"{model}.png",
                            "--model", run / model, "--device", "cpu")
        assert rc == 0, err
    assert (read_image(tmp_path / "model.npz.png") ==
            read_image(tmp_path / "checkpoint.npz.png")).all()


def test_train_resume_matches_one_run_and_refuses_changes(files, tmp_path, capsys):
    """`--steps 3` then `--resume --steps 5` gives the same model as `--steps 5` (constant
    schedule); --resume refuses other architecture flags, other data-shaping settings, a
    model file in place of the checkpoint, and a missing checkpoint."""
    common = [*TINY, "--data", files.data, "--val", files.val, "--schedule", "constant"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert rednet(capsys, "train", *common, "--steps", 5, "--out", one)[0] == 0
    assert rednet(capsys, "train", *common, "--steps", 3, "--out", two)[0] == 0
    rc, out, err = rednet(capsys, "train", "--resume", "--data", files.data, "--val", files.val,
                          "--quiet", "--device", "cpu", "--steps", 5, "--out", two)
    assert rc == 0, err
    assert "resumed from" in out and "at step 3" in out
    a, _ = load_checkpoint(one / "checkpoint.npz")
    b, _ = load_checkpoint(two / "checkpoint.npz")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k

    before = (two / "checkpoint.npz").read_bytes()
    resume = ["train", "--resume", "--data", files.data, "--val", files.val, "--quiet",
              "--device", "cpu", "--out", two]
    assert_error_line(rednet(capsys, *resume, "--width", 8),
                      "--resume continues the saved architecture", "'width': 8")
    assert_error_line(rednet(capsys, *resume, "--preset", "RED20"),
                      "--resume continues the saved architecture", "'depth': 20")
    assert_error_line(rednet(capsys, *resume, "--batch-size", 4),
                      "--resume continues the saved setup", "'batch_size': 4")
    assert rednet(capsys, *resume, "--width", 4, "--depth", 4)[0] == 0  # agreeing flags: fine
    assert (two / "checkpoint.npz").read_bytes() == before  # nothing was trained on top
    (tmp_path / "three").mkdir()
    (tmp_path / "three" / "checkpoint.npz").write_bytes((one / "model.npz").read_bytes())
    assert_error_line(rednet(capsys, *resume[:-1], tmp_path / "three"),
                      "not a training checkpoint")
    assert_error_line(rednet(capsys, *resume[:-1], tmp_path / "four"),
                      "no checkpoint to resume")


def test_train_stop_at_cuts_a_run_short_with_its_schedule(files, tmp_path, capsys):
    """`--steps 5 --stop-at 3` ends at step 3 with a checkpoint and no model file; resuming
    without it gives the model of one uninterrupted 5-step cosine run (the schedule was that
    of 5 steps all along, unlike a 3-step run's)."""
    common = [*TINY, "--data", files.data, "--val", files.val, "--steps", 5, "--lr", 1e-2]
    one, two = tmp_path / "one", tmp_path / "two"
    assert rednet(capsys, "train", *common, "--out", one)[0] == 0
    rc, out, err = rednet(capsys, "train", *common, "--stop-at", 3, "--out", two)
    assert rc == 0, err
    assert "stopped at step 3 of 5" in out
    assert not (two / "model.npz").exists()
    _, header = load_checkpoint(two / "checkpoint.npz")
    assert header["step"] == 3
    rc, out, err = rednet(capsys, "train", *common, "--resume", "--out", two)
    assert rc == 0, err
    a, _ = load_checkpoint(one / "model.npz")
    b, _ = load_checkpoint(two / "model.npz")
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert_error_line(rednet(capsys, "train", *common, "--stop-at", 0, "--out", tmp_path / "x"),
                      "--stop-at must be a step >= 1", "got 0")


def test_train_init_starts_a_new_run_from_a_models_weights(files, tmp_path, capsys):
    """--init takes the weights (and architecture) of a model or checkpoint file and starts
    a new run on them: step 0, its own levels and schedule. One step at a tiny learning rate
    leaves the weights next to the model's, far from a fresh start's."""
    common = ["--data", files.data, "--val", files.val, "--quiet", "--device", "cpu",
              "--patch-size", 16, "--batch-size", 2, "--steps", 1, "--lr", 1e-9,
              "--schedule", "constant", "--levels", "10:50"]
    start, _ = load_model(files.model, device="cpu")
    for source in (files.model, files.root / "api-run" / "checkpoint.npz"):
        run = tmp_path / source.name
        rc, out, err = rednet(capsys, "train", *common, "--init", source, "--out", run)
        assert rc == 0, err
        assert f"weights from {source}" in out
        arrays, header = load_checkpoint(run / "checkpoint.npz")
        assert header["step"] == 1
        assert header["model"] == start.cfg.to_dict()
        assert header["train"]["init"] == str(source) and header["train"]["levels"] == "10:50"
        for k, p in start.params.items():
            assert np.abs(arrays[f"param/{k}"] - p).max() < 1e-7, k
    rc, _, err = rednet(capsys, "train", *common, "--depth", 4, "--width", 4,
                        "--out", tmp_path / "fresh")
    assert rc == 0, err
    fresh, _ = load_checkpoint(tmp_path / "fresh" / "checkpoint.npz")
    assert max(np.abs(fresh[f"param/{k}"] - p).max() for k, p in start.params.items()) > 1e-3


def test_train_init_refusals(files, tmp_path, capsys):
    """--init with --resume, with contradicting architecture flags, with a missing or corrupt
    file: one line each; a new run never overwrites a folder that holds one."""
    base = ["train", *TINY, "--data", files.data, "--val", files.val, "--steps", 1]
    assert_error_line(rednet(capsys, *base, "--init", files.model, "--resume", "--out",
                             tmp_path / "a"), "--init starts a new run", "--resume continues")
    assert_error_line(rednet(capsys, *base, "--init", files.model, "--width", 8, "--out",
                             tmp_path / "b"), "--init keeps the architecture", "'width': 8")
    assert_error_line(rednet(capsys, *base, "--init", tmp_path / "none.npz", "--out",
                             tmp_path / "c"), "none.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(files.model.read_bytes()[:100])
    assert_error_line(rednet(capsys, *base, "--init", corrupt, "--out", tmp_path / "d"),
                      "corrupt.npz")
    assert not any((tmp_path / d).exists() for d in "abcd")
    run = tmp_path / "run"
    assert rednet(capsys, *base, "--out", run)[0] == 0
    before = (run / "checkpoint.npz").read_bytes()
    for extra in ([], ["--init", files.model]):
        assert_error_line(rednet(capsys, *base, *extra, "--out", run),
                          f"{run / 'checkpoint.npz'} already holds a run", "--resume")
    assert (run / "checkpoint.npz").read_bytes() == before


# ----------------------------------------------------------------------------- inference
@pytest.mark.parametrize("name", ["gray", "rgb"])
def test_denoise_writes_an_image_of_the_input_size(files, tmp_path, capsys, name):
    """`rednet denoise` keeps size and colour, and writes what the API computes; tiling
    (--tile smaller than the image) changes nothing beyond 8-bit rounding."""
    src = getattr(files, name)
    out, tiled = tmp_path / "out.png", tmp_path / "tiled.png"
    rc, stdout, err = rednet(capsys, "denoise", src, "-o", out, "--model", files.model,
                             "--device", "cpu")
    assert rc == 0, err
    assert f"({W}x{H}," in stdout
    got = read_image(out)
    expected_shape = (H, W) if name == "gray" else (H, W, 3)
    assert got.shape == expected_shape
    net = load_model(files.model, device="cpu")[0]
    want = np.round(np.clip(restore(net, read_image(src), clipped=True), 0, 1) * 255)
    np.testing.assert_array_equal(got * 255, want)
    plain = tmp_path / "plain.png"  # without the clipping correction: restore as it is
    assert rednet(capsys, "denoise", src, "-o", plain, "--model", files.model,
                  "--no-clip-correction", "--device", "cpu")[0] == 0
    want = np.round(np.clip(restore(net, read_image(src)), 0, 1) * 255)
    np.testing.assert_array_equal(read_image(plain) * 255, want)
    assert rednet(capsys, "denoise", src, "-o", tiled, "--model", files.model, "--tile", 20,
                  "--device", "cpu")[0] == 0
    assert np.abs(read_image(tiled) - got).max() <= 1 / 255 + 1e-7


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_denoise_keeps_the_colour_profile(files, tmp_path, capsys, suffix):
    """A photo's ICC profile (a phone's Display P3; here sRGB stands in) goes to
    the output, so its colours keep their meaning; a gray output does not get an RGB
    profile."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert icc[16:20] == b"RGB "
    src = tmp_path / f"profiled{suffix}"
    Image.open(files.rgb).save(src, icc_profile=icc)
    out = tmp_path / f"out{suffix}"
    assert rednet(capsys, "denoise", src, "-o", out, "--model", files.model,
                  "--device", "cpu")[0] == 0
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == icc
    gray_src = tmp_path / "gray_wrong_profile.png"
    Image.open(files.gray).save(gray_src, icc_profile=icc)  # an RGB profile on a gray image
    gray_out = tmp_path / "gray_out.png"
    assert rednet(capsys, "denoise", gray_src, "-o", gray_out, "--model", files.model,
                  "--device", "cpu")[0] == 0
    with Image.open(gray_out) as im:
        assert "icc_profile" not in im.info


@pytest.fixture(scope="module")
def sr_run(files, tmp_path_factory):
    """A tiny x2 super-resolution model trained by `rednet train --task sr --levels 2`."""
    run = tmp_path_factory.mktemp("sr") / "run"
    rc = main([str(a) for a in ["train", *TINY, "--task", "sr", "--levels", 2, "--data",
                                files.data, "--val", files.val, "--steps", 2, "--out", run]])
    assert rc == 0
    return run


def test_sr_training_validates_at_a_trained_scale(sr_run):
    """Without --val-level an SR run validates at its own scale (2), not at sigma 25."""
    header = load_checkpoint(sr_run / "checkpoint.npz")[1]
    assert header["train"]["task"] == "sr" and header["train"]["val_level"] == 2.0
    assert header["history"]["val_input_psnr"] > 15  # bicubic x2 of a smooth image


@pytest.mark.parametrize("scale,why", [("0", "--scale must be a number >= 1"),
                                       ("-2", "--scale must be a number >= 1"),
                                       ("0.5", "--scale must be a number >= 1"),
                                       ("nan", "--scale must be a number >= 1"),
                                       ("inf", "--scale must be a number >= 1"),
                                       ("5000", "megapixels), more than the 400 megapixels")])
def test_upscale_refuses_bad_scales(files, sr_run, tmp_path, capsys, scale, why):
    out = tmp_path / "big.png"
    assert_error_line(rednet(capsys, "upscale", files.gray, "-o", out, "--scale", scale,
                             "--model", sr_run / "model.npz", "--device", "cpu"), why)
    assert not out.exists()


def test_upscale_refuses_a_corrupt_image(files, sr_run, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    out = tmp_path / "big.png"
    assert_error_line(rednet(capsys, "upscale", bad, "-o", out, "--scale", 2,
                             "--model", sr_run / "model.npz", "--device", "cpu"), str(bad))
    assert not out.exists()


@pytest.mark.parametrize("name", ["gray", "rgb"])
def test_upscale_doubles_the_size(files, sr_run, tmp_path, capsys, name):
    """`rednet upscale --scale 2` with an SR model writes a 2x image, gray or colour."""
    out = tmp_path / "big.png"
    rc, _, err = rednet(capsys, "upscale", getattr(files, name), "-o", out, "--scale", 2,
                        "--model", sr_run / "model.npz", "--device", "cpu")
    assert rc == 0, err
    assert read_image(out).shape == ((2 * H, 2 * W) if name == "gray" else (2 * H, 2 * W, 3))


# ----------------------------------------------------------------------------- evaluation
def test_eval_writes_table_and_grid(files, tmp_path, capsys):
    """`rednet eval --no-baselines` scores the model and the noisy input at every level and
    writes results.md (the printed table), scores.csv (per image) and grid.png."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("gray", "rgb"):
        (data / f"{name}.png").write_bytes(getattr(files, name).read_bytes())
    out = tmp_path / "out"
    rc, stdout, err = rednet(capsys, "eval", "--data", data, "--model", files.model,
                             "--levels", "15,25", "--out", out, "--no-baselines",
                             "--device", "cpu")
    assert rc == 0, err
    md = (out / "results.md").read_text()
    assert md.strip() in stdout
    assert "| noisy input |" in md and "| RED-Net |" in md
    assert "sigma 15" in md and "sigma 25" in md and "averaged over 2 images" in md
    assert "(scikit-image)" not in md
    with Image.open(out / "grid.png") as im:
        assert im.format == "PNG"
    assert sorted(p.name for p in out.iterdir()) == ["grid.png", "results.md", "scores.csv"]
    rows = (out / "scores.csv").read_text().splitlines()
    assert rows[0] == "image,level,method,psnr,ssim,seconds"
    assert len(rows) == 1 + 2 * 2 * 2  # images x levels x (noisy input, RED-Net)


def test_eval_bad_inputs(files, tmp_path, capsys):
    """Missing data folder and unparsable levels are one line each."""
    assert_error_line(rednet(capsys, "eval", "--data", tmp_path / "nope", "--model",
                             files.model, "--out", tmp_path / "o", "--device", "cpu"),
                      "no such folder")
    assert_error_line(rednet(capsys, "eval", "--data", files.data, "--model", files.model,
                             "--levels", "15,abc", "--out", tmp_path / "o", "--device", "cpu"),
                      "abc")
    assert not (tmp_path / "o").exists()


def test_checkpoints_are_plain_zip_files(files):
    """model.npz is an ordinary .npz (readable without this package)."""
    with zipfile.ZipFile(files.model) as zf:
        assert "conv1.weight.npy" in zf.namelist()


def test_export_turns_a_checkpoint_into_the_same_model(files, tmp_path, capsys):
    """`rednet export` keeps the weights exactly and drops Adam's moments; a model file is
    not a training checkpoint and is refused as one."""
    ckpt = files.root / "api-run" / "checkpoint.npz"
    out = tmp_path / "exported.npz"
    rc, stdout, _ = rednet(capsys, "export", ckpt, "-o", out)
    assert rc == 0 and "step 2" in stdout
    arrays, header = load_checkpoint(out)
    assert header["kind"] == "rednet-cupy model" and header["task"] == "denoise"
    assert not any(k.startswith(("adam_", "param/")) for k in arrays)
    saved, _ = load_checkpoint(ckpt)
    for k, a in arrays.items():
        assert np.array_equal(a, saved[f"param/{k}"]), k
    assert_error_line(rednet(capsys, "export", out, "-o", tmp_path / "again.npz"),
                      "not a training checkpoint")
    assert not (tmp_path / "again.npz").exists()


def test_python_dash_m_is_the_rednet_command(tmp_path):
    """`python -m rednet_cupy` runs the same command line (for a checkout not installed)."""
    out = subprocess.run([sys.executable, "-m", "rednet_cupy", "info"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "emulator_cache" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "rednet_cupy", "denoise", "no-such-file.png",
                          "-o", str(tmp_path / "out.png")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no-such-file.png" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "out.png").exists()


def test_a_tensor_core_precision_on_the_cpu_device_is_one_line(files, tmp_path, capsys):
    assert_error_line(rednet(capsys, "train", *TINY, "--data", files.data, "--val", files.val,
                             "--steps", 1, "--device", "cpu", "--precision", "tf32",
                             "--out", tmp_path / "run"),
                      "precision tf32 runs the tensor-core kernels", "--device cuda")
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
