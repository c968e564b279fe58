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
# The exception classes are listed once, in exceptions.__all__. Importing that tuple under its own
# name (`as __all__`) is the form mypy/stubtest follow statically; `+=` below then adds this
# module's names (a new tuple: exceptions.__all__ is left as it is).
from .exceptions import __all__ as __all__
from .exceptions import *  # noqa: F403
from . import io, pattern, modulation, filter, eq, eye, timing, fec, sim, plot, batch
from .analysis import Report, analyze
from .io import Waveform, read_capture

__version__: str = _native.__version__

__all__ += (
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
)
