"""Eye diagrams and TDECQ (``lightlane_core::eye``): the 2-D eye histogram of a raw capture on
its recovered clock (802.3 reference CDR), its levels and decision thresholds, the eye metrics
(RLM, eye height/width, VEC, SNDR, OMA_outer, ER — see the Rust docs for the 802.3 clauses),
a rendered PNG, and TDECQ (IEEE 802.3 Clause 121.8.5; the 802.3dj variant on request).

>>> import lightlane as ll
>>> m = ll.sim.LinkModel("pam4", baud=26.5625e9, fs=8 * 26.5625e9)
>>> m.channel = {"bessel_thomson": {"f3db_hz": 0.75 * m.baud, "order": 4}}
>>> cap = m.run(ll.pattern.Pattern("prbs13q").generate(8000))
>>> e = ll.eye.eye_diagram(cap, baud=m.baud)
>>> e.image.shape, len(e.levels), len(e.thresholds)
((256, 256), 4, 3)
>>> e.png()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import _native
from ._records import Record
from .exceptions import InvalidParameterError, _raise
from .io import Waveform, read_capture

__all__ = ["Eye", "TdecqResult", "eye_diagram", "tdecq"]


def _samples(capture: Any, fs: Optional[float]) -> Tuple[np.ndarray, float, Optional[str]]:
    """(float32 samples, fs, vertical unit) of a path, Waveform, SimCapture or 1-D array."""
    cap = getattr(capture, "waveform", capture)  # SimCapture -> Waveform
    if isinstance(cap, (str, os.PathLike)):
        cap = read_capture(cap)
    if isinstance(cap, Waveform):
        return cap.samples, cap.fs if fs is None else float(fs), cap.meta.get("vertical_unit")
    samples = np.asarray(cap, dtype=np.float32)
    if samples.ndim != 1:
        _raise(InvalidParameterError, f"invalid capture: expected a 1-D array, got shape {samples.shape}",
               name="capture", value=str(samples.shape), reason="expected a 1-D array")
    if fs is None:
        _raise(InvalidParameterError, "invalid fs = None: the sample rate is required with an array",
               name="fs", value="None", reason="the sample rate is required with an array")
    return samples, float(fs), None  # type: ignore[arg-type]


class Eye:
    """An eye diagram (result of :func:`eye_diagram`).

    ``image[amp_bin, time_bin]``: the histogram counts (uint32, row 0 = lowest amplitude);
    ``extent``: (t_min, t_max, v_min, v_max) in UI and capture units, as ``imshow`` takes it, so
    :func:`lightlane.plot.eye` draws it directly; ``levels``, ``level_sigma``, ``thresholds``:
    the N level means/σ at the sampling instant and the N−1 decision thresholds; ``metrics``:
    the eye metrics as a dict; ``warnings``: degenerate cases (clipping, closed eye, …);
    ``png()``: the rendered picture (also shown by Jupyter through ``_repr_png_``).
    """

    image: np.ndarray
    extent: Tuple[float, float, float, float]
    levels: List[float]
    level_sigma: List[float]
    thresholds: List[float]
    unit: str
    modulation: str
    metrics: Dict[str, Any]
    warnings: List[str]
    samples: int
    columns_per_sample: int
    baud: Optional[float]

    def __init__(self, image: np.ndarray, extent: Tuple[float, float, float, float], diagram: Mapping[str, Any],
                 metrics: Mapping[str, Any], png: bytes) -> None:
        self.image = image
        self.extent = (float(extent[0]), float(extent[1]), float(extent[2]), float(extent[3]))
        self.levels = list(diagram["levels"])
        self.level_sigma = list(diagram["level_sigma"])
        self.thresholds = list(diagram["thresholds"])
        self.unit = str(diagram["unit"])
        self.modulation = str(diagram["modulation"])
        self.warnings = list(diagram["warnings"])
        self.samples = int(diagram["samples"])
        self.columns_per_sample = int(diagram["columns_per_sample"])
        self.baud = diagram.get("baud")
        self.metrics = dict(metrics)
        self._png = png

    @property
    def total(self) -> int:
        """Histogram hits: ``(samples − 1) · columns_per_sample`` when no data lies outside the range."""
        return int(self.image.sum(dtype=np.uint64))

    def png(self) -> bytes:
        """The eye rendered as PNG bytes (log density, viridis, levels, thresholds, BER contours)."""
        return self._png

    def _repr_png_(self) -> bytes:
        return self._png

    def __repr__(self) -> str:
        lv = ", ".join(f"{v:.4g}" for v in self.levels)
        return f"Eye({self.modulation}, {self.image.shape[1]}x{self.image.shape[0]} bins, levels=[{lv}] {self.unit})"


class TdecqResult(Record):
    """TDECQ result (:func:`tdecq`): ``tdecq_db``, ``sigma_g``, ``c_eq``, ``oma_outer``,
    ``p_ave``, ``thresholds``, ``taps``, ``main_tap``, ``ser`` (left, right), ``evaluations``;
    also a read-only mapping (``to_dict()`` for a plain dict)."""


def eye_diagram(
    capture: Any,
    *,
    fs: Optional[float] = None,
    baud: float,
    modulation: str = "pam4",
    samples_per_ui: int = 32,
    span_ui: int = 2,
    time_bins: int = 256,
    amp_bins: int = 256,
    metrics_config: Optional[Mapping[str, Any]] = None,
) -> Eye:
    """The eye diagram of a raw capture: 802.3 reference CDR at ``baud``, resampling to
    ``samples_per_ui`` (even, 2..=256; symbol centres at 0.5 UI), a ``time_bins`` ×
    ``amp_bins`` histogram over ``span_ui`` (1 or 2) UI with an automatic amplitude range, the
    levels/thresholds of ``modulation`` ("pam4" or "nrz") and the eye metrics.

    Parameters
    ----------
    capture : path, Waveform, SimCapture or 1-D array
        The raw capture (``fs`` is required with an array).
    fs : float, optional
        Sample rate in Sa/s (overrides the waveform's).
    baud : float
        Nominal symbol rate.
    metrics_config : mapping, optional
        Overrides of ``EyeMetricsConfig`` (``target_ber``, ``eh_window_ui``, ...).

    Raises :class:`lightlane.LightlaneError` subclasses on bad input (e.g.
    :class:`~lightlane.InvalidParameterError` for an odd ``samples_per_ui``,
    :class:`~lightlane.UnusableSignalError` for a signal without distinct levels).

    >>> import lightlane as ll
    >>> m = ll.sim.LinkModel.demo_pam4()   # closed eye before equalization: still a histogram
    >>> e = ll.eye.eye_diagram(m.run(ll.pattern.Pattern("prbs13q").generate(8000)), baud=m.baud,
    ...                        time_bins=128, amp_bins=64)
    >>> e.image.shape, e.total == (e.samples - 1) * e.columns_per_sample
    ((64, 128), True)
    """
    samples, fs_, unit = _samples(capture, fs)
    mc = None if metrics_config is None else json.dumps(dict(metrics_config))
    image, extent, diagram, metrics, png = _native.eye_diagram(
        samples, fs_, float(baud), modulation, samples_per_ui, span_ui, time_bins, amp_bins, unit, mc
    )
    return Eye(image, extent, json.loads(diagram), json.loads(metrics), png)


def tdecq(
    capture: Any,
    *,
    baud: float,
    fs: Optional[float] = None,
    variant: str = "802.3cd",
    config: Optional[Mapping[str, Any]] = None,
) -> TdecqResult:
    """TDECQ of a raw PAM4 optical capture (IEEE 802.3 Clause 121.8.5): 4th-order
    Bessel–Thomson reference receiver (f3dB = 0.5·baud), reference CDR, T-spaced 5-tap reference
    FFE optimized to minimize TDECQ, target SER 4.8e-4. ``variant="802.3dj"`` selects the
    200G/λ parameters (15 taps, draft tap bounds, SER 9.6e-3); ``config`` overrides single
    ``TdecqConfig`` fields (e.g. ``{"scope_noise_sigma": 1e-4, "optimize_ffe": False}``).
    The reference receiver is bypassed when ``reference_f3db_per_baud · baud ≥ fs/2``. Only the
    part of the capture after the reference CDR has settled is measured. Note that the BT4's own
    ISI costs an ideal rectangular-edged PAM4 capture about 0.4 dB with the 5-tap FFE.

    >>> import lightlane as ll
    >>> m = ll.sim.LinkModel("pam4", baud=26.5625e9, fs=8 * 26.5625e9)
    >>> m.channel = {"bessel_thomson": {"f3db_hz": 0.75 * m.baud, "order": 4}}
    >>> r = ll.eye.tdecq(m.run(ll.pattern.Pattern("prbs13q").generate(8000)), baud=m.baud)
    >>> r.tdecq_db < 3.0, len(r.taps)
    (True, 5)
    """
    samples, fs_, unit = _samples(capture, fs)
    cfg = None if config is None else json.dumps(dict(config))
    return TdecqResult(json.loads(_native.tdecq(samples, fs_, float(baud), variant, cfg, unit)))
