"""Link simulation (``lightlane_core::sim``): captures with known ground truth — Tx FFE,
channel (symbol FIR, Gaussian, Bessel-Thomson, impulse, cascades), noise, jitter.

>>> import lightlane as ll
>>> m = ll.sim.LinkModel.demo_pam4()
>>> m.baud, m.fs
(53125000000.0, 256000000000.0)
>>> cap = m.run(ll.pattern.Pattern("prbs13q").generate(5000))
>>> len(cap.waveform) > 5000 * 4
True
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, Iterator

import numpy as np

from . import _native
from .io import Waveform

__all__ = ["LinkModel", "SimCapture"]


class LinkModel:
    """Parameters of a simulated link; every field of ``lightlane_core::sim::LinkModel`` is an
    attribute (``modulation``, ``baud``, ``fs``, ``amplitude``, ``offset``, ``tx_ffe``,
    ``tx_ffe_main``, ``channel``, ``noise``, ``jitter``, ``oversampling``,
    ``first_symbol_time``, ``seed``). Nested fields are plain dicts, as in the JSON form, e.g.
    ``m.noise = {"snr_db": 25.0}`` or ``m.channel = {"bessel_thomson": {"f3db_hz": 20e9, "order": 4}}``.

    Parameters
    ----------
    modulation : {"pam4", "nrz"}
    baud : float
        Symbol rate in Bd.
    fs : float
        Scope sample rate in Sa/s (any value >= baud).
    """

    def __init__(self, modulation: str = "pam4", *, baud: float, fs: float) -> None:
        object.__setattr__(self, "_fields", json.loads(_native.sim_model("new", modulation, baud, fs)))

    @classmethod
    def _from(cls, fields: Dict[str, Any]) -> "LinkModel":
        m = cls.__new__(cls)
        object.__setattr__(m, "_fields", fields)
        return m

    @classmethod
    def demo_pam4(cls) -> "LinkModel":
        """100G/lane PAM4 demo link: 53.125 GBd at 256 GSa/s, ISI channel + Bessel-Thomson,
        SNR 26.5 dB, RJ 0.01 UI, SJ 0.05 UI (closed eye before equalization)."""
        return cls._from(json.loads(_native.sim_model("demo_pam4", "pam4", 0.0, 0.0)))

    @classmethod
    def demo_nrz(cls) -> "LinkModel":
        """25G-class NRZ demo link."""
        return cls._from(json.loads(_native.sim_model("demo_nrz", "nrz", 0.0, 0.0)))

    @classmethod
    def from_dict(cls, fields: Dict[str, Any]) -> "LinkModel":
        """A model from its dict form (checked)."""
        return cls._from(json.loads(_native.sim_validate(json.dumps(fields))))

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a new dict (the JSON form of the Rust struct)."""
        return copy.deepcopy(self._fields)

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("_fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"LinkModel has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._fields:
            raise AttributeError(f"LinkModel has no field {name!r}")
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        self._fields[name] = value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._fields))

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def validate(self) -> None:
        """Checks every field; raises an :class:`~lightlane.InvalidParameterError` naming the bad one."""
        _native.sim_validate(json.dumps(self._fields))

    def run(self, symbols: Any) -> "SimCapture":
        """Simulates the scope capture of ``symbols`` (uint8, 0..M-1) through this link."""
        parts, timing, jitter, noise, signal = _native.sim_run(json.dumps(self._fields), np.asarray(symbols, dtype=np.uint8))
        t = json.loads(timing)
        t["edge_jitter_ui"] = jitter
        return SimCapture(Waveform._from_parts(parts), t, float(noise), float(signal))

    def __repr__(self) -> str:
        f = self._fields
        return f"LinkModel({f['modulation']!r}, baud={f['baud']:.6g}, fs={f['fs']:.6g}, channel={f['channel']!r}, noise={f['noise']!r})"


class SimCapture:
    """A simulated capture: ``waveform``, ground-truth ``symbol_times`` (``baud``,
    ``first_symbol_time``, ``n_symbols``, ``edge_jitter_ui``, ``channel_delay``), ``noise_rms``
    and ``signal_rms`` (volts)."""

    def __init__(self, waveform: Waveform, symbol_times: Dict[str, Any], noise_rms: float, signal_rms: float) -> None:
        self.waveform = waveform
        self.symbol_times = symbol_times
        self.noise_rms = noise_rms
        self.signal_rms = signal_rms

    def __repr__(self) -> str:
        return f"SimCapture({self.waveform!r}, noise_rms={self.noise_rms:.4g}, signal_rms={self.signal_rms:.4g})"
