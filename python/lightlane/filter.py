"""FIR filtering (``lightlane_core::filter``): a planned filter on the fastest SIMD engine.

>>> import numpy as np, lightlane as ll
>>> x = np.arange(6, dtype=np.float32)
>>> ll.filter.Fir([1.0, -1.0]).convolve_valid(x)
array([1., 1., 1., 1., 1.], dtype=float32)
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import numpy as np

from . import _native

__all__ = ["Fir", "convolve_valid"]


def _along_axis(fn: Callable[..., np.ndarray], x: Any, axis: int, out: Optional[np.ndarray]) -> np.ndarray:
    """Applies the 1-D ``fn`` to every 1-D slice of ``x`` along ``axis`` (numpy semantics).

    1-D float32 input goes straight through (no copy, ``out`` honoured); N-D input is
    processed one contiguous row at a time and stacked.
    """
    arr = x if isinstance(x, np.ndarray) else np.asarray(x, dtype=np.float32)
    if arr.ndim <= 1:
        return fn(arr) if out is None else fn(arr, out)
    if out is not None:
        from .exceptions import InvalidParameterError, _raise

        _raise(InvalidParameterError, "invalid out: only supported for 1-D input",
               name="out", value="array", reason="only supported for 1-D input")
    moved = np.moveaxis(arr, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    results = [fn(np.ascontiguousarray(r, dtype=np.float32)) for r in rows]
    stacked = np.stack(results).reshape(moved.shape[:-1] + (-1,))
    return np.moveaxis(stacked, -1, axis)


class Fir:
    """A planned FIR filter: ``numpy.convolve(x, taps, "valid")`` in float32.

    Parameters
    ----------
    taps : array_like
        1 to 4096 finite taps, ``taps[0]`` multiplies the newest sample.
    engine : str, optional
        ``naive`` (f64 reference), ``scalar``, ``avx2``, ``avx512``...; default the fastest.
    """

    def __init__(self, taps: Any, *, engine: Optional[str] = None) -> None:
        self._inner = _native.Fir(np.asarray(taps, dtype=np.float32), engine=engine)

    @property
    def taps(self) -> np.ndarray:
        """The taps (a copy)."""
        return self._inner.taps

    @property
    def engine(self) -> str:
        """Name of the engine this filter runs on."""
        return str(self._inner.engine)

    @staticmethod
    def engines() -> List[str]:
        """Engines this CPU can run."""
        return list(_native.Fir.engines())

    def convolve_valid(self, x: Any, *, axis: int = -1, out: Optional[np.ndarray] = None, parallel: bool = False) -> np.ndarray:
        """``numpy.convolve(x, taps, "valid")``: ``len(x) - len(taps) + 1`` outputs.

        ``x`` is read without a copy when it is a C-contiguous float32 array; N-D input is
        filtered along ``axis``. ``out`` (1-D input only: a C-contiguous float32 array of the
        output length) is written in place; ``parallel`` splits long inputs over all cores
        (same result bit for bit).
        """
        native = self._inner
        return _along_axis(lambda r, o=None: native.convolve_valid(r, out=o, parallel=parallel), x, axis, out)

    def __repr__(self) -> str:
        return f"Fir({len(self.taps)} taps, engine={self.engine!r})"


def convolve_valid(x: Any, taps: Any) -> np.ndarray:
    """One-shot ``numpy.convolve(x, taps, "valid")`` in float32."""
    return Fir(taps).convolve_valid(x)
