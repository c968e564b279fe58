"""Forward error correction (``lightlane_core::fec``): the IEEE 802.3 Reed-Solomon codes over
GF(2^10) — RS(544,514) "KP4" (Clauses 91, 119, 172) and RS(528,514) "KR4" (Clause 91) — and
codeword statistics of measured bit errors (symbol-error histogram, CER, post-FEC BER, FLR).

>>> import numpy as np, lightlane as ll
>>> rs = ll.fec.ReedSolomon.kp4()
>>> msgs = np.random.default_rng(0).integers(0, 1024, (3, rs.k), dtype=np.uint16)
>>> cw = rs.encode(msgs)
>>> cw[0, :5] ^= 1                      # five symbol errors in word 0
>>> res = rs.decode(cw)
>>> res.corrected.tolist(), res.ok.tolist(), bool((res.messages == msgs).all())
([5, 0, 0], [True, True, True], True)
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import numpy as np

from . import _native
from ._records import Record
from .exceptions import InvalidParameterError, ValueOutOfRangeError, _raise

__all__ = [
    "ReedSolomon",
    "DecodeResult",
    "CodewordStatistics",
    "RandomErrorModel",
    "codeword_statistics",
    "random_error_model",
]


def _symbols(a: Any, width: int, what: str) -> np.ndarray:
    """A C-contiguous (m, width) uint16 array of 10-bit symbols, copied only when needed."""
    arr = np.asarray(a)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        _raise(InvalidParameterError, f"invalid {what}: expected a 1-D or 2-D array, got shape {arr.shape}",
               name=what, value=str(arr.shape), reason="expected a 1-D or 2-D array")
    if arr.dtype != np.uint16:
        if arr.dtype.kind not in "iub":
            _raise(InvalidParameterError, f"invalid {what}: expected integer symbols, got dtype {arr.dtype}",
                   name=what, value=str(arr.dtype), reason="expected integer symbols")
        if arr.size:
            bad = np.flatnonzero((arr < 0).ravel() | (arr > 1023).ravel())
            if bad.size:
                i = int(bad[0])
                _raise(ValueOutOfRangeError, f"{what}: value {arr.ravel()[i]} at index {i} is out of range (max 1023)",
                       what=what, index=i, value=int(arr.ravel()[i]), max=1023)
        arr = arr.astype(np.uint16)
    return np.ascontiguousarray(arr)


class DecodeResult(NamedTuple):
    """Result of :meth:`ReedSolomon.decode`.

    ``data``: the corrected codewords (m, n) (uncorrectable words unchanged); ``corrected``:
    symbols changed per word (uint16); ``ok``: False where the word was uncorrectable.
    """

    data: np.ndarray
    corrected: np.ndarray
    ok: np.ndarray

    @property
    def messages(self) -> np.ndarray:
        """The message part (m, k) of ``data`` (a view)."""
        return self.data[:, :514]


class ReedSolomon:
    """A Reed-Solomon encoder/decoder: ``ReedSolomon.kp4()`` or ``ReedSolomon.kr4()``.

    Decoding runs bit-sliced SIMD over all cores with the GIL released.
    """

    def __init__(self, code: str = "kp4") -> None:
        self._inner = _native.ReedSolomon(code)

    @classmethod
    def kp4(cls) -> "ReedSolomon":
        """RS(544,514), t = 15 (802.3 Clause 91/119)."""
        return cls("kp4")

    @classmethod
    def kr4(cls) -> "ReedSolomon":
        """RS(528,514), t = 7 (802.3 Clause 91)."""
        return cls("kr4")

    @property
    def code(self) -> str:
        """``"kp4"`` or ``"kr4"``."""
        return str(self._inner.code)

    @property
    def n(self) -> int:
        """Codeword length in symbols."""
        return int(self._inner.n)

    @property
    def k(self) -> int:
        """Message length in symbols (514)."""
        return int(self._inner.k)

    @property
    def t(self) -> int:
        """Correctable symbol errors per codeword."""
        return int(self._inner.t)

    @property
    def generator(self) -> np.ndarray:
        """Generator polynomial g_0 … g_2t (ascending powers)."""
        return self._inner.generator

    def encode(self, messages: Any) -> np.ndarray:
        """Systematic encoding: (m, k) or (k,) symbols in, (m, n) codewords out
        (the message, then the parity symbols)."""
        return self._inner.encode(_symbols(messages, self.k, "rs message"))

    def decode(self, codewords: Any) -> DecodeResult:
        """Decodes (m, n) or (n,) received words; the input is not modified."""
        data, corrected, ok = self._inner.decode(_symbols(codewords, self.n, "rs codeword"))
        return DecodeResult(data, corrected, ok)

    def decode_erasures(self, codeword: Any, erasures: Any) -> DecodeResult:
        """Decodes one word with known-unreliable symbol positions (errors-and-erasures)."""
        word, corrected, ok = self._inner.decode_erasures(
            _symbols(codeword, self.n, "rs codeword").ravel(), np.asarray(erasures, dtype=np.uint64)
        )
        return DecodeResult(word.reshape(1, -1), np.array([corrected], dtype=np.uint16), np.array([ok]))

    def syndromes(self, codeword: Any) -> np.ndarray:
        """Syndromes S_0 … S_{2t-1} of one received word (all zero for a codeword)."""
        return self._inner.syndromes(_symbols(codeword, self.n, "rs codeword").ravel())

    def __repr__(self) -> str:
        return f"ReedSolomon.{self.code}()  # RS({self.n},{self.k}), t={self.t}"


class CodewordStatistics(Record):
    """Codeword statistics of one measurement: ``histogram`` (codewords with k symbol errors,
    k = 0..t, then > t), ``cer``, ``pre_fec_ber``, ``post_fec_ber``, ``frame_loss_ratio`` and the
    values independent errors would give (``predicted_*_random``)."""


class RandomErrorModel(Record):
    """Expected FEC statistics under independent bit errors (802.3 FLR model)."""


def codeword_statistics(
    error_bits: Any,
    total_bits: int,
    *,
    code: str = "kp4",
    interleave: int = 1,
    bit_offset: int = 0,
    frame_bits: int = 672,
) -> CodewordStatistics:
    """Maps measured bit errors (ascending indices into a stream of ``total_bits`` bits) onto
    virtual KP4/KR4 codewords (``interleave`` = 1, 2 or 4 codewords per group).

    >>> import lightlane as ll
    >>> s = ll.fec.codeword_statistics([3, 5, 20_000], 5440 * 10, code="kp4")
    >>> s.codewords, s.histogram[:3]
    (10, [8, 2, 0])
    """
    cfg = {"code": code, "interleave": interleave, "bit_offset": bit_offset, "frame_bits": frame_bits}
    bits = np.asarray(error_bits, dtype=np.uint64)
    return CodewordStatistics._from_json(_native.codeword_statistics(bits, int(total_bits), json.dumps(cfg)))  # type: ignore[return-value]


def random_error_model(ber: float, *, code: str = "kp4", interleave: int = 1, frame_bits: int = 672) -> RandomErrorModel:
    """CER, post-FEC BER and FLR that independent bit errors at ``ber`` would give."""
    return RandomErrorModel._from_json(_native.random_error_model(code, ber, interleave, frame_bits))  # type: ignore[return-value]
