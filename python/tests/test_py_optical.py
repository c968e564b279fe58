"""lightlane.sim optical model: OpticalLink and its parts, emulate_fiber, dispersion_corners."""

from __future__ import annotations

import numpy as np
import pytest


def _link(ll, **fields):
    baud = 26.5625e9
    return ll.sim.OpticalLink(
        "pam4",
        baud=baud,
        fs=8 * baud,
        tx=ll.sim.OpticalTransmitter(
            extinction_ratio_db=4.5,
            bandwidth={"bessel_thomson": {"f3db_hz": 0.6 * baud, "order": 4}},
            rin_db_per_hz=-140.0,
        ),
        **fields,
    )


def test_parts_defaults_round_trip_and_errors(ll) -> None:
    tx = ll.sim.OpticalTransmitter(extinction_ratio_db=4.0, chirp={"alpha": -0.5})
    assert tx.extinction_ratio_db == 4.0 and tx.chirp["alpha"] == -0.5 and tx.power == {"average_dbm": 0.0}
    assert ll.sim.OpticalTransmitter.from_dict(tx.to_dict()) == tx
    rx = ll.sim.OpticalReceiver(thermal_noise_pa_per_rthz=np.float64(12.0))
    assert rx.thermal_noise_pa_per_rthz == 12.0 and rx.shot_noise is True
    f = ll.sim.Fiber(10.0, 1550.0, attenuation_db_per_km=0.2)
    assert f.accumulated_dispersion_ps_per_nm == pytest.approx(10 * 0.092 / 4 * (1550 - 1312**4 / 1550**3))
    assert f.power_transmission == pytest.approx(10 ** (-0.2))
    assert f.beta2_s2_per_m < 0  # anomalous dispersion in the C band
    with pytest.raises(AttributeError):
        tx.no_such_field = 1
    # Unphysical values: lightlane exceptions naming the field.
    for make, name in [
        (lambda: ll.sim.Fiber(-1.0, 1310.0), "fiber.length_km"),
        (lambda: ll.sim.Fiber(1.0, 1200.0), "fiber.wavelength_nm"),
        (lambda: ll.sim.OpticalTransmitter(extinction_ratio_db=0.0), "tx.extinction_ratio_db"),
        (lambda: ll.sim.OpticalReceiver(responsivity_a_per_w=-1.0), "rx.responsivity_a_per_w"),
    ]:
        with pytest.raises(ll.InvalidParameterError) as e:
            make()
        assert e.value.name == name
    with pytest.raises(ll.InvalidParameterError):
        ll.sim.OpticalLink("pam4", baud=26e9, fs=30e9)  # below 2 samples per UI
    link = _link(ll)
    link.tx = {**link.tx, "extinction_ratio_db": -1.0}  # set unchecked, caught by validate()
    with pytest.raises(ll.InvalidParameterError):
        link.validate()


def test_link_run_er_power_and_toml_equivalent_dict(ll) -> None:
    link = ll.sim.OpticalLink("pam4", baud=26.5625e9, fs=4 * 26.5625e9, first_symbol_ui=0.5,
                              tx=ll.sim.OpticalTransmitter(power={"average_dbm": -1.5}, extinction_ratio_db=4.2))
    sym = ll.pattern.Pattern("prbs13q").generate(8191)
    cap = link.run(sym)
    w = cap.waveform
    assert w.meta["vertical_unit"] == "W" and len(w) == 4 * 8191
    centres = w.samples[2::4].astype(np.float64)
    p0, p3 = centres[sym == 0].mean(), centres[sym == 3].mean()
    assert 10 * np.log10(p3 / p0) == pytest.approx(4.2, abs=1e-3)
    assert p3 - p0 == pytest.approx(cap.tx_levels["oma_w"], rel=1e-4)
    assert 10 * np.log10(w.samples.mean() / 1e-3) == pytest.approx(-1.5, abs=0.01)
    assert cap.symbol_times["n_symbols"] == 8191 and "edge_jitter_ui" in cap.symbol_times
    # The [link] table of a link file (as tomllib reads it) builds the same link.
    d = link.to_dict()
    assert ll.sim.OpticalLink.from_dict(d).to_dict() == d
    table = {"modulation": "pam4", "baud": 26.5625e9, "scope": {"fs": 4 * 26.5625e9},
             "tx": {"power": {"average_dbm": -1.5}, "extinction_ratio_db": 4.2}, "first_symbol_ui": 0.5,
             "rx": {"shot_noise": False}}
    np.testing.assert_array_equal(ll.sim.OpticalLink.from_dict(table).run(sym).waveform.samples, w.samples)
    # Fibre loss lowers the received power.
    link.fiber = ll.sim.Fiber(10.0, 1310.0)
    assert link.run(sym).received_average_w == pytest.approx(1e-3 * 10 ** (-0.15) * 10 ** (-0.35), rel=1e-9)


def test_emulated_fibre_matches_simulated_fibre_and_tdecq_rises(ll) -> None:
    sym = ll.pattern.Pattern("prbs13q").generate(8191)
    corner = -60.0
    # Noiseless: the emulated waveform is the simulated one (the RIN realization of the
    # simulator depends on its filter windows, so noisy waveforms differ sample by sample).
    quiet = _link(ll)
    quiet.tx = {**quiet.tx, "rin_db_per_hz": None, "chirp": {"alpha": -0.8}}
    b2b_quiet = quiet.run(sym).waveform
    emulated = ll.sim.emulate_fiber(b2b_quiet, dispersion_ps_per_nm=corner, wavelength_nm=1271.0, chirp_alpha=-0.8)
    quiet.fiber = ll.sim.Fiber.with_accumulated_dispersion(corner, 1271.0)
    direct = quiet.run(sym).waveform
    oma = np.percentile(b2b_quiet.samples, 99) - np.percentile(b2b_quiet.samples, 1)
    edge = 2000
    diff = np.abs(direct.samples[edge:-edge] - emulated.samples[edge:-edge]).max()
    change = np.abs(direct.samples[edge:-edge] - b2b_quiet.samples[edge:-edge]).max()
    assert change > 0.03 * oma, f"the fibre must matter: {change / oma}"
    assert diff < 0.02 * oma
    assert emulated.meta["extra"]["emulated_dispersion_ps_per_nm"] == "-60"
    # TDECQ (RIN −140 dB/Hz transmitter) rises with |D·L|.
    b2b = _link(ll).run(sym).waveform
    t = [ll.eye.tdecq(w, baud=26.5625e9).tdecq_db for w in
         (b2b, ll.sim.emulate_fiber(b2b, dispersion_ps_per_nm=corner, wavelength_nm=1271.0),
          ll.sim.emulate_fiber(b2b, dispersion_ps_per_nm=2 * corner, wavelength_nm=1271.0))]
    assert t[0] < t[1] < t[2], t
    # Fibre objects, SMF by length, arrays with fs; exactly one fibre description.
    by_length = ll.sim.emulate_fiber(b2b.samples, length_m=2000.0, wavelength_nm=1550.0, fs=b2b.fs)
    same = ll.sim.emulate_fiber(b2b, ll.sim.Fiber(2.0, 1550.0))
    np.testing.assert_allclose(by_length.samples, same.samples, rtol=1e-6, atol=1e-12)
    with pytest.raises(ll.InvalidParameterError):
        ll.sim.emulate_fiber(b2b, ll.sim.Fiber(2.0, 1550.0), length_m=100.0)
    with pytest.raises(ll.InvalidParameterError):
        ll.sim.emulate_fiber(b2b, length_m=100.0)  # no wavelength
    with pytest.raises(ll.UnusableSignalError):
        ll.sim.emulate_fiber(b2b.samples - 1.0, dispersion_ps_per_nm=1.0, wavelength_nm=1310.0, fs=b2b.fs)  # not a power


def test_dispersion_corners_of_presets(ll) -> None:
    c = ll.sim.dispersion_corners("400GBASE-DR4")
    assert c.min_ps_per_nm == pytest.approx(-0.93, abs=0.005) and c.max_ps_per_nm == pytest.approx(0.79, abs=0.015)
    assert (c.wavelength_min_nm, c.wavelength_max_nm, c.reach_m) == (1304.5, 1317.5, 500.0)
    lr = ll.sim.dispersion_corners("100gbase_lr1")
    fr = ll.sim.dispersion_corners("100GBASE-FR1")
    assert lr.min_ps_per_nm == pytest.approx(5 * fr.min_ps_per_nm)
    with pytest.raises(ll.InvalidParameterError):
        ll.sim.dispersion_corners("100GAUI-1-C2M")  # electrical
    with pytest.raises(ll.InvalidParameterError):
        ll.sim.dispersion_corners("no-such-pmd")
