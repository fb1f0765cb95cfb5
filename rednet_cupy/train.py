"""Training RED-Net: Adam through the `adam` op, a learning-rate schedule, validation,
checkpoints that resume bit for bit, a progress bar, and a loss/PSNR curve.

Everything random (patches, flips, noise levels, noise) comes from two generators whose
exact state goes into every checkpoint along with the weights and Adam's moments, so that
training N steps, stopping and resuming gives the very same weights as one run of 2N steps.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rednet_cupy import ops as ops_registry
from rednet_cupy.checkpoint import check_compatible, load_checkpoint, save_checkpoint
from rednet_cupy.clipping import debias
from rednet_cupy.data import (
    PatchSampler,
    Uniform,
    degrade_image,
    make_batch,
    modcrop,
    parse_levels,
    rng_from_state,
    rng_state,
    sr_pairs,
)
from rednet_cupy.infer import restore_gray
from rednet_cupy.metrics import psnr, shave
from rednet_cupy.model import RedNet, RedNetConfig

CHECKPOINT_KIND = "rednet-cupy training state"


@dataclass
class TrainConfig:
    task: str = "denoise"  # "denoise" or "sr"
    levels: str = "0:55"  # noise sigmas (0..255 scale) or SR scales: "15,25,50", "0:55", "2,3,4"
    val_level: float | None = None  # level of the validation images; None: default_val_level
    steps: int = 1000
    batch_size: int = 16
    patch_size: int = 50  # the paper's 50x50 patches
    lr: float = 1e-3
    lr_min: float = 1e-5
    schedule: str = "cosine"  # "cosine" (lr -> lr_min over `steps`) or "constant"
    warmup: int = 0  # steps of linear warm-up
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    seed: int = 0
    val_every: int = 200
    ckpt_every: int = 500
    log_every: int = 10
    init: str | None = None  # model or checkpoint whose weights the run starts from
    quantize: float = 0.0  # share of training inputs rounded and clipped to 8 bits
    clipped_mean_targets: bool = False  # their targets: the clipped mean (data.make_batch)
    # Output layer's weights zero: a residual network starts as the identity. With the
    # default initialisation the skips add up to an initial output far from the input (RMS
    # 1.3 for RED20 with 64 maps), which super-resolution's small corrections pay for.
    identity_start: bool = False
    val_8bit: bool = False  # validate on 8-bit noisy inputs (rounded, clipped) instead of float

    def __post_init__(self) -> None:
        if self.task not in ("denoise", "sr"):
            raise ValueError(f"task must be 'denoise' or 'sr', got {self.task!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        for name in ("steps", "batch_size", "patch_size", "val_every", "ckpt_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {self.warmup}")
        if not (self.lr > 0 and self.lr_min >= 0):
            raise ValueError(f"need lr > 0 and lr_min >= 0, got lr {self.lr}, "
                             f"lr_min {self.lr_min}")
        if not 0.0 <= self.quantize <= 1.0:
            raise ValueError(f"quantize must be a share in [0, 1], got {self.quantize}")
        if self.clipped_mean_targets and not (self.task == "denoise" and self.quantize > 0):
            raise ValueError("clipped_mean_targets applies to 8-bit denoising samples: task "
                             "'denoise' with quantize > 0")
        parse_levels(self.levels)
        if self.val_level is None:
            self.val_level = default_val_level(self.task, self.levels)

    def lr_at(self, step: int) -> float:
        """Learning rate of step `step` (counted from 1)."""
        if self.warmup and step <= self.warmup:
            return self.lr * step / self.warmup
        if self.schedule == "constant":
            return self.lr
        t = min(1.0, (step - 1 - self.warmup) / max(1, self.steps - 1 - self.warmup))
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * t))


def default_val_level(task: str, levels: str) -> float:
    """Validation level when none is given: sigma 25 for denoising (the usual benchmark
    level), and for super-resolution a scale the model is trained for (the middle one of a
    list, the middle of a range): validating an x2 model at "scale 25" measures nothing."""
    spec = parse_levels(levels)
    if task == "denoise":
        return 25.0
    if isinstance(spec, Uniform):
        return (spec.lo + spec.hi) / 2
    return sorted(spec)[len(spec) // 2]


@dataclass
class History:
    steps: list[int] = field(default_factory=list)  # logged every log_every steps
    loss: list[float] = field(default_factory=list)  # mean training loss since the last log
    train_psnr: list[float] = field(default_factory=list)  # PSNR of the network's outputs
    val_steps: list[int] = field(default_factory=list)
    val_psnr: list[float] = field(default_factory=list)
    val_input_psnr: float | None = None  # PSNR of the degraded validation inputs
    seconds: float = 0.0  # training time so far, across resumes


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the last good checkpoint is kept."""


class Trainer:
    """Holds the model, Adam's moments, the data generators and the history."""

    def __init__(self, model_cfg: RedNetConfig, cfg: TrainConfig, train_images: list,
                 val_images: list | None = None, device: str = "auto",
                 precision: str = "fp32") -> None:
        self.model_cfg, self.cfg = model_cfg, cfg
        # The plain call for float32: ops.get caches by its exact arguments, and the cpu
        # namespace is the one object everything else (and a test's monkeypatch) sees.
        self.F = (ops_registry.get(device) if precision == "fp32"
                  else ops_registry.get(device, precision=precision))
        if precision != "fp32" and self.F.name == "cpu":
            raise ValueError(f"precision {precision} runs the tensor-core kernels of a kernel "
                             f"device (--device cuda, or emulate to check them on a CPU); the "
                             f"cpu device computes in float32")
        self.net = RedNet(model_cfg, self.F, seed=cfg.seed)
        if cfg.identity_start:
            if not model_cfg.residual:
                raise ValueError("identity_start needs a residual network (its output layer "
                                 "at zero then passes the input through)")
            self.net.params[f"deconv{self.net.n}.weight"][...] = 0
        xp = self.F.xp
        self.m = {k: xp.zeros_like(v) for k, v in self.net.params.items()}
        self.v = {k: xp.zeros_like(v) for k, v in self.net.params.items()}
        self.step = 0
        # Super-resolution at listed scales trains on pairs cut from whole degraded images
        # (the test protocol's input); a range of scales degrades each patch instead.
        levels = parse_levels(cfg.levels)
        self.paired = cfg.task == "sr" and not isinstance(levels, Uniform)
        if self.paired:
            self.sampler = PatchSampler(sr_pairs(train_images, levels), cfg.patch_size,
                                        cfg.batch_size, cfg.seed, planes=2)
        else:
            self.sampler = PatchSampler(train_images, cfg.patch_size, cfg.batch_size, cfg.seed)
        self.rng = np.random.default_rng([cfg.seed, 1])  # levels and noise
        self.val_images = list(val_images or [])
        for i, im in enumerate(self.val_images):  # fail now, not at the first validation
            if min(np.shape(im)[:2]) < self.net.min_size():
                raise ValueError(f"validation image {i} is {np.shape(im)[0]}x{np.shape(im)[1]}, "
                                 f"smaller than the {self.net.min_size()}x"
                                 f"{self.net.min_size()} this network needs")
        self.history = History()

    # ------------------------------------------------------------------ one step
    def train_step(self) -> tuple[float, float]:
        """One Adam step on a fresh batch; returns (loss, PSNR of the outputs in dB)."""
        F, net, c = self.F, self.net, self.cfg
        if self.paired:
            pair = self.sampler.next()
            inputs, targets = pair[:, :1], pair[:, 1:]
        else:
            inputs, targets = make_batch(self.sampler, c.task, c.levels, self.rng, c.quantize,
                                         c.clipped_mean_targets)
        x, y = F.asarray(inputs), F.asarray(targets)
        pred = net.forward(x)
        loss = F.mse_loss_forward(pred, y)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"loss became {loss} at step {self.step + 1}: lower the learning rate "
                f"(now {c.lr_at(self.step + 1):.2e}); the last checkpoint is kept"
            )
        net.backward(F.mse_loss_backward(pred, y))
        self.step += 1
        lr = c.lr_at(self.step)
        for k, p in net.params.items():
            F.adam_step(p, net.grads[k], self.m[k], self.v[k], self.step, lr,
                        c.beta1, c.beta2, c.eps)
        # An update can overflow while the loss before it was finite; the ops refuse
        # non-finite weights, so say what happened here rather than at the next forward.
        xp = F.xp
        finite = [xp.isfinite(p).all() for p in net.params.values()]
        if not bool(xp.stack(finite).all()):  # one transfer from the device per step
            bad = [k for k, ok in zip(net.params, finite, strict=True) if not bool(ok)]
            raise TrainingDiverged(
                f"weights {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} became NaN or "
                f"inf at step {self.step}: lower the learning rate (now {lr:.2e}); the last "
                f"checkpoint is kept"
            )
        return loss, 10 * math.log10(1.0 / max(loss, 1e-12))

    def validate(self) -> float:
        """Mean PSNR of the network on the validation images at cfg.val_level (with 8-bit
        input, after the clipping correction, as `rednet denoise` does)."""
        c = self.cfg
        scores, inputs = [], []
        border = int(c.val_level) if c.task == "sr" else 0
        for i, img in enumerate(self.val_images):
            if border:  # the SR protocol: crop to a multiple of the scale, shave the border
                img = modcrop(img, border)
            degraded = degrade_image(img, c.task, c.val_level, seed=1000 + i,
                                     eight_bit=c.val_8bit)
            out = restore_gray(self.net, degraded)
            if c.val_8bit:  # what `rednet denoise` returns for a file: the bias taken out
                out = debias(degraded, out)[0]
            out = np.clip(out, 0, 1)
            a, b, d = img, out, np.clip(degraded, 0, 1)
            if border:
                a, b, d = shave(a, border), shave(b, border), shave(d, border)
            scores.append(psnr(a, b))
            inputs.append(psnr(a, d))
        self.history.val_input_psnr = float(np.mean(inputs))
        return float(np.mean(scores))

    def init_weights(self, net: RedNet, source: str | Path) -> None:
        """Start from the weights of `net` (loaded from the model or checkpoint file `source`
        with load_model) for fine-tuning; Adam's moments, the step count and the schedule
        start afresh."""
        from rednet_cupy.checkpoint import CheckpointError

        if self.cfg.identity_start:
            raise ValueError("identity_start sets a fresh network's output layer; starting "
                             f"from the weights of {source} keeps that model's")
        if self.step:
            raise RuntimeError(f"init_weights before the first step, not at step {self.step}")
        if net.cfg != self.model_cfg:
            raise CheckpointError(f"{source}: its architecture {net.cfg} is not this run's "
                                  f"{self.model_cfg}")
        for k, p in net.params.items():
            self.net.params[k] = self.F.asarray(p)

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | Path) -> None:
        """Write the full training state; refuses (TrainingDiverged) when a weight or Adam
        moment is NaN or inf, so that the checkpoint on disk is always one worth resuming:
        an update can overflow while the loss that preceded it was still finite."""
        arrays = {}
        for k in self.net.params:
            arrays[f"param/{k}"] = self.F.to_numpy(self.net.params[k])
            arrays[f"adam_m/{k}"] = self.F.to_numpy(self.m[k])
            arrays[f"adam_v/{k}"] = self.F.to_numpy(self.v[k])
        bad = [name for name, a in arrays.items() if not np.isfinite(a).all()]
        if bad:
            raise TrainingDiverged(
                f"{', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} became NaN or inf at "
                f"step {self.step}: lower the learning rate (now {self.cfg.lr_at(self.step):.2e})"
                f"; the last checkpoint is kept"
            )
        header = {
            "kind": CHECKPOINT_KIND,
            "model": self.model_cfg.to_dict(),
            "train": asdict(self.cfg),
            "step": self.step,
            "sampler": self.sampler.state(),
            "rng": rng_state(self.rng),
            "history": asdict(self.history),
            "device": self.F.name,
        }
        save_checkpoint(path, arrays, header)

    def load(self, path: str | Path) -> None:
        """Continue from a checkpoint of this same architecture and training setup."""
        arrays, header = load_checkpoint(path)
        if header.get("kind") != CHECKPOINT_KIND:
            from rednet_cupy.checkpoint import CheckpointError

            raise CheckpointError(f"{path}: not a training checkpoint (kind "
                                  f"{header.get('kind')!r}); use it with --model instead")
        check_compatible(header["model"], self.model_cfg.to_dict(), f"{path}: architecture")
        check_compatible(header["train"], _resume_keys(asdict(self.cfg)), f"{path}: training setup")
        for k in self.net.params:
            for prefix, target in (("param", self.net.params), ("adam_m", self.m),
                                   ("adam_v", self.v)):
                target[k] = self.F.asarray(arrays[f"{prefix}/{k}"])
        self.step = int(header["step"])
        self.sampler.set_state(header["sampler"])
        self.rng = rng_from_state(header["rng"])
        self.history = History(**header["history"])


# What may change on resume: the length of the run (changing `steps` changes the cosine
# schedule from then on), the intervals, and the options that only shape the first weights
# (`init`, `identity_start`: on resume the weights come from the checkpoint, and a checkpoint
# written before such an option existed still resumes). Everything else shapes the batches
# and the updates and must match the checkpoint.
RESUME_FREE = ("steps", "val_every", "ckpt_every", "log_every", "val_level", "val_8bit",
               "init", "identity_start")


def _resume_keys(train: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in train.items() if k not in RESUME_FREE}


def load_model(path: str | Path, device: str = "auto") -> tuple[RedNet, dict]:
    """A RedNet with the weights of a training checkpoint or an exported model file."""
    from rednet_cupy.checkpoint import CheckpointError

    arrays, header = load_checkpoint(path)
    if "model" not in header:
        raise CheckpointError(f"{path}: no model configuration in the header")
    try:
        cfg = RedNetConfig(**header["model"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: invalid model configuration: {e}") from None
    prefix = "param/" if any(k.startswith("param/") for k in arrays) else ""
    params = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)
              and not k.startswith(("adam_m/", "adam_v/"))}
    try:
        net = RedNet(cfg, device, params=params)
    except ValueError as e:
        raise CheckpointError(f"{path}: weights do not fit the architecture: {e}") from None
    return net, header


MODEL_KIND = "rednet-cupy model"


def export_model(trainer: Trainer, path: str | Path, extra: dict | None = None) -> None:
    """Weights only (no optimizer state): what ships and what `rednet denoise` loads."""
    header = {"kind": MODEL_KIND, "model": trainer.model_cfg.to_dict(),
              "task": trainer.cfg.task, "levels": trainer.cfg.levels, "step": trainer.step,
              **(extra or {})}
    save_checkpoint(path, trainer.net.host_params(), header)


def export_checkpoint(src: str | Path, dst: str | Path, extra: dict | None = None) -> dict:
    """The weights of a training checkpoint as a model file (a run stopped before its end
    has no model.npz yet); returns the model file's header."""
    from rednet_cupy.checkpoint import CheckpointError

    net, header = load_model(src, device="cpu")
    train = header.get("train")
    if header.get("kind") != CHECKPOINT_KIND or not isinstance(train, dict):
        raise CheckpointError(f"{src}: not a training checkpoint (kind {header.get('kind')!r})")
    out = {"kind": MODEL_KIND, "model": header["model"], "task": train.get("task"),
           "levels": train.get("levels"), "step": header.get("step"), **(extra or {})}
    save_checkpoint(dst, net.host_params(), out)
    return out


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    tmp.replace(path)


def now() -> float:
    return time.perf_counter()


class _DeferredInterrupt:
    """Turns the first Ctrl-C into a flag checked between steps, so that the checkpoint
    saved on interrupt is a consistent state (never half an Adam update). A second Ctrl-C
    interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old = None

    def __enter__(self) -> _DeferredInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


@dataclass
class FitResult:
    steps_done: int
    interrupted: bool  # Ctrl-C
    checkpoint: Path
    curve: Path | None


def fit(trainer: Trainer, out_dir: str | Path, progress: bool = True,
        stop_at: int | None = None) -> FitResult:
    """Train until cfg.steps, checkpointing to out_dir/checkpoint.npz and plotting
    out_dir/curve.png every ckpt_every steps, at the end, and on Ctrl-C.

    stop_at: end at this step instead, with a checkpoint, the schedule unchanged (a run of
    `steps` cut short on purpose; `--resume` without it goes on to the end)."""
    from tqdm.auto import tqdm

    from rednet_cupy.plots import plot_curves

    c, h = trainer.cfg, trainer.history
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, curve = out / "checkpoint.npz", out / "curve.png"
    start_step, seconds0 = trainer.step, h.seconds
    losses: list[float] = []
    psnrs: list[float] = []
    t0 = now()

    def save() -> None:
        nonlocal t0
        t = now()
        h.seconds += t - t0
        t0 = t
        trainer.save(ckpt)
        if not progress:  # a plain log line per checkpoint, for runs whose output is a file
            # (a checkpoint may come before the first log entry: ckpt_every < log_every)
            loss = (f"loss {h.loss[-1]:.3e}, train psnr {h.train_psnr[-1]:.2f} dB, "
                    if h.loss else "")
            val = f"val {h.val_psnr[-1]:.2f} dB, " if h.val_psnr else ""
            rate = (trainer.step - start_step) / max(h.seconds - seconds0, 1e-9)
            print(f"step {trainer.step}/{c.steps}: {loss}{val}lr {c.lr_at(trainer.step):.2e}, "
                  f"{rate:.2f} steps/s, {h.seconds / 3600:.2f} h in all", flush=True)
        if h.steps:
            plot_curves(h, curve, title=f"RED-Net {trainer.model_cfg.depth} layers, {c.task}")

    end = c.steps if stop_at is None else min(c.steps, stop_at)
    bar = tqdm(total=end, initial=min(trainer.step, end), unit="step", disable=not progress,
               dynamic_ncols=True, smoothing=0.05)
    interrupted = False
    with _DeferredInterrupt() as stop:
        while trainer.step < end:
            loss, p = trainer.train_step()
            losses.append(loss)
            psnrs.append(p)
            bar.update(1)
            s = trainer.step
            if s % c.log_every == 0 or s == c.steps:
                h.steps.append(s)
                h.loss.append(float(np.mean(losses)))
                h.train_psnr.append(float(np.mean(psnrs)))
                losses, psnrs = [], []
                post = {"loss": f"{h.loss[-1]:.2e}", "psnr": f"{h.train_psnr[-1]:.2f}",
                        "lr": f"{c.lr_at(s):.1e}"}
                if h.val_psnr:
                    post["val"] = f"{h.val_psnr[-1]:.2f}"
                bar.set_postfix(post, refresh=False)
            if trainer.val_images and (s % c.val_every == 0 or s == c.steps):
                h.val_steps.append(s)
                h.val_psnr.append(trainer.validate())
            if s % c.ckpt_every == 0 or s == end:  # end is c.steps unless stop_at
                save()
            if stop.requested:
                interrupted = True
                if s % c.ckpt_every and s != end:
                    save()
                break
    bar.close()
    return FitResult(trainer.step - start_step, interrupted, ckpt,
                     curve if curve.exists() else None)
