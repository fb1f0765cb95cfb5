"""Image quality metrics, classical baselines, and published numbers to compare against.

PSNR and SSIM follow the conventions of the papers whose tables we compare with: gray images
(or the Y channel of YCbCr for colour super-resolution), data range 1 for [0, 1] images,
SSIM with Wang et al.'s Gaussian window. Baselines are scikit-image denoisers, tuned once on
Set12 (sigma 15/25/50) and fixed here, so that "better than NLM" means the same thing in every
run. BM3D is not shipped (its licence forbids redistribution): its published averages are
quoted, and `baseline_bm3d` runs it where the user has installed the `bm3d` package.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage.metrics import structural_similarity
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

from .imageio import rgb_to_ycbcr


def _pair(ref: np.ndarray, x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    ref, x = np.asarray(ref, dtype=np.float64), np.asarray(x, dtype=np.float64)
    if ref.shape != x.shape:
        raise ValueError(f"{name}: shapes differ, reference {ref.shape} vs image {x.shape}")
    return ref, x


def psnr(ref: np.ndarray, x: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE), in float64.

    Computed over all elements, without clipping x (callers clip when their protocol does;
    the RED-Net and DnCNN scripts clip outputs to [0, 1] first). inf for identical images.
    """
    ref, x = _pair(ref, x, "psnr")
    mse = float(np.mean((ref - x) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def ssim(ref: np.ndarray, x: np.ndarray, data_range: float = 1.0) -> float:
    """SSIM of two gray 2-D images as Wang et al. (2004): Gaussian window sigma 1.5,
    population covariances, K1 = 0.01, K2 = 0.03, via skimage.metrics.

    Colour is refused: pass `y_channel(img)` of both images, as the SR papers do.
    """
    ref, x = _pair(ref, x, "ssim")
    if ref.ndim != 2:
        raise ValueError(f"ssim: expected gray 2-D images, got shape {ref.shape} (use y_channel)")
    return float(
        structural_similarity(
            ref,
            x,
            data_range=data_range,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def y_channel(img: np.ndarray) -> np.ndarray:
    """Y of YCbCr (MATLAB rgb2ycbcr, Y in [16, 235]/255) for colour; gray comes back as is."""
    a = np.asarray(img)
    return a if a.ndim == 2 else rgb_to_ycbcr(a)[..., 0]


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """Drop `border` pixels on each side, as SR papers do before measuring (border = scale),
    because bicubic and the network see no data beyond the image edge."""
    border = int(border)
    h, w = img.shape[:2]
    if border < 0 or 2 * border >= min(h, w):
        raise ValueError(f"shave: border {border} is invalid for an image of {h}x{w}")
    return img[border : h - border, border : w - border] if border else img


# ----------------------------------------------------------------------------- baselines
# sigma is always on the 0..255 scale (as for add_noise); images are float in [0, 1].
def baseline_nlm(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Non-local means, fast mode, 5x5 patches, 13x13 search window (patch_distance 6).

    With sigma given, skimage subtracts the expected noise from patch distances, and then
    h = 0.7 sigma was best on Set12 (31.23 / 28.65 / 24.94 dB at sigma 15 / 25 / 50; the
    docs' rule of thumb "h = sigma or slightly less" is meant for sigma not given).
    """
    s = sigma / 255.0
    out = denoise_nl_means(noisy, h=0.7 * s, sigma=s, fast_mode=True, patch_size=5,
                           patch_distance=6)  # fmt: skip
    return out.astype(np.float32)


def baseline_wavelet(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Wavelet shrinkage, BayesShrink (a threshold per sub-band, adapted to its variance),
    soft thresholding, sym4 wavelet, known sigma. On Set12: 29.41 / 26.81 / 23.49 dB at sigma
    15 / 25 / 50; VisuShrink's single universal threshold over-smooths (below 22 dB at 25)."""
    out = denoise_wavelet(noisy, sigma=sigma / 255.0, method="BayesShrink", mode="soft",
                          wavelet="sym4", rescale_sigma=True)  # fmt: skip
    return out.astype(np.float32)


def baseline_tv(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Total-variation denoising (Chambolle). The best weight grows faster than sigma, and
    weight = 1.4 (sigma/255)^1.25 fits the Set12 optima (about 0.7, 0.8, 0.9 sigma/255 at
    sigma 15, 25, 50): 30.5 / 28.0 / 25.0 dB."""
    out = denoise_tv_chambolle(noisy, weight=1.4 * (sigma / 255.0) ** 1.25)
    return out.astype(np.float32)


def baseline_bm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D (Dabov et al. 2007) with the known sigma, through the `bm3d` package of its
    authors (not a dependency: `pip install bm3d`; its licence allows research use only).
    Needed to compare on inputs that are not the papers' (8-bit files), where the published
    averages do not apply."""
    try:
        import bm3d
    except ImportError:
        raise RuntimeError("the BM3D baseline needs the `bm3d` package: pip install bm3d "
                           "(research use only; not installed with rednet-cupy)") from None
    return np.asarray(bm3d.bm3d(noisy, sigma_psd=sigma / 255.0), dtype=np.float32)


#: Denoising baselines: name -> f(noisy, sigma on the 0..255 scale) -> denoised.
BASELINES: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "nlm": baseline_nlm,
    "wavelet": baseline_wavelet,
    "tv": baseline_tv,
}


def bicubic(degraded: np.ndarray) -> np.ndarray:
    """The SR baseline: the bicubic-upsampled input is itself the bicubic result."""
    return np.asarray(degraded, dtype=np.float32)


# ----------------------------------------------------------------------------- published
# PUBLISHED NUMBERS, quoted from the papers, not measured here. Average PSNR in dB.
# PUBLISHED_DENOISE[test set][method][sigma]; PUBLISHED_SR[test set][method][scale].
# Sources: Set12 / BSD68 from the DnCNN paper (Zhang et al., TIP 2017);
# "14images" and "BSD200" from RED-Net (Mao et al., NIPS 2016, Tables 1, 2, 6);
# SR from RED-Net Tables 3-5 and 7; bicubic SR from the SRCNN / VDSR papers; VDSR (one
# model for x2, x3, x4) from the VDSR paper (Kim et al., CVPR 2016, Table 3).
# "RED30-one" is RED30 trained once for all levels (the paper's Table 6/7).
PUBLISHED_DENOISE: dict[str, dict[str, dict[int, float]]] = {
    "Set12": {
        "BM3D": {15: 32.37, 25: 29.97, 50: 26.72},
        "DnCNN-S": {15: 32.86, 25: 30.44, 50: 27.18},
    },
    "BSD68": {
        "BM3D": {15: 31.07, 25: 28.57, 50: 25.62},
        "DnCNN-S": {15: 31.73, 25: 29.23, 50: 26.23},
    },
    "14images": {
        "BM3D": {10: 34.18, 30: 28.49, 50: 26.08, 70: 24.65},
        "WNNM": {10: 34.49, 30: 28.74, 50: 26.32, 70: 24.80},
        "RED10": {10: 34.62, 30: 28.95, 50: 26.51, 70: 24.97},
        "RED20": {10: 34.74, 30: 29.10, 50: 26.72, 70: 25.23},
        "RED30": {10: 34.81, 30: 29.17, 50: 26.81, 70: 25.31},
        "RED30-one": {10: 34.49, 30: 29.09, 50: 26.75, 70: 25.20},
    },
    "BSD200": {
        "BM3D": {10: 33.01, 30: 27.31, 50: 25.06, 70: 23.82},
        "WNNM": {10: 33.25, 30: 27.48, 50: 25.26, 70: 23.95},
        "RED10": {10: 33.49, 30: 27.79, 50: 25.54, 70: 24.13},
        "RED20": {10: 33.59, 30: 27.90, 50: 25.67, 70: 24.33},
        "RED30": {10: 33.63, 30: 27.95, 50: 25.75, 70: 24.37},
        "RED30-one": {10: 33.38, 30: 27.88, 50: 25.69, 70: 24.36},
    },
}

PUBLISHED_SR: dict[str, dict[str, dict[int, float]]] = {
    "Set5": {
        "bicubic": {2: 33.66, 3: 30.39, 4: 28.42},
        "SRCNN": {2: 36.66, 3: 32.75, 4: 30.49},
        "VDSR": {2: 37.53, 3: 33.66, 4: 31.35},
        "CSCN": {2: 37.14, 3: 33.26, 4: 31.04},
        "RED10": {2: 37.43, 3: 33.43, 4: 31.12},
        "RED20": {2: 37.62, 3: 33.80, 4: 31.40},
        "RED30": {2: 37.66, 3: 33.82, 4: 31.51},
        "RED30-one": {2: 37.56, 3: 33.70, 4: 31.33},
    },
    "Set14": {
        "bicubic": {2: 30.23, 3: 27.54, 4: 26.00},
        "SRCNN": {2: 32.45, 3: 29.30, 4: 27.50},
        "VDSR": {2: 33.03, 3: 29.77, 4: 28.01},
        "CSCN": {2: 32.71, 3: 29.55, 4: 27.76},
        "RED10": {2: 32.77, 3: 29.42, 4: 27.58},
        "RED20": {2: 32.87, 3: 29.61, 4: 27.80},
        "RED30": {2: 32.94, 3: 29.61, 4: 27.86},
        "RED30-one": {2: 32.81, 3: 29.50, 4: 27.72},
    },
    "BSD100": {
        "bicubic": {2: 29.56, 3: 27.21, 4: 25.96},
        "SRCNN": {2: 31.36, 3: 28.41, 4: 26.90},
        "VDSR": {2: 31.90, 3: 28.82, 4: 27.29},
        "CSCN": {2: 31.54, 3: 28.58, 4: 27.11},
        "RED10": {2: 31.85, 3: 28.79, 4: 27.25},
        "RED20": {2: 31.95, 3: 28.90, 4: 27.35},
        "RED30": {2: 31.99, 3: 28.93, 4: 27.40},
        "RED30-one": {2: 31.96, 3: 28.88, 4: 27.35},
    },
}


# ----------------------------------------------------------------------------- SR protocol
# The super-resolution papers' MATLAB evaluation (SRCNN, VDSR, RED-Net): everything on the
# luma Y of rgb2ycbcr on the 0..255 scale, `scale` pixels shaved from every border, PSNR with
# peak 255 and SSIM as Wang et al.'s ssim_index.m. The functions above work on [0, 1] images
# and are kept as they are. benchmarks/sr_bicubic_table.py reproduces the published bicubic
# rows (all nine PSNRs within 0.01 dB) with: HR Y = rgb2ycbcr on the uint8 image, so rounded
# to 8 bits (gray files taken as Y directly); modcrop; LR and SR by rednet_cupy.imresize in
# float64 with no rounding of LR; SR rounded to uint8 before measuring. Leaving SR unrounded
# reads up to 0.017 dB high (Set5 x2); replicating a gray image to RGB before rgb2ycbcr
# compresses it to [16, 235] and reads about 1.3 dB high on that image.
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr's luma on the 0..255 scale: Y = 16 + 65.481 R + 128.553 G + 24.966 B
    with R, G, B in [0, 1]; an (H, W, 3) array in, float64 (H, W) out.

    uint8 input is read as value / 255 and, as rgb2ycbcr returns uint8 for uint8 input, the
    result is rounded (half away from zero) to whole grey levels, which is the HR reference the
    SR papers measure against. Float input must be in [0, 1] and its Y is not rounded.
    """
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"rgb_to_y: expected an (H, W, 3) RGB image, got shape {a.shape}")
    rgb = a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
    y = 16.0 + rgb @ _Y_WEIGHTS
    return np.floor(y + 0.5) if a.dtype == np.uint8 else y  # Y >= 16 > 0: floor(y+.5) rounds


def _shaved_pair(
    ref_y: np.ndarray, out_y: np.ndarray, scale: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    ref, out = _pair(ref_y, out_y, name)
    if ref.ndim != 2:
        raise ValueError(f"{name}: expected 2-D Y images, got shape {ref.shape}")
    return shave(ref, scale), shave(out, scale)


def sr_psnr(ref_y: np.ndarray, out_y: np.ndarray, scale: int) -> float:
    """PSNR in dB of two Y images on the 0..255 scale (peak 255), `scale` pixels shaved
    from every border first, as the SR papers' compute_psnr. No rounding or clipping here:
    callers convert the SR image to 8 bits first when their protocol does (the published
    tables do)."""
    ref, out = _shaved_pair(ref_y, out_y, scale, "sr_psnr")
    return psnr(ref, out, data_range=255.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    # fspecial('gaussian', size, sigma) is the outer product of this normalised 1-D window.
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(r * r) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    # filter2(g' * g, img, 'valid') computed separably: columns, then rows.
    n = g.size
    h, w = img.shape
    cols = sum(g[k] * img[k : h - n + 1 + k, :] for k in range(n))
    return sum(g[k] * cols[:, k : w - n + 1 + k] for k in range(n))


def sr_ssim(ref_y: np.ndarray, out_y: np.ndarray, scale: int) -> float:
    """SSIM of two Y images on the 0..255 scale, `scale` pixels shaved from every border, as
    Wang et al.'s ssim_index.m (2003): 11x11 Gaussian window of sigma 1.5, K1 = 0.01,
    K2 = 0.03, L = 255, 'valid' filtering (no padding) and the mean of the SSIM map.
    No downsampling (the 2009 ssim.m's automatic one is not applied)."""
    ref, out = _shaved_pair(ref_y, out_y, scale, "sr_ssim")
    if min(ref.shape) < 11:
        raise ValueError(f"sr_ssim: image of {ref.shape} after shaving is smaller than 11x11")
    g = _gaussian_window()
    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    mu1, mu2 = _filter_valid(ref, g), _filter_valid(out, g)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = _filter_valid(ref * ref, g) - mu1_sq
    s2 = _filter_valid(out * out, g) - mu2_sq
    s12 = _filter_valid(ref * out, g) - mu12
    ssim_map = ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))
    return float(ssim_map.mean())
