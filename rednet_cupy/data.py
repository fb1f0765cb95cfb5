"""Training data: image folders, built-in images, random patches, and the two degradations.

The paper (section 2.3) trains on 50x50 clean patches and makes the input by adding Gaussian
noise (denoising) or by bicubic down- and up-sampling (super-resolution). Everything random
here draws from an explicit `np.random.Generator`, and the patch sampler can save and restore
its generator state, so that a resumed training run sees exactly the batches it would have.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import skimage.data

from .imageio import FORMATS, read_image, to_gray

IMAGE_EXTENSIONS = tuple(sorted(FORMATS))

# Natural photographs and textures shipped inside scikit-image's wheel (read from its package
# folder, never through its pooch downloader). Left out: synthetic images (chessboard, color,
# logo, phantom), binary ones (horse), blurred or mostly empty ones (clock_motion,
# hubble_deep_field) and retina (2 Mpixel of smooth fundus that would dominate the patches).
BUILTIN_TRAIN = (
    "astronaut.png", "brick.png", "chelsea.png", "coffee.png", "grass.png", "gravel.png",
    "ihc.png", "moon.png", "motorcycle_left.png", "page.png", "rocket.jpg", "text.png",
)  # fmt: skip
# Held out for validation. camera.png is Set12's "cameraman": kept out of training so that
# Set12 results stay honest; validation PSNR on it is therefore not independent of Set12.
BUILTIN_VAL = ("camera.png", "coins.png")


# ----------------------------------------------------------------------------- image sets
def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in `folder` (not recursive), sorted by name.

    Matches the extensions in IMAGE_EXTENSIONS, case-insensitively. Hidden files (a leading
    dot, e.g. macOS "._x.png" resource forks or our own temporary files) are skipped.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    )
    if not files:
        raise ValueError(
            f"{folder}: no image files (looked for {', '.join(IMAGE_EXTENSIONS)}, any case)"
        )
    return files


def load_images(folder: str | os.PathLike, gray: bool = True,
                min_size: int = 0) -> list[np.ndarray]:
    """Read every image of `folder`; with gray=True colour ones are converted by `to_gray`.

    With gray=False images come back as stored: (H, W) or (H, W, 3). An image smaller than
    `min_size` in either direction is refused, naming the file.
    """
    images = []
    for path in list_images(folder):
        img = read_image(path)
        if min(img.shape[:2]) < min_size:
            raise ValueError(f"{path}: {img.shape[0]}x{img.shape[1]} pixels, smaller than the "
                             f"patch size {min_size}x{min_size} (lower --patch-size or remove "
                             "the image)")
        images.append(to_gray(img) if gray else img)
    return images


def builtin_images(names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Gray float32 images from the files inside scikit-image's installed package.

    Reads the files directly, so no network access is ever attempted (skimage.data's
    functions may fetch through pooch). `names` defaults to BUILTIN_TRAIN + BUILTIN_VAL;
    a file that this scikit-image version does not ship is skipped with a warning.
    """
    folder = Path(os.path.dirname(skimage.data.__file__))
    names = list(BUILTIN_TRAIN + BUILTIN_VAL) if names is None else list(names)
    images = []
    for name in names:
        path = folder / name
        if not path.is_file():
            warnings.warn(f"scikit-image does not ship {name}; skipped", stacklevel=2)
            continue
        images.append(to_gray(read_image(path)))
    if not images:
        raise ValueError(f"none of the built-in images {names} found in {folder}")
    return images


def builtin_split() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(train, val) built-in gray images: BUILTIN_TRAIN and BUILTIN_VAL, a fixed split."""
    return builtin_images(BUILTIN_TRAIN), builtin_images(BUILTIN_VAL)


# ----------------------------------------------------------------------------- patches
def dihedral(a: np.ndarray, k: int) -> np.ndarray:
    """The k-th (0..7) of the 8 flips/rotations of the last two axes: rot90 k%4 times, then a
    left-right flip when k >= 4. k = 0 is the identity."""
    a = np.rot90(a, k % 4, axes=(-2, -1))
    return np.flip(a, axis=-1) if k >= 4 else a


def undo_dihedral(a: np.ndarray, k: int) -> np.ndarray:
    """Inverse of `dihedral(., k)`, for the paper's self-ensemble (run on all 8, undo, average)."""
    a = np.flip(a, axis=-1) if k >= 4 else a
    return np.rot90(a, -(k % 4), axes=(-2, -1))


@dataclass(eq=False)
class PatchSampler:
    """Random clean patches (B, 1, P, P) float32 from a list of gray images.

    With planes = C > 1 every image is a stack (C, H, W) of aligned planes, such as a
    super-resolution pair [bicubic input, clean target] (`sr_pairs`); patches are then
    (B, C, P, P), every plane cut at the same place and given the same flip/rotation.

    A patch is uniform over all valid patch positions of all images (a big image gives more
    patches than a small one; uniform over images would over-sample small ones). With
    augment=True each patch gets one of the 8 flips/rotations uniformly. Draws per batch, in
    order: image indices, rows, columns, orientations, from one PCG64 seeded by `seed`.
    """

    images: list[np.ndarray] = field(repr=False)
    patch_size: int
    batch_size: int
    seed: int
    augment: bool = True
    planes: int = 1
    batches_drawn: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.patch_size < 1 or self.batch_size < 1:
            raise ValueError(
                f"patch_size and batch_size must be >= 1, got {self.patch_size}, {self.batch_size}"
            )
        if not self.images:
            raise ValueError("PatchSampler needs at least one image")
        p = self.patch_size
        imgs = []
        for i, im in enumerate(self.images):
            im = np.asarray(im)
            if self.planes == 1 and im.ndim != 2:
                raise ValueError(f"image {i}: expected a gray (H, W) array, got shape {im.shape}")
            if self.planes > 1 and (im.ndim != 3 or im.shape[0] != self.planes):
                raise ValueError(f"image {i}: expected a stack of {self.planes} planes "
                                 f"({self.planes}, H, W), got shape {im.shape}")
            im = im.reshape((self.planes,) + im.shape[-2:])
            if im.shape[1] < p or im.shape[2] < p:
                raise ValueError(
                    f"image {i} is {im.shape[1]}x{im.shape[2]}, smaller than the patch size {p}x{p}"
                )
            imgs.append(np.ascontiguousarray(im, dtype=np.float32))
        self.images = imgs
        counts = np.array([(h - p + 1) * (w - p + 1) for _, h, w in (im.shape for im in imgs)])
        self._weights = counts / counts.sum()
        self._rng = np.random.default_rng(self.seed)

    def next(self) -> np.ndarray:
        """The next batch of clean patches, shape (B, 1, P, P), float32."""
        p, b, rng = self.patch_size, self.batch_size, self._rng
        idx = rng.choice(len(self.images), size=b, p=self._weights)
        heights = np.array([self.images[i].shape[1] for i in idx])
        widths = np.array([self.images[i].shape[2] for i in idx])
        ys = rng.integers(0, heights - p + 1)
        xs = rng.integers(0, widths - p + 1)
        ks = rng.integers(0, 8, size=b) if self.augment else np.zeros(b, dtype=int)
        out = np.empty((b, self.planes, p, p), dtype=np.float32)
        for j in range(b):
            patch = self.images[idx[j]][:, ys[j] : ys[j] + p, xs[j] : xs[j] + p]
            out[j] = dihedral(patch, int(ks[j]))
        self.batches_drawn += 1
        return out

    def _config(self) -> dict[str, Any]:
        # Gray images keep their (H, W) record, so that older checkpoints still resume.
        shapes = [list(im.shape[1:] if self.planes == 1 else im.shape) for im in self.images]
        return {"patch_size": self.patch_size, "batch_size": self.batch_size,
                "seed": self.seed, "augment": self.augment, "image_shapes": shapes}  # fmt: skip

    def state(self) -> dict[str, Any]:
        """JSON-serialisable state: the generator's exact state plus the configuration, so
        that set_state can refuse a state that belongs to a different data set."""
        return {"rng": rng_state(self._rng), "batches_drawn": self.batches_drawn,
                **self._config()}  # fmt: skip

    def set_state(self, state: dict[str, Any]) -> None:
        """Resume from `state()`: the following batches equal those the saved sampler drew.

        Refuses a state saved with another patch size, batch size, augmentation or image
        list (compared by shapes), where the same generator state would give other batches.
        """
        mine = self._config()
        del mine["seed"]  # the saved generator state supersedes the seed
        bad = [k for k in mine if k in state and _jsonish(state[k]) != _jsonish(mine[k])]
        if bad:
            diffs = "; ".join(f"{k}: saved {state[k]!r}, here {mine[k]!r}" for k in bad)
            raise ValueError(f"PatchSampler state is for a different setup ({diffs})"[:2000])
        self._rng = rng_from_state(state["rng"])
        self.batches_drawn = int(state.get("batches_drawn", 0))


def _jsonish(v: Any) -> Any:
    """Tuples and lists compare equal, as they do after a trip through JSON."""
    if isinstance(v, (list, tuple)):
        return [_jsonish(x) for x in v]
    return v


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A Generator's exact state as a JSON-serialisable dict (Python ints are exact in JSON)."""
    return dict(rng.bit_generator.state)


def rng_from_state(state: dict[str, Any]) -> np.random.Generator:
    """Rebuild a Generator from `rng_state` output (any NumPy bit generator)."""
    name = state["bit_generator"]
    bit_gen_cls = getattr(np.random, str(name), None)
    if not (isinstance(bit_gen_cls, type) and issubclass(bit_gen_cls, np.random.BitGenerator)):
        raise ValueError(f"unknown bit generator {name!r} in saved RNG state")
    bit_gen = bit_gen_cls()
    bit_gen.state = state
    return np.random.Generator(bit_gen)


# ----------------------------------------------------------------------------- levels
@dataclass(frozen=True)
class Uniform:
    """A continuous range of levels: each sample draws uniformly from [lo, hi]."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not self.lo <= self.hi:
            raise ValueError(f"Uniform range needs lo <= hi, got {self.lo}, {self.hi}")

    def __str__(self) -> str:
        return f"{_num(self.lo)}:{_num(self.hi)}"


def _num(x: float) -> str:
    """Shortest exact text for x: '55' rather than '55.0', but never a rounded value."""
    return f"{x:g}" if float(f"{x:g}") == x else repr(float(x))


Levels = float | Sequence[float] | Uniform | str


def parse_levels(spec: Levels) -> list[float] | Uniform:
    """Normalise a level spec: a number, a list of numbers (each sample picks one), Uniform,
    or a string "15,25,50" / "0:55" (a CLI or JSON form; str(Uniform) gives the latter).

    A two-element tuple is refused: "(0, 55)" reads as a range to some and as two levels to
    others, and JSON turns it into a list, which would change its meaning on resume.
    """
    if isinstance(spec, Uniform):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if ":" in text:
            lo, hi = (float(t) for t in text.split(":"))
            return Uniform(lo, hi)
        levels = [float(t) for t in text.split(",") if t.strip()]
        if not levels:
            raise ValueError(f"empty list of levels {spec!r}")
        return levels
    if isinstance(spec, tuple) and len(spec) == 2:
        raise ValueError(
            f"ambiguous levels {spec!r}: pass a list for a set of levels or "
            "Uniform(lo, hi) / 'lo:hi' for a range"
        )
    if isinstance(spec, (int, float, np.number)):
        return [float(spec)]
    levels = [float(x) for x in spec]
    if not levels:
        raise ValueError("empty list of levels")
    return levels


def draw_levels(spec: Levels, n: int, rng: np.random.Generator) -> np.ndarray:
    """One level per sample, float64 array of length n."""
    levels = parse_levels(spec)
    if isinstance(levels, Uniform):
        return rng.uniform(levels.lo, levels.hi, size=n)
    return np.asarray(levels)[rng.integers(0, len(levels), size=n)]


# ----------------------------------------------------------------------------- degradations
def add_noise(
    clean: np.ndarray, sigmas: Levels, rng: np.random.Generator, clip: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise, one sigma per sample (axis 0), sigma on the 0..255 scale.

    Returns (noisy, sigma_per_sample). One model for many levels is the paper's Table 6.
    Not clipped by default: clipping to [0, 1] makes the noise non-zero-mean near black and
    white (it is no longer the Gaussian model the denoiser is trained and tested for), and
    the standard test protocols (RED-Net, DnCNN) evaluate unclipped noisy inputs.
    """
    clean = np.asarray(clean, dtype=np.float32)
    sig = draw_levels(sigmas, clean.shape[0], rng)
    if (sig < 0).any():
        raise ValueError(f"noise sigma must be >= 0, got {sig.min()}")
    scale = (sig / 255.0).astype(np.float32).reshape((-1,) + (1,) * (clean.ndim - 1))
    noisy = clean + scale * rng.standard_normal(clean.shape, dtype=np.float32)
    return (np.clip(noisy, 0, 1) if clip else noisy), sig.astype(np.float32)


def bicubic_degrade(
    clean: np.ndarray, scales: Levels, rng: np.random.Generator, clip: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Super-resolution input for a batch (B, C, H, W): per sample a scale from `scales`,
    bicubic down by it and back up. Returns (degraded of the same shape, scale_per_sample).
    Bicubic overshoots slightly outside [0, 1]; clip=True clips, as an 8-bit pipeline would.
    """
    clean = np.asarray(clean, dtype=np.float32)
    s = draw_levels(scales, clean.shape[0], rng)
    out = np.empty_like(clean)
    for j in range(clean.shape[0]):
        for c in range(clean.shape[1]):
            out[j, c] = sr_degrade(clean[j, c], float(s[j]))
    return (np.clip(out, 0, 1) if clip else out), s.astype(np.float32)


def sr_degrade(img: np.ndarray, scale: float) -> np.ndarray:
    """The super-resolution papers' input: MATLAB's bicubic `imresize` down by `scale` and
    back up to the size of `img` ((H, W) or (H, W, C) in [0, 1]; float32, unrounded).
    Crop to a multiple of the scale first (`modcrop`) for the standard protocol."""
    from rednet_cupy.imresize import imresize

    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    a = np.asarray(img, dtype=np.float64)
    small = imresize(a, 1.0 / scale)
    return imresize(small, output_shape=a.shape[:2]).astype(np.float32)


def sr_pairs(images: Sequence[np.ndarray], scales: Sequence[float]) -> list[np.ndarray]:
    """Super-resolution training pairs, one per image and scale: (2, H, W) float32 stacks
    [bicubic input, clean target], the image cropped to a multiple of the scale and its input
    made exactly as the test protocol makes it (`sr_degrade`). Patches cut from whole-image
    pairs see the input the network meets at test time; degrading each patch on its own
    would add edge effects at every patch border. Pairs too small for any patch are kept
    (PatchSampler refuses them with a message)."""
    out = []
    for s in scales:
        if float(s) != int(s) or s < 2:
            raise ValueError(f"super-resolution training scales must be integers >= 2, got {s}")
        for im in images:
            hr = modcrop(np.asarray(im, dtype=np.float32), int(s))
            out.append(np.stack([sr_degrade(hr, int(s)), hr]))
    return out


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop H and W down to multiples of `scale` (bottom/right), as SR test protocols do."""
    h, w = img.shape[:2]
    return img[: h - h % int(scale), : w - w % int(scale)]


TASKS = ("denoise", "sr")


def quantize_8bit(x: np.ndarray) -> np.ndarray:
    """What saving as an 8-bit file does to an image in [0, 1]: round to the nearest of the
    256 levels and clip to 0..255. Noise is then no longer zero-mean near black and white
    (it is one-sided there), which a denoiser trained on float input has never seen."""
    return (np.clip(np.round(np.asarray(x, dtype=np.float32) * 255), 0, 255) / 255).astype(
        np.float32)


def make_batch(
    sampler: PatchSampler, task: str, levels: Levels, rng: np.random.Generator,
    quantize: float = 0.0, clipped_mean_targets: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), both (B, 1, P, P) float32: targets are clean patches, inputs the
    degraded ones (task 'denoise': sigmas in levels; 'sr': scales in levels).

    quantize: the share of inputs rounded and clipped to 8 bits (`quantize_8bit`), each
    sample drawn independently, so that one model serves float input and 8-bit files. At 0
    nothing is drawn, and batches are those of a run without the option.
    clipped_mean_targets: the targets of those 8-bit samples are the clipped mean of the
    clean patch at the sample's sigma (`clipping.clipped_mean`) instead of the patch: what
    the network should return so that the clipping correction after it (`clipping.unclip`,
    as `rednet denoise` applies it) gives the image back. It equals the patch away from black
    and white, so the network learns only to estimate clipped signal well, not to undo the
    clipping itself.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (choose from {TASKS})")
    if not 0.0 <= quantize <= 1.0:
        raise ValueError(f"quantize must be a share in [0, 1], got {quantize}")
    if clipped_mean_targets and not (task == "denoise" and quantize > 0):
        raise ValueError("clipped_mean_targets applies to 8-bit denoising samples: task "
                         "'denoise' with quantize > 0")
    clean = sampler.next()
    degrade = add_noise if task == "denoise" else bicubic_degrade
    inputs, sig = degrade(clean, levels, rng)
    targets = clean
    if quantize > 0:
        pick = rng.random(inputs.shape[0]) < quantize
        inputs[pick] = quantize_8bit(inputs[pick])
        if clipped_mean_targets:
            from rednet_cupy.clipping import clipped_mean

            targets = clean.copy()
            for j in np.flatnonzero(pick):
                targets[j] = clipped_mean(clean[j], float(sig[j]) / 255)
    return inputs, targets


def degrade_image(img: np.ndarray, task: str, level: float, seed: int = 0,
                  eight_bit: bool = False) -> np.ndarray:
    """Degrade a whole test image (H, W) or (H, W, C), deterministically given `seed`.

    'denoise': img + level/255 * N(0, 1) noise, unclipped, from default_rng(seed); with
    eight_bit=True then rounded and clipped to 8 bits (`quantize_8bit`), as a noisy photo
    saved to a PNG file is.
    'sr': MATLAB's bicubic down by `level` and back up (`sr_degrade`; seed unused).
    Published denoising numbers used MATLAB's generators, so the noise itself differs from
    theirs; averages over a test set still agree closely, since they depend on the noise
    level and not on the particular draw.
    """
    img = np.asarray(img, dtype=np.float32)
    if task == "denoise":
        rng = np.random.default_rng(seed)
        noisy = img + np.float32(level / 255.0) * rng.standard_normal(img.shape, dtype=np.float32)
        return quantize_8bit(noisy) if eight_bit else noisy
    if task == "sr":
        return sr_degrade(img, float(level))
    raise ValueError(f"unknown task {task!r} (choose from {TASKS})")
