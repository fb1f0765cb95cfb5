"""Image folders, built-in images, patch sampling and resumption, noise and bicubic inputs."""

import json
import socket
import warnings

import numpy as np
import pytest
from PIL import Image

from rednet_cupy import data
from rednet_cupy.data import PatchSampler, Uniform


# ----------------------------------------------------------------------------- folders
def test_list_images_sorted_case_insensitive(tmp_path):
    for name in [
        "b.PNG",
        "a.jpg",
        "c.JpEg",
        "d.bmp",
        "e.TIF",
        "f.tiff",
        "notes.txt",
        ".hidden.png",
    ]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    names = [p.name for p in data.list_images(tmp_path)]
    assert names == ["a.jpg", "b.PNG", "c.JpEg", "d.bmp", "e.TIF", "f.tiff"]


def test_list_images_errors(tmp_path):
    with pytest.raises(ValueError, match=r"no image files \(looked for .*\.png"):
        data.list_images(tmp_path)
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match=str(tmp_path.name)):
        data.list_images(tmp_path)
    with pytest.raises(NotADirectoryError, match="not a folder"):
        data.list_images(tmp_path / "readme.txt")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        data.list_images(tmp_path / "missing")


def test_load_images_gray_and_colour(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "g.png")
    gray = data.load_images(tmp_path)
    assert [im.shape for im in gray] == [(6, 5), (6, 5)]
    assert [im.shape for im in data.load_images(tmp_path, gray=False)] == [(6, 5, 3), (6, 5)]


def test_builtin_images_need_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("builtin_images tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing file would warn
        train, val = data.builtin_split()
    assert len(train) == len(data.BUILTIN_TRAIN) and len(val) == len(data.BUILTIN_VAL)
    assert not set(data.BUILTIN_TRAIN) & set(data.BUILTIN_VAL)
    assert "camera.png" not in data.BUILTIN_TRAIN  # Set12's cameraman stays out of training
    for im in train + val:
        assert im.ndim == 2 and im.dtype == np.float32 and min(im.shape) >= 150
        assert 0.0 <= im.min() and im.max() <= 1.0 and im.std() > 0.02


def test_builtin_missing_name_warns_and_all_missing_fails():
    with pytest.warns(UserWarning, match="does not ship"):
        imgs = data.builtin_images(["camera.png", "no_such_picture.png"])
    assert len(imgs) == 1
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="none of the built-in"):
        data.builtin_images(["no_such_picture.png"])


# ----------------------------------------------------------------------------- patches
def images(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((40, 55), dtype=np.float32), rng.random((33, 30), dtype=np.float32)]


def test_sampler_shapes_and_content():
    imgs = images()
    s = PatchSampler(imgs, patch_size=8, batch_size=5, seed=3, augment=False)
    batch = s.next()
    assert batch.shape == (5, 1, 8, 8) and batch.dtype == np.float32
    for patch in batch[:, 0]:  # every patch is a crop of one of the images
        found = any(
            np.array_equal(im[y : y + 8, x : x + 8], patch)
            for im in imgs
            for y in range(im.shape[0] - 7)
            for x in range(im.shape[1] - 7)
        )
        assert found


def test_sampler_deterministic():
    a = PatchSampler(images(), 8, 4, seed=11)
    b = PatchSampler(images(), 8, 4, seed=11)
    c = PatchSampler(images(), 8, 4, seed=12)
    for _ in range(3):
        x, y, z = a.next(), b.next(), c.next()
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


def test_sampler_state_resumes_exactly():
    a = PatchSampler(images(), 8, 4, seed=5)
    for _ in range(3):
        a.next()
    saved = json.loads(json.dumps(a.state()))  # the state travels through a JSON header
    expected = [a.next() for _ in range(4)]
    b = PatchSampler(images(), 8, 4, seed=999)  # the seed is overridden by the state
    b.set_state(saved)
    assert b.batches_drawn == 3
    for want in expected:
        np.testing.assert_array_equal(b.next(), want)


def test_sampler_state_refuses_other_setup():
    saved = PatchSampler(images(), 8, 4, seed=5).state()
    other = PatchSampler(images(), 10, 4, seed=5)
    with pytest.raises(ValueError, match="patch_size: saved 8, here 10"):
        other.set_state(saved)


def test_augmentation_covers_all_eight_orientations():
    im = np.arange(9, dtype=np.float32).reshape(3, 3)  # no symmetry: 8 distinct orientations
    s = PatchSampler([im], patch_size=3, batch_size=64, seed=0)
    seen = {p.tobytes() for p in s.next()[:, 0]}
    assert len(seen) == 8
    expected = {np.ascontiguousarray(data.dihedral(im, k)).tobytes() for k in range(8)}
    assert seen == expected
    for k in range(8):
        np.testing.assert_array_equal(data.undo_dihedral(data.dihedral(im, k), k), im)
    plain = PatchSampler([im], patch_size=3, batch_size=16, seed=0, augment=False)
    assert {p.tobytes() for p in plain.next()[:, 0]} == {im.tobytes()}


def test_patch_larger_than_image():
    with pytest.raises(ValueError, match=r"image 1 is 33x30, smaller than the patch size 35x35"):
        PatchSampler(images(), patch_size=35, batch_size=2, seed=0)
    with pytest.raises(ValueError, match="gray"):
        PatchSampler([np.zeros((40, 40, 3))], patch_size=8, batch_size=2, seed=0)


# ----------------------------------------------------------------------------- noise
def test_noise_statistics_single_sigma():
    clean = np.full((32, 1, 64, 64), 0.5, np.float32)
    noisy, sig = data.add_noise(clean, [25], np.random.default_rng(0))
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    np.testing.assert_array_equal(sig, 25)
    diff = noisy - clean
    assert abs(diff.std() - 25 / 255) < 0.01 * 25 / 255
    assert abs(diff.mean()) < 1e-3


def test_noise_several_sigmas_each_drawn_and_used():
    clean = np.zeros((90, 1, 48, 48), np.float32)
    noisy, sig = data.add_noise(clean, [10, 30, 50], np.random.default_rng(1))
    assert set(sig.tolist()) == {10, 30, 50}
    per_sample = noisy.reshape(90, -1).std(axis=1)
    np.testing.assert_allclose(per_sample, sig / 255, rtol=0.06)


def test_noise_uniform_range_and_clipping():
    clean = np.zeros((200, 1, 8, 8), np.float32)
    noisy, sig = data.add_noise(clean, Uniform(0, 55), np.random.default_rng(2))
    assert sig.min() >= 0 and sig.max() <= 55 and sig.std() > 10
    assert noisy.min() < 0  # not clipped by default
    clipped, _ = data.add_noise(clean, "0:55", np.random.default_rng(2), clip=True)
    np.testing.assert_array_equal(clipped, np.clip(noisy, 0, 1))


def test_parse_levels():
    assert data.parse_levels(25) == [25.0]
    assert data.parse_levels("15,25,50") == [15.0, 25.0, 50.0]
    assert data.parse_levels("0:55") == Uniform(0.0, 55.0)
    assert str(Uniform(0, 55)) == "0:55"
    assert data.parse_levels(str(Uniform(0.1234567891, 55))) == Uniform(0.1234567891, 55.0)
    assert data.parse_levels((2, 3, 4)) == [2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="ambiguous"):
        data.parse_levels((0, 55))
    with pytest.raises(ValueError, match="lo <= hi"):
        Uniform(5, 1)


def test_rng_state_round_trip():
    rng = np.random.default_rng(7)
    rng.random(3)
    state = json.loads(json.dumps(data.rng_state(rng)))
    want = rng.random(5)
    np.testing.assert_array_equal(data.rng_from_state(state).random(5), want)
    with pytest.raises(ValueError, match="unknown bit generator 'default_rng'"):
        data.rng_from_state({**state, "bit_generator": "default_rng"})


# ----------------------------------------------------------------------------- super-resolution
def texture():
    y, x = np.mgrid[0:48, 0:48]
    return (0.5 + 0.4 * np.sin(x / 1.3) * np.cos(y / 1.7)).astype(np.float32)


def test_bicubic_keeps_shape_and_constants():
    flat = np.full((3, 1, 50, 50), 0.3, np.float32)
    out, s = data.bicubic_degrade(flat, [2, 3, 4], np.random.default_rng(0))
    assert out.shape == flat.shape and out.dtype == np.float32 and s.shape == (3,)
    np.testing.assert_allclose(out, 0.3, atol=1e-5)


def test_bicubic_scale_matters():
    clean = np.stack([texture()] * 2)[:, None]
    x2 = data.sr_degrade(texture(), 2)
    x4 = data.sr_degrade(texture(), 4)
    err2, err4 = np.abs(x2 - texture()).mean(), np.abs(x4 - texture()).mean()
    assert 0 < err2 < err4
    out, s = data.bicubic_degrade(clean, [4], np.random.default_rng(0))
    np.testing.assert_array_equal(s, 4)
    np.testing.assert_allclose(out[0, 0], x4)
    colour = np.dstack([texture(), texture() * 0.5, 1 - texture()])
    up = data.sr_degrade(colour, 3)
    assert up.shape == colour.shape
    np.testing.assert_allclose(up[..., 0], data.sr_degrade(texture(), 3))


def test_modcrop():
    assert data.modcrop(np.zeros((50, 47, 3)), 4).shape == (48, 44, 3)


def test_make_batch_both_tasks():
    s = PatchSampler([texture()], 16, 3, seed=0)
    inputs, targets = data.make_batch(s, "denoise", [25], np.random.default_rng(0))
    assert inputs.shape == targets.shape == (3, 1, 16, 16)
    assert 0.05 < (inputs - targets).std() < 0.15
    inputs, targets = data.make_batch(s, "sr", [2], np.random.default_rng(0))
    assert inputs.shape == targets.shape and not np.array_equal(inputs, targets)
    with pytest.raises(ValueError, match="unknown task 'deblur'"):
        data.make_batch(s, "deblur", [2], np.random.default_rng(0))


def test_degrade_image_deterministic():
    img = texture()
    a = data.degrade_image(img, "denoise", 25, seed=1)
    np.testing.assert_array_equal(a, data.degrade_image(img, "denoise", 25, seed=1))
    assert not np.array_equal(a, data.degrade_image(img, "denoise", 25, seed=2))
    assert abs((a - img).std() - 25 / 255) < 0.005
    sr = data.degrade_image(img, "sr", 3)
    assert sr.shape == img.shape and not np.array_equal(sr, img)


def test_quantize_8bit_rounds_and_clips_like_a_saved_file():
    x = np.array([-0.3, 0.0, 0.5 / 255, 0.49 / 255, 1.2 / 255, 0.5, 1.0, 1.7], np.float32)
    q = data.quantize_8bit(x)
    # Through an 8-bit PNG and back: the same numbers.
    via_png = np.asarray(Image.fromarray(np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
                                         [None]))[0] / 255
    np.testing.assert_array_equal(q, via_png.astype(np.float32))
    assert q.dtype == np.float32 and q.min() == 0 and q.max() == 1
    assert q[3] == 0 and q[4] == 1 / np.float32(255)


def test_make_batch_quantizes_the_requested_share():
    s = PatchSampler([texture()], 8, 400, seed=0)
    inputs, _ = data.make_batch(s, "denoise", [50], np.random.default_rng(0), quantize=0.3)
    on_grid = np.array([np.array_equal(a, data.quantize_8bit(a)) for a in inputs])
    assert 0.2 < on_grid.mean() < 0.4  # 400 draws: the share within a few sigma
    q = inputs[on_grid]
    assert q.min() == 0 and q.max() <= 1  # clipped at black (texture() reaches near 0)
    assert (inputs[~on_grid] < 0).any()  # the float share still has its negative noise
    with pytest.raises(ValueError, match="quantize must be a share"):
        data.make_batch(s, "denoise", [50], np.random.default_rng(0), quantize=1.5)


def test_make_batch_clipped_mean_targets_for_the_8bit_samples_only():
    """With clipped_mean_targets the 8-bit samples' targets are the clean patch's clipped mean
    at their own sigma, the float samples' the clean patch; inputs are the same draws."""
    from rednet_cupy.clipping import clipped_mean

    args = ("denoise", "10:55")
    a_in, a_t = data.make_batch(PatchSampler([texture()], 8, 40, seed=3), *args,
                                np.random.default_rng(5), quantize=0.5)
    b_in, b_t = data.make_batch(PatchSampler([texture()], 8, 40, seed=3), *args,
                                np.random.default_rng(5), quantize=0.5, clipped_mean_targets=True)
    np.testing.assert_array_equal(a_in, b_in)
    sig = data.draw_levels(data.parse_levels("10:55"), 40, np.random.default_rng(5))
    eight = np.array([np.array_equal(x, data.quantize_8bit(x)) for x in a_in])
    assert 5 < eight.sum() < 35
    for j in range(40):
        want = clipped_mean(a_t[j], sig[j] / 255) if eight[j] else a_t[j]
        np.testing.assert_allclose(b_t[j], want, atol=1e-6)
    assert np.abs(b_t - a_t).max() > 0.01  # texture() comes near black: targets moved
    with pytest.raises(ValueError, match="clipped_mean_targets applies to 8-bit denoising"):
        data.make_batch(PatchSampler([texture()], 8, 4, seed=3), *args,
                        np.random.default_rng(5), clipped_mean_targets=True)


def test_make_batch_without_quantize_draws_as_before():
    a, _ = data.make_batch(PatchSampler([texture()], 8, 4, seed=3), "denoise", [25],
                           np.random.default_rng(5))
    b, _ = data.make_batch(PatchSampler([texture()], 8, 4, seed=3), "denoise", [25],
                           np.random.default_rng(5), quantize=0.0)
    np.testing.assert_array_equal(a, b)


def test_degrade_image_eight_bit_is_the_float_input_quantized():
    img = texture()
    f = data.degrade_image(img, "denoise", 50, seed=4)
    q = data.degrade_image(img, "denoise", 50, seed=4, eight_bit=True)
    np.testing.assert_array_equal(q, data.quantize_8bit(f))
    assert f.min() < 0 and q.min() == 0


def test_sr_pairs_are_the_test_protocol_on_whole_images():
    """Each pair is [sr_degrade(modcrop(img)), modcrop(img)], per scale, and the sampler
    cuts both planes at the same place with the same flip/rotation."""
    imgs = [texture(), texture()[:41, :37]]
    pairs = data.sr_pairs(imgs, [2, 3])
    assert [p.shape for p in pairs] == [(2, 48, 48), (2, 40, 36), (2, 48, 48), (2, 39, 36)]
    np.testing.assert_array_equal(pairs[3][1], imgs[1][:39, :36])
    np.testing.assert_array_equal(pairs[3][0], data.sr_degrade(imgs[1][:39, :36], 3))
    s = PatchSampler(pairs, 16, 8, seed=0, planes=2)
    batch = s.next()
    assert batch.shape == (8, 2, 16, 16)
    # Every patch's target plane is a patch of some clean image under some flip/rotation,
    # and its input plane the same patch of the matching degraded image.
    for inp, tgt in batch:
        found = False
        for p in pairs:
            for k in range(8):
                q = data.dihedral(p, k)
                for y in range(q.shape[1] - 15):
                    hit = np.flatnonzero(q[1, y, :-15] == tgt[0, 0])
                    for x in hit:
                        if np.array_equal(q[:, y:y + 16, x:x + 16], np.stack([inp, tgt])):
                            found = True
        assert found
    for bad in ([2.5], [1]):
        with pytest.raises(ValueError, match="integers >= 2"):
            data.sr_pairs(imgs, bad)
    with pytest.raises(ValueError, match="stack of 2 planes"):
        PatchSampler(imgs, 16, 8, seed=0, planes=2)
