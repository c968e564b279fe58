"""The main job (``lightlane_core::analysis::analyze``): capture in, report out — timing, FFE
trained by MMSE against the pattern, slicing, pattern check (BER/SER), FEC codeword statistics.
Configured exactly as ``lightlane analyze`` configures it, so the report of a file equals the
CLI's JSON for the same options.
"""

from __future__ import annotations

import html
import json
import os
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Union

import numpy as np

from . import _native
from ._records import Record, _short
from .exceptions import InvalidParameterError, _raise
from .io import Waveform

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["Report", "analyze"]

#: Fields shown first by ``Report._repr_html_``.
_HEADLINE = ("file", "modulation", "baud", "pattern", "equalizer", "engine", "bits", "bit_errors", "ber", "ser", "ffe_mse_db")


class Report(Record):
    """The result of analysing one capture. Fields are the CLI's JSON keys (``ber``,
    ``ber_ci95``, ``ser``, ``baud``, ``ffe_taps``, ``levels``, ``stages``, ``fec``, ``warnings``,
    ``engine``…);
    plus ``decisions`` (the decided symbols, uint8) and ``config`` (the effective
    configuration) as attributes outside the JSON.
    """

    decisions: np.ndarray
    config: Dict[str, Any]

    def __init__(self, fields: Mapping[str, Any], decisions: Optional[np.ndarray] = None,
                 config: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(fields)
        object.__setattr__(self, "decisions", np.zeros(0, np.uint8) if decisions is None else decisions)
        object.__setattr__(self, "config", config or {})

    def to_pandas(self) -> "pandas.DataFrame":
        """One-row DataFrame; nested fields flattened with dots (``fec.cer``), lists kept as objects."""
        import pandas as pd

        return pd.json_normalize(self.to_dict())

    def _repr_html_(self) -> str:
        f = self._fields
        rows = []
        for k in _HEADLINE:
            if k in f:
                rows.append(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{html.escape(_short(f[k], 80))}</td></tr>")
        fec = f.get("fec")
        if fec:
            for k in ("code", "codewords", "cer", "post_fec_ber", "max_symbol_errors", "frame_loss_ratio"):
                rows.append(f"<tr><th style='text-align:left'>fec.{k}</th><td style='text-align:left'>{html.escape(_short(fec.get(k)))}</td></tr>")
        for w in f.get("warnings") or []:
            rows.append(f"<tr><th style='text-align:left'>warning</th><td style='text-align:left'>{html.escape(w)}</td></tr>")
        return f"<table><caption>lightlane Report</caption>{''.join(rows)}</table>"

    def plot(self) -> Any:
        """FFE taps and the FEC histogram side by side (matplotlib); returns the figure."""
        import matplotlib.pyplot as plt

        from . import plot as llplot

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        llplot.taps(self, ax=axes[0])
        if self._fields.get("fec"):
            llplot.fec_histogram(self._fields["fec"], ax=axes[1])
        else:
            axes[1].set_axis_off()
        fig.tight_layout()
        return fig


CaptureLike = Union[str, "os.PathLike[str]", Waveform, np.ndarray, Any]


def analyze(
    capture: CaptureLike,
    *,
    fs: Optional[float] = None,
    baud: Optional[float] = None,
    modulation: Optional[str] = None,
    pattern: Optional[str] = None,
    equalizer: Optional[str] = None,
    cdr: str = "pll",
    precoding: bool = False,
    channel: Optional[int] = None,
    segment: Optional[int] = None,
    backend: str = "auto",
    config: Optional[Mapping[str, Any]] = None,
) -> Report:
    """Analyses one capture: a file path, a :class:`~lightlane.io.Waveform`, a
    :class:`~lightlane.sim.SimCapture`, or a 1-D array of samples (then ``fs`` is required).

    Parameters
    ----------
    fs : float, optional
        Sample rate for arrays and formats without timing (``.npy``).
    baud : float, optional
        Symbol rate; default the file's hint, else estimated from the capture.
    modulation : {"pam4", "nrz"}, optional
        Default the file's hint, else ``"pam4"``.
    pattern : str, optional
        ``prbs7`` … ``prbs31``, ``prbs9q``, ``prbs13q``, ``prbs31q``, ``ssprq``, ``file:PATH``;
        default the file's hint, else PRBS13Q (PAM4) / PRBS31 (NRZ).
    equalizer : str, optional
        Receiver chain, e.g. ``"ffe:15"``, ``"ctle,ffe:15,dfe:1"``, ``"bt4,ffe:21:t2,mlse:1"``;
        default ``"ffe:15:t"``.
    cdr : str
        ``pll[:CORNER_MHZ[:ORDER]]`` (802.3 reference CDR), ``mm``, ``gardner``, ``bangbang``,
        or ``none`` (ideal clock at ``baud``, phase search only).
    precoding : bool
        The transmitter used 1/(1+D) precoding.
    channel, segment : int, optional
        Which waveform of a multi-channel / segmented file.
    backend : {"auto", "cpu", "gpu"}
        The engine, as the CLI's ``--backend``: ``"auto"`` takes the GPU engine for captures of
        2^20 samples and more when a GPU adapter (not a CPU driver) exists and falls back to
        the CPU engine with a warning; ``"gpu"`` fails without one. ``Report.engine`` says
        which ran.
    config : mapping, optional
        Further ``AnalysisConfig`` fields applied last (e.g. ``{"training_symbols": 8192}``).

    >>> import lightlane as ll
    >>> m = ll.sim.LinkModel.demo_pam4()
    >>> cap = m.run(ll.pattern.Pattern("prbs13q").generate(60_000))
    >>> r = ll.analyze(cap, baud=m.baud, pattern="prbs13q", cdr="none", equalizer="ffe:21")
    >>> r.ber < 1e-3, r.fec["code"]
    (True, 'kp4')
    """
    path: Optional[str] = None
    samples: Optional[np.ndarray] = None
    cap = getattr(capture, "waveform", capture)  # SimCapture -> Waveform
    if isinstance(cap, (str, os.PathLike)):
        path = os.fspath(cap)
    elif isinstance(cap, Waveform):
        samples, fs = cap.samples, cap.fs
        extra = cap.meta.get("extra") or {}
        modulation = modulation or extra.get("modulation")
        pattern = pattern or extra.get("pattern")
        if baud is None and "baud" in extra:
            try:
                baud = float(extra["baud"])
            except ValueError:
                pass
    else:
        samples = np.asarray(cap, dtype=np.float32)
        if samples.ndim != 1:
            _raise(InvalidParameterError, f"invalid capture: expected a 1-D array, got shape {samples.shape}",
                   name="capture", value=str(samples.shape), reason="expected a 1-D array")
        if fs is None:
            _raise(InvalidParameterError, "invalid fs = None: the sample rate is required with an array",
                   name="fs", value="None", reason="the sample rate is required with an array")
    cfg = None if config is None else json.dumps(dict(config))
    report, decisions, eff = _native.analyze(
        path, samples, fs, channel, segment, modulation, baud, pattern, equalizer, cdr, precoding, backend, cfg
    )
    return Report(json.loads(report), decisions, json.loads(eff))
