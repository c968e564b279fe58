"""The exception hierarchy: every core/io error variant maps to its class; panics never leak
as pyo3's PanicException."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest


def test_hierarchy(ll) -> None:
    for name in ll.exceptions.__all__:
        cls = getattr(ll, name)
        assert issubclass(cls, ll.LightlaneError), name
    assert issubclass(ll.InvalidParameterError, ValueError)
    assert issubclass(ll.CaptureFileError, OSError)
    assert issubclass(ll.NoSuchItemError, LookupError)
    assert issubclass(ll.TruncatedFileError, ll.FormatError)
    assert issubclass(ll.InternalError, RuntimeError)


def test_fields_are_attributes(ll) -> None:
    with pytest.raises(ll.InvalidParameterError) as e:
        ll.analyze(np.zeros(100_000, np.float32), fs=1e9, baud=-5.0)
    assert e.value.name == "baud" and e.value.value == "-5" and "positive" in e.value.reason
    assert e.value.path is None  # fields of other variants read as None
    with pytest.raises(ll.NonFiniteError) as e2:
        x = np.zeros(4096, np.float32)
        x[17] = np.inf
        ll.timing.estimate_baud(x, fs=1e9)
    assert e2.value.index == 17


def test_panic_becomes_internal_error(ll) -> None:
    with pytest.raises(ll.InternalError, match="deliberate panic"):
        ll._native._panic_for_tests()
    # The interpreter and the module keep working afterwards.
    assert ll.filter.convolve_valid([1, 2], [1]).tolist() == [1.0, 2.0]


def test_bad_arguments_are_lightlane_errors(ll) -> None:
    with pytest.raises(ll.InvalidParameterError):
        ll.analyze(np.zeros(10, np.float32))  # no fs
    with pytest.raises(ll.InvalidParameterError):
        ll.analyze(np.zeros((2, 10), np.float32), fs=1e9)
    with pytest.raises(ll.InvalidParameterError):
        ll.analyze(np.zeros(10, np.float32), fs=1e9, backend="tpu")
    with pytest.raises(ll.InvalidParameterError):
        ll.analyze(np.zeros(10, np.float32), fs=1e9, modulation="pam8")
    with pytest.raises(ll.InvalidParameterError):
        ll.analyze(np.zeros(10, np.float32), fs=1e9, config={"training_symbols": "many"})
    with pytest.raises(ll.InputTooShortError):
        ll.analyze(np.zeros(10, np.float32), fs=1e9, baud=1e8)
    with pytest.raises(ll.InvalidParameterError):
        ll.pattern.Pattern("prbs7").generate(2**31)


def test_gil_is_released(ll) -> None:
    """While one thread decodes (Rust, GIL released), another Python thread keeps running:
    it must record ticks strictly inside the call. With the GIL held it could tick at most
    once there (a switch before the call enters Rust)."""
    import time

    rs = ll.fec.ReedSolomon.kp4()
    words = rs.encode(np.zeros((1, 514), np.uint16)).repeat(40_000, axis=0)
    words[:, 3] ^= 5  # one error per word: every word goes through the full decoder
    ticks: list = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            stop.wait(0.0005)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        res = rs.decode(words)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    assert res.corrected.min() == 1
    inside = [x for x in ticks if start < x < end]
    assert len(inside) >= 3, (len(inside), end - start)


def test_keyword_options_go_over_the_defaults_and_misspelt_ones_fail(ll) -> None:
    """Every binding turns keyword options into its configuration the same way
    (``convert::options_over``): given fields over the defaults, an unknown field is an error
    naming it instead of being ignored."""
    from lightlane import _native

    # Partial options keep the other defaults (SyncConfig, EmulationOptions have many fields).
    p = ll.pattern.Pattern("prbs13q")
    sym = p.generate(20_000, modulation="pam4")
    assert p.check(sym, max_error_positions=0).bit_errors == 0
    link = ll.sim.OpticalLink("pam4", baud=26.5625e9, fs=128e9)
    w = link.run(p.generate(2000)).waveform
    fiber = json.dumps(ll.sim.Fiber.with_accumulated_dispersion(-40.0, 1271.0).to_dict())
    meta = json.dumps(w.meta)
    empty = _native.optical_emulate(w.samples, w.fs, w.t0, meta, fiber, "{}")
    full = ll.sim.emulate_fiber(w, dispersion_ps_per_nm=-40.0, wavelength_nm=1271.0)
    np.testing.assert_array_equal(ll.io.Waveform._from_parts(empty).samples, full.samples)
    # A misspelt option names itself, wherever it is given.
    cases = [
        lambda: p.check(sym, max_error_position=0),
        lambda: ll.eye.tdecq(w, baud=26.5625e9, config={"n_tap": 5}),
        lambda: ll.analyze(np.zeros(10, np.float32), fs=1e9, config={"training_symbol": 10}),
        lambda: _native.optical_emulate(w.samples, w.fs, w.t0, meta, fiber, '{"max_inverse_gain": 3}'),
        lambda: ll.timing.recover_phase(w.samples, samples_per_ui=4.8, no_such_option=1),
    ]
    for case in cases:
        with pytest.raises(ll.InvalidParameterError, match="field = [a-z_]+: unknown; expected one of: "):
            case()
