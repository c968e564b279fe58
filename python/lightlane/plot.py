"""matplotlib helpers for notebooks: equalizer taps, FEC symbol-error histograms, eye images
(any 2-D histogram, e.g. from ``lightlane.eye`` once it lands) and bathtub curves.

Each function draws into ``ax`` (a new figure when None) and returns the Axes.

>>> import numpy as np, lightlane as ll
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> ax = ll.plot.taps(np.array([0.05, -0.2, 1.0, -0.3, 0.1]), reference_tap=2)
>>> len(ax.patches) + len(ax.lines) > 0
True
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["taps", "fec_histogram", "eye", "bathtub"]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3))
    return ax


def taps(source: Any, *, reference_tap: Optional[int] = None, ax: Any = None, title: Optional[str] = None) -> Any:
    """Stem plot of equalizer taps.

    ``source``: an array of taps, an :class:`~lightlane.eq.Ffe`, an
    :class:`~lightlane.eq.FfeTraining`, or a :class:`~lightlane.Report` (its ``ffe_taps``).
    """
    ax = _axes(ax)
    if hasattr(source, "_fields") and "ffe_taps" in getattr(source, "_fields"):
        values = np.asarray(source["ffe_taps"], dtype=float)
        reference_tap = source["ffe_reference_tap"] if reference_tap is None else reference_tap
    elif hasattr(source, "_fields") and "ffe" in getattr(source, "_fields"):
        values = np.asarray(source["ffe"].taps, dtype=float)
        reference_tap = source["ffe"].reference_tap if reference_tap is None else reference_tap
    elif hasattr(source, "taps") and not isinstance(source, np.ndarray):
        values = np.asarray(source.taps, dtype=float)
        if reference_tap is None:
            reference_tap = getattr(source, "reference_tap", None)
    else:
        values = np.asarray(source, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("taps: expected a non-empty 1-D array of taps")
    idx = np.arange(values.size)
    if reference_tap is not None:
        idx = idx - int(reference_tap)
    ax.stem(idx, values)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("tap (relative to main cursor)" if reference_tap is not None else "tap")
    ax.set_ylabel("weight")
    ax.set_title(title or "equalizer taps")
    return ax


def fec_histogram(source: Any, *, ax: Any = None, predicted: bool = True, title: Optional[str] = None) -> Any:
    """Codewords per number of symbol errors (log scale), with the random-error prediction.

    ``source``: a :class:`~lightlane.fec.CodewordStatistics`, a report's ``fec`` dict, a
    :class:`~lightlane.Report`, or a plain histogram array (bins 0..t, then > t).
    """
    ax = _axes(ax)
    stats: Optional[Mapping[str, Any]] = None
    if hasattr(source, "_fields") and "fec" in getattr(source, "_fields"):
        stats = source["fec"]
    elif isinstance(source, Mapping):
        stats = source
    if stats is not None:
        hist = np.asarray(stats["histogram"], dtype=float)
        model = np.asarray(stats.get("predicted_histogram_random") or [], dtype=float) * float(stats.get("codewords", 0))
        code = str(stats.get("code", "")).upper()
    else:
        hist = np.asarray(source, dtype=float)
        model = np.zeros(0)
        code = ""
    if hist.ndim != 1 or hist.size < 2:
        raise ValueError("fec_histogram: expected at least two histogram bins")
    t = hist.size - 2
    labels = [str(i) for i in range(t + 1)] + [f">{t}"]
    x = np.arange(hist.size)
    ax.bar(x, np.where(hist > 0, hist, np.nan), color="C0", label="measured")
    if predicted and model.size == hist.size and np.any(model > 0):
        ax.plot(x, np.where(model > 0, model, np.nan), "o--", color="C3", label="independent errors")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlabel("symbol errors per codeword")
    ax.set_ylabel("codewords")
    ax.set_title(title or (f"{code} codeword histogram" if code else "codeword histogram"))
    return ax


def eye(
    image: Any,
    *,
    extent: Optional[Tuple[float, float, float, float]] = None,
    ax: Any = None,
    log: bool = True,
    cmap: str = "inferno",
    xlabel: str = "time (UI)",
    ylabel: str = "amplitude",
    title: Optional[str] = None,
) -> Any:
    """Draws an eye diagram from a 2-D histogram ``image[amplitude_bin, time_bin]`` (row 0 =
    lowest amplitude). ``extent`` = (t_min, t_max, v_min, v_max); ``log`` compresses the counts.
    Objects with an ``image`` attribute (and optional ``extent``) are accepted as well.
    """
    if hasattr(image, "image"):
        extent = extent if extent is not None else getattr(image, "extent", None)
        image = image.image
    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValueError(f"eye: expected a 2-D histogram, got shape {img.shape}")
    ax = _axes(ax)
    shown = np.log1p(img) if log else img
    shown = np.where(img > 0, shown, np.nan)
    ext = extent if extent is not None else (0.0, float(img.shape[1]), 0.0, float(img.shape[0]))
    ax.imshow(shown, origin="lower", aspect="auto", cmap=cmap, extent=ext, interpolation="nearest")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "eye diagram")
    return ax


def bathtub(
    position: Any,
    ber: Any,
    *,
    target_ber: Optional[float] = None,
    ax: Any = None,
    labels: Optional[Sequence[str]] = None,
    xlabel: str = "sampling time (UI)",
    title: Optional[str] = None,
) -> Any:
    """Bathtub curve(s): ``ber`` against ``position`` on a log axis. ``ber`` may be 2-D (one
    curve per row, e.g. one per PAM4 sub-eye); ``target_ber`` draws a horizontal line.
    """
    x = np.asarray(position, dtype=float)
    b = np.atleast_2d(np.asarray(ber, dtype=float))
    if b.shape[1] != x.size:
        raise ValueError(f"bathtub: {b.shape[1]} BER values per curve for {x.size} positions")
    ax = _axes(ax)
    for i, row in enumerate(b):
        label = labels[i] if labels is not None and i < len(labels) else None
        ax.semilogy(x, np.where(row > 0, row, np.nan), label=label)
    if target_ber is not None:
        ax.axhline(target_ber, color="0.4", linestyle="--", linewidth=0.8)
    if labels:
        ax.legend()
    ax.set_xlabel(xlabel)
    ax.set_ylabel("BER")
    ax.set_title(title or "bathtub")
    return ax
