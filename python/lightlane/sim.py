"""Link simulation (``lightlane_core::sim``): captures with known ground truth — Tx FFE,
channel (symbol FIR, Gaussian, Bessel-Thomson, impulse, cascades), noise, jitter — and the
optical IM/DD link (:class:`OpticalLink`: :class:`OpticalTransmitter`, :class:`Fiber`,
:class:`OpticalReceiver`) with :func:`emulate_fiber` for captures and the 802.3 PMD
:func:`dispersion_corners`.

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
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

import numpy as np

from . import _native
from .exceptions import InvalidParameterError, _raise
from .io import Waveform

__all__ = [
    "LinkModel",
    "SimCapture",
    "OpticalTransmitter",
    "Fiber",
    "OpticalReceiver",
    "OpticalLink",
    "OpticalCapture",
    "DispersionCorners",
    "emulate_fiber",
    "dispersion_corners",
]


class _FieldRecord:
    """Fields of a Rust configuration struct as attributes (its JSON form; nested fields are
    plain dicts). Reading or setting an unknown field raises ``AttributeError``; values set are
    stored in their JSON-ready form (numpy arrays/scalars and parts as lists, numbers, dicts)
    and checked by the subclass's ``validate`` and when the object is used."""

    _fields: Dict[str, Any]

    @classmethod
    def _from(cls, fields: Dict[str, Any]) -> Any:
        record = cls.__new__(cls)
        object.__setattr__(record, "_fields", fields)
        return record

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a new dict (the JSON form of the Rust struct)."""
        return copy.deepcopy(self._fields)

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("_fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._fields:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        self._fields[name] = _plain(value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._fields))

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields == self._fields  # type: ignore[attr-defined]

    def _repr_parts(self) -> List[str]:
        """The items ``__repr__`` shows: every field by default."""
        return [f"{k}={v!r}" for k, v in self._fields.items()]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_parts())})"


class LinkModel(_FieldRecord):
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

    def validate(self) -> None:
        """Checks every field; raises an :class:`~lightlane.InvalidParameterError` naming the bad one."""
        _native.sim_validate(json.dumps(self._fields))

    def run(self, symbols: Any) -> "SimCapture":
        """Simulates the scope capture of ``symbols`` (uint8, 0..M-1) through this link."""
        parts, timing, jitter, noise, signal = _native.sim_run(json.dumps(self._fields), np.asarray(symbols, dtype=np.uint8))
        t = json.loads(timing)
        t["edge_jitter_ui"] = jitter
        return SimCapture(Waveform._from_parts(parts), t, float(noise), float(signal))

    def _repr_parts(self) -> List[str]:
        f = self._fields
        return [repr(f["modulation"]), f"baud={f['baud']:.6g}", f"fs={f['fs']:.6g}", f"channel={f['channel']!r}", f"noise={f['noise']!r}"]


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


def _plain(value: Any) -> Any:
    """numpy arrays/scalars and field records (optical parts) as their JSON-ready Python form."""
    if isinstance(value, _FieldRecord):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _OpticalPart(_FieldRecord):
    """One optical part (``_kind``: "tx", "fiber", "rx" or "link"), checked by the core's
    optical validation."""

    _kind = ""

    def __init__(self, **fields: Any) -> None:
        """The part's defaults (``lightlane_core``'s ``Default``) with ``fields`` over them."""
        base = json.loads(_native.optical_default(self._kind, "pam4", 0.0, 0.0))
        base.update(fields)
        self._set_checked(base)

    def _set_checked(self, fields: Dict[str, Any]) -> None:
        object.__setattr__(self, "_fields", type(self)._checked(fields)._fields)

    @classmethod
    def _checked(cls, fields: Dict[str, Any]) -> Any:
        return cls._from(json.loads(_native.optical_validate(cls._kind, json.dumps(_plain(fields)))))

    @classmethod
    def from_dict(cls, fields: Dict[str, Any]) -> Any:
        """The part from its dict form (checked; missing fields take their defaults)."""
        return cls._checked(dict(fields))

    def validate(self) -> None:
        """Checks every field; raises an :class:`~lightlane.InvalidParameterError` naming the bad one."""
        _native.optical_validate(self._kind, json.dumps(self._fields))


class OpticalTransmitter(_OpticalPart):
    """Laser/modulator of an optical link (``lightlane_core::sim::optical::OpticalTransmitter``).

    Keyword arguments set fields (defaults in brackets): ``power`` ({"average_dbm": 0.0}; or
    ``average_mw``, ``oma_dbm``, ``oma_mw``), ``extinction_ratio_db`` (5, > 0), ``levels``
    (normalised level per symbol, None: equally spaced), ``bandwidth`` (a simulator channel,
    "ideal"), ``tx_ffe`` ([1.0]), ``tx_ffe_main`` (0), ``rin_db_per_hz`` (None), ``chirp``
    ({"alpha": 0.0, "adiabatic_k_per_w_s": 0.0}).

    >>> import lightlane as ll
    >>> tx = ll.sim.OpticalTransmitter(extinction_ratio_db=4.5, rin_db_per_hz=-145.0, chirp={"alpha": -0.5})
    >>> tx.extinction_ratio_db, tx.power
    (4.5, {'average_dbm': 0.0})
    >>> ll.sim.OpticalTransmitter(extinction_ratio_db=0.0)
    Traceback (most recent call last):
    ...
    lightlane.exceptions.InvalidParameterError: invalid tx.extinction_ratio_db = 0: ...
    """

    _kind = "tx"


class OpticalReceiver(_OpticalPart):
    """Photodiode and TIA of an optical link (``lightlane_core::sim::optical::OpticalReceiver``).

    Keyword arguments set fields (defaults in brackets): ``responsivity_a_per_w`` (0.8),
    ``apd_gain`` (1: PIN), ``excess_noise_factor`` (1), ``dark_current_a`` (0),
    ``thermal_noise_pa_per_rthz`` (0), ``shot_noise`` (True), ``bandwidth`` (TIA response,
    "ideal"), ``output`` ("watts", "amperes" or {"volts": {"transimpedance_ohm": R}}).

    >>> import lightlane as ll
    >>> ll.sim.OpticalReceiver(thermal_noise_pa_per_rthz=15.0).responsivity_a_per_w
    0.8
    """

    _kind = "rx"


class Fiber(_OpticalPart):
    """A length of single-mode fibre (``lightlane_core::sim::optical::Fiber``): chromatic
    dispersion on the optical field (IEEE 802.3 SMF formula ``D(λ) = S0/4·(λ − λ0⁴/λ³)`` by
    default, S0 = 0.092 ps/(nm²·km), λ0 = 1312 nm; or ``dispersion={"model": "explicit",
    "ps_per_nm_km": D}``) and attenuation (``attenuation_db_per_km``, default 0.35).

    Parameters
    ----------
    length_km : float
        Length, 0 ..= 10000 km.
    wavelength_nm : float
        Carrier wavelength, 1260 ..= 1625 nm.

    >>> import lightlane as ll
    >>> f = ll.sim.Fiber(2.0, 1550.0)
    >>> round(f.accumulated_dispersion_ps_per_nm, 1), round(f.power_transmission, 3)
    (34.7, 0.851)
    >>> ll.sim.Fiber(-1.0, 1310.0)
    Traceback (most recent call last):
    ...
    lightlane.exceptions.InvalidParameterError: invalid fiber.length_km = -1: ...
    """

    _kind = "fiber"

    def __init__(self, length_km: float, wavelength_nm: float, **fields: Any) -> None:
        base: Dict[str, Any] = {"length_km": length_km, "wavelength_nm": wavelength_nm}
        base.update(fields)
        self._set_checked(base)

    @classmethod
    def with_accumulated_dispersion(cls, ps_per_nm: float, wavelength_nm: float) -> "Fiber":
        """A lossless fibre with the given accumulated dispersion (ps/nm, either sign): how a
        PMD's dispersion corner is emulated."""
        return cls(1.0, wavelength_nm, dispersion={"model": "explicit", "ps_per_nm_km": ps_per_nm}, attenuation_db_per_km=0.0)

    @property
    def accumulated_dispersion_ps_per_nm(self) -> float:
        """Accumulated dispersion D(λ)·L at the fibre's wavelength, ps/nm."""
        return float(_native.optical_fiber_info(json.dumps(self._fields))[0])

    @property
    def power_transmission(self) -> float:
        """Power transmission ``10^(−attenuation·L/10)``."""
        return float(_native.optical_fiber_info(json.dumps(self._fields))[1])

    @property
    def beta2_s2_per_m(self) -> float:
        """Group-velocity dispersion β₂ = −D·λ²/(2πc), s²/m."""
        return float(_native.optical_fiber_info(json.dumps(self._fields))[2])


class OpticalCapture:
    """A simulated optical capture: ``waveform`` (receiver output units, W by default),
    ground-truth ``symbol_times`` (``baud``, ``first_symbol_time``, ``n_symbols``,
    ``channel_delay``, ``edge_jitter_ui``), ``tx_levels`` (``levels_w``, ``average_w``,
    ``oma_w``), ``received_average_w``, ``fs_internal`` and ``scope_noise_rms``."""

    def __init__(self, waveform: Waveform, info: Dict[str, Any]) -> None:
        self.waveform = waveform
        self.symbol_times: Dict[str, Any] = info["symbol_times"]
        self.tx_levels: Dict[str, Any] = info["tx_levels"]
        self.received_average_w = float(info["received_average_w"])
        self.fs_internal = float(info["fs_internal"])
        self.scope_noise_rms = float(info["scope_noise_rms"])

    def __repr__(self) -> str:
        return f"OpticalCapture({self.waveform!r}, received_average_w={self.received_average_w:.4g})"


class OpticalLink(_OpticalPart):
    """An optical IM/DD link (``lightlane_core::sim::optical::OpticalLink``): transmitter →
    fibre → photodiode/TIA → scope, the same model as ``lightlane simulate LINK.toml`` (the
    ``[link]`` table of a link file is :meth:`from_dict`'s input, e.g. from ``tomllib``).

    Fields: ``modulation``, ``baud``, ``tx`` (an :class:`OpticalTransmitter` or its dict),
    ``fiber`` (a :class:`Fiber`, its dict, or None: back-to-back), ``rx``
    (:class:`OpticalReceiver` or dict), ``scope`` ({"fs", "adc_bits", "adc_range", "noise"}),
    ``jitter``, ``sim_samples_per_ui`` (8), ``oversampling`` (32), ``first_symbol_ui`` (0.37),
    ``seed`` (1). Parts read back as dicts.

    Parameters
    ----------
    modulation : {"pam4", "nrz"}
    baud : float
        Symbol rate in Bd.
    fs : float
        Scope sample rate in Sa/s (≥ 2 × baud).
    tx, fiber, rx : optional
        The parts (default: 0 dBm, ER 5 dB ideal transmitter; back-to-back; noiseless ideal PIN
        receiver reporting W).
    **fields
        Any other field.

    >>> import lightlane as ll
    >>> link = ll.sim.OpticalLink("pam4", baud=26.5625e9, fs=128e9,
    ...                           tx=ll.sim.OpticalTransmitter(extinction_ratio_db=4.0),
    ...                           fiber=ll.sim.Fiber(2.0, 1310.0))
    >>> cap = link.run(ll.pattern.Pattern("prbs13q").generate(4000))
    >>> cap.waveform.meta["vertical_unit"], round(cap.received_average_w * 1e3, 3)
    ('W', 0.851)
    """

    _kind = "link"

    def __init__(
        self,
        modulation: str = "pam4",
        *,
        baud: float,
        fs: float,
        tx: Optional[Any] = None,
        fiber: Optional[Any] = None,
        rx: Optional[Any] = None,
        **fields: Any,
    ) -> None:
        base = json.loads(_native.optical_default("link", modulation, baud, fs))
        for name, part in (("tx", tx), ("fiber", fiber), ("rx", rx)):
            if part is not None:
                base[name] = part
        base.update(fields)
        self._set_checked(base)

    def run(self, symbols: Any) -> OpticalCapture:
        """Simulates the scope capture of ``symbols`` (uint8, 0..M-1; the pattern repeats, so
        the capture is in steady state)."""
        parts, info, jitter = _native.optical_run(json.dumps(self._fields), np.asarray(symbols, dtype=np.uint8))
        d = json.loads(info)
        d["symbol_times"]["edge_jitter_ui"] = jitter
        return OpticalCapture(Waveform._from_parts(parts), d)

    def _repr_parts(self) -> List[str]:
        f = self._fields
        return [repr(f["modulation"]), f"baud={f['baud']:.6g}", f"fs={f['scope']['fs']:.6g}", f"fiber={f['fiber']!r}"]


def emulate_fiber(
    capture: Any,
    fiber: Optional[Any] = None,
    *,
    length_m: Optional[float] = None,
    wavelength_nm: Optional[float] = None,
    dispersion_ps_per_nm: Optional[float] = None,
    chirp_alpha: float = 0.0,
    adiabatic_chirp_k_per_w_s: float = 0.0,
    capture_dispersion_ps_per_nm: float = 0.0,
    max_inverse_gain_db: float = 6.0,
    fs: Optional[float] = None,
) -> Waveform:
    """Applies a fibre to a captured optical power waveform (W), as scope software emulates a
    test fibre (IEEE 802.3 121.8.5: TDECQ at the PMD's dispersion corners from one
    back-to-back capture): field ``√P·e^{jφ}`` (φ from the transmitter's chirp), the fibre's
    all-pass dispersion and loss, square-law detection.

    The fibre is ``fiber`` (a :class:`Fiber` or its dict), or standard SMF of ``length_m`` at
    ``wavelength_nm``, or a lossless ``dispersion_ps_per_nm`` at ``wavelength_nm``.
    ``capture`` is a :class:`~lightlane.io.Waveform`, a capture object with ``.waveform``, or
    a 1-D array with ``fs``. ``capture_dispersion_ps_per_nm``: dispersion already in the
    capture (the difference is applied; removing more than ``max_inverse_gain_db`` of fading
    is refused). Samples within the impulse response's reach of either end are approximate
    (the capture is continued by mirroring).

    >>> import lightlane as ll
    >>> link = ll.sim.OpticalLink("pam4", baud=26.5625e9, fs=128e9)
    >>> b2b = link.run(ll.pattern.Pattern("prbs13q").generate(4000)).waveform
    >>> out = ll.sim.emulate_fiber(b2b, dispersion_ps_per_nm=-60.0, wavelength_nm=1271.0)
    >>> len(out) == len(b2b), out.meta["extra"]["emulated_dispersion_ps_per_nm"]
    (True, '-60')
    """
    given = [fiber is not None, length_m is not None, dispersion_ps_per_nm is not None]
    if sum(given) != 1:
        _raise(InvalidParameterError, "invalid fiber: give exactly one of fiber, length_m or dispersion_ps_per_nm",
               name="fiber", value=str(given), reason="give exactly one of fiber, length_m or dispersion_ps_per_nm")
    if fiber is None:
        if wavelength_nm is None:
            _raise(InvalidParameterError, "invalid wavelength_nm = None: required with length_m or dispersion_ps_per_nm",
                   name="wavelength_nm", value="None", reason="required with length_m or dispersion_ps_per_nm")
        if length_m is not None:
            fiber = Fiber(float(length_m) / 1e3, float(wavelength_nm))  # type: ignore[arg-type]
        else:
            fiber = Fiber.with_accumulated_dispersion(float(dispersion_ps_per_nm), float(wavelength_nm))  # type: ignore[arg-type]
    cap = getattr(capture, "waveform", capture)
    if isinstance(cap, Waveform):
        samples, fs_, t0, meta = cap.samples, cap.fs if fs is None else float(fs), cap.t0, cap.meta
    else:
        samples = np.asarray(cap, dtype=np.float32)
        if samples.ndim != 1 or fs is None:
            _raise(InvalidParameterError, "invalid capture: expected a Waveform, or a 1-D array with fs",
                   name="capture", value=str(samples.shape), reason="expected a Waveform, or a 1-D array with fs")
        fs_, t0, meta = float(fs), 0.0, Waveform(samples, float(fs), meta={"vertical_unit": "W"}).meta  # type: ignore[arg-type]
    options = {
        "chirp": {"alpha": float(chirp_alpha), "adiabatic_k_per_w_s": float(adiabatic_chirp_k_per_w_s)},
        "capture_dispersion_ps_per_nm": float(capture_dispersion_ps_per_nm),
        "max_inverse_gain_db": float(max_inverse_gain_db),
    }
    parts = _native.optical_emulate(
        samples, fs_, float(t0), json.dumps(meta), json.dumps(_plain(fiber)), json.dumps(options)
    )
    return Waveform._from_parts(parts)


class DispersionCorners(NamedTuple):
    """The test-fibre dispersion range of an IEEE 802.3 optical PMD (result of
    :func:`dispersion_corners`)."""

    min_ps_per_nm: float
    max_ps_per_nm: float
    wavelength_min_nm: float
    wavelength_max_nm: float
    reach_m: float


def dispersion_corners(preset: str) -> DispersionCorners:
    """Minimum and maximum test-fibre dispersion (ps/nm) of an optical preset's PMD, from its
    reach and wavelength range with the 802.3 SMF model (e.g. 400GBASE-DR4: −0.93 and +0.79
    ps/nm, Table 124-13 style); raises :class:`~lightlane.InvalidParameterError` for an unknown
    or electrical preset.

    >>> import lightlane as ll
    >>> c = ll.sim.dispersion_corners("400GBASE-DR4")
    >>> round(c.min_ps_per_nm, 2), round(c.max_ps_per_nm, 2), c.reach_m
    (-0.93, 0.79, 500.0)
    """
    return DispersionCorners(*_native.optical_corners(preset))
