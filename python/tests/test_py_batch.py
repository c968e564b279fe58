"""lightlane.batch.analyze_files on a dask LocalCluster with worker processes, and locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

DEMO = REPO / "testdata" / "demo_pam4.bin"


@pytest.fixture(scope="module")
def files(ll, tmp_path_factory) -> list:
    """Three good captures (two simulated .npy with different noise, the demo raw file) and
    two bad ones (a truncated .npy and a missing file)."""
    d = tmp_path_factory.mktemp("batch")
    paths = []
    for i, snr in enumerate((26.5, 21.0)):
        m = ll.sim.LinkModel.demo_pam4()
        m.noise = {"snr_db": snr}
        m.seed = i + 1
        cap = m.run(ll.pattern.Pattern("prbs13q").generate(60_000))
        p = d / f"good_{i}.npy"
        ll.io.write_npy(p, cap.waveform.samples)
        paths.append(str(p))
    bad = d / "truncated.npy"
    bad.write_bytes((d / "good_0.npy").read_bytes()[:200])
    return paths + [str(bad), str(d / "missing.npy"), str(DEMO)]


CONFIG = {"fs": 256e9, "baud": 53.125e9, "pattern": "prbs13q", "cdr": "none"}


def check_frame(ll, df, files) -> None:
    assert list(df["file"]) == files  # input order
    assert list(df.columns[:5]) == ["file", "ok", "error_type", "error", "seconds"]
    assert df["ok"].tolist() == [True, True, False, False, True]
    assert df.loc[2, "error_type"] == "TruncatedFileError" and "truncated" in df.loc[2, "error"]
    assert df.loc[3, "error_type"] == "CaptureFileError"
    # The noisier capture has the higher BER; every good row has FEC statistics.
    assert df.loc[1, "ber"] > df.loc[0, "ber"]
    assert df.loc[[0, 1, 4], "fec.codewords"].min() > 0
    # Same numbers as a direct call.
    direct = ll.analyze(files[0], **CONFIG)
    assert df.loc[0, "ber"] == direct.ber and df.loc[0, "bit_errors"] == direct.bit_errors


def test_dask_local_cluster(ll, files) -> None:
    distributed = pytest.importorskip("distributed")
    streamed = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        df = ll.batch.analyze_files(files, CONFIG, client=client, progress=False, on_result=streamed.append)
        pids = set(client.run(__import__("os").getpid).values())
    assert len(streamed) == len(files)
    assert len(pids) == 2
    check_frame(ll, df, files)


def test_local_process_pool(ll, files) -> None:
    df = ll.batch.analyze_files(files, CONFIG, max_workers=2, progress=False)
    check_frame(ll, df, files)


def test_empty_and_single(ll) -> None:
    assert list(ll.batch.analyze_files([], CONFIG, progress=False).columns[:2]) == ["file", "ok"]
    row = ll.batch.analyze_one("/nonexistent/file.npy", CONFIG)
    assert row["ok"] is False and row["error_type"] == "CaptureFileError"
    assert np.isfinite(row["seconds"])
