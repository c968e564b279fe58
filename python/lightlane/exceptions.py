"""The exception hierarchy of lightlane.

Every error the Rust core reports arrives as a subclass of :class:`LightlaneError`, chosen by
the variant of ``lightlane_core::Error`` / ``lightlane_io::IoError``; the variant's named fields
are attributes of the exception (for example ``err.name``, ``err.value``, ``err.reason`` on an
:class:`InvalidParameterError`). Argument errors also derive from :class:`ValueError`, file
errors from :class:`OSError`, so code that catches the builtin classes keeps working.

>>> import lightlane as ll
>>> try:
...     ll.pattern.Pattern("prbs8")
... except ll.UnknownPatternError as e:
...     print(e.name)
prbs8
"""

from __future__ import annotations

from typing import Any

# The one list of the exception classes: lightlane/__init__.py re-exports it (a tuple, so that
# the package's `__all__ += (...)` builds a new one instead of extending this).
__all__: tuple[str, ...] = (
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
)


#: Every field name an error variant carries.
_FIELDS = frozenset(
    "name value reason what needed got index expected known origin position max pattern stage "
    "path field requested available".split()
)


class LightlaneError(Exception):
    """Base class of every error raised by lightlane."""

    def __getattr__(self, name: str) -> Any:
        # Fields that a variant does not have read as None rather than raising AttributeError,
        # so generic handlers can look at e.path / e.reason on any lightlane error. Other names
        # raise as usual (IPython and pickle probe for optional protocol methods).
        if name in _FIELDS:
            return None
        raise AttributeError(name)


class InvalidParameterError(LightlaneError, ValueError):
    """A configuration value or argument is out of range (``Error::InvalidParameter``).

    Attributes: ``name``, ``value``, ``reason``."""


class InputTooShortError(LightlaneError, ValueError):
    """The input is shorter than the stage needs (``Error::InputTooShort``).

    Attributes: ``what``, ``needed``, ``got``."""


class NonFiniteError(LightlaneError, ValueError):
    """A sample is NaN or infinite (``Error::NonFinite``). Attributes: ``what``, ``index``, ``value``."""


class LengthMismatchError(LightlaneError, ValueError):
    """Two lengths that must agree do not (``Error::LengthMismatch``).

    Attributes: ``what``, ``expected``, ``got``."""


class UnknownPatternError(LightlaneError, ValueError):
    """A pattern name lightlane does not know (``Error::UnknownPattern``). Attributes: ``name``, ``known``."""


class IllegalSymbolError(LightlaneError, ValueError):
    """A user pattern holds a value that is not a symbol (``Error::IllegalSymbol``)."""


class ValueOutOfRangeError(LightlaneError, ValueError):
    """A symbol value outside the alphabet (``Error::ValueOutOfRange``).

    Attributes: ``what``, ``index``, ``value``, ``max``."""


class PatternSyncError(LightlaneError):
    """The decisions never lined up with the pattern (``Error::PatternSyncFailed``)."""


class UnusableSignalError(LightlaneError):
    """The signal has no usable structure for a stage (``Error::Unusable``). Attributes: ``stage``, ``reason``."""


class CaptureFileError(LightlaneError, OSError):
    """A file could not be opened, read or written. Attributes: ``path``, ``reason``."""


class FormatError(LightlaneError, ValueError):
    """A capture file's content is not what its format requires. Attribute: ``path``."""


class UnknownFormatError(FormatError):
    """No reader recognises the file (``IoError::UnknownFormat``)."""


class CorruptFileError(FormatError):
    """A header field is malformed or missing (``IoError::BadField`` / ``MissingField``)."""


class TruncatedFileError(CorruptFileError):
    """The file is shorter than its header says (``IoError::Truncated``)."""


class UnsupportedFormatError(FormatError):
    """A valid file holding something lightlane does not read (``IoError::Unsupported``)."""


class NoSuchItemError(LightlaneError, LookupError):
    """A channel or segment the file does not hold (``IoError::NoSuchItem``)."""


class InternalError(LightlaneError, RuntimeError):
    """A bug in lightlane (a Rust panic caught at the boundary). Please report it."""


def _raise(cls: type[LightlaneError], message: str, **attrs: Any) -> None:
    """Raises ``cls(message)`` with ``attrs`` set, as the Rust side does."""
    err = cls(message)
    for k, v in attrs.items():
        setattr(err, k, v)
    raise err
