"""Checkpoint round trips, atomic saves, and a clear CheckpointError for every bad file."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from rednet_cupy import checkpoint
from rednet_cupy.checkpoint import (
    CheckpointError,
    check_compatible,
    load_checkpoint,
    save_checkpoint,
)

RNG = np.random.default_rng(0)
ARRAYS = {
    "enc/conv1.w": RNG.standard_normal((4, 1, 3, 3)).astype(np.float32),
    "enc/conv1.b": np.zeros(4, np.float32),
    "adam.m/dec.5.w": RNG.standard_normal((2, 3)),  # float64
    "step": np.array(1234, np.int64),
    "bytes": np.arange(256, dtype=np.uint8),
    "mask": np.array([True, False]),
    "empty": np.zeros((0, 3), np.float32),
    "transposed": np.arange(6, dtype=np.int32).reshape(2, 3).T,  # not C-contiguous
    "file": np.ones(2),  # a name that would collide with np.savez's own argument
    "x.npy": np.full(3, 7, np.int16),
}
HEADER = {
    "arch": {"depth": 10, "width": 64, "padding": 1, "skips": [2, 4]},
    "task": "denoise",
    "levels": "0:55",
    "rng": {"state": 2**127 + 5, "inc": 3},  # big Python ints survive JSON exactly
    "best": None,
}


def single_line_error(path, match, fn=load_checkpoint):
    with pytest.raises(CheckpointError, match=match) as info:
        fn(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_round_trip_exact(tmp_path):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, ARRAYS, HEADER)
    arrays, header = load_checkpoint(path)
    assert header == HEADER
    assert sorted(arrays) == sorted(ARRAYS)
    for name, want in ARRAYS.items():
        assert arrays[name].dtype == want.dtype and arrays[name].shape == want.shape
        np.testing.assert_array_equal(arrays[name], want)
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]


def test_plain_numpy_can_read_it(tmp_path):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, ARRAYS, HEADER)
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["enc/conv1.w"], ARRAYS["enc/conv1.w"])
        text = npz[checkpoint.HEADER_KEY].tobytes().decode()
    assert json.loads(text)["version"] == checkpoint.FORMAT_VERSION


def test_path_used_as_given(tmp_path):
    save_checkpoint(tmp_path / "weights.bin", {"a": np.ones(1)}, {})
    assert os.listdir(tmp_path) == ["weights.bin"]
    assert load_checkpoint(tmp_path / "weights.bin")[1] == {}


def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, {"w": np.ones(3)}, {"step": 1})
    calls = []
    real = np.lib.format.write_array

    def interrupted(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the save
        return real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"w": np.zeros(3), "v": np.zeros(3)}, {"step": 2})
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "fresh.npz", {"w": np.zeros(3), "v": np.zeros(3)}, {})
    monkeypatch.undo()
    arrays, header = load_checkpoint(path)
    assert header == {"step": 1}
    np.testing.assert_array_equal(arrays["w"], np.ones(3))
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]  # no temporary file, no fresh.npz


def test_save_refusals(tmp_path):
    path = tmp_path / "ck.npz"
    obj = np.array([{"a": 1}], dtype=object)
    single_line_error(path, "dtype object", lambda p: save_checkpoint(p, {"o": obj}, {}))
    single_line_error(path, "JSON", lambda p: save_checkpoint(p, {}, {"x": np.float32(1)}))
    for bad in ["", "__header__", "/abs", "a\\b", 3]:
        single_line_error(path, "array name", lambda p, b=bad: save_checkpoint(p, {b: 1}, {}))
    assert not path.exists()


# ----------------------------------------------------------------------------- bad files
@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.npz"
    save_checkpoint(path, {"w": np.full(4000, 7, np.uint8)}, {"step": 3})
    return path


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def header_bytes(obj):
    return np.frombuffer(json.dumps(obj).encode(), np.uint8)


def test_missing_directory_empty(tmp_path):
    single_line_error(tmp_path / "nope.npz", "no such checkpoint file")
    (tmp_path / "d.npz").mkdir()
    single_line_error(tmp_path / "d.npz", "is a directory")
    (tmp_path / "e.npz").write_bytes(b"")
    single_line_error(tmp_path / "e.npz", r"not an \.npz checkpoint \(empty\)")


def test_not_a_zip(tmp_path):
    (tmp_path / "t.npz").write_text("just some text that is long enough\n")
    single_line_error(tmp_path / "t.npz", r"not an \.npz checkpoint \(not a zip\)")
    np.save(tmp_path / "a.npy", np.ones(3))
    single_line_error(tmp_path / "a.npy", r"\.npy file")


def test_truncated(good, tmp_path):
    cut = tmp_path / "cut.npz"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    single_line_error(cut, "truncated or corrupt")


def test_flipped_byte_fails_crc(good, tmp_path):
    data = bytearray(good.read_bytes())
    at = data.find(b"\x07" * 4000)
    assert at > 0
    data[at + 2000] = 8
    bad = tmp_path / "flip.npz"
    bad.write_bytes(bytes(data))
    single_line_error(bad, "truncated or corrupt.*CRC")


def test_non_npy_member(tmp_path):
    path = tmp_path / "zip.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    single_line_error(path, "'readme.txt' is not a .npy array")


def test_header_problems(tmp_path):
    ok = {"format": checkpoint.FORMAT_NAME, "version": checkpoint.FORMAT_VERSION, "header": {}}
    cases = {
        "none.npz": ({"w": np.ones(2)}, r"no __header__ entry"),
        "dtype.npz": ({"__header__": np.ones(3)}, r"invalid header: __header__ must be 1-D uint8"),
        "text.npz": ({"__header__": np.frombuffer(b"{oops", np.uint8)}, "not UTF-8 JSON"),
        "other.npz": ({"__header__": header_bytes({"format": "x"})}, "format is not"),
        "list.npz": ({"__header__": header_bytes([1, 2])}, "format is not"),
        "v2.npz": ({"__header__": header_bytes({**ok, "version": 2})}, "format version 2"),
        "hdr.npz": ({"__header__": header_bytes({**ok, "header": [1]})}, "not a JSON object"),
    }
    for name, (arrays, match) in cases.items():
        single_line_error(write_npz(tmp_path / name, **arrays), match)


def test_pickled_object_array_refused(tmp_path):
    header = header_bytes({"format": checkpoint.FORMAT_NAME, "version": 1, "header": {}})
    evil = np.array([{"payload": "would run on unpickling"}], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, __header__=header, evil=evil, allow_pickle=True)
    path = tmp_path / "evil.npz"
    path.write_bytes(buf.getvalue())
    single_line_error(path, "'evil' is an object array; refusing to unpickle")


# ----------------------------------------------------------------------------- compatibility
def test_check_compatible():
    header = {"depth": 10, "width": 64, "padding": 1, "skips": [2, 4], "task": "denoise"}
    check_compatible(header, {"depth": 10, "skips": (2, 4), "width": np.int64(64)})
    with pytest.raises(CheckpointError) as info:
        check_compatible(header, {"depth": 30, "width": 128, "padding": 1, "residual": True})
    msg = str(info.value)
    assert "depth: checkpoint has 10, expected 30" in msg
    assert "width: checkpoint has 64, expected 128" in msg
    assert "residual: missing" in msg and "padding" not in msg
