"""Symbol timing (``lightlane_core::timing``): spectral baud estimation, clock recovery (the
IEEE 802.3 reference CDR — first/second-order PLL with the 4 MHz corner of 802.3 Clause
120D.3.1.1/162.9.3 — Mueller-Müller, Gardner, bang-bang), sampling phase, resampling.

>>> import lightlane as ll
>>> m = ll.sim.LinkModel("nrz", baud=10.3125e9, fs=40e9)
>>> cap = m.run(ll.pattern.Pattern("prbs15").generate(20_000, modulation="nrz"))
>>> est = ll.timing.estimate_baud(cap.waveform.samples, fs=40e9, modulation="nrz")
>>> abs(est.baud / 10.3125e9 - 1) < 20e-6
True
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import numpy as np

from . import _native
from ._records import Record
from .exceptions import InvalidParameterError, _raise

__all__ = [
    "BaudEstimate",
    "estimate_baud",
    "RecoveredClock",
    "recover_clock",
    "SamplingPhase",
    "recover_phase",
    "resample_at",
    "resample_fft",
]


def _f32(x: Any) -> Any:
    return x if isinstance(x, np.ndarray) and x.dtype == np.float32 else np.asarray(x, dtype=np.float32)


class BaudEstimate(Record):
    """``baud``, ``ppm_from_nominal`` (None without a nominal), ``line_snr_db``."""


def estimate_baud(x: Any, *, fs: float, nominal: Optional[float] = None, modulation: str = "pam4") -> BaudEstimate:
    """Symbol rate from the spectral line of ``|diff(x)|**2``. With ``nominal`` the search is
    restricted to ±1 % around it."""
    return BaudEstimate._from_json(_native.estimate_baud(_f32(x), fs, nominal, modulation))  # type: ignore[return-value]


def _cdr_kind(cdr: str) -> Dict[str, Any]:
    parts = cdr.split(":")
    if parts[0] == "pll" and len(parts) <= 3:
        try:
            corner = float(parts[1]) if len(parts) > 1 else 4.0
            order = int(parts[2]) if len(parts) > 2 else 1
        except ValueError:
            corner, order = -1.0, -1
        if corner > 0 and order > 0:
            return {"reference_pll": {"corner_hz": corner * 1e6, "order": order, "damping": 0.707}}
    elif parts == ["mm"]:
        return {"mueller_muller": {"bandwidth_fraction": 1e-3}}
    elif parts == ["gardner"]:
        return {"gardner": {"bandwidth_fraction": 1e-3}}
    elif parts == ["bangbang"]:
        return {"bang_bang": {"gain": 1e-3}}
    _raise(InvalidParameterError, f"invalid cdr = {cdr}: expected pll[:CORNER_MHZ[:ORDER]], mm, gardner or bangbang",
           name="cdr", value=cdr, reason="expected pll[:CORNER_MHZ[:ORDER]], mm, gardner or bangbang")
    raise AssertionError("unreachable")


class RecoveredClock(Record):
    """Result of :func:`recover_clock`: ``baud``, ``ppm_offset``, ``settled_from``, ``tie_rms_s``
    and the arrays ``symbol_positions`` (fractional sample index of each symbol centre),
    ``edge_positions`` and ``tie_s``."""

    def resample(self, x: Any, samples_per_ui: int = 1) -> np.ndarray:
        """``samples_per_ui`` samples per UI of ``x`` at the recovered symbol positions."""
        return resample_at(x, self.symbol_positions, samples_per_ui=samples_per_ui)

    def to_dict(self) -> Dict[str, Any]:
        d = {k: v for k, v in self._fields.items() if not isinstance(v, np.ndarray)}
        for k, v in self._fields.items():
            if isinstance(v, np.ndarray):
                d[k] = v.tolist()
        return d


def recover_clock(
    x: Any,
    *,
    fs: float,
    baud: float,
    modulation: str = "pam4",
    cdr: str = "pll",
    samples_per_ui_out: int = 1,
    hysteresis_fraction: float = 0.1,
) -> RecoveredClock:
    """Runs a clock-recovery loop over ``x`` starting from the nominal ``baud``.

    ``cdr`` is ``pll[:CORNER_MHZ[:ORDER]]`` (802.3 reference CDR, default 4 MHz first order),
    ``mm``, ``gardner`` or ``bangbang``, as on the command line.
    """
    cfg = {"kind": _cdr_kind(cdr), "samples_per_ui_out": samples_per_ui_out, "hysteresis_fraction": hysteresis_fraction}
    js, sym, edges, tie = _native.recover_clock(_f32(x), fs, baud, modulation, json.dumps(cfg))
    fields = json.loads(js)
    fields.update(symbol_positions=sym, edge_positions=edges, tie_s=tie)
    return RecoveredClock(fields)


class SamplingPhase(Record):
    """``phase_ui`` (sampling instant of the first symbol, UI), ``separation``, ``scores``."""


def recover_phase(x: Any, *, samples_per_ui: float, modulation: str = "pam4", **config: Any) -> SamplingPhase:
    """Best sampling phase at a known samples-per-UI; keyword arguments override ``PhaseConfig``."""
    return SamplingPhase._from_json(_native.recover_phase(_f32(x), samples_per_ui, modulation, json.dumps(config)))  # type: ignore[return-value]


def resample_at(x: Any, positions: Any, *, samples_per_ui: int = 1) -> np.ndarray:
    """Keys-cubic interpolation of ``x`` at fractional sample ``positions`` (``samples_per_ui``
    points per position interval)."""
    return _native.resample_at(_f32(x), np.asarray(positions, dtype=np.float64), samples_per_ui)


def resample_fft(x: Any, ratio: float) -> np.ndarray:
    """Band-limited resampling by ``ratio`` = output rate / input rate (like
    ``scipy.signal.resample(x, round(len(x) * ratio))``)."""
    return _native.resample_fft(_f32(x), float(ratio))
