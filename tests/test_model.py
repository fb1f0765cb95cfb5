"""RED-Net on the reference ops: shapes, skips, and a gradient check of whole networks."""

import numpy as np
import pytest

from rednet_cupy.model import PRESETS, RedNet, RedNetConfig, preset, skip_pairs, widen_params
from rednet_cupy.selfcheck import network_row


def test_presets_follow_the_paper():
    assert skip_pairs(PRESETS["RED10"]) == {}
    assert skip_pairs(PRESETS["RED30"]) == {1: 14, 3: 12, 5: 10, 7: 8, 9: 6, 11: 4, 13: 2}
    assert skip_pairs(PRESETS["RED20"]) == {1: 9, 3: 7, 5: 5, 7: 3, 9: 1}
    assert all(c.width == 64 and c.residual for c in PRESETS.values())


@pytest.mark.parametrize("name", ["RED10", "RED20", "RED30"])
@pytest.mark.parametrize("padding", [0, 1])
def test_output_has_the_input_shape(name, padding, rng):
    cfg = preset(name, width=3, padding=padding)
    net = RedNet(cfg)
    size = 2 * cfg.depth // 2 + 2
    x = rng.random((2, 1, size, size + 3)).astype(np.float32)
    y = net.forward(x)
    assert y.shape == x.shape and y.dtype == np.float32
    dx = net.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert list(net.grads) == list(net.params)
    assert all(net.grads[k].shape == v.shape for k, v in net.params.items())


@pytest.mark.parametrize("name, padding, size", [("RED10", 1, 16), ("RED10", 0, 13),
                                                  ("RED20", 0, 23), ("RED30", 1, 9)])
def test_whole_network_gradient_check(name, padding, size):
    row = network_row(name, width=4, size=size, padding=padding, max_entries=30)
    for r in row.results:
        assert r.rel_error < 1e-6, r


def test_gradient_check_catches_a_missing_skip_gradient(monkeypatch):
    """Drop the gradient that flows back through the skips: the check must fail."""
    import rednet_cupy.model as model

    real = RedNet.backward

    def backward_without_skip_join(self, dy):
        original = self.skips
        self.skips = {}  # backward now ignores the skips that forward used
        try:
            return real(self, dy)
        finally:
            self.skips = original

    monkeypatch.setattr(model.RedNet, "backward", backward_without_skip_join)
    row = network_row("RED20", width=4, size=9, padding=1, max_entries=20)
    assert not row.passed


def test_residual_off_and_no_skips_are_parameters(rng):
    cfg = RedNetConfig(depth=4, width=2, skip_every=0, residual=False)
    net = RedNet(cfg)
    x = rng.random((1, 1, 6, 6)).astype(np.float32)
    net.params = {k: v * 0 for k, v in net.params.items()}
    assert np.all(net.forward(x) == 0)  # no residual: zero weights give zero output
    net2 = RedNet(RedNetConfig(depth=4, width=2, skip_every=0, residual=True))
    net2.params = {k: v * 0 for k, v in net2.params.items()}
    np.testing.assert_array_equal(net2.forward(x), x)


def test_bad_configuration_and_input():
    with pytest.raises(ValueError, match="depth must be an even number"):
        RedNetConfig(depth=9)
    with pytest.raises(ValueError, match="padding must be 0 or 1"):
        RedNetConfig(padding=2)
    with pytest.raises(ValueError, match="unknown preset"):
        preset("RED11")
    net = RedNet(preset("RED10", width=2, padding=0))
    with pytest.raises(ValueError, match="at least 11 pixels"):
        net.forward(np.zeros((1, 1, 8, 20), np.float32))
    with pytest.raises(ValueError, match=r"shape \(N, 1, H, W\)"):
        net.forward(np.zeros((1, 3, 20, 20), np.float32))


@pytest.mark.parametrize("name, padding, channels", [("RED10", 1, 1), ("RED20", 0, 3),
                                                      ("RED30", 1, 1)])
def test_widen_params_keeps_the_function_and_trains_the_new_channels(name, padding, channels,
                                                                      rng):
    cfg = preset(name, width=5, padding=padding, in_channels=channels)
    narrow = RedNet(cfg, seed=3)
    wide_params = widen_params(narrow.host_params(), 8, seed=1)
    wide = RedNet(preset(name, width=8, padding=padding, in_channels=channels),
                  params=wide_params)
    size = cfg.depth + 5
    x = rng.random((2, channels, size, size + 2)).astype(np.float32)
    y_narrow, y_wide = narrow.forward(x), wide.forward(x)
    np.testing.assert_allclose(y_wide, y_narrow, rtol=1e-5, atol=1e-6)
    # the copied block is the narrow weights; the new channels are not all zero
    for k, a in narrow.host_params().items():
        w = wide_params[k]
        assert w[tuple(slice(0, s) for s in a.shape)].tolist() == a.tolist(), k
    assert np.abs(wide_params["conv1.weight"][5:]).sum() > 0
    # the zero weights out of the new channels get a gradient, so training can use them
    wide.backward(y_wide - x)
    g = wide.grads["deconv" + str(cfg.depth // 2) + ".weight"]
    assert np.abs(g[5:]).sum() > 0


def test_widen_params_refuses_a_narrower_or_equal_width():
    params = RedNet(preset("RED10", width=6)).host_params()
    with pytest.raises(ValueError, match="must exceed the current 6"):
        widen_params(params, 6)
