"""lightlane.eye: eye diagram histogram, levels/metrics of an ideal PAM4 capture, TDECQ of an open
eye, typed errors."""

from __future__ import annotations

import numpy as np
import pytest

BAUD = 26.5625e9


@pytest.fixture(scope="module")
def ideal(ll):
    """An ideal (noise-free, jitter-free) PAM4 capture, 8 Sa/UI, mild Bessel-Thomson band limit."""
    m = ll.sim.LinkModel("pam4", baud=BAUD, fs=8 * BAUD)
    m.channel = {"bessel_thomson": {"f3db_hz": 0.75 * BAUD, "order": 4}}
    return m, m.run(ll.pattern.Pattern("prbs13q").generate(8000))


@pytest.fixture(scope="module")
def ideal_eye(ll, ideal):
    m, cap = ideal
    return ll.eye.eye_diagram(cap, baud=m.baud)


def test_image_shape_and_extent(ll, ideal):
    m, cap = ideal
    e = ll.eye.eye_diagram(cap, baud=m.baud, samples_per_ui=16, span_ui=1, time_bins=64, amp_bins=100)
    assert e.image.shape == (100, 64)
    assert e.image.dtype == np.uint32
    t0, t1, lo, hi = e.extent
    assert (t0, t1) == (0.0, 1.0)
    s = cap.waveform.samples
    assert lo < float(s.min()) and hi > float(s.max())


def test_histogram_total_is_expected_count(ll, ideal_eye):
    e = ideal_eye
    # Auto range with margin: every interpolated column of every sample interval lands in the grid.
    assert e.columns_per_sample == 256 // (32 * 2)
    assert e.total == (e.samples - 1) * e.columns_per_sample
    assert int(e.image.sum()) == e.total
    # The resampled signal at 32 samples/UI covers the symbols after the CDR has settled.
    assert 3000 * 32 < e.samples <= 8000 * 32


def test_ideal_pam4_levels_and_metrics(ll, ideal, ideal_eye):
    m, _ = ideal
    e = ideal_eye
    assert e.modulation.lower() == "pam4"
    assert len(e.levels) == 4 and len(e.thresholds) == 3
    # Amplitude 0.5 V: levels at ±0.5, ±0.5/3 (the band limit leaves a little ISI).
    want = np.array([-0.5, -0.5 / 3, 0.5 / 3, 0.5])
    np.testing.assert_allclose(e.levels, want, atol=0.02)
    assert all(a < t < b for a, t, b in zip(e.levels, e.thresholds, e.levels[1:]))
    met = e.metrics
    assert met["rlm"] is not None and 0.95 < met["rlm"] <= 1.0 + 1e-9
    assert len(met["eye_heights"]) == 3
    assert all(h > 0.2 for h in met["eye_heights"])  # spacing 1/3 V, nearly open
    assert all(w is not None and w > 0.5 for w in met["eye_widths_measured"])
    assert met["sndr_db"] is None or met["sndr_db"] > 25.0
    assert not any("closed" in w for w in e.warnings)


def test_png_and_repr(ll, ideal_eye):
    png = ideal_eye.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    assert ideal_eye._repr_png_() == png
    assert "pam4" in repr(ideal_eye).lower()


def test_plot_eye_takes_the_object(ll, ideal_eye):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = ll.plot.eye(ideal_eye)
    im = ax.get_images()[0]
    assert tuple(im.get_extent()) == pytest.approx(ideal_eye.extent)


def test_array_input_matches_waveform(ll, ideal):
    m, cap = ideal
    a = ll.eye.eye_diagram(cap.waveform.samples, fs=cap.waveform.fs, baud=m.baud, time_bins=128, amp_bins=64)
    b = ll.eye.eye_diagram(cap, baud=m.baud, time_bins=128, amp_bins=64)
    np.testing.assert_array_equal(a.image, b.image)


# The reference receiver (BT4 at 0.5·baud) is bypassed when its f3dB is at or above fs/2: then
# an ISI-free, noise-free eye must give TDECQ ≈ 0 dB (σ_G = OMA_outer / (6·Q_t) exactly).
NO_REF_RX = {"reference_f3db_per_baud": 8.0}


@pytest.fixture(scope="module")
def ideal_steps(ll):
    """Ideal channel (instant transitions), no noise, no jitter: flat across 0.45…0.55 UI."""
    m = ll.sim.LinkModel("pam4", baud=BAUD, fs=8 * BAUD)
    return m, m.run(ll.pattern.Pattern("prbs13q").generate(8000))


def test_tdecq_of_open_eye_is_about_zero(ll, ideal_steps):
    m, cap = ideal_steps
    r = ll.eye.tdecq(cap, baud=m.baud, config=NO_REF_RX)
    assert abs(r.tdecq_db) < 0.1, r.to_dict()
    assert len(r.taps) == 5 and r.main_tap in (1, 2)
    assert sum(r.taps) == pytest.approx(1.0, abs=1e-6)
    assert len(r.thresholds) == 3
    assert r.oma_outer == pytest.approx(1.0, rel=0.01)  # amplitude 0.5 V: levels ±0.5
    # With the standard reference receiver the BT4's own ISI costs a little, never a gain.
    std = ll.eye.tdecq(cap, baud=m.baud)
    assert -0.05 < std.tdecq_db < 1.0, std.to_dict()


def test_tdecq_grows_with_noise(ll, ideal_steps):
    m0, cap0 = ideal_steps
    m = ll.sim.LinkModel.from_dict(m0.to_dict())
    m.noise = {"snr_db": 18.0}
    cap = m.run(ll.pattern.Pattern("prbs13q").generate(8000))
    open_db = ll.eye.tdecq(cap0, baud=m.baud, config=NO_REF_RX).tdecq_db
    noisy_db = ll.eye.tdecq(cap, baud=m.baud, config=NO_REF_RX).tdecq_db
    assert noisy_db > open_db + 1.5, (open_db, noisy_db)


def test_tdecq_8023dj_variant(ll, ideal_steps):
    m, cap = ideal_steps
    r = ll.eye.tdecq(cap, baud=m.baud, variant="802.3dj", config=NO_REF_RX)
    assert len(r.taps) == 15
    assert abs(r.tdecq_db) < 0.2, r.to_dict()


def test_bad_input_raises_lightlane_errors(ll, ideal):
    m, cap = ideal
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.eye_diagram(cap, baud=m.baud, samples_per_ui=7)
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.eye_diagram(cap, baud=m.baud, time_bins=100)  # not a multiple of 32·2
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.eye_diagram(np.zeros((4, 4)), fs=1e11, baud=m.baud)
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.eye_diagram(cap.waveform.samples, baud=m.baud)  # fs missing
    with pytest.raises(ll.LightlaneError):
        ll.eye.eye_diagram(cap, baud=m.baud, modulation="qam16")
    with pytest.raises(ll.LightlaneError):
        ll.eye.eye_diagram(np.full(50_000, 0.3, dtype=np.float32), fs=8 * BAUD, baud=BAUD)  # no levels
    with pytest.raises(ll.NonFiniteError):
        x = cap.waveform.samples.copy()
        x[100] = np.nan
        ll.eye.eye_diagram(x, fs=cap.waveform.fs, baud=m.baud)
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.tdecq(cap, baud=m.baud, variant="802.3xx")
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.tdecq(cap, baud=m.baud, config={"target_ser": 2.0})
    with pytest.raises(ll.InvalidParameterError):
        ll.eye.tdecq(cap, baud=-1.0)
