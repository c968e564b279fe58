"""lightlane.analyze against the CLI's JSON for the same files, and the Report object."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, lightlane_bin

DEMO = REPO / "testdata" / "demo_pam4.bin"


def cli_reports(*args: str, tmp_path: Path) -> list:
    binary = lightlane_bin()
    if binary is None:
        pytest.skip("lightlane CLI not built (set LIGHTLANE_BIN)")
    out = tmp_path / "cli.json"
    r = subprocess.run([str(binary), "analyze", *args, "--json", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def sim_file(ll, tmp_path_factory) -> Path:
    """A simulated 100G PAM4 capture (PRBS13Q through the demo channel) as .npy at 256 GSa/s."""
    m = ll.sim.LinkModel.demo_pam4()
    m.seed = 7
    cap = m.run(ll.pattern.Pattern("prbs13q").generate(120_000))
    path = tmp_path_factory.mktemp("sim") / "sim_pam4.npy"
    ll.io.write_npy(path, cap.waveform.samples)
    return path


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cdr": "none", "equalizer": "ctle,ffe:15,dfe:1"},
        {"equalizer": "ffe:21:t2", "cdr": "pll:8"},
    ],
)
def test_simulated_capture_matches_cli(ll, sim_file: Path, tmp_path: Path, options: dict) -> None:
    args = ["--fs", "256e9", "--baud", "53.125e9", "--pattern", "prbs13q"]
    for k, v in options.items():
        args += [f"--{k}", str(v)]
    (want,) = cli_reports(str(sim_file), *args, tmp_path=tmp_path)
    report = ll.analyze(sim_file, fs=256e9, baud=53.125e9, pattern="prbs13q", **options)
    assert report.to_dict() == want  # every field, bit for bit (same code, same JSON)
    assert report.bits > 100_000 and report.ber < 1e-2
    assert report.decisions.dtype == np.uint8 and len(report.decisions) >= report.symbols


def test_file_hints_match_cli(ll, tmp_path: Path) -> None:
    (want,) = cli_reports(str(DEMO), tmp_path=tmp_path)
    got = ll.analyze(DEMO)
    assert got.to_dict() == want
    assert got.config["pattern"] == "prbs13q" and got.config["baud"] == 53.125e9


def test_array_and_waveform_inputs(ll, sim_file: Path) -> None:
    from_file = ll.analyze(sim_file, fs=256e9, baud=53.125e9, pattern="prbs13q", cdr="none")
    x = np.load(sim_file)
    from_array = ll.analyze(x, fs=256e9, baud=53.125e9, pattern="prbs13q", cdr="none")
    wf = ll.io.Waveform(x, fs=256e9, meta={"extra": {"baud": "53.125e9", "pattern": "prbs13q"}})
    from_wf = ll.analyze(wf, cdr="none")
    a, b, c = from_file.to_dict(), from_array.to_dict(), from_wf.to_dict()
    assert b["file"] == "array"
    for d in (a, b, c):
        d.pop("file")
    assert a == b == c


def test_report_object(ll) -> None:
    r = ll.analyze(DEMO)
    assert r["ber"] == r.ber and "ber" in r and len(r) == len(r.to_dict())
    df = r.to_pandas()
    assert df.shape[0] == 1 and df.loc[0, "ber"] == r.ber and df.loc[0, "fec.cer"] == r.fec["cer"]
    html = r._repr_html_()
    assert "<table" in html and "PRBS13Q" in html and "fec.cer" in html
    # The engine that ran it: auto takes the CPU for the short demo capture; an explicit GPU
    # backend names its adapter (lavapipe in CI).
    assert r.engine == "CPU engine" and ">engine<" in html
    try:
        on_gpu = ll.analyze(DEMO, backend="gpu")
    except ll.LightlaneError:
        if os.environ.get("LIGHTLANE_REQUIRE_GPU") == "1":
            raise
    else:
        assert on_gpu.engine.startswith("GPU engine (") and on_gpu.bits == r.bits
    assert "ber=" in repr(r)
    with pytest.raises(AttributeError):
        r.ber = 0.0
    with pytest.raises(AttributeError):
        r.no_such_field
    import pickle

    assert pickle.loads(pickle.dumps(r)).to_dict() == r.to_dict()
