"""Batch analysis of many captures: one capture per task, on a ``dask.distributed`` cluster
when a client is given, else in a local process pool. Results stream back as tasks finish; a
bad file becomes a row with ``ok = False`` and the error, never an exception.

>>> import lightlane as ll                                  # doctest: +SKIP
>>> from dask.distributed import Client                     # doctest: +SKIP
>>> df = ll.batch.analyze_files(paths, {"baud": 53.125e9, "pattern": "prbs13q"},
...                             client=Client("scheduler:8786"))   # doctest: +SKIP
>>> df[["file", "ok", "ber", "fec.cer"]]                    # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["analyze_files", "analyze_one"]

#: Columns every row has, in this order, before the report's fields.
BASE_COLUMNS = ("file", "ok", "error_type", "error", "seconds")


def _flatten(prefix: str, value: Any, out: Dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        if prefix == "ber_ci95" and len(value) == 2:
            out["ber_ci95_low"], out["ber_ci95_high"] = value
        elif prefix == "warnings":
            out["warnings"] = "; ".join(str(w) for w in value)
        # Other lists (taps, histograms, per-stage tables) stay out of the frame's columns;
        # fec.histogram is kept as one object column because it is what FEC margin plots need.
        elif prefix in ("fec.histogram", "ffe_taps"):
            out[prefix] = list(value)
    else:
        out[prefix] = value


def analyze_one(path: Union[str, "os.PathLike[str]"], config: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Analyses one file with ``lightlane.analyze(path, **config)`` and returns a flat row
    (``file``, ``ok``, ``error_type``, ``error``, ``seconds``, then the report's scalar fields
    with nested keys joined by dots). Never raises for a bad file."""
    from .analysis import analyze

    start = time.perf_counter()
    row: Dict[str, Any] = {"file": os.fspath(path), "ok": True, "error_type": None, "error": None}
    try:
        report = analyze(os.fspath(path), **dict(config or {}))
        _flatten("", report.to_dict(), row)
        row["file"] = os.fspath(path)
    except Exception as e:  # noqa: BLE001 - a batch reports every failure and keeps going
        row.update(ok=False, error_type=type(e).__name__, error=str(e))
    row["seconds"] = time.perf_counter() - start
    return row


def _progress(total: int, enabled: Optional[bool]) -> Any:
    if enabled is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="lightlane", unit="capture")


def analyze_files(
    paths: Iterable[Union[str, "os.PathLike[str]"]],
    config: Optional[Mapping[str, Any]] = None,
    client: Any = None,
    *,
    max_workers: Optional[int] = None,
    progress: Optional[bool] = None,
    on_result: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> "pandas.DataFrame":
    """Analyses every capture in ``paths``, one task per file.

    Parameters
    ----------
    paths : iterable of paths
        Capture files (paths must be readable by the workers).
    config : mapping, optional
        Keyword options of :func:`lightlane.analyze` (``baud``, ``pattern``, ``equalizer``,
        ``cdr``, ``fs``, ``config``…), the same for every file.
    client : dask.distributed.Client, optional
        Run on this cluster; default a local process pool (``max_workers`` processes,
        started with ``spawn`` so the Rust thread pool is never forked).
    progress : bool, optional
        Show a tqdm bar (if tqdm is installed); None shows it when available.
    on_result : callable, optional
        Called with each row as soon as its task finishes (streaming).

    Returns
    -------
    pandas.DataFrame
        One row per path, in input order: ``file``, ``ok``, ``error_type``, ``error``,
        ``seconds`` and the report fields (``ber``, ``ser``, ``baud``, ``fec.cer`` …).
    """
    import pandas as pd

    items: List[str] = [os.fspath(p) for p in paths]
    cfg = dict(config or {})
    rows: List[Optional[Dict[str, Any]]] = [None] * len(items)
    bar = _progress(len(items), progress)

    def done(i: int, row: Dict[str, Any]) -> None:
        rows[i] = row
        if on_result is not None:
            on_result(row)
        if bar is not None:
            bar.update(1)

    def failed(i: int, e: BaseException) -> Dict[str, Any]:
        # The task itself never raises; this is a lost worker or a cancelled task.
        return {"file": items[i], "ok": False, "error_type": type(e).__name__, "error": str(e), "seconds": float("nan")}

    try:
        if not items:
            pass
        elif client is not None:
            from distributed import as_completed as dask_completed

            futures = client.map(analyze_one, items, config=cfg, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in dask_completed(futures):
                i = index[fut.key]
                try:
                    row = fut.result()
                except Exception as e:  # noqa: BLE001
                    row = failed(i, e)
                done(i, row)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            workers = max_workers or min(len(items), os.cpu_count() or 1)
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                pending = {pool.submit(analyze_one, p, cfg): i for i, p in enumerate(items)}
                for fut in as_completed(pending):
                    i = pending[fut]
                    try:
                        row = fut.result()
                    except Exception as e:  # noqa: BLE001
                        row = failed(i, e)
                    done(i, row)
    finally:
        if bar is not None:
            bar.close()

    frame = pd.DataFrame([r for r in rows if r is not None])
    if frame.empty:
        return pd.DataFrame(columns=list(BASE_COLUMNS))
    first = [c for c in BASE_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]
