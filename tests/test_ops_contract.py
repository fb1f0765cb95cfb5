"""The ops contract: every device offers the same names with the same signatures, says why it
cannot when it cannot, and a whole RED-Net computes the same on the kernels as on the
reference."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from conftest import rel_error

from rednet_cupy import ops, reference, runtime
from rednet_cupy.model import RedNet, RedNetConfig

DEVICES = ["cpu", "emulate", pytest.param("cuda", marks=pytest.mark.gpu)]
# What a namespace carries besides the contract (ops/__init__.py); kernel devices add the
# KernelDevice their functions are bound to.
EXTRAS = {"name", "xp", "asarray", "to_numpy", "synchronize"}
KERNEL_EXTRAS = {"device"}


@pytest.mark.parametrize("device", DEVICES)
def test_namespace_has_exactly_the_contract(device):
    F = ops.get(device)
    assert F.name == device
    extras = EXTRAS | (KERNEL_EXTRAS if device != "cpu" else set())
    assert set(vars(F)) - extras == set(ops.CONTRACT)
    assert extras <= set(vars(F))
    for name in ops.CONTRACT:
        assert callable(getattr(F, name)), name


@pytest.mark.parametrize("name", ops.CONTRACT)
@pytest.mark.parametrize("device", DEVICES)
def test_signatures_match_the_reference(device, name):
    got = inspect.signature(getattr(ops.get(device), name)).parameters
    want = inspect.signature(getattr(reference, name)).parameters
    assert list(got) == list(want), f"{device}.{name}{tuple(got)} != reference{tuple(want)}"
    for arg, p in want.items():
        assert got[arg].default == p.default, f"{device}.{name}: default of {arg}"
        assert got[arg].kind == p.kind, f"{device}.{name}: kind of {arg}"


def test_emulator_outputs_are_nan_filled_before_each_launch():
    """So an element a kernel does not write fails every comparison (conftest makes the cuda
    device do the same through REDNET_POISON)."""
    dev = ops.get("emulate").device
    assert dev.poison
    assert np.isnan(dev.empty((3, 5))).all()


def test_cuda_says_why_it_is_not_usable(monkeypatch):
    """Where there is no GPU (made so here, whatever this machine has), asking for 'cuda'
    fails with the reason, not with an ImportError from deep inside."""
    monkeypatch.setattr(runtime, "cuda_available", lambda: (False, "no GPU in this test"))
    with pytest.raises(RuntimeError, match=r"device 'cuda' is not usable here: no GPU in this"):
        ops.get.__wrapped__("cuda")  # around the cache: a GPU may have been set up already


def test_cuda_on_this_machine_raises_or_works():
    ok, why = runtime.cuda_available()
    if ok:
        pytest.skip("this machine has a usable GPU: ops.get('cuda') works (gpu tests use it)")
    assert why
    with pytest.raises(RuntimeError) as err:
        ops.get("cuda")
    assert "device 'cuda' is not usable here" in str(err.value) and why in str(err.value)


def test_unknown_device_lists_the_devices():
    with pytest.raises(ValueError) as err:
        ops.get("bogus")
    msg = str(err.value)
    assert "'bogus'" in msg
    for name in ("auto", "cpu", "emulate", "cuda"):
        assert name in msg, msg


def test_auto_resolves_to_a_device():
    assert ops.resolve("auto") in ("cpu", "cuda")
    assert ops.resolve("auto") == ("cuda" if runtime.cuda_available()[0] else "cpu")


@pytest.mark.parametrize("padding, size", [(0, (11, 9)), (1, (7, 10))])
def test_a_whole_rednet_is_the_same_on_the_kernels(padding, size, rng):
    """RED-Net (2 convs, 2 deconvs, one skip, the residual) from the same parameters: forward
    output, input gradient and every parameter gradient agree between emulate and cpu."""
    cfg = RedNetConfig(depth=4, width=3, skip_every=2, padding=padding)
    x = rng.random((2, 1, *size)).astype(np.float32)
    dy = rng.standard_normal((2, 1, *size)).astype(np.float32)
    nets = {d: RedNet(cfg, d, seed=7) for d in ("cpu", "emulate")}
    assert nets["emulate"].skips == {1: 1}
    for name, a in nets["cpu"].params.items():
        np.testing.assert_array_equal(nets["emulate"].F.to_numpy(nets["emulate"].params[name]), a)
    out = {d: net.forward(net.F.asarray(x)) for d, net in nets.items()}
    dx = {d: net.backward(net.F.asarray(dy)) for d, net in nets.items()}
    emu, cpu = nets["emulate"], nets["cpu"]
    assert isinstance(out["emulate"], np.ndarray) and out["emulate"].dtype == np.float32
    assert rel_error(emu.F.to_numpy(out["emulate"]), out["cpu"]) < 1e-4
    assert rel_error(emu.F.to_numpy(dx["emulate"]), dx["cpu"]) < 1e-4
    assert list(emu.grads) == list(cpu.grads) == list(cpu.params)
    for name in cpu.grads:
        err = rel_error(emu.F.to_numpy(emu.grads[name]), cpu.grads[name])
        assert err < 1e-4, f"{name}: rel error {err:.2e}"
