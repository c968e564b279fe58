"""NRZ/PAM4 mapping (``lightlane_core::modulation``): IEEE 802.3 Clause 120.5.7.1 Gray coding
(first bit in time = MSB, ``{00, 01, 11, 10} -> {0, 1, 2, 3}``), normalised levels
``-1 + 2 s / (M - 1)``, 1/(1+D) mod M precoding (120.5.7.2), slicing.

>>> import lightlane as ll
>>> ll.modulation.bits_to_symbols([0, 0, 0, 1, 1, 1, 1, 0]).tolist()
[0, 1, 2, 3]
>>> ll.modulation.levels("pam4").astype(float).round(3).tolist()
[-1.0, -0.333, 0.333, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _native

__all__ = ["levels", "bits_to_symbols", "symbols_to_bits", "symbols_to_levels", "precode", "decode_precoded", "Slicer"]


def _u8(x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype != np.uint8:
        if a.size and (a.min() < 0 or a.max() > 255):
            from .exceptions import ValueOutOfRangeError, _raise

            i = int(np.flatnonzero((a < 0) | (a > 255))[0])
            _raise(ValueOutOfRangeError, f"symbols: value {a.ravel()[i]} at index {i} is out of range",
                   what="symbols", index=i, value=int(a.ravel()[i]), max=255)
        a = a.astype(np.uint8)
    return a


def levels(modulation: str = "pam4") -> np.ndarray:
    """Normalised levels, lowest first (float32)."""
    return _native.levels(modulation)


def bits_to_symbols(bits: Any, *, modulation: str = "pam4", mapping: str = "gray") -> np.ndarray:
    """Bits (0/1) to symbols; PAM4 takes pairs, first bit = MSB, a trailing odd bit is dropped."""
    return _native.bits_to_symbols(_u8(bits), modulation, mapping)


def symbols_to_bits(symbols: Any, *, modulation: str = "pam4", mapping: str = "gray") -> np.ndarray:
    """Symbols to bits (PAM4: MSB first)."""
    return _native.symbols_to_bits(_u8(symbols), modulation, mapping)


def symbols_to_levels(symbols: Any, *, modulation: str = "pam4") -> np.ndarray:
    """Symbols to normalised levels in [-1, 1] (float32)."""
    return _native.symbols_to_levels(_u8(symbols), modulation)


def precode(symbols: Any, *, modulation: str = "pam4", initial: int = 0) -> np.ndarray:
    """Transmitter 1/(1+D) mod M precoding: ``P(j) = (T(j) - P(j-1)) mod M``."""
    return _native.precode(_u8(symbols), modulation, initial, False)


def decode_precoded(symbols: Any, *, modulation: str = "pam4", initial: int = 0) -> np.ndarray:
    """Receiver side of the precoder: ``T(j) = (P(j) + P(j-1)) mod M``."""
    return _native.precode(_u8(symbols), modulation, initial, True)


class Slicer:
    """A slicer with ascending thresholds; symbol = number of thresholds below the value.

    >>> import lightlane as ll
    >>> ll.modulation.Slicer.for_levels([-1, -1/3, 1/3, 1]).slice([-0.9, 0.1, 2.0]).tolist()
    [0, 2, 3]
    """

    def __init__(self, thresholds: Any) -> None:
        self._inner = _native.Slicer(np.asarray(thresholds, dtype=np.float32))

    @classmethod
    def for_levels(cls, levels: Any) -> "Slicer":
        """Thresholds halfway between adjacent levels."""
        s = cls.__new__(cls)
        s._inner = _native.Slicer.for_levels(np.asarray(levels, dtype=np.float32))
        return s

    @property
    def thresholds(self) -> np.ndarray:
        """The thresholds."""
        return self._inner.thresholds

    def slice(self, x: Any) -> np.ndarray:
        """Decisions (uint8) for each value of ``x``."""
        return self._inner.slice(np.asarray(x, dtype=np.float32))
