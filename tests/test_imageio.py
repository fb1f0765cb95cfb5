"""Image reading for every Pillow mode, refusals with clear messages, atomic writes, colour."""

import os

import numpy as np
import pytest
from PIL import Image, ImageFile
from skimage.color import rgb2ycbcr

from rednet_cupy.imageio import (
    ImageError,
    read_image,
    rgb_to_ycbcr,
    to_gray,
    write_image,
    ycbcr_to_rgb,
)

RNG = np.random.default_rng(0)
U8_GRAY = RNG.integers(0, 256, size=(7, 9), dtype=np.uint8)
U8_RGB = RNG.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)


def save(tmp_path, name, im, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


# ----------------------------------------------------------------------------- modes
@pytest.mark.parametrize("name", ["g.png", "g.bmp", "g.tif", "g.TIFF"])
def test_gray_lossless_formats(tmp_path, name):
    out = read_image(save(tmp_path, name, Image.fromarray(U8_GRAY)))
    assert out.dtype == np.float32 and out.shape == (7, 9)
    np.testing.assert_array_equal(out, U8_GRAY.astype(np.float32) / 255)


@pytest.mark.parametrize("name", ["c.png", "c.bmp", "c.tif"])
def test_rgb_lossless_formats(tmp_path, name):
    out = read_image(save(tmp_path, name, Image.fromarray(U8_RGB)))
    assert out.dtype == np.float32 and out.shape == (7, 9, 3)
    np.testing.assert_array_equal(out, U8_RGB.astype(np.float32) / 255)


def test_jpeg_reads_close(tmp_path):
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))
    out = read_image(save(tmp_path, "s.jpg", Image.fromarray(smooth), quality=100))
    assert out.shape == (32, 32) and out.dtype == np.float32
    assert np.abs(out - smooth / 255).max() < 3 / 255


def test_rgba_drops_alpha(tmp_path):
    rgba = np.dstack([U8_RGB, np.zeros((7, 9), np.uint8)])  # fully transparent
    out = read_image(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    np.testing.assert_array_equal(out, U8_RGB / np.float32(255))


def test_la_drops_alpha(tmp_path):
    la = Image.merge("LA", [Image.fromarray(U8_GRAY), Image.new("L", (9, 7), 17)])
    out = read_image(save(tmp_path, "la.png", la))
    assert out.shape == (7, 9)
    np.testing.assert_array_equal(out, U8_GRAY / np.float32(255))


def test_palette_colour_becomes_rgb(tmp_path):
    p = Image.fromarray(U8_RGB).quantize(colors=16)
    path = save(tmp_path, "p.png", p)
    assert Image.open(path).mode == "P"
    out = read_image(path)
    assert out.shape == (7, 9, 3)
    np.testing.assert_array_equal(out, np.asarray(p.convert("RGB")) / np.float32(255))


def test_palette_gray_becomes_gray(tmp_path):
    p = Image.fromarray(U8_GRAY // 64 * 64).convert("RGB").quantize(colors=4)
    path = save(tmp_path, "pg.png", p)
    assert Image.open(path).mode == "P"
    out = read_image(path)
    assert out.shape == (7, 9)
    np.testing.assert_array_equal(out, (U8_GRAY // 64 * 64) / np.float32(255))


def test_bilevel(tmp_path):
    bits = U8_GRAY > 127
    out = read_image(save(tmp_path, "b.png", Image.fromarray(bits)))
    np.testing.assert_array_equal(out, bits.astype(np.float32))


def test_16bit_png(tmp_path):
    a = np.array([[0, 1, 32768], [40000, 65534, 65535]], dtype=np.uint16)
    path = save(tmp_path, "d.png", Image.fromarray(a))
    assert Image.open(path).mode.startswith("I")
    np.testing.assert_allclose(read_image(path), a / 65535.0, rtol=0, atol=1e-7)


def test_16bit_big_endian_tiff(tmp_path):
    a = np.array([[0, 300], [65535, 1234]], dtype=np.uint16)
    im = Image.frombytes("I;16B", (2, 2), a.astype(">u2").tobytes())
    path = save(tmp_path, "be.tif", im)
    assert Image.open(path).mode == "I;16B"
    np.testing.assert_allclose(read_image(path), a / 65535.0, rtol=0, atol=1e-7)


def test_32bit_int_in_and_out_of_range(tmp_path):
    ok = Image.fromarray(np.array([[0, 65535]], dtype=np.int32), "I")
    np.testing.assert_allclose(read_image(save(tmp_path, "i.tif", ok)), [[0.0, 1.0]])
    big = Image.fromarray(np.array([[0, 70000]], dtype=np.int32), "I")
    with pytest.raises(ImageError, match=r"big\.tif.*outside the 16-bit range"):
        read_image(save(tmp_path, "big.tif", big))


def test_float_tiff(tmp_path):
    a = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(read_image(save(tmp_path, "f.tif", Image.fromarray(a))), a)
    bad = Image.fromarray(a * 255)
    with pytest.raises(ImageError, match=r"fb\.tif.*mode F.*\[0, 1\]"):
        read_image(save(tmp_path, "fb.tif", bad))


def test_cmyk_refused(tmp_path):
    path = save(tmp_path, "k.jpg", Image.new("CMYK", (4, 4)))
    with pytest.raises(ImageError, match=r"k\.jpg: unsupported image mode 'CMYK'"):
        read_image(path)


# ----------------------------------------------------------------------------- bad files
@pytest.mark.parametrize("pillow_flag", [False, True])
def test_truncated_png(tmp_path, monkeypatch, pillow_flag):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", pillow_flag)
    noise = RNG.integers(0, 256, size=(64, 64), dtype=np.uint8)  # incompressible
    full = save(tmp_path, "full.png", Image.fromarray(noise)).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: truncated or corrupt"):
        read_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is pillow_flag  # restored after reading


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not a picture\n")
    with pytest.raises(ImageError, match=r"notes\.png: not an image"):
        read_image(path)


def test_missing_directory_empty(tmp_path):
    with pytest.raises(ImageError, match=r"nothere\.png: no such file"):
        read_image(tmp_path / "nothere.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageError, match=r"dir\.png: is a directory"):
        read_image(tmp_path / "dir.png")
    (tmp_path / "zero.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"zero\.png: empty file"):
        read_image(tmp_path / "zero.png")


# ----------------------------------------------------------------------------- writing
@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff", ".PNG"])
def test_write_read_round_trip(tmp_path, ext):
    for a in (U8_GRAY / 255.0, U8_RGB / 255.0):
        path = tmp_path / f"x{ext}"
        write_image(path, a)
        np.testing.assert_allclose(read_image(path), a, atol=1e-7)


@pytest.mark.parametrize("ext", [".jpg", ".jpeg"])
def test_write_jpeg(tmp_path, ext):
    a = np.tile(np.linspace(0, 1, 32), (32, 1))
    write_image(tmp_path / f"x{ext}", a)
    assert Image.open(tmp_path / f"x{ext}").format == "JPEG"
    assert np.abs(read_image(tmp_path / f"x{ext}") - a).max() < 4 / 255


def test_write_clips_and_rounds(tmp_path):
    a = np.array([[-0.5, 0.0, 0.5 / 255, 0.6 / 255, 1.0, 7.0]])
    write_image(tmp_path / "c.png", a)
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "c.png")), [[0, 0, 0, 1, 255, 255]]
    )
    write_image(tmp_path / "one.png", np.zeros((3, 4, 1)))
    assert read_image(tmp_path / "one.png").shape == (3, 4)


def test_write_refusals(tmp_path):
    with pytest.raises(ImageError, match=r"x\.gif: unknown image extension"):
        write_image(tmp_path / "x.gif", np.zeros((2, 2)))
    with pytest.raises(ImageError, match="NaN"):
        write_image(tmp_path / "n.png", np.full((2, 2), np.nan))
    with pytest.raises(ImageError, match="floats in"):
        write_image(tmp_path / "u.png", U8_GRAY)
    with pytest.raises(ImageError, match="shape"):
        write_image(tmp_path / "s.png", np.zeros((2, 2, 4)))
    assert sorted(os.listdir(tmp_path)) == []


def _fail_midway(self, fp, *args, **kwargs):
    """Pillow's save writing part of a file and then failing (disk full, Ctrl-C, ...)."""
    f = open(fp, "wb") if isinstance(fp, (str, os.PathLike)) else fp
    f.write(b"\x89PNG half a file")
    f.flush()
    raise RuntimeError("disk on fire")


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    write_image(path, U8_GRAY / 255.0)
    before = path.read_bytes()
    monkeypatch.setattr(Image.Image, "save", _fail_midway)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_image(path, np.zeros((5, 5)))
    with pytest.raises(RuntimeError):
        write_image(tmp_path / "new.png", np.zeros((5, 5)))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.png"]  # no temporary file, no new.png


def test_written_file_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "m.png", np.zeros((2, 2)))
    finally:
        os.umask(old)
    assert (tmp_path / "m.png").stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------- colour
def test_ycbcr_matches_matlab_convention():
    white, black = np.ones((1, 1, 3)), np.zeros((1, 1, 3))
    np.testing.assert_allclose(rgb_to_ycbcr(white)[0, 0] * 255, [235, 128, 128], atol=1e-3)
    np.testing.assert_allclose(rgb_to_ycbcr(black)[0, 0] * 255, [16, 128, 128], atol=1e-9)
    x = RNG.random((5, 6, 3))
    np.testing.assert_allclose(rgb_to_ycbcr(x) * 255, rgb2ycbcr(x), atol=1e-9)


def test_ycbcr_round_trip():
    x = RNG.random((16, 16, 3)).astype(np.float32)
    y = rgb_to_ycbcr(x)
    assert y.dtype == np.float32
    assert np.abs(ycbcr_to_rgb(y) - x).max() < 1e-6
    x64 = RNG.random((4, 4, 3))
    assert np.abs(ycbcr_to_rgb(rgb_to_ycbcr(x64)) - x64).max() < 1e-12
    with pytest.raises(ValueError, match="expected an"):
        rgb_to_ycbcr(np.zeros((4, 4)))


def test_to_gray():
    g = to_gray(U8_RGB / np.float32(255))
    assert g.shape == (7, 9) and g.dtype == np.float32
    pil = np.asarray(Image.fromarray(U8_RGB).convert("L")) / 255.0
    assert np.abs(g - pil).max() <= 1 / 255 + 1e-6
    r = to_gray(np.dstack([np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))]))
    np.testing.assert_allclose(r, 0.299)
    gray = U8_GRAY / np.float32(255)
    np.testing.assert_array_equal(to_gray(gray), gray)


@pytest.mark.parametrize("orientation,expect", [(1, "as stored"), (6, "rot270"), (3, "rot180"),
                                                (8, "rot90")])
def test_exif_orientation_is_applied(tmp_path, orientation, expect):
    """A phone photo: landscape pixels and an EXIF Orientation tag. The array comes back
    upright, as a viewer shows the file (6: rotate 90 degrees clockwise to view)."""
    stored = np.arange(6 * 10, dtype=np.uint8).reshape(6, 10) * 4
    im = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.jpg"
    im.save(path, exif=exif, quality=100, subsampling=0)
    got = np.round(read_image(path) * 255).astype(int)
    want = {"as stored": stored, "rot270": np.rot90(stored, -1), "rot180": np.rot90(stored, 2),
            "rot90": np.rot90(stored, 1)}[expect].astype(int)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 3  # JPEG at quality 100
