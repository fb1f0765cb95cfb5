"""The `rednet` command: train, denoise, upscale, eval, demo, gradcheck, profile, info."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


# ------------------------------------------------------------------------------ commands
def cmd_gradcheck(args: argparse.Namespace) -> int:
    from rednet_cupy import selfcheck

    t0 = time.perf_counter()
    rows = selfcheck.run(seed=args.seed)
    print(selfcheck.format_table(rows))
    failed = [r for r in rows if not r.passed]
    tol = rows[0].results[0].tol
    print(f"\n{len(rows) - len(failed)} of {len(rows)} checks passed "
          f"(float64, relative error < {tol:g}) in {time.perf_counter() - t0:.1f} s")
    return 1 if failed else 0


PROFILE_OPS = ("conv2d", "conv2d_backward", "deconv2d", "deconv2d_backward", "relu",
               "skip_add", "mse_loss")


def _shape(text: str) -> tuple[int, int, int, int]:
    parts = tuple(int(v) for v in text.replace("x", ",").split(","))
    if len(parts) != 4 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected N,C,H,W (four positive integers), "
                                         f"got {text!r}")
    return parts  # type: ignore[return-value]


def cmd_profile(args: argparse.Namespace) -> int:
    """One op on the emulator, under runtime.profiling(): per launch, a table of its memory
    traffic per source line, then the totals per output value."""
    import numpy as np

    from rednet_cupy import runtime
    from rednet_cupy.ops.device import namespace

    F = namespace("emulate", conv=args.version)
    n, c, h, w = args.shape
    k = args.out_channels or c
    rng = np.random.default_rng(0)

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    x, pad, op = rand(n, c, h, w), args.padding, args.op
    if op.startswith("conv2d"):
        weights, bias = rand(k, c, 3, 3), rand(k)
        forward, backward = F.conv2d_forward, F.conv2d_backward
    else:
        weights, bias = rand(c, k, 3, 3), rand(k)
        forward, backward = F.deconv2d_forward, F.deconv2d_backward
    if op.endswith("_backward"):
        dy = rand(*forward(x, weights, bias, pad).shape)
        run = lambda: backward(dy, x, weights, pad)  # noqa: E731
    elif op in ("conv2d", "deconv2d"):
        run = lambda: forward(x, weights, bias, pad)  # noqa: E731
    elif op == "relu":
        run = lambda: F.relu_forward(x)  # noqa: E731
    elif op == "skip_add":
        run = lambda: F.skip_add_forward(x, rand(n, c, h, w))  # noqa: E731
    else:
        run = lambda: F.mse_loss_forward(x, rand(n, c, h, w))  # noqa: E731
    with runtime.profiling() as prof:
        out = run()
    print(prof.table(source=not args.no_source))
    size = sum(np.asarray(o).size for o in (out if isinstance(out, tuple) else (out,)))
    total = prof.total()
    print(f"\n{op} (conv version {F.device.conv}), input {args.shape}, {size} outputs, "
          f"{len(prof.launches)} launches; per output: "
          f"{total.global_load_sectors / size:.2f} global load sectors, "
          f"{total.global_store_sectors / size:.2f} global store sectors, "
          f"{(total.shared_load_wavefronts + total.shared_store_wavefronts) / size:.2f} "
          f"shared wavefronts, {total.barriers / size:.3f} barriers")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from rednet_cupy import runtime

    for key, value in runtime.info().items():
        print(f"{key:<22} {value}")
    return 0


def _architecture_args(args: argparse.Namespace) -> dict:
    """The RedNetConfig fields given on the command line (not the preset's defaults)."""
    given = {k: v for k, v in (("depth", args.depth), ("width", args.width),
                               ("skip_every", args.skip_every), ("padding", args.padding))
             if v is not None}
    if args.no_residual:
        given["residual"] = False
    return given


def _model_config(args: argparse.Namespace):
    from rednet_cupy.model import preset

    return preset(args.preset or "RED10", **_architecture_args(args))


def _check_architecture(args: argparse.Namespace, saved_cfg, what: str) -> None:
    """The architecture comes from a file (--resume, --init); flags that contradict it are
    refused rather than silently ignored (with --preset, every field of the preset counts)."""
    arch = _model_config(args).to_dict() if args.preset else _architecture_args(args)
    saved = saved_cfg.to_dict()
    changed = {k: v for k, v in arch.items() if saved[k] != v}
    if changed:
        raise ValueError(f"{what}; these differ from it: {changed} "
                         f"(saved: { {k: saved[k] for k in changed} })")


def _train_images(args: argparse.Namespace, patch_size: int):
    from rednet_cupy.data import builtin_split, load_images

    if args.data is None:
        train, val = builtin_split()
        print(f"data: {len(train)} built-in images from scikit-image, "
              f"{len(val)} held out for validation")
        return train, val
    train = load_images(args.data, min_size=patch_size)
    val = load_images(args.val) if args.val else builtin_split()[1]
    print(f"data: {len(train)} images from {args.data}; validation: "
          f"{len(val)} images from {args.val or 'the built-in set'}")
    return train, val


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import asdict, fields

    from rednet_cupy.checkpoint import CheckpointError, load_checkpoint
    from rednet_cupy.model import RedNetConfig
    from rednet_cupy.train import (
        CHECKPOINT_KIND,
        RESUME_FREE,
        TrainConfig,
        Trainer,
        export_model,
        fit,
    )

    out = Path(args.out)
    ckpt = out / "checkpoint.npz"
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    if args.stop_at is not None and args.stop_at < 1:
        raise ValueError(f"--stop-at must be a step >= 1, got {args.stop_at}")
    if args.resume and args.init:
        raise ValueError("--init starts a new run from a model's weights, --resume continues "
                         "a run: give one of them")
    if args.resume:
        if not ckpt.is_file():
            raise FileNotFoundError(f"{ckpt}: no checkpoint to resume (train without --resume)")
        _, header = load_checkpoint(ckpt)
        if header.get("kind") != CHECKPOINT_KIND:
            raise CheckpointError(f"{ckpt}: not a training checkpoint (kind "
                                  f"{header.get('kind')!r}), cannot resume from it")
        try:
            model_cfg = RedNetConfig(**header["model"])
            saved = dict(header["train"])
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{ckpt}: invalid training checkpoint header "
                                  f"({type(e).__name__}: {e})") from None
        _check_architecture(args, model_cfg, "--resume continues the saved architecture")
        changed = {k: v for k, v in given.items() if k not in RESUME_FREE and saved.get(k) != v}
        if changed:
            raise ValueError(f"--resume continues the saved setup; these differ from it: "
                             f"{changed} (saved: { {k: saved.get(k) for k in changed} })")
        try:
            cfg = TrainConfig(**{**saved, **{k: v for k, v in given.items() if k in RESUME_FREE}})
        except TypeError as e:
            raise CheckpointError(f"{ckpt}: invalid training setup in the header ({e})") from None
    elif args.init:
        from rednet_cupy.train import load_model

        init_net, _ = load_model(args.init, device="cpu")
        model_cfg = init_net.cfg
        _check_architecture(args, model_cfg, f"--init keeps the architecture of {args.init}")
        cfg = TrainConfig(**given)
    else:
        model_cfg = _model_config(args)
        cfg = TrainConfig(**given)
    if not args.resume and ckpt.exists():  # a new run would overwrite it step by step
        raise FileExistsError(f"{ckpt} already holds a run: continue it with --resume, or "
                              f"give another --out")
    train, val = _train_images(args, cfg.patch_size)
    trainer = Trainer(model_cfg, cfg, train, val, device=args.device, precision=args.precision)
    if args.resume:
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at step {trainer.step}")
    elif args.init:
        trainer.init_weights(init_net, args.init)
        print(f"weights from {args.init}; Adam and the schedule start afresh")
    print(f"model: {model_cfg} ({trainer.net.num_params():,} parameters) on "
          f"device '{trainer.F.name}'"
          + (f", convolutions in {args.precision} (version {trainer.F.device.conv})"
             if args.precision != "fp32" else ""))
    print(f"training: {asdict(cfg)}")
    result = fit(trainer, out, progress=not args.quiet, stop_at=args.stop_at)
    h = trainer.history
    if result.interrupted:
        print(f"interrupted: saved step {trainer.step} to {ckpt}; continue with "
              f"`rednet train --out {out} --resume`")
        return 130
    if trainer.step < cfg.steps:  # --stop-at: a checkpoint, no model file yet
        print(f"stopped at step {trainer.step} of {cfg.steps} (--stop-at); checkpoint {ckpt}")
        return 0
    model_path = out / "model.npz"
    export_model(trainer, model_path)
    msg = f"done: {trainer.step} steps in {h.seconds / 60:.1f} min; checkpoint {ckpt}, "
    msg += f"model {model_path}"
    if result.curve:
        msg += f", curve {result.curve}"
    print(msg)
    if h.val_psnr:
        print(f"validation PSNR {h.val_psnr[-1]:.2f} dB (input {h.val_input_psnr:.2f} dB)")
    return 0


def _load_net(args: argparse.Namespace, task: str):
    from rednet_cupy.pretrained import default_denoiser, default_upscaler
    from rednet_cupy.train import load_model

    path = args.model or (default_upscaler() if task == "sr" else default_denoiser())
    net, header = load_model(path, device=args.device)
    train = header.get("train")  # a training checkpoint keeps the task in its setup
    saved_task = header.get("task") or (train.get("task") if isinstance(train, dict) else None)
    if saved_task is not None and saved_task != task:
        raise ValueError(f"{path} is a '{saved_task}' model, not a '{task}' model")
    return net


def _restore_file(args: argparse.Namespace, task: str) -> int:
    import numpy as np

    from rednet_cupy.imageio import read_icc_profile, read_image, write_image
    from rednet_cupy.infer import bicubic_upscale, restore
    from rednet_cupy.pretrained import UPSCALER_SCALES

    if task == "sr":
        _check_scale(args.scale)
    net = _load_net(args, task)
    img = read_image(args.input)
    if task == "sr":
        _check_output_size(img.shape[:2], args.scale)
        if args.model is None and args.scale not in UPSCALER_SCALES:
            trained = ", x".join(map(str, UPSCALER_SCALES))
            print(f"note: the shipped model was trained for x{trained}; x{args.scale:g} lies "
                  f"outside them", file=sys.stderr)
        img = bicubic_upscale(img, args.scale)
    t = time.perf_counter()
    # A file's values are clipped to its range, and so is the noise in them: take the bias
    # that leaves near black and white out (clipping.py), unless asked not to.
    clipped = task == "denoise" and not args.no_clip_correction
    out = restore(net, img, task=task, tile=args.tile, ensemble=args.ensemble,
                  progress=not args.quiet, clipped=clipped)
    # The input's colour profile goes with the pixels: they keep the values it gives meaning to.
    write_image(args.output, np.clip(out, 0, 1), icc_profile=read_icc_profile(args.input))
    h, w = img.shape[:2]
    print(f"{args.input} -> {args.output} ({w}x{h}, {time.perf_counter() - t:.1f} s on "
          f"'{net.F.name}')")
    return 0


#: The largest image `rednet upscale` writes: 20,000 x 20,000 pixels of float32 RGB take
#: 4.8 GB while they are restored.
MAX_OUTPUT_PIXELS = 400_000_000


def _check_scale(scale: float) -> None:
    import math

    if not (math.isfinite(scale) and scale >= 1):
        raise ValueError(f"--scale must be a number >= 1 (the upscaling factor, e.g. 2), "
                         f"got {scale:g}")


def _check_output_size(shape_hw: tuple[int, int], scale: float) -> None:
    h, w = round(shape_hw[0] * scale), round(shape_hw[1] * scale)
    if h * w > MAX_OUTPUT_PIXELS:
        raise ValueError(f"--scale {scale:g} would make a {w}x{h} image ({h * w / 1e6:,.0f} "
                         f"megapixels), more than the {MAX_OUTPUT_PIXELS / 1e6:.0f} megapixels "
                         f"allowed: choose a smaller scale")


def cmd_denoise(args: argparse.Namespace) -> int:
    return _restore_file(args, "denoise")


def cmd_upscale(args: argparse.Namespace) -> int:
    return _restore_file(args, "sr")


def cmd_eval(args: argparse.Namespace) -> int:
    from rednet_cupy.data import builtin_split, list_images
    from rednet_cupy.evaluate import evaluate, published_rows, save_grid, scores_csv, table
    from rednet_cupy.imageio import atomic_write, read_image

    net = _load_net(args, args.task)
    if args.data:
        images = [(p.stem, read_image(p)) for p in list_images(args.data)]
    else:
        images = [(f"builtin{i}", im) for i, im in enumerate(builtin_split()[1])]
    levels = [float(x) for x in args.levels.split(",")]
    scores, examples = evaluate({"RED-Net": net}, images, args.task, levels,
                                baselines=not args.no_baselines, ensemble=args.ensemble,
                                eight_bit=args.eight_bit, bm3d=args.bm3d)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    protocol = ", 8-bit input" if args.eight_bit and args.task == "denoise" else ""
    md = table(scores, args.task,
               title=f"{args.data or 'built-in images'}, {args.task}{protocol}")
    if args.data and not protocol:
        rows = published_rows(Path(args.data).name, args.task, levels)
        if rows:  # after the measured rows, before the closing note
            head, _, note = md.rpartition("\n\n")
            md = "\n".join([head, *rows]) + "\n\n" + note
    print(md)
    with atomic_write(out / "results.md") as f:
        f.write((md + "\n").encode())
    with atomic_write(out / "scores.csv") as f:  # per image, for a closer look
        f.write(scores_csv(scores).encode())
    save_grid(examples, out / "grid.png")
    print(f"\nwrote {out / 'results.md'}, {out / 'scores.csv'} and {out / 'grid.png'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rednet_cupy.train import export_checkpoint

    header = export_checkpoint(args.checkpoint, args.output)
    print(f"{args.checkpoint} -> {args.output}: {header['task']} model, step {header['step']}, "
          f"{header['model']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rednet_cupy.demo import run_demo

    run_demo(Path(args.out), device=args.device, steps=args.steps, progress=not args.quiet)
    return 0


# ------------------------------------------------------------------------------ parser
def _device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "emulate", "cuda"],
                   help="where to run: cuda (GPU kernels), cpu (NumPy), emulate (GPU kernels "
                        "on the CPU, slow); auto picks cuda when usable, else cpu")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rednet",
        description="RED-Net image denoising and super-resolution from hand-written CUDA "
                    "kernels (Mao, Shen, Yang, NIPS 2016).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="train a small RED-Net on built-in images and show what "
                       "it learned (about 5 minutes on a 2-core CPU)")
    p.add_argument("--out", default="rednet-demo", help="folder for the table, grid and curve")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: sized "
                   "to the device)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _device_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("denoise", help="denoise an image with the shipped model (or --model)")
    p.add_argument("input", help="image file (PNG, JPEG, BMP, TIFF; gray or colour)")
    p.add_argument("-o", "--output", required=True, help="output image file")
    p.add_argument("--model", default=None, help="model file (default: the shipped denoiser)")
    p.add_argument("--tile", type=int, default=384,
                   help="tile size; memory stays bounded (384: about 1 GB on 'cpu')")
    p.add_argument("--ensemble", action="store_true",
                   help="average the 8 flips/rotations (slightly better, 8x slower)")
    p.add_argument("--no-clip-correction", action="store_true",
                   help="keep the bias that clipped noise leaves near black and white (by "
                        "default it is taken out: the file's noise was clipped to its range)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _device_arg(p)
    p.set_defaults(func=cmd_denoise)

    p = sub.add_parser("upscale", help="upscale an image by --scale with an SR model")
    p.add_argument("input", help="image file")
    p.add_argument("-o", "--output", required=True, help="output image file")
    p.add_argument("--scale", type=float, required=True, help="upscaling factor, e.g. 2")
    p.add_argument("--model", default=None, help="super-resolution model (rednet train --task sr)")
    p.add_argument("--tile", type=int, default=256, help="tile size")
    p.add_argument("--ensemble", action="store_true", help="average the 8 flips/rotations")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _device_arg(p)
    p.set_defaults(func=cmd_upscale)

    p = sub.add_parser("eval", help="PSNR/SSIM on a folder against baselines; table and grid")
    p.add_argument("--data", default=None, help="folder of clean images (default: built-in)")
    p.add_argument("--task", default="denoise", choices=["denoise", "sr"])
    p.add_argument("--levels", default="15,25,50", help="sigmas or scales, comma-separated")
    p.add_argument("--model", default=None, help="model file (default: the shipped denoiser)")
    p.add_argument("--out", default="rednet-eval", help="folder for results.md and grid.png")
    p.add_argument("--no-baselines", action="store_true", help="skip NLM/wavelet/TV")
    p.add_argument("--ensemble", action="store_true", help="average the 8 flips/rotations")
    p.add_argument("--8bit", dest="eight_bit", action="store_true",
                   help="denoising on 8-bit noisy inputs (rounded and clipped, as a saved "
                        "photo), not the papers' float inputs")
    p.add_argument("--bm3d", action="store_true",
                   help="add BM3D to the baselines (needs `pip install bm3d`)")
    _device_arg(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train RED-Net; checkpoints, --resume, curve PNG",
                       description="Train RED-Net. Ctrl-C saves a checkpoint and stops; "
                       "`--resume` continues exactly where it stopped.")
    g = p.add_argument_group("model")
    g.add_argument("--preset", choices=["RED10", "RED20", "RED30"], help="default RED10")
    g.add_argument("--depth", type=int, help="total layers (even), overrides the preset")
    g.add_argument("--width", type=int, help="feature maps per layer (preset: 64)")
    g.add_argument("--skip-every", type=int, help="skip spacing, 0 = none")
    g.add_argument("--padding", type=int, choices=[0, 1], help="0: paper, 1: released (default)")
    g.add_argument("--no-residual", action="store_true", help="do not add the input to the output")
    g = p.add_argument_group("data")
    g.add_argument("--data", help="folder of training images (default: built-in images)")
    g.add_argument("--val", help="folder of validation images (default: built-in held-out)")
    g.add_argument("--task", choices=["denoise", "sr"])
    g.add_argument("--levels", help="noise sigmas '15,25,50' or range '0:55'; SR scales '2,3,4'")
    g.add_argument("--val-level", type=float, help="sigma or scale for validation (default 25)")
    g.add_argument("--quantize", type=float, metavar="SHARE",
                   help="share of noisy inputs rounded and clipped to 8 bits, as in a saved "
                        "file (default 0)")
    g.add_argument("--clipped-mean-targets", action="store_const", const=True,
                   help="with --quantize: those samples' targets are the clean patch's "
                        "clipped mean, which the clipping correction after the network inverts")
    g.add_argument("--val-8bit", action="store_const", const=True,
                   help="validate on 8-bit noisy inputs (rounded and clipped), with the "
                        "clipping correction as `rednet denoise` applies it")
    g.add_argument("--patch-size", type=int, help="default 50 (the paper's)")
    g.add_argument("--batch-size", type=int, help="default 16")
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, help="total steps (default 1000)")
    g.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3)")
    g.add_argument("--lr-min", type=float, help="final learning rate of the cosine schedule")
    g.add_argument("--schedule", choices=["cosine", "constant"])
    g.add_argument("--warmup", type=int, help="linear warm-up steps")
    g.add_argument("--identity-start", action="store_const", const=True,
                   help="output layer's weights zero, so a residual network starts as the "
                        "identity (helps super-resolution, whose corrections are small)")
    g.add_argument("--seed", type=int, help="seed of weights, patches and noise (default 0)")
    g = p.add_argument_group("run")
    g.add_argument("--out", default="runs/rednet", help="folder for checkpoint, curve, model")
    g.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    g.add_argument("--init", metavar="MODEL", help="start from the weights of a model or "
                   "checkpoint file (fine-tuning: new levels, steps, lr; fresh Adam state)")
    g.add_argument("--stop-at", type=int, metavar="STEP", help="end at this step with a "
                   "checkpoint, the schedule still that of --steps (resume later without it)")
    g.add_argument("--val-every", type=int, help="validation interval in steps")
    g.add_argument("--ckpt-every", type=int, help="checkpoint interval in steps")
    g.add_argument("--log-every", type=int, help="logging interval in steps")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    _device_arg(g)
    g.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16", "fp16"],
                   help="what the convolutions round their inputs to: fp32 (default), or the "
                        "tensor cores in tf32/bf16 (sm_80+) or fp16 (sm_70+); sums, master "
                        "weights and Adam stay float32")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="the weights of a training checkpoint as a model file "
                       "for denoise/upscale/eval (no optimizer state)")
    p.add_argument("checkpoint", help="RUN/checkpoint.npz written by `rednet train`")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("gradcheck", help="check every op's gradients and a whole RED-Net "
                       "against finite differences (exit 1 on any failure)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the checks' data")
    p.set_defaults(func=cmd_gradcheck)

    p = sub.add_parser("profile", help="an op's memory traffic on the emulator: global "
                       "sectors (coalescing), shared wavefronts (bank conflicts), barriers, "
                       "per source line")
    p.add_argument("op", choices=PROFILE_OPS)
    p.add_argument("--version", type=int, default=None, help="convolution version 1-6 "
                   "(ops/versions.py; default: the emulator's)")
    p.add_argument("--shape", type=_shape, default=(1, 16, 32, 32),
                   help="input N,C,H,W (default 1,16,32,32)")
    p.add_argument("--out-channels", type=int, default=None,
                   help="output channels of a (de)convolution (default: C)")
    p.add_argument("--padding", type=int, default=1, choices=(0, 1))
    p.add_argument("--no-source", action="store_true", help="leave the source text out")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("info", help="devices usable here, GPU, CuPy/CUDA versions, C++ "
                       "compiler, emulator cache")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("rednet: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as e:
        # Bad input of every kind (unreadable image, empty folder, corrupt checkpoint, no
        # GPU, diverged training) is one clear line, not a traceback.
        print(f"rednet: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
