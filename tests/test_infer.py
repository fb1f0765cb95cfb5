"""Whole-image inference: tiling is invisible, colour is handled per channel (denoising) or
on Y (super-resolution), and the self-ensemble averages the 8 flips/rotations correctly."""

from __future__ import annotations

import numpy as np
import pytest

from rednet_cupy.data import dihedral
from rednet_cupy.imageio import rgb_to_ycbcr
from rednet_cupy.infer import bicubic_upscale, restore, restore_gray
from rednet_cupy.model import RedNet, preset

RNG = np.random.default_rng(7)
IMG = RNG.random((37, 53)).astype(np.float32)  # non-square, no multiple of any tile below
WHOLE = 10_000  # a tile larger than every test image: one pass over the whole image


def net(padding: int = 1, depth: int = 4, width: int = 4, seed: int = 1) -> RedNet:
    return RedNet(preset("RED10", depth=depth, width=width, padding=padding), "cpu", seed=seed)


def identity_net() -> RedNet:
    """Residual network whose last layer is zero: exactly the identity, and so exactly
    equivariant to flips and rotations."""
    n = net()
    n.params["deconv2.weight"][...] = 0
    n.params["deconv2.bias"][...] = 0
    return n


# ----------------------------------------------------------------------------- tiling
@pytest.mark.parametrize("padding", [1, 0])
@pytest.mark.parametrize("tile, overlap", [(17, 8), (21, 10), (30, 8), (40, 8)])
def test_tiled_equals_whole_image(padding, tile, overlap):
    """Tiles that overlap by twice the network's reach (4 layers: 4 pixels) give the
    whole-image result to float32 rounding, for padding 1 and padding 0, whatever the
    tile size (tile 40: one tile high, two wide)."""
    n = net(padding)
    whole = restore_gray(n, IMG, tile=WHOLE)
    tiled = restore_gray(n, IMG, tile=tile, overlap=overlap)
    assert whole.shape == tiled.shape == IMG.shape and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5)


@pytest.mark.parametrize("padding", [1, 0])
def test_too_little_overlap_shows_seams(padding):
    """The check above can fail: with overlap 2 (< 2 * reach) tile borders show."""
    n = net(padding)
    whole = restore_gray(n, IMG, tile=WHOLE)
    assert np.abs(restore_gray(n, IMG, tile=16, overlap=2) - whole).max() > 1e-3


def test_default_overlap_covers_a_deep_network():
    """The default overlap grows with depth: a 20-layer net tiles without seams, where a
    fixed overlap of 32 (16 pixels of context for a reach of 20) does not."""
    n = net(depth=20, width=4)
    img = RNG.random((101, 130)).astype(np.float32)
    whole = restore_gray(n, img, tile=WHOLE)
    np.testing.assert_allclose(restore_gray(n, img, tile=90), whole, rtol=0, atol=1e-5)
    assert np.abs(restore_gray(n, img, tile=90, overlap=32) - whole).max() > 1e-5


def test_refusals():
    """Bad tile/overlap, too-small images for padding 0, and non-image shapes."""
    with pytest.raises(ValueError, match=r"tile \(16\) must be larger than twice the overlap"):
        restore_gray(net(), IMG, tile=16, overlap=8)
    with pytest.raises(ValueError, match="4x30 pixels is smaller than the 5x5"):
        restore_gray(net(padding=0), IMG[:4, :30])
    with pytest.raises(ValueError, match=r"expected an \(H, W\) image"):
        restore_gray(net(), IMG[None])
    with pytest.raises(ValueError, match=r"expected \(H, W\) or \(H, W, 3\)"):
        restore(net(), np.zeros((8, 8, 4), np.float32))


# ----------------------------------------------------------------------------- colour
def test_colour_denoising_is_per_channel():
    """RGB keeps its shape; each channel is restored exactly as a gray image would be."""
    rgb = RNG.random((37, 53, 3)).astype(np.float32)
    n = net()
    out = restore(n, rgb, task="denoise", tile=17, overlap=8)
    assert out.shape == rgb.shape and out.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(out[..., c], restore_gray(n, rgb[..., c], tile=WHOLE),
                                   rtol=0, atol=1e-5)


def test_colour_super_resolution_works_on_y_only():
    """RGB keeps its shape; Y is the network's output on Y, Cb and Cr are untouched."""
    rgb = RNG.uniform(0.2, 0.8, (37, 53, 3)).astype(np.float32)
    n = net()
    out = restore(n, rgb, task="sr")
    assert out.shape == rgb.shape
    ycc_in, ycc_out = rgb_to_ycbcr(rgb), rgb_to_ycbcr(out)
    np.testing.assert_allclose(ycc_out[..., 1:], ycc_in[..., 1:], atol=1e-5)
    np.testing.assert_allclose(ycc_out[..., 0], restore_gray(n, ycc_in[..., 0]), atol=1e-5)
    assert np.abs(ycc_out[..., 0] - ycc_in[..., 0]).max() > 1e-3  # the network did act


def test_bicubic_upscale_sizes():
    assert bicubic_upscale(IMG, 2).shape == (74, 106)
    assert bicubic_upscale(RNG.random((10, 7, 3)), 3).shape == (30, 21, 3)
    with pytest.raises(ValueError, match="scale must be >= 1"):
        bicubic_upscale(IMG, 0.5)


# ----------------------------------------------------------------------------- ensemble
def test_ensemble_of_an_exactly_equivariant_network_is_the_network():
    """For the identity network every flip/rotation gives the input back, so the ensemble
    (and the plain pass) equals the input; shapes stay (H, W) on a non-square image."""
    n = identity_net()
    np.testing.assert_array_equal(restore_gray(n, IMG), IMG)
    out = restore_gray(n, IMG, ensemble=True, tile=17, overlap=8)
    assert out.shape == IMG.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, IMG)


def test_ensemble_output_is_equivariant():
    """The ensemble averages over the whole dihedral group, so it commutes with every flip
    and rotation, which a plain pass of a random network does not."""
    n = net()
    img = IMG[:20, :27]
    out = restore_gray(n, img, ensemble=True)
    plain = restore_gray(n, img)
    assert np.abs(restore_gray(n, np.ascontiguousarray(dihedral(img, 1))) -
                  dihedral(plain, 1)).max() > 1e-3
    for k in range(8):
        moved = restore_gray(n, np.ascontiguousarray(dihedral(img, k)), ensemble=True)
        np.testing.assert_allclose(moved, dihedral(out, k), rtol=0, atol=1e-6, err_msg=f"k={k}")


class CountingBar:
    def __init__(self) -> None:
        self.n = 0

    def update(self, k: int) -> None:
        self.n += k


@pytest.mark.parametrize("shape,tile,ensemble", [((37, 53), 24, False), ((37, 53), WHOLE, False),
                                                 ((61, 30), 20, True)])
def test_progress_bar_counts_every_tile(shape, tile, ensemble):
    """The progress bar's total (tile_count) is exactly the number of tiles run."""
    from rednet_cupy.infer import tile_count

    n, bar = net(), CountingBar()
    img = RNG.random(shape).astype(np.float32)
    restore_gray(n, img, tile=tile, overlap=8, ensemble=ensemble, bar=bar)
    assert bar.n == tile_count(shape, tile, 8) * (8 if ensemble else 1)
    if tile != WHOLE:
        assert bar.n > (8 if ensemble else 1)
    out = restore(n, np.stack([img] * 3, -1), tile=tile, overlap=8, progress=True)
    assert out.shape == shape + (3,)
