"""FIR filtering (``lightlane_core::filter``): a planned filter on the fastest SIMD engine.

>>> import numpy as np, lightlane as ll
>>> x = np.arange(6, dtype=np.float32)
>>> ll.filter.Fir([1.0, -1.0]).convolve_valid(x)
array([1., 1., 1., 1., 1.], dtype=float32)
"""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from . import _native

__all__ = ["Fir", "convolve_valid"]


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

    def convolve_valid(self, x: Any, *, out: Optional[np.ndarray] = None, parallel: bool = False) -> np.ndarray:
        """``numpy.convolve(x, taps, "valid")``: ``len(x) - len(taps) + 1`` outputs.

        ``x`` is read without a copy when it is a C-contiguous float32 array. ``out`` (a
        C-contiguous float32 array of the output length) is written in place; ``parallel``
        splits long inputs over all cores (same result bit for bit).
        """
        return self._inner.convolve_valid(x, out=out, parallel=parallel)

    def __repr__(self) -> str:
        return f"Fir({len(self.taps)} taps, engine={self.engine!r})"


def convolve_valid(x: Any, taps: Any) -> np.ndarray:
    """One-shot ``numpy.convolve(x, taps, "valid")`` in float32."""
    return Fir(taps).convolve_valid(x)
