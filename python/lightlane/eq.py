"""Equalizers (``lightlane_core::eq``): FFE (fixed, MMSE-trained, adaptive LMS/NLMS/RLS), the
802.3 two-stage CTLE (Annex 93A-22), DFE and MLSE (Viterbi).

>>> import numpy as np, lightlane as ll
>>> ffe = ll.eq.Ffe([0.0, 1.0, -0.25], reference_tap=1)
>>> ffe.equalize(np.array([0, 1, 0, 0], dtype=np.float32))
array([ 0.  ,  1.  , -0.25,  0.  ], dtype=float32)
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _native
from ._records import Record
from .filter import Fir, _along_axis

__all__ = [
    "Fir",
    "Ffe",
    "FfeTraining",
    "AdaptResult",
    "adapt_ffe",
    "Ctle",
    "Dfe",
    "Mlse",
    "ErrorPropagation",
    "error_propagation",
]


def _f32(x: Any) -> Any:
    # Pass float32 arrays through untouched (zero copy); convert anything else once.
    return x if isinstance(x, np.ndarray) and x.dtype == np.float32 else np.asarray(x, dtype=np.float32)


class Ffe:
    """Feed-forward equalizer: ``y[k] = sum_j w[j] * x[k*sps + c - j]`` (zeros outside ``x``).

    Parameters
    ----------
    taps : array_like
        1 to 1024 finite taps.
    samples_per_symbol : int
        Input samples per UI (1 = T-spaced, 2 = T/2-spaced).
    reference_tap : int, optional
        Main-cursor index ``c``; default ``n_taps // 4`` rounded to a multiple of
        ``samples_per_symbol`` (3 precursors for 15 T-spaced taps, as 802.3dj allows).
    """

    def __init__(self, taps: Any, *, samples_per_symbol: int = 1, reference_tap: Optional[int] = None) -> None:
        self._inner = _native.Ffe(_f32(taps), samples_per_symbol=samples_per_symbol, reference_tap=reference_tap)

    @classmethod
    def _wrap(cls, native: Any) -> "Ffe":
        f = cls.__new__(cls)
        f._inner = native
        return f

    @classmethod
    def identity(cls, n_taps: int, *, samples_per_symbol: int = 1, reference_tap: int = 0) -> "Ffe":
        """The pass-through equalizer (tap ``reference_tap`` = 1)."""
        return cls._wrap(_native.Ffe.identity(n_taps, samples_per_symbol=samples_per_symbol, reference_tap=reference_tap))

    @classmethod
    def train_mmse(
        cls,
        x: Any,
        target: Any,
        *,
        n_taps: int = 15,
        samples_per_symbol: int = 1,
        reference_tap: Optional[int] = None,
        delay_search: int = 4,
        ridge: float = 1e-6,
    ) -> "FfeTraining":
        """MMSE (least-squares) taps mapping ``x`` onto the ideal levels ``target``.

        Searches delays ``±delay_search`` symbols; returns an :class:`FfeTraining` with the
        equalizer (``.ffe``), ``mse``, ``delay``, ``snr_db``, ``n_symbols``, ``mse_by_delay``.

        >>> import numpy as np, lightlane as ll
        >>> rng = np.random.default_rng(1)
        >>> s = rng.choice([-1.0, 1.0], 4000).astype(np.float32)
        >>> x = np.convolve(s, [1.0, 0.4])[: len(s)].astype(np.float32)
        >>> t = ll.eq.Ffe.train_mmse(x, s, n_taps=9)
        >>> bool(t.mse < 1e-3)
        True
        """
        cfg = {
            "n_taps": n_taps,
            "samples_per_symbol": samples_per_symbol,
            "reference_tap": reference_tap,
            "delay_search": delay_search,
            "ridge": ridge,
        }
        ffe, js = _native.ffe_train_mmse(_f32(x), _f32(target), json.dumps(cfg))
        fields = json.loads(js)
        fields["ffe"] = cls._wrap(ffe)
        return FfeTraining(fields)

    @property
    def taps(self) -> np.ndarray:
        """The taps (a copy)."""
        return self._inner.taps

    @property
    def samples_per_symbol(self) -> int:
        """Input samples per UI."""
        return int(self._inner.samples_per_symbol)

    @property
    def reference_tap(self) -> int:
        """Index of the main-cursor tap."""
        return int(self._inner.reference_tap)

    def equalize(self, x: Any, *, axis: int = -1, out: Optional[np.ndarray] = None) -> np.ndarray:
        """One output per symbol (``len(x) // samples_per_symbol`` values).

        ``x`` is read in place when it is C-contiguous float32; N-D input is equalized along
        ``axis``. ``out`` (1-D input only: C-contiguous float32 of the output length) is written
        in place, so a loop allocates nothing. The GIL is released while the SIMD kernel runs.
        """
        native = self._inner
        return _along_axis(lambda r, o=None: native.equalize(_f32(r), out=o), x, axis, out)

    def __repr__(self) -> str:
        return f"Ffe({len(self.taps)} taps, samples_per_symbol={self.samples_per_symbol}, reference_tap={self.reference_tap})"


class FfeTraining(Record):
    """Result of :meth:`Ffe.train_mmse` (fields ``ffe``, ``mse``, ``delay``, ``snr_db``, ``n_symbols``, ``mse_by_delay``)."""

    def to_dict(self) -> Dict[str, Any]:
        d = {k: v for k, v in self._fields.items() if k != "ffe"}
        d = json.loads(json.dumps(d))
        f = self._fields["ffe"]
        d["ffe"] = {"taps": f.taps.tolist(), "samples_per_symbol": f.samples_per_symbol, "reference_tap": f.reference_tap}
        return d


class AdaptResult(Record):
    """Result of :func:`adapt_ffe`: ``ffe`` (final taps), ``output``, ``mse_trace``, ``training_mse``, ``trained_symbols``."""


def adapt_ffe(
    x: Any,
    *,
    init: Ffe,
    levels: Any,
    targets: Any = None,
    rule: str = "lms",
    mu: float = 1e-3,
    lam: float = 0.999,
    delta: float = 1e-2,
    training_symbols: int = 4096,
    decision_directed: bool = True,
    passes: int = 1,
    trace_decimation: int = 256,
) -> AdaptResult:
    """Adapts an FFE sample by sample (LMS, NLMS, sign-sign LMS or RLS).

    Parameters
    ----------
    x : array_like
        Input, ``init.samples_per_symbol`` samples per UI.
    init : Ffe
        Starting taps (and spacing / reference tap).
    levels : array_like
        Slicer levels for the decision-directed part (e.g. ``ll.modulation.levels("pam4")``).
    targets : array_like, optional
        Ideal levels of the first symbols, for training.
    rule : {"lms", "nlms", "sign_sign_lms", "rls"}
        Update rule; ``mu`` is its step, ``lam``/``delta`` the RLS forgetting factor and
        initial regularisation.
    """
    rule_l = rule.lower()
    if rule_l == "rls":
        adaptation: Dict[str, Any] = {"rule": "rls", "lambda": lam, "delta": delta}
    else:
        adaptation = {"rule": rule_l, "mu": mu}
    cfg = {
        "adaptation": adaptation,
        "training_symbols": training_symbols,
        "decision_directed": decision_directed,
        "passes": passes,
        "trace_decimation": trace_decimation,
    }
    t = None if targets is None else _f32(targets)
    ffe, out, js = _native.adapt_ffe(_f32(x), init.samples_per_symbol, t, init._inner, _f32(levels), json.dumps(cfg))
    fields = json.loads(js)
    fields["ffe"] = Ffe._wrap(ffe)
    fields["output"] = out
    fields["mse_trace"] = np.asarray(fields["mse_trace"], dtype=np.float64)
    if fields.get("training_mse") is None:
        fields["training_mse"] = float("nan")
    return AdaptResult(fields)


class Ctle:
    """The two-stage CTLE of IEEE 802.3 Annex 93A-22, realised as an FIR at sample rate ``fs``.

    Build from a preset with :meth:`ieee_8023dj` / :meth:`ieee_8023ck`, or from the pole/zero
    fields (``gdc_db``, ``fz_hz``, ``fp1_hz``, ``fp2_hz``, ``gdc2_db``, ``f_lf_hz``).

    >>> import lightlane as ll
    >>> c = ll.eq.Ctle.ieee_8023ck(53.125e9, fs=256e9, gdc_db=-6)
    >>> round(float(abs(c.response([0.0])[0])), 4)
    0.5012
    """

    def __init__(self, *, fs: float, gdc_db: float, fz_hz: float, fp1_hz: float, fp2_hz: float,
                 gdc2_db: float = 0.0, f_lf_hz: float = 1.0e9) -> None:
        # f_lf_hz only matters when gdc2_db != 0 (the low-frequency stage is 1 otherwise).
        cfg = dict(gdc_db=gdc_db, fz_hz=fz_hz, fp1_hz=fp1_hz, fp2_hz=fp2_hz, gdc2_db=gdc2_db, f_lf_hz=f_lf_hz)
        self._inner = _native.Ctle(json.dumps(cfg), fs)

    @classmethod
    def _preset(cls, name: str, baud: float, fs: float, gdc_db: float, gdc2_db: float) -> "Ctle":
        cfg = json.loads(_native.ctle_preset(name, baud))
        cfg.update(gdc_db=gdc_db, gdc2_db=gdc2_db)
        return cls(fs=fs, **cfg)

    @classmethod
    def ieee_8023dj(cls, baud: float, *, fs: float, gdc_db: float = 0.0, gdc2_db: float = 0.0) -> "Ctle":
        """802.3dj electrical CTLE scaled to ``baud`` (``f_z = f_p1 = baud/2.5``, ``f_p2 = baud``)."""
        return cls._preset("ieee_8023dj", baud, fs, gdc_db, gdc2_db)

    @classmethod
    def ieee_8023ck(cls, baud: float, *, fs: float, gdc_db: float = 0.0, gdc2_db: float = 0.0) -> "Ctle":
        """802.3ck C2M CTLE (Annex 120G) scaled to ``baud``."""
        return cls._preset("ieee_8023ck", baud, fs, gdc_db, gdc2_db)

    @property
    def config(self) -> Dict[str, float]:
        """The pole/zero fields."""
        return dict(json.loads(self._inner.config_json))

    @property
    def fs(self) -> float:
        """Sample rate the filter was planned for."""
        return float(self._inner.fs)

    @property
    def n_taps(self) -> int:
        """Length of the realised FIR."""
        return int(self._inner.n_taps)

    def apply(self, x: Any, *, axis: int = -1) -> np.ndarray:
        """Filters ``x`` along ``axis`` (same length out, delay compensated)."""
        native = self._inner
        return _along_axis(lambda r, o=None: native.apply(_f32(r)), x, axis, None)

    def response(self, f_hz: Any, *, realised: bool = False) -> np.ndarray:
        """Complex response ``H(f)`` at frequencies ``f_hz`` (the analytic 93A-22 formula, or the
        realised FIR with ``realised=True``)."""
        re, im = self._inner.response(np.atleast_1d(np.asarray(f_hz, dtype=np.float64)), realised=realised)
        return re + 1j * im


class Dfe:
    """Decision-feedback equalizer: slices ``y[k] - sum_i b[i] * level(d[k-1-i])``.

    Parameters
    ----------
    taps : array_like
        Feedback taps ``b`` (normalised to the main cursor).
    levels : array_like
        Slicer levels (ascending).
    modulation : {"pam4", "nrz"}
    """

    def __init__(self, taps: Any, levels: Any, *, modulation: str = "pam4") -> None:
        self._inner = _native.Dfe(_f32(taps), _f32(levels), modulation)

    @classmethod
    def train(cls, y: Any, known_symbols: Any, *, n_taps: int = 1, modulation: str = "pam4") -> "Dfe":
        """Least-squares DFE for the equalized ``y`` whose true symbols are ``known_symbols``."""
        d = cls.__new__(cls)
        d._inner = _native.Dfe.train(_f32(y), np.asarray(known_symbols, dtype=np.uint8), n_taps, modulation)
        return d

    @property
    def taps(self) -> np.ndarray:
        """Feedback taps."""
        return self._inner.taps

    @property
    def levels(self) -> np.ndarray:
        """Slicer levels."""
        return self._inner.levels

    @property
    def modulation(self) -> str:
        """``"pam4"`` or ``"nrz"``."""
        return str(self._inner.modulation)

    def detect(self, y: Any) -> np.ndarray:
        """Symbol decisions (uint8) for each input value."""
        return self._inner.detect(_f32(y))


class Mlse:
    """Maximum-likelihood sequence detector (Viterbi) for a short channel memory (1 or 2).

    Parameters
    ----------
    target : array_like
        Channel model, main cursor first (``[1, alpha]`` for a 1 + alpha D target).
    levels : array_like
        Level of each symbol value.
    modulation : {"pam4", "nrz"}
    """

    def __init__(self, target: Any, levels: Any, *, modulation: str = "pam4") -> None:
        self._inner = _native.Mlse(_f32(target), _f32(levels), modulation)

    @classmethod
    def fit_linear(cls, y: Any, known_symbols: Any, *, memory: int = 1, modulation: str = "pam4") -> Tuple["Mlse", np.ndarray]:
        """Least-squares linear channel model from known symbols: ``(detector, target)``."""
        native, target = _native.Mlse.fit_linear(_f32(y), np.asarray(known_symbols, dtype=np.uint8), memory, modulation)
        m = cls.__new__(cls)
        m._inner = native
        return m, target

    @classmethod
    def fit_table(cls, y: Any, known_symbols: Any, *, memory: int = 1, modulation: str = "pam4") -> "Mlse":
        """Table model (mean of ``y`` per symbol history) from known symbols."""
        m = cls.__new__(cls)
        m._inner = _native.Mlse.fit_table(_f32(y), np.asarray(known_symbols, dtype=np.uint8), memory, modulation)
        return m

    @property
    def memory(self) -> int:
        """Channel memory in symbols."""
        return int(self._inner.memory)

    @property
    def states(self) -> int:
        """Trellis states."""
        return int(self._inner.states)

    @property
    def modulation(self) -> str:
        """``"pam4"`` or ``"nrz"``."""
        return str(self._inner.modulation)

    @property
    def expected(self) -> np.ndarray:
        """Expected noiseless value of each branch of the trellis."""
        return self._inner.expected

    def detect(self, y: Any) -> np.ndarray:
        """Most likely symbol sequence (uint8)."""
        return self._inner.detect(_f32(y))


class ErrorPropagation(Record):
    """Burst statistics of decisions against the truth (DFE error propagation)."""


def error_propagation(decisions: Any, truth: Any, *, max_gap: int = 0) -> ErrorPropagation:
    """Error bursts of ``decisions`` against ``truth`` (consecutive errors separated by at most
    ``max_gap`` correct symbols form one burst)."""
    js = _native.error_propagation(np.asarray(decisions, dtype=np.uint8), np.asarray(truth, dtype=np.uint8), max_gap)
    return ErrorPropagation._from_json(js)  # type: ignore[return-value]
