"""RED-Net: a chain of 3x3 convolutions, a mirrored chain of 3x3 deconvolutions, and
symmetric skip connections from encoder to decoder (Mao, Shen, Yang, NIPS 2016).

The model only calls an ops namespace (`rednet_cupy.ops.get(device)`), so the same code
runs on the NumPy reference, the kernel emulator and the GPU. `forward` keeps what
`backward` needs; `backward` is the chain rule written out layer by layer.

Layout for depth 2n (n convs, n deconvs, width c, image channels k):

    x -> conv1 (k->c) -> relu -> conv2 -> relu ... convn -> relu       encoder
      -> deconv1 -> relu -> ... -> deconv(n-1) -> relu -> deconvn (c->k)  decoder
      (+ x when residual: the network learns the correction y - x)

Skips (released RED30 pairing): deconv i receives encoder feature n - i for
i = 1, 1 + s, 1 + 2s, ... < n, where s = skip_every, as h = relu(relu(deconv_i) + conv_{n-i}).
With ReLU outputs on both sides the outer ReLU changes nothing in value; it is kept to
follow the released models exactly.

Choices where the paper is silent (all parameters): He-normal initialisation for layers
followed by a ReLU, a smaller LeCun-normal one for the last layer so that a residual
network starts close to the identity; zero biases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from rednet_cupy import ops as ops_registry


@dataclass(frozen=True)
class RedNetConfig:
    depth: int = 30  # total layers: depth/2 convs + depth/2 deconvs
    width: int = 64  # feature maps per hidden layer (paper 64, released models 128)
    skip_every: int = 2  # 0: no skips (RED10 in the paper)
    in_channels: int = 1  # 1 for gray / Y channel
    padding: int = 1  # 1: released models, every map keeps its size; 0: paper, shrink and grow
    residual: bool = True  # add the input to the output (released test code)

    def __post_init__(self) -> None:
        if self.depth < 2 or self.depth % 2:
            raise ValueError(f"RedNetConfig: depth must be an even number >= 2, got {self.depth}")
        if self.width < 1 or self.in_channels < 1:
            raise ValueError("RedNetConfig: width and in_channels must be >= 1")
        if self.skip_every < 0:
            raise ValueError(f"RedNetConfig: skip_every must be >= 0, got {self.skip_every}")
        if self.padding not in (0, 1):
            raise ValueError(f"RedNetConfig: padding must be 0 or 1, got {self.padding}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS = {
    "RED10": RedNetConfig(depth=10, skip_every=0),
    "RED20": RedNetConfig(depth=20, skip_every=2),
    "RED30": RedNetConfig(depth=30, skip_every=2),
}


def preset(name: str, **overrides: Any) -> RedNetConfig:
    """A paper preset ('RED10', 'RED20', 'RED30') with optional field overrides."""
    key = name.upper()
    if key not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
    return RedNetConfig(**{**PRESETS[key].to_dict(), **overrides})


def skip_pairs(cfg: RedNetConfig) -> dict[int, int]:
    """{deconv index: conv index whose output it receives}, both counted from 1."""
    n = cfg.depth // 2
    if cfg.skip_every == 0:
        return {}
    return {i: n - i for i in range(1, n, cfg.skip_every)}


def init_params(cfg: RedNetConfig, seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """Fresh NumPy parameters in layer order: conv1.weight, conv1.bias, ..., deconvn.bias."""
    rng = np.random.default_rng(seed)
    n, c, k = cfg.depth // 2, cfg.width, cfg.in_channels
    params: dict[str, np.ndarray] = {}
    for i in range(1, n + 1):
        c_in = k if i == 1 else c
        std = np.sqrt(2.0 / (9 * c_in))
        params[f"conv{i}.weight"] = (rng.standard_normal((c, c_in, 3, 3)) * std).astype(dtype)
        params[f"conv{i}.bias"] = np.zeros(c, dtype)
    for i in range(1, n + 1):
        c_out = k if i == n else c
        std = np.sqrt((1.0 if i == n else 2.0) / (9 * c))
        params[f"deconv{i}.weight"] = (rng.standard_normal((c, c_out, 3, 3)) * std).astype(dtype)
        params[f"deconv{i}.bias"] = np.zeros(c_out, dtype)
    return params


def widen_params(params: dict[str, np.ndarray], width: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The same network with `width` feature maps per hidden layer (more than it has).

    Old-to-old weights are copied and new-to-old weights are zero, so the old channels, and
    the output, are exactly what the narrow network computed; weights into the new channels
    are He-normal, as a fresh layer's would be. Training grows the zero weights from there.
    Conv weights are (out, in, 3, 3), deconv weights (in, out, 3, 3); image channels stay.
    """
    rng = np.random.default_rng(seed)
    old = params["conv1.weight"].shape[0]
    if width <= old:
        raise ValueError(f"widen_params: width must exceed the current {old}, got {width}")
    if params["conv1.weight"].shape[1] == old:
        raise ValueError("widen_params: image channels equal the width; cannot tell them apart")
    out: dict[str, np.ndarray] = {}
    for name, a in params.items():
        layer, kind = name.split(".")
        if kind == "bias":  # new channels start with zero bias
            b = np.zeros(a.shape[0] if a.shape[0] != old else width, a.dtype)
            b[: a.shape[0]] = a
            out[name] = b
            continue
        o_ax, i_ax = (0, 1) if layer.startswith("conv") else (1, 0)
        o_old, i_old = a.shape[o_ax], a.shape[i_ax]
        o_new = width if o_old == old else o_old
        i_new = width if i_old == old else i_old
        shape = [3, 3, 3, 3]
        shape[o_ax], shape[i_ax] = o_new, i_new
        # Drawn for the whole layer and sliced, so each layer takes a fixed share of the
        # random stream (training/red20w64_gray/init.npz is reproduced bit for bit).
        fresh = rng.standard_normal(shape) * np.sqrt(2.0 / (9 * i_new))
        w = np.zeros(shape, a.dtype)
        into_new = [slice(None)] * 4
        into_new[o_ax] = slice(o_old, None)
        w[tuple(into_new)] = fresh[tuple(into_new)]
        old_to_old = [slice(None)] * 4
        old_to_old[o_ax], old_to_old[i_ax] = slice(0, o_old), slice(0, i_old)
        w[tuple(old_to_old)] = a
        out[name] = w
    return out


class RedNet:
    """RED-Net on any ops namespace. Parameters and gradients are ordered dicts of arrays."""

    def __init__(
        self,
        cfg: RedNetConfig,
        ops: SimpleNamespace | str = "cpu",
        seed: int = 0,
        dtype=np.float32,
        params: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.cfg = cfg
        self.F = ops_registry.get(ops) if isinstance(ops, str) else ops
        host = init_params(cfg, seed, dtype) if params is None else params
        expected = init_params(cfg, 0, dtype)
        if list(host) != list(expected):
            raise ValueError("RedNet: parameter names do not match the configuration")
        for name, a in host.items():
            if a.shape != expected[name].shape:
                raise ValueError(
                    f"RedNet: parameter '{name}' has shape {a.shape}, the configuration "
                    f"{cfg} expects {expected[name].shape}"
                )
        self.params = {k: self.F.asarray(v, dtype=dtype) for k, v in host.items()}
        self.grads: dict[str, Any] = {}
        self._cache: dict[str, Any] = {}
        self.skips = skip_pairs(cfg)

    @property
    def n(self) -> int:
        return self.cfg.depth // 2

    def num_params(self) -> int:
        return int(sum(a.size for a in self.params.values()))

    def min_size(self) -> int:
        """Smallest input height/width: with padding 0 every conv removes 2 pixels."""
        return 2 * self.n + 1 if self.cfg.padding == 0 else 1

    def forward(self, x):
        F, p, P = self.F, self.cfg.padding, self.params
        if x.ndim != 4 or x.shape[1] != self.cfg.in_channels:
            raise ValueError(
                f"RedNet.forward: x must have shape (N, {self.cfg.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        if min(x.shape[2:]) < self.min_size():
            raise ValueError(
                f"RedNet.forward: images must be at least {self.min_size()} pixels high and wide "
                f"for depth {self.cfg.depth} with padding 0, got {tuple(x.shape[2:])}"
            )
        c = self._cache = {"x": x}
        h = x
        for i in range(1, self.n + 1):  # encoder
            c[f"conv{i}.in"] = h
            h = F.conv2d_relu_forward(h, P[f"conv{i}.weight"], P[f"conv{i}.bias"], p)
            c[f"conv{i}.out"] = h
        for i in range(1, self.n + 1):  # decoder
            c[f"deconv{i}.in"] = h
            W, b = P[f"deconv{i}.weight"], P[f"deconv{i}.bias"]
            if i == self.n:
                h = F.deconv2d_forward(h, W, b, p)  # the output layer has no ReLU
                break
            if i in self.skips:  # relu(relu(deconv) + skip), both kept for the backward pass
                c[f"deconv{i}.out"], h = F.deconv2d_relu_forward(
                    h, W, b, p, c[f"conv{self.skips[i]}.out"])
                c[f"skip{i}.out"] = h
            else:
                h = c[f"deconv{i}.out"] = F.deconv2d_relu_forward(h, W, b, p)
        if self.cfg.residual:
            h = F.skip_add_forward(h, x)
        return h

    def backward(self, dy):
        """Gradients of the loss w.r.t. every parameter (into self.grads) and the input."""
        F, p, P, c = self.F, self.cfg.padding, self.params, self._cache
        if not c:
            raise RuntimeError("RedNet.backward called before forward")
        g = dy
        skip_grads = {}  # encoder feature index -> gradient arriving through its skip
        for i in range(self.n, 0, -1):  # decoder, last layer first
            if i < self.n:
                if i in self.skips:
                    g = F.relu_backward(g, c[f"skip{i}.out"])
                    skip_grads[self.skips[i]] = g  # the sum forks: same gradient to both sides
                g = F.relu_backward(g, c[f"deconv{i}.out"])
            g, dw, db = F.deconv2d_backward(g, c[f"deconv{i}.in"], P[f"deconv{i}.weight"], p)
            self.grads[f"deconv{i}.weight"], self.grads[f"deconv{i}.bias"] = dw, db
        for i in range(self.n, 0, -1):  # encoder
            if i in skip_grads:  # conv i's output fed conv i+1 and a skip: the paths join
                g = F.skip_add_forward(g, skip_grads[i])
            g = F.relu_backward(g, c[f"conv{i}.out"])
            g, dw, db = F.conv2d_backward(g, c[f"conv{i}.in"], P[f"conv{i}.weight"], p)
            self.grads[f"conv{i}.weight"], self.grads[f"conv{i}.bias"] = dw, db
        if self.cfg.residual:
            g = F.skip_add_forward(g, dy)
        self.grads = {k: self.grads[k] for k in self.params}  # layer order, like params
        return g

    def host_params(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays (for checkpoints)."""
        return {k: self.F.to_numpy(v) for k, v in self.params.items()}
