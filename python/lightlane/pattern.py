"""Test patterns (``lightlane_core::pattern``): PRBS7…PRBS31 (ITU-T O.150 / 802.3 Clause 49,
94), PRBS9Q/13Q/31Q and SSPRQ (802.3 Clause 120.5.11), user patterns; sync and error counting.

>>> import lightlane as ll
>>> p = ll.pattern.Pattern("prbs13q")
>>> p.period(modulation="pam4"), p.generate(8, modulation="pam4").tolist()
(8191, [1, 0, 3, 1, 3, 2, 0, 2])
"""

from __future__ import annotations

import json
from typing import Any, Tuple

import numpy as np

from . import _native
from ._records import Record

__all__ = ["Pattern", "ErrorReport", "count_errors", "KNOWN_PATTERNS"]

KNOWN_PATTERNS: Tuple[str, ...] = tuple(_native.Pattern.names())
"""Pattern names :class:`Pattern` accepts (plus ``file:PATH``)."""


class ErrorReport(Record):
    """Result of :meth:`Pattern.check`: ``bits``, ``bit_errors``, ``ber``, ``ber_ci95``,
    ``symbols``, ``symbol_errors``, ``ser``, ``transform``, ``alignment``, ``resyncs``,
    ``error_positions`` …"""


class Pattern:
    """A test pattern, by name (``prbs7`` … ``prbs31``, ``prbs9q``, ``prbs13q``, ``prbs31q``,
    ``ssprq``, or ``file:PATH``), case-insensitive."""

    def __init__(self, name: str) -> None:
        self._inner = _native.Pattern(name)

    @classmethod
    def from_symbols(cls, symbols: Any, *, origin: str = "array") -> "Pattern":
        """A user pattern repeating ``symbols`` (0–3; 0–1 for NRZ use)."""
        p = cls.__new__(cls)
        p._inner = _native.Pattern.from_symbols(origin, np.asarray(symbols, dtype=np.uint8))
        return p

    @property
    def name(self) -> str:
        """Display name (``PRBS13Q``, ``SSPRQ`` …, or the user pattern's origin)."""
        return str(self._inner.name)

    def period(self, *, modulation: str = "pam4") -> int:
        """Symbols in one period (0 when the pattern does not exist on ``modulation``)."""
        return int(self._inner.period(modulation))

    def generate(self, n: int, *, modulation: str = "pam4") -> np.ndarray:
        """The first ``n`` transmitted symbols (uint8); PAM4 uses 802.3 Gray mapping."""
        return self._inner.generate(int(n), modulation)

    def check(self, decisions: Any, *, modulation: str = "pam4", **sync: Any) -> ErrorReport:
        """Syncs ``decisions`` to the pattern (robust to inversion, MSB/LSB swap, high SER) and
        counts errors. Keyword arguments override ``SyncConfig`` fields (e.g.
        ``max_error_positions=0``)."""
        js = self._inner.check(np.asarray(decisions, dtype=np.uint8), modulation, json.dumps(sync))
        return ErrorReport._from_json(js)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Pattern({self.name!r})"


def count_errors(decisions: Any, expected: Any, *, modulation: str = "pam4", mapping: str = "gray") -> Tuple[int, int]:
    """``(symbol_errors, bit_errors)`` between two aligned symbol streams (common length)."""
    if mapping not in ("gray", "binary"):
        from .exceptions import InvalidParameterError, _raise

        _raise(InvalidParameterError, f"invalid mapping = {mapping}: expected 'gray' or 'binary'",
               name="mapping", value=mapping, reason="expected 'gray' or 'binary'")
    s, b = _native.count_errors(np.asarray(decisions, dtype=np.uint8), np.asarray(expected, dtype=np.uint8),
                                modulation, mapping == "binary")
    return int(s), int(b)
