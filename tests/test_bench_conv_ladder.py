"""benchmarks/bench_conv_ladder.py: it checks every version, precision and pass before
timing it, refuses to time a wrong one, and writes its table and plot. The timings are not
tested (on the emulator they say nothing about a GPU)."""

from __future__ import annotations

from conftest import load_benchmark

from rednet_cupy import ops
from rednet_cupy.ops import conv_ladder

bench = load_benchmark("bench_conv_ladder")
QUICK = ["--device", "emulate", "--small", "--samples", "2", "--warmup", "0", "--no-torch"]


def _table(text: str, heading: str) -> list[list[str]]:
    part = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in part.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_every_version_and_pass_is_checked_and_timed(tmp_path):
    out = tmp_path / "ladder.md"
    assert bench.main([*QUICK, "--out", str(out)]) == 0
    text = out.read_text()
    assert out.with_suffix(".png").stat().st_size > 1000
    ours = [(f"ours v{v.number}", p) for v in ops.conv_versions() for p in v.precisions]
    grads = [(f"ours w{v.weight_grad}", p) for v in ops.conv_versions() for p in v.precisions]
    for shape in bench.SMALL_SHAPES:
        for pass_, expected in (("forward", ours), ("input_grad", ours),
                                ("weight_grad", list(dict.fromkeys(grads)))):
            rows = _table(text, f"{shape}, {pass_}")
            listed = [(r[0], r[1]) for r in rows if r[0].startswith("ours")]
            assert listed == expected, (shape, pass_)
            for r in rows:
                assert float(r[2]) < bench.CHECK_TOL  # checked against the reference
                assert r[3] != "-"  # and timed
    steps = _table(text, "RED10 2x12x12, training step")
    assert [(r[0], r[1]) for r in steps] == [
        (f"ours v{v.number}+w{v.weight_grad}", p) for v in ops.conv_versions()
        for p in v.precisions]


def test_a_wrong_kernel_is_reported_and_not_timed(tmp_path, monkeypatch):
    real = conv_ladder.forward

    def broken(dev, number, *args, **kw):
        y = real(dev, number, *args, **kw)
        if number == 3:
            y[..., 0, 0] += 1.0  # one corner of every map off
        return y

    monkeypatch.setattr(conv_ladder, "forward", broken)
    out = tmp_path / "ladder.md"
    assert bench.main([*QUICK, "--no-step", "--out", str(out)]) == 1
    rows = _table(out.read_text(), f"{next(iter(bench.SMALL_SHAPES))}, forward")
    v3 = next(r for r in rows if r[0] == "ours v3")
    assert "WRONG: not timed" in "|".join(v3) and v3[3] == "-"
    assert all(r[3] != "-" for r in rows if r[0] != "ours v3")


def test_without_a_gpu_it_says_so_and_prints_the_profile(capsys, monkeypatch):
    from rednet_cupy import runtime

    monkeypatch.setattr(runtime, "cuda_available", lambda: (False, "no GPU here"))
    assert bench.main(["--device", "cuda"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no GPU to time on (no GPU here)")
    assert "# The convolution ladder, measured without a GPU" in out


def test_the_fastest_verified_version_becomes_the_default(tmp_path, monkeypatch):
    """From the rows of a run: the version with the least total time over the three passes,
    leaving out any version with a WRONG row; written per architecture, read by
    versions.default("cuda", arch)."""
    from rednet_cupy.ops import versions

    shape = "s"
    rows = []
    for number, wgrad, seconds, wrong in ((2, 1, 3.0, False), (5, 2, 2.0, False),
                                          (6, 3, 1.0, True)):
        for pass_ in bench.PASSES:
            label = f"ours w{wgrad}" if pass_ == "weight_grad" else f"ours v{number}"
            if any(r.impl == label and r.pass_ == pass_ for r in rows):
                continue
            r = bench.Row(shape, pass_, label, "fp32", 1.0, error=0.0, hot=[seconds])
            if wrong and pass_ == "forward":
                r.note, r.hot = "WRONG: not timed", None
            rows.append(r)
    best = bench.fastest_verified(rows, shape)
    assert best["fp32"]["version"] == 5  # 6 was faster but wrong
    path = tmp_path / "verified.json"
    bench.record_default(best, "sm_90", {"GPU": "test", "date": "d"}, path)
    assert versions.verified("sm_90", path=path) == 5
    assert versions.verified("sm_80", path=path) is None
    monkeypatch.setattr(versions, "VERIFIED", path)
    monkeypatch.delenv("REDNET_CONV", raising=False)
    assert versions.default("cuda", "sm_90") == 5
    assert versions.default("cuda", "sm_75") == versions.DEFAULT["cuda"]
    assert versions.default("emulate", "sm_90") == versions.DEFAULT["emulate"]
