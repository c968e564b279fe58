"""Capture files: read any supported oscilloscope/numpy/MATLAB/raw capture, write test files.

Mirrors ``lightlane_io``. Formats are detected from content (magic bytes, header structure),
then side files and the extension: Keysight ``.bin``, Tektronix ``.wfm``, LeCroy ``.trc``, CSV,
``.npy``/``.npz``, MATLAB ``.mat``, raw samples with a JSON sidecar, ngscopeclient densev1.

>>> import numpy as np, lightlane as ll, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
>>> ll.io.write_npy(path, np.arange(4, dtype=np.float32))
>>> w = ll.io.read_capture(path, fs=1e9)
>>> w.samples, round(w.fs)
(array([0., 1., 2., 3.], dtype=float32), 1000000000)
"""

from __future__ import annotations

import html
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native

__all__ = [
    "Waveform",
    "read_capture",
    "read_all",
    "detect_format",
    "write_npy",
    "write_npz",
    "write_mat",
    "write_raw",
    "write_lecroy",
    "write_keysight",
]

PathLike = Union[str, "os.PathLike[str]"]


class Waveform:
    """A uniformly sampled real waveform: ``samples[i]`` is the value at ``t0 + i / fs`` seconds.

    Parameters
    ----------
    samples : array_like
        Sample values (volts unless ``meta["vertical_unit"]`` says otherwise); stored as float32.
    fs : float
        Sample rate in Sa/s.
    t0 : float, optional
        Time of the first sample in seconds.
    meta : dict, optional
        ``source``, ``channel``, ``vertical_unit`` and ``extra`` (instrument fields as text).
    raw : tuple, optional
        ``(codes, gain, offset)`` when the file stored integer ADC codes
        (``volts = codes * gain + offset``).

    >>> import lightlane as ll
    >>> w = ll.io.Waveform([0.0, 1.0, -1.0], fs=256e9)
    >>> len(w), w.dt
    (3, 3.90625e-12)
    """

    samples: np.ndarray
    fs: float
    t0: float
    meta: Dict[str, Any]
    raw: Optional[Tuple[np.ndarray, float, float]]

    def __init__(
        self,
        samples: Any,
        fs: float,
        *,
        t0: float = 0.0,
        meta: Optional[Dict[str, Any]] = None,
        raw: Optional[Tuple[np.ndarray, float, float]] = None,
    ) -> None:
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self.samples.ndim != 1:
            from .exceptions import InvalidParameterError, _raise

            _raise(InvalidParameterError, f"invalid samples: expected a 1-D array, got shape {self.samples.shape}",
                   name="samples", value=str(self.samples.shape), reason="expected a 1-D array")
        self.fs = float(fs)
        self.t0 = float(t0)
        m: Dict[str, Any] = {"source": None, "channel": None, "vertical_unit": "V", "extra": {}}
        m.update(meta or {})
        self.meta = m
        self.raw = raw

    @classmethod
    def _from_parts(cls, parts: Tuple[Any, float, float, str, Any]) -> "Waveform":
        samples, dt, t0, meta, raw = parts
        w = cls.__new__(cls)
        w.samples, w.fs, w.t0, w.meta, w.raw = samples, 1.0 / dt, t0, json.loads(meta), raw
        return w

    @property
    def dt(self) -> float:
        """Sample interval in seconds."""
        return 1.0 / self.fs

    @property
    def time(self) -> np.ndarray:
        """Time of each sample in seconds (float64)."""
        return self.t0 + np.arange(len(self.samples)) / self.fs

    def __len__(self) -> int:
        return len(self.samples)

    def _meta_json(self) -> str:
        return json.dumps(self.meta)

    def __repr__(self) -> str:
        src = self.meta.get("source") or "array"
        return f"Waveform({len(self)} samples at {self.fs:.6g} Sa/s, source={src!r})"

    def _repr_html_(self) -> str:
        ex = ", ".join(f"{k}={v}" for k, v in (self.meta.get("extra") or {}).items())
        return (
            f"<b>Waveform</b>: {len(self)} samples at {self.fs:.6g} Sa/s, t0 = {self.t0:.6g} s, "
            f"source {html.escape(str(self.meta.get('source')))}, channel {html.escape(str(self.meta.get('channel')))}"
            + (f"<br/><small>{html.escape(ex)}</small>" if ex else "")
        )


def read_capture(
    path: PathLike,
    *,
    fs: Optional[float] = None,
    force_fs: bool = False,
    channel: Optional[int] = None,
    channel_name: Optional[str] = None,
    segment: Optional[int] = None,
    metadata: Optional[PathLike] = None,
) -> Waveform:
    """Reads one waveform of a capture file.

    Parameters
    ----------
    path : str or os.PathLike
        The capture file.
    fs : float, optional
        Sample rate for formats without timing (``.npy``, CSV without time column); with
        ``force_fs=True`` it overrides the file's own.
    channel, channel_name : optional
        Channel to return, by index or label (``C1``, ``CH1``...); default the first analog one.
    segment : int, optional
        FastFrame / sequence-mode segment; default 0.
    metadata : path, optional
        ngscopeclient ``scope_N_metadata.yml`` when it is not beside the data file.

    Raises
    ------
    CaptureFileError, UnknownFormatError, CorruptFileError, TruncatedFileError, NoSuchItemError
    """
    parts = _native.read_capture(
        os.fspath(path), fs, force_fs, channel, channel_name, segment,
        None if metadata is None else os.fspath(metadata),
    )
    return Waveform._from_parts(parts)


def read_all(
    path: PathLike,
    *,
    fs: Optional[float] = None,
    force_fs: bool = False,
    metadata: Optional[PathLike] = None,
) -> Tuple[str, List[Waveform]]:
    """Reads every channel and segment of a file: ``(format name, waveforms)``.

    Segments carry ``meta["extra"]["segment"]``.
    """
    fmt, parts = _native.read_all(os.fspath(path), fs, force_fs, None if metadata is None else os.fspath(metadata))
    return fmt, [Waveform._from_parts(p) for p in parts]


def detect_format(path: PathLike) -> str:
    """Name of the file's format (``npy``, ``lecroy-trc``, ``tek-wfm``, ``keysight-bin``, ...)."""
    return str(_native.detect_format(os.fspath(path)))


def write_npy(path: PathLike, data: Any) -> None:
    """Writes a 1-D array as ``.npy`` (float32/64, int8/16/32, uint8/16)."""
    arr = np.ascontiguousarray(data)
    _native.write_npy(os.fspath(path), arr)


def write_npz(path: PathLike, arrays: Dict[str, Any]) -> None:
    """Writes named 1-D float32 arrays as ``.npz``."""
    _native.write_npz(os.fspath(path), [(k, np.asarray(v, dtype=np.float32)) for k, v in arrays.items()])


def write_mat(path: PathLike, arrays: Dict[str, Any], *, compress: bool = False) -> None:
    """Writes named 1-D float64 arrays as a MATLAB level-5 ``.mat`` file."""
    _native.write_mat(os.fspath(path), [(k, np.asarray(v, dtype=np.float64)) for k, v in arrays.items()], compress)


def write_raw(path: PathLike, waveform: Waveform) -> None:
    """Writes raw samples plus a ``.json`` sidecar (int16 codes when the waveform has them)."""
    raw = None
    if waveform.raw is not None and np.asarray(waveform.raw[0]).dtype == np.int16:
        codes, gain, offset = waveform.raw
        raw = (np.ascontiguousarray(codes), float(gain), float(offset))
    _native.write_raw(os.fspath(path), waveform.samples, waveform.fs, waveform.t0, waveform._meta_json(), raw)


def _scope(fmt: str, path: PathLike, waveforms: Union[Waveform, Sequence[Waveform]]) -> None:
    ws = [waveforms] if isinstance(waveforms, Waveform) else list(waveforms)
    _native.write_scope(fmt, os.fspath(path), [(w.samples, w.fs, w.t0, w._meta_json()) for w in ws])


def write_lecroy(path: PathLike, waveforms: Union[Waveform, Sequence[Waveform]]) -> None:
    """Writes waveforms as a LeCroy ``LECROY_2_3`` int16 trace (sequence mode when several)."""
    _scope("lecroy", path, waveforms)


def write_keysight(path: PathLike, waveforms: Union[Waveform, Sequence[Waveform]]) -> None:
    """Writes waveforms as a Keysight ``AG10`` ``.bin`` file (float32 buffers)."""
    _scope("keysight", path, waveforms)
