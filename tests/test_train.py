"""Training: bit-for-bit resume, Ctrl-C, divergence, the schedule, the curve, refusals.

Tiny networks (4 layers, 4 feature maps) on 16x16 patches of small synthetic images, on the
NumPy device; one test runs a step on the kernel emulator to show the same path works there.
"""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rednet_cupy.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rednet_cupy.data import rng_state
from rednet_cupy.model import preset
from rednet_cupy.train import (
    TrainConfig,
    Trainer,
    TrainingDiverged,
    default_val_level,
    export_model,
    fit,
)

MODEL = preset("RED10", depth=4, width=4)


def synthetic(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth gray image with a little texture, in [0.2, 0.8]: learnable to denoise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    fy, fx = rng.uniform(1, 3, size=2)
    img = 0.5 + 0.25 * np.sin(2 * np.pi * (fx * x + fy * y)) + 0.03 * rng.standard_normal((h, w))
    return np.clip(img, 0.2, 0.8).astype(np.float32)


IMAGES = [synthetic(24, 28, 0), synthetic(20, 32, 1)]


def config(**kw) -> TrainConfig:
    base = dict(levels="25", steps=8, batch_size=2, patch_size=16, lr=1e-3, lr_min=1e-4,
                val_every=1000, ckpt_every=1000, log_every=1, seed=3)
    return TrainConfig(**{**base, **kw})


def trainer(cfg: TrainConfig, device: str = "cpu", images=IMAGES, val=None,
            model=MODEL) -> Trainer:
    return Trainer(model, cfg, images, val, device=device)


def state(tr: Trainer) -> dict[str, np.ndarray]:
    """Weights and both Adam moments as NumPy copies."""
    out = {}
    for kind, arrays in (("param", tr.net.params), ("m", tr.m), ("v", tr.v)):
        for k, a in arrays.items():
            out[f"{kind}/{k}"] = np.array(tr.F.to_numpy(a))
    return out


def assert_same_training_state(a: Trainer, b: Trainer) -> None:
    assert a.step == b.step
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert np.array_equal(sa[k], sb[k]), f"{k} differs"
    assert a.sampler.state() == b.sampler.state()
    assert rng_state(a.rng) == rng_state(b.rng)


# ----------------------------------------------------------------------------- resume
@pytest.mark.parametrize("setup", [dict(), dict(quantize=0.5),
                                   dict(task="sr", levels="2,3", val_level=2)])
def test_resume_continues_bit_for_bit(tmp_path, setup):
    """N steps, checkpoint, resume to 2N == one uninterrupted run of 2N: weights, Adam's
    moments, generators and the logged losses are identical, not merely close. Also with
    8-bit inputs and for super-resolution (patches of whole-image pairs)."""
    cfg = config(steps=8, schedule="constant", warmup=3, **setup)
    ref = trainer(cfg)
    fit(ref, tmp_path / "ref", progress=False)

    first = trainer(replace(cfg, steps=4))  # `rednet train --steps 4`
    fit(first, tmp_path / "run", progress=False)
    resumed = trainer(cfg)  # `rednet train --resume --steps 8`
    resumed.load(tmp_path / "run" / "checkpoint.npz")
    assert resumed.step == 4
    result = fit(resumed, tmp_path / "run", progress=False)

    assert result.steps_done == 4 and not result.interrupted
    assert_same_training_state(resumed, ref)
    assert resumed.history.steps == ref.history.steps == list(range(1, 9))
    assert resumed.history.loss == ref.history.loss
    # and the checkpoint on disk holds that same final state
    arrays, header = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert header["step"] == 8
    stored = {"param": "param", "m": "adam_m", "v": "adam_v"}
    for k, a in state(ref).items():
        kind, name = k.split("/", 1)
        assert np.array_equal(arrays[f"{stored[kind]}/{name}"], a), k


def test_ctrl_c_saves_a_consistent_step_that_resumes_exactly(tmp_path, monkeypatch):
    """Ctrl-C during a step finishes that step, saves it, returns interrupted=True, restores
    the SIGINT handler; resuming from that checkpoint matches the uninterrupted run."""
    cfg = config(steps=8, ckpt_every=5, schedule="cosine", warmup=2)
    ref = trainer(cfg)
    fit(ref, tmp_path / "ref", progress=False)

    real_step = Trainer.train_step

    def step_then_ctrl_c(self):
        out = real_step(self)
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C now
        return out

    handler_before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(Trainer, "train_step", step_then_ctrl_c)
    tr = trainer(cfg)
    result = fit(tr, tmp_path / "run", progress=False)
    monkeypatch.undo()

    assert result.interrupted and result.steps_done == 3 and tr.step == 3
    assert signal.getsignal(signal.SIGINT) is handler_before
    arrays, header = load_checkpoint(result.checkpoint)
    assert header["step"] == 3
    assert np.array_equal(arrays["param/conv1.weight"], tr.net.params["conv1.weight"])

    resumed = trainer(cfg)
    resumed.load(result.checkpoint)
    fit(resumed, tmp_path / "run", progress=False)
    assert_same_training_state(resumed, ref)


def test_second_ctrl_c_interrupts_at_once(tmp_path, monkeypatch):
    """Two Ctrl-C raise KeyboardInterrupt immediately; the checkpoint on disk stays the
    last one saved."""
    cfg = config(steps=8, ckpt_every=2)
    real_step = Trainer.train_step

    def step_then_two_ctrl_c(self):
        out = real_step(self)
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(Trainer, "train_step", step_then_two_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        fit(trainer(cfg), tmp_path, progress=False)
    assert load_checkpoint(tmp_path / "checkpoint.npz")[1]["step"] == 2


def test_resume_refuses_another_architecture_or_setup(tmp_path):
    """A checkpoint only loads into the same architecture, training setup and data; the
    run length and the intervals may change."""
    cfg = config(steps=2)
    tr = trainer(cfg)
    fit(tr, tmp_path, progress=False)
    ckpt = tmp_path / "checkpoint.npz"

    wider = trainer(cfg, model=preset("RED10", depth=4, width=8))
    with pytest.raises(CheckpointError, match=r"architecture is incompatible: width: .* has 4, "
                                              r"expected 8"):
        wider.load(ckpt)
    with pytest.raises(CheckpointError, match=r"training setup is incompatible: batch_size"):
        trainer(replace(cfg, batch_size=3)).load(ckpt)
    with pytest.raises(CheckpointError, match=r"training setup is incompatible: levels"):
        trainer(replace(cfg, levels="50")).load(ckpt)
    with pytest.raises(ValueError, match=r"different setup \(image_shapes"):
        trainer(cfg, images=[synthetic(30, 30, 5)]).load(ckpt)
    export_model(tr, tmp_path / "model.npz")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        trainer(cfg).load(tmp_path / "model.npz")

    longer = trainer(replace(cfg, steps=50, log_every=7, ckpt_every=9, val_level=15.0))
    longer.load(ckpt)
    assert longer.step == 2

    # The start options do not matter on resume, even absent from an older checkpoint.
    arrays, header = load_checkpoint(ckpt)
    del header["train"]["identity_start"]
    save_checkpoint(ckpt, arrays, header)
    restarted = trainer(replace(cfg, identity_start=True))
    restarted.load(ckpt)
    assert restarted.step == 2


# ----------------------------------------------------------------------------- learning
def fixed_loss(tr: Trainer, inputs: np.ndarray, targets: np.ndarray) -> float:
    F = tr.F
    return F.mse_loss_forward(tr.net.forward(F.asarray(inputs)), F.asarray(targets))


def test_loss_goes_down(tmp_path):
    """A tiny network learns: its loss on a fixed noisy batch drops by a clear margin, and
    the logged training loss falls from the first steps to the last."""
    tr = trainer(config(steps=60, batch_size=4, lr=1e-2, lr_min=1e-3, log_every=5))
    rng = np.random.default_rng(99)
    targets = np.stack([img[None, :16, :16] for img in IMAGES] * 2)
    inputs = targets + np.float32(25 / 255) * rng.standard_normal(targets.shape, np.float32)
    before = fixed_loss(tr, inputs, targets)
    fit(tr, tmp_path, progress=False)
    after = fixed_loss(tr, inputs, targets)
    assert after < 0.7 * before, (before, after)
    loss = tr.history.loss
    assert len(loss) == 12 and np.mean(loss[-3:]) < np.mean(loss[:3])


# ----------------------------------------------------------------------------- divergence
def test_nan_loss_stops_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    """A NaN loss raises TrainingDiverged naming the step and the remedy, before any update
    with it; the checkpoint on disk is byte for byte the last one saved."""
    tr = trainer(config(steps=10, ckpt_every=2))
    real_loss = tr.F.mse_loss_forward
    calls = []

    def loss_nan_at_5(pred, target):
        calls.append(1)
        return float("nan") if len(calls) == 5 else real_loss(pred, target)

    saved = {}
    real_save = Trainer.save

    def recording_save(self, path):
        real_save(self, path)
        saved.update(step=self.step, data=Path(path).read_bytes())

    monkeypatch.setattr(tr.F, "mse_loss_forward", loss_nan_at_5)
    monkeypatch.setattr(Trainer, "save", recording_save)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 5: lower the learning "
                                               r"rate .* last checkpoint is kept"):
        fit(tr, tmp_path, progress=False)
    assert tr.step == 4  # the NaN batch was not applied
    assert saved["step"] == 4
    assert (tmp_path / "checkpoint.npz").read_bytes() == saved["data"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz", "curve.png"]


def adam_poisoning(monkeypatch, tr: Trainer, at_step: int, which: str) -> None:
    """Make the Adam update of step `at_step` leave inf in every `which` ('param' or 'v')."""
    real_adam = tr.F.adam_step

    def adam(param, grad, m, v, step, *args):
        real_adam(param, grad, m, v, step, *args)
        if step == at_step:
            (param if which == "param" else v)[...] = np.inf

    monkeypatch.setattr(tr.F, "adam_step", adam)


def test_update_that_overflows_stops_at_that_step(tmp_path, monkeypatch):
    """An update can turn weights into inf while the loss before it was finite: training
    stops at that very step with TrainingDiverged (not an op's argument error one step
    later), and the checkpoint on disk is the last good one."""
    tr = trainer(config(steps=10, ckpt_every=2))
    adam_poisoning(monkeypatch, tr, at_step=3, which="param")
    with pytest.raises(TrainingDiverged, match=r"weights conv1.weight, .* became NaN or inf at "
                                               r"step 3: lower the learning rate"):
        fit(tr, tmp_path, progress=False)
    arrays, header = load_checkpoint(tmp_path / "checkpoint.npz")
    assert header["step"] == 2
    assert all(np.isfinite(a).all() for a in arrays.values())


def test_non_finite_adam_state_is_never_checkpointed(tmp_path, monkeypatch):
    """A moment that overflowed (weights still finite) is refused at the checkpoint due
    right after it; the previous checkpoint stays."""
    tr = trainer(config(steps=10, ckpt_every=1))
    adam_poisoning(monkeypatch, tr, at_step=3, which="v")
    with pytest.raises(TrainingDiverged, match=r"adam_v/conv1.weight.* NaN or inf at step 3"):
        fit(tr, tmp_path, progress=False)
    arrays, header = load_checkpoint(tmp_path / "checkpoint.npz")
    assert header["step"] == 2
    assert all(np.isfinite(a).all() for a in arrays.values())


# ----------------------------------------------------------------------------- outputs
def test_fit_writes_checkpoint_and_curve_png(tmp_path):
    """fit validates, checkpoints and draws the curve: a real PNG, and a plain log line per
    checkpoint when the progress bar is off (also before the first log entry)."""
    cfg = config(steps=4, log_every=3, ckpt_every=1, val_every=2)
    tr = trainer(cfg, val=[synthetic(20, 20, 7)])
    result = fit(tr, tmp_path / "out", progress=False)
    assert result.checkpoint == tmp_path / "out" / "checkpoint.npz"
    assert result.curve == tmp_path / "out" / "curve.png"
    data = result.curve.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(result.curve) as im:
        im.load()
        assert im.format == "PNG" and im.width > 200 and im.height > 100
    h = tr.history
    assert h.steps == [3, 4] and h.val_steps == [2, 4] and len(h.val_psnr) == 2
    assert h.val_input_psnr == pytest.approx(20 * np.log10(255 / 25), abs=1.0)
    assert load_checkpoint(result.checkpoint)[1]["history"]["val_steps"] == [2, 4]


def test_lr_schedule_endpoints():
    """Linear warm-up from lr/warmup to lr, then cosine from lr down to lr_min at the last
    step (halfway at the middle); constant stays at lr; no warm-up starts at lr."""
    c = TrainConfig(lr=1e-3, lr_min=1e-5, steps=101, warmup=10)
    assert c.lr_at(1) == pytest.approx(1e-4)
    assert c.lr_at(5) == pytest.approx(5e-4)
    assert c.lr_at(10) == pytest.approx(1e-3)
    assert c.lr_at(11) == pytest.approx(1e-3)
    assert c.lr_at(56) == pytest.approx((1e-3 + 1e-5) / 2)
    assert c.lr_at(101) == pytest.approx(1e-5)
    assert c.lr_at(500) == pytest.approx(1e-5)  # past the end it stays at lr_min
    lrs = [c.lr_at(s) for s in range(10, 102)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    flat = TrainConfig(lr=2e-3, steps=50, schedule="constant", warmup=4)
    assert [flat.lr_at(s) for s in (1, 2, 4, 5, 50)] == pytest.approx([5e-4, 1e-3, 2e-3, 2e-3,
                                                                       2e-3])
    plain = TrainConfig(lr=1e-3, lr_min=0.0, steps=20)
    assert plain.lr_at(1) == 1e-3 and plain.lr_at(20) == pytest.approx(0.0, abs=1e-15)


def test_config_refusals_and_default_validation_level():
    """Bad settings are refused up front; validation defaults to sigma 25 for denoising and
    to a trained scale for super-resolution."""
    for bad in (dict(steps=0), dict(task="deblur"), dict(schedule="step"), dict(warmup=-1),
                dict(lr=0.0), dict(lr_min=-1.0), dict(levels=""), dict(levels="5:1"),
                dict(quantize=-0.1), dict(quantize=1.01), dict(clipped_mean_targets=True),
                dict(task="sr", levels="2", quantize=0.5, clipped_mean_targets=True)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    assert TrainConfig().val_level == 25.0
    assert TrainConfig(task="sr", levels="2").val_level == 2.0
    assert TrainConfig(task="sr", levels="2,3,4").val_level == 3.0
    assert default_val_level("sr", "2:4") == 3.0
    assert TrainConfig(task="sr", levels="2,3,4", val_level=4.0).val_level == 4.0


def test_eight_bit_validation_scores_what_rednet_denoise_returns():
    """--val-8bit validates on 8-bit noisy inputs with the clipping correction after the
    network, exactly as restore(clipped=True) gives for a file; float validation without."""
    from rednet_cupy.data import degrade_image
    from rednet_cupy.infer import restore
    from rednet_cupy.metrics import psnr

    val = [np.clip(synthetic(30, 34, 5) * 1.6 - 0.4, 0, 1)]  # black and white areas
    tr = trainer(config(val_8bit=True, val_level=50.0), val=val)
    noisy = degrade_image(val[0], "denoise", 50.0, seed=1000, eight_bit=True)
    fixed = np.clip(restore(tr.net, noisy, clipped=True), 0, 1)
    plain = np.clip(restore(tr.net, noisy), 0, 1)
    assert psnr(val[0], fixed) != pytest.approx(psnr(val[0], plain), abs=1e-3)
    assert tr.validate() == pytest.approx(psnr(val[0], fixed), abs=1e-6)


def test_identity_start_begins_as_the_identity_and_still_learns():
    """identity_start: the first forward pass returns the input exactly (the default start is
    far from it), the first step moves the output layer and the second the rest; refused for a
    network without the residual and together with weights from a model."""
    x = IMAGES[0][None, None, :16, :16].copy()
    plain = trainer(config())
    assert np.abs(plain.F.to_numpy(plain.net.forward(x)) - x).max() > 0.05
    tr = trainer(config(identity_start=True))
    np.testing.assert_array_equal(tr.F.to_numpy(tr.net.forward(x)), x)
    before = state(tr)
    tr.train_step()
    after = state(tr)
    assert not np.array_equal(before["param/deconv2.weight"], after["param/deconv2.weight"])
    np.testing.assert_array_equal(before["param/conv1.weight"], after["param/conv1.weight"])
    tr.train_step()  # now the output layer passes gradients back
    assert not np.array_equal(after["param/conv1.weight"], state(tr)["param/conv1.weight"])
    with pytest.raises(ValueError, match="identity_start needs a residual network"):
        trainer(config(identity_start=True), model=replace(MODEL, residual=False))
    with pytest.raises(ValueError, match="identity_start sets a fresh network"):
        tr.init_weights(plain.net, "model.npz")


# ----------------------------------------------------------------------------- devices
def test_one_step_on_the_emulator_matches_cpu(tmp_path):
    """The kernels (emulated) take the same first step as the NumPy reference, and their
    checkpoint resumes on the other device."""
    cfg = config(steps=1)
    cpu, emu = trainer(cfg, "cpu"), trainer(cfg, "emulate")
    loss_cpu, _ = cpu.train_step()
    loss_emu, _ = emu.train_step()
    assert loss_emu == pytest.approx(loss_cpu, rel=1e-5)
    for k in cpu.m:  # m = (1 - beta1) * gradient after one step
        a, b = emu.F.to_numpy(emu.m[k]), cpu.m[k]
        assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max() + 1e-12, k
    emu.save(tmp_path / "emu.npz")
    back = trainer(cfg, "cpu")
    back.load(tmp_path / "emu.npz")
    assert back.step == 1
    np.testing.assert_array_equal(back.net.params["conv2.weight"],
                                  emu.F.to_numpy(emu.net.params["conv2.weight"]))


def test_super_resolution_trains_on_protocol_pairs_and_validates_shaved():
    """SR at listed scales samples [bicubic input, target] pairs of whole images (mixed
    scales in one run); validation crops to the scale and shaves it, as the SR papers do."""
    from rednet_cupy.data import modcrop, sr_degrade
    from rednet_cupy.metrics import psnr, shave

    imgs = [synthetic(40, 44, 5), synthetic(36, 38, 6)]
    tr = trainer(config(task="sr", levels="2,3", val_level=3), images=imgs, val=imgs[:1])
    assert tr.paired and len(tr.sampler.images) == 4
    loss, _ = tr.train_step()
    assert np.isfinite(loss)
    tr.net.params["deconv2.weight"][...] = 0  # identity: validation scores the bicubic input
    tr.net.params["deconv2.bias"][...] = 0
    hr = modcrop(imgs[0], 3)
    expect = psnr(shave(hr, 3), shave(np.clip(sr_degrade(hr, 3), 0, 1), 3))
    assert tr.validate() == pytest.approx(expect, abs=1e-4)
    assert tr.history.val_input_psnr == pytest.approx(expect, abs=1e-4)


# ----------------------------------------------------------------------------- precision
def test_a_tensor_core_precision_trains_on_a_kernel_device_only():
    """--precision bf16: the convolutions run version 7 in bf16, weights and Adam stay
    float32; on the cpu device it is refused, not silently ignored."""
    tr = Trainer(MODEL, config(steps=2), IMAGES, device="emulate", precision="bf16")
    assert (tr.F.device.conv, tr.F.device.precision) == (7, "bf16")
    first = tr.train_step()[0]
    assert np.isfinite(first)
    assert all(np.asarray(a).dtype == np.float32 for a in (*tr.net.params.values(),
                                                           *tr.m.values(), *tr.v.values()))
    with pytest.raises(ValueError, match="precision tf32 runs the tensor-core kernels"):
        Trainer(MODEL, config(), IMAGES, device="cpu", precision="tf32")
