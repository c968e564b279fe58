"""The exception hierarchy: every core/io error variant maps to its class; panics never leak
as pyo3's PanicException."""

from __future__ import annotations

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
