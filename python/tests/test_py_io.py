"""lightlane.io: writers round-trip through the readers; real captures from ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_round_trips(ll, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 0.1, 5000).astype(np.float32)
    ll.io.write_npy(tmp_path / "a.npy", x)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), x)  # numpy reads our .npy
    np.save(tmp_path / "b.npy", x.astype(np.float64))
    w = ll.io.read_capture(tmp_path / "b.npy", fs=80e9)  # we read numpy's .npy
    np.testing.assert_allclose(w.samples, x, atol=1e-7)
    assert w.fs == 80e9 and ll.io.detect_format(tmp_path / "b.npy") == "npy"

    wf = ll.io.Waveform(x, fs=80e9, t0=1e-9, meta={"channel": "C2"})
    ll.io.write_raw(tmp_path / "r.bin", wf)
    back = ll.io.read_capture(tmp_path / "r.bin")
    np.testing.assert_array_equal(back.samples, x)
    assert back.fs == pytest.approx(80e9) and back.t0 == pytest.approx(1e-9)

    ll.io.write_lecroy(tmp_path / "s.trc", [wf, wf])
    fmt, ws = ll.io.read_all(tmp_path / "s.trc")
    assert fmt == "lecroy-trc" and len(ws) == 2
    step = (x.max() - x.min()) / 60000
    np.testing.assert_allclose(ws[1].samples, x, atol=step)  # int16 quantisation
    assert ws[0].raw is not None and ws[0].raw[0].dtype == np.int16

    ll.io.write_keysight(tmp_path / "k.bin", wf)
    np.testing.assert_array_equal(ll.io.read_capture(tmp_path / "k.bin").samples, x)
    ll.io.write_npz(tmp_path / "z.npz", {"rx": x, "short": x[:10]})
    np.testing.assert_array_equal(np.load(tmp_path / "z.npz")["rx"], x)
    ll.io.write_mat(tmp_path / "m.mat", {"rx": x.astype(np.float64), "fs": [80e9]})
    assert len(ll.io.read_capture(tmp_path / "m.mat")) == len(x)


def test_io_errors(ll, tmp_path: Path) -> None:
    with pytest.raises(ll.CaptureFileError) as e:
        ll.io.read_capture(tmp_path / "missing.npy", fs=1e9)
    assert isinstance(e.value, OSError) and "missing.npy" in str(e.value)
    (tmp_path / "junk.xyz").write_bytes(b"\x01\x02garbage")
    with pytest.raises(ll.UnknownFormatError):
        ll.io.read_capture(tmp_path / "junk.xyz")
    np.save(tmp_path / "nan.npy", np.array([0.0, np.nan], np.float32))
    with pytest.raises(ll.NonFiniteError) as e2:
        ll.io.read_capture(tmp_path / "nan.npy", fs=1e9)
    assert e2.value.index == 1 and e2.value.path.endswith("nan.npy")
    np.save(tmp_path / "ok.npy", np.zeros(8, np.float32))
    with pytest.raises(ll.NoSuchItemError):
        ll.io.read_capture(tmp_path / "ok.npy", fs=1e9, segment=3)
    with pytest.raises(ll.LightlaneError):
        ll.io.read_capture(tmp_path / "ok.npy")  # no fs for a .npy


def test_real_captures(ll, captures: Path) -> None:
    tek = captures / "tek_wfm" / "analog_waveform.wfm"
    w = ll.io.read_capture(tek)
    expected = np.load(captures / "tek_wfm" / "analog_waveform.expected_raw_int16.npy")
    assert w.raw is not None
    codes, gain, offset = w.raw
    np.testing.assert_array_equal(codes, expected.ravel()[: len(codes)])
    assert gain == pytest.approx(1.5625e-5)
    np.testing.assert_allclose(w.samples, codes * gain + offset, rtol=1e-6, atol=1e-9)
    fmt, segs = ll.io.read_all(captures / "lecroy_trc" / "pulse_sequence.trc")
    assert fmt == "lecroy-trc" and len(segs) == 20 and all(len(s) == 502 for s in segs)
    with pytest.raises(ll.TruncatedFileError):
        ll.io.read_capture(captures / "lecroy_trc" / "header_only_truncated.trc")
