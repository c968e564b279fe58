"""lightlane.sim and lightlane.timing: simulated captures with known ground truth."""

from __future__ import annotations

import numpy as np
import pytest


def test_ideal_link_samples_the_levels(ll) -> None:
    m = ll.sim.LinkModel("pam4", baud=10e9, fs=40e9)  # 4 samples per UI, ideal channel
    m.first_symbol_time = 0.0
    sym = ll.pattern.Pattern("prbs9").generate(2000, modulation="pam4")
    cap = m.run(sym)
    w = cap.waveform
    assert w.fs == 40e9 and w.meta["source"] == "simulation" and cap.noise_rms == 0.0
    centres = w.samples[0 : 4 * 2000 : 4]
    np.testing.assert_allclose(centres[2:-2], 0.5 * (-1 + 2 * sym[2:-2] / 3), atol=1e-3)
    assert cap.symbol_times["n_symbols"] == 2000
    d = m.to_dict()
    assert d["baud"] == 10e9 and ll.sim.LinkModel.from_dict(d).to_dict() == d
    with pytest.raises(AttributeError):
        m.no_such_field = 1
    m.noise = {"snr_db": 20.0}
    assert m.run(sym).noise_rms > 0
    m.fs = 1e9  # below the baud
    with pytest.raises(ll.InvalidParameterError):
        m.run(sym)
    with pytest.raises(ll.InvalidParameterError):
        ll.sim.LinkModel.from_dict({**d, "oversampling": 1})


def test_baud_estimate_clock_recovery_and_resampling(ll) -> None:
    baud = 10.3125e9 * (1 + 50e-6)  # 50 ppm off nominal
    m = ll.sim.LinkModel("nrz", baud=baud, fs=40e9)
    m.channel = {"bessel_thomson": {"f3db_hz": 7e9, "order": 4}}
    m.noise = {"snr_db": 30.0}
    cap = m.run(ll.pattern.Pattern("prbs15").generate(40_000, modulation="nrz"))
    x = cap.waveform.samples
    est = ll.timing.estimate_baud(x, fs=40e9, nominal=10.3125e9, modulation="nrz")
    assert abs(est.baud / baud - 1) < 20e-6 and est.ppm_from_nominal == pytest.approx(50, abs=20)
    clk = ll.timing.recover_clock(x, fs=40e9, baud=10.3125e9, modulation="nrz", cdr="pll")
    assert clk.ppm_offset == pytest.approx(50, abs=5)
    assert clk.symbol_positions.dtype == np.float64 and len(clk.symbol_positions) > 30_000
    y = clk.resample(x)
    assert len(y) == len(clk.symbol_positions)
    dec = (y > np.median(y)).astype(np.uint8)
    r = ll.pattern.Pattern("prbs15").check(dec[clk.settled_from :], modulation="nrz")
    assert r.ber < 1e-2  # unequalized ISI of the 0.68-baud Bessel-Thomson channel
    with pytest.raises(ll.InvalidParameterError):
        ll.timing.recover_clock(x, fs=40e9, baud=10.3125e9, cdr="pll:abc")
    ph = ll.timing.recover_phase(x, samples_per_ui=40e9 / baud, modulation="nrz")
    assert 0 <= ph.phase_ui < 1


def test_resample_fft_matches_scipy(ll) -> None:
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(2)
    x = np.convolve(rng.normal(size=4000), np.hanning(15), "same").astype(np.float32)
    y = ll.timing.resample_fft(x, 1.5)
    want = signal.resample(x.astype(np.float64), len(y))
    assert len(y) == 6000
    # Same band-limited interpolation away from the (periodic-extension) edges.
    np.testing.assert_allclose(y[300:-300], want[300:-300], atol=2e-3 * np.abs(want).max())
    with pytest.raises(ll.InputTooShortError):
        ll.timing.resample_fft(np.zeros(0, np.float32), 2.0)


def test_link_model_and_optical_parts_share_the_field_record(ll) -> None:
    """LinkModel and the optical parts are one field record: the same attribute, numpy, equality
    and repr behaviour, with each class's own name in messages and its own summary repr."""
    records = [
        ll.sim.LinkModel("pam4", baud=10e9, fs=40e9),
        ll.sim.OpticalTransmitter(),
        ll.sim.OpticalReceiver(),
        ll.sim.Fiber(2.0, 1310.0),
        ll.sim.OpticalLink("pam4", baud=26.5625e9, fs=128e9),
    ]
    for r in records:
        name = type(r).__name__
        with pytest.raises(AttributeError, match=f"{name} has no field 'no_such_field'"):
            r.no_such_field = 1
        with pytest.raises(AttributeError, match=f"{name} has no field 'no_such_field'"):
            r.no_such_field  # noqa: B018
        assert list(r) == list(r.to_dict()) and set(r.to_dict()) <= set(dir(r))
        assert r == type(r)._from(r.to_dict()) and r != r.to_dict()
        assert repr(r).startswith(f"{name}(")
        field = next(iter(r))
        other = type(r)._from(r.to_dict())
        setattr(other, field, None)
        assert other != r and r.to_dict()[field] is not None
    m = records[0]
    m.tx_ffe = np.array([0.1, 0.8, 0.1])  # numpy stored as plain JSON values
    m.amplitude = np.float32(0.25)
    assert m.tx_ffe == [0.1, 0.8, 0.1] and type(m.tx_ffe[0]) is float and type(m.amplitude) is float
    assert repr(m).startswith("LinkModel('pam4', baud=1e+10, fs=4e+10, channel=")
    assert repr(records[4]).startswith("OpticalLink('pam4', baud=2.65625e+10, fs=1.28e+11, fiber=None")
    assert repr(records[3]).startswith("Fiber(length_km=2.0, ")
