"""lightlane: SerDes and optical-link DSP (PAM4/NRZ equalization, clock recovery, FEC, capture
analysis) with a Rust core.

The submodules mirror the Rust crates one to one: :mod:`lightlane.io`, :mod:`lightlane.pattern`,
:mod:`lightlane.modulation`, :mod:`lightlane.filter`, :mod:`lightlane.eq`,
:mod:`lightlane.eye`,
:mod:`lightlane.timing`, :mod:`lightlane.fec`, :mod:`lightlane.sim`; :func:`analyze` runs the
main job, :mod:`lightlane.plot` draws, :mod:`lightlane.batch` runs many captures on Dask.

>>> import lightlane as ll
>>> m = ll.sim.LinkModel.demo_pam4()
>>> cap = m.run(ll.pattern.Pattern("prbs13q").generate(60_000))
>>> report = ll.analyze(cap, baud=m.baud, pattern="prbs13q", cdr="none", equalizer="ffe:21")
>>> report.pattern
'PRBS13Q'
"""

from . import _native
from . import exceptions
from .exceptions import (
    CaptureFileError,
    CorruptFileError,
    FormatError,
    IllegalSymbolError,
    InputTooShortError,
    InternalError,
    InvalidParameterError,
    LengthMismatchError,
    LightlaneError,
    NoSuchItemError,
    NonFiniteError,
    PatternSyncError,
    TruncatedFileError,
    UnknownFormatError,
    UnknownPatternError,
    UnsupportedFormatError,
    UnusableSignalError,
    ValueOutOfRangeError,
)
from . import io, pattern, modulation, filter, eq, eye, timing, fec, sim, plot, batch
from .analysis import Report, analyze
from .io import Waveform, read_capture

__version__: str = _native.__version__

__all__ = [
    "analyze",
    "Report",
    "Waveform",
    "read_capture",
    "io",
    "pattern",
    "modulation",
    "filter",
    "eq",
    "eye",
    "timing",
    "fec",
    "sim",
    "plot",
    "batch",
    "exceptions",
    "__version__",
    "LightlaneError",
    "InvalidParameterError",
    "InputTooShortError",
    "NonFiniteError",
    "LengthMismatchError",
    "UnknownPatternError",
    "IllegalSymbolError",
    "ValueOutOfRangeError",
    "PatternSyncError",
    "UnusableSignalError",
    "CaptureFileError",
    "FormatError",
    "UnknownFormatError",
    "CorruptFileError",
    "TruncatedFileError",
    "UnsupportedFormatError",
    "NoSuchItemError",
    "InternalError",
]
