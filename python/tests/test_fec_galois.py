"""Cross-check of `lightlane fec encode|decode` against galois (independent RS implementation).

KP4 = RS(544,514) and KR4 = RS(528,514) are the shortened RS(1023,993) and RS(1023,1009) over
GF(2^10) with p(x) = x^10 + x^3 + 1 and first generator root alpha^0 (galois: c=0), symbols
in transmission order (first = highest power), as IEEE 802.3 Clause 91/119 define them.

The CLI is taken from $LIGHTLANE_BIN, else target/release/lightlane, else
target/debug/lightlane (build with `cargo build --release -p lightlane-cli`). The test is
skipped when neither galois nor the binary is available.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
galois = pytest.importorskip("galois")

REPO = Path(__file__).resolve().parents[2]
CODES = {"kp4": (544, 514), "kr4": (528, 514)}


def lightlane_bin() -> Path | None:
    env = os.environ.get("LIGHTLANE_BIN")
    if env:
        return Path(env) if Path(env).exists() else None
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "lightlane"
        if p.exists():
            return p
    return None


BIN = lightlane_bin()
pytestmark = pytest.mark.skipif(BIN is None, reason="lightlane binary not built (set LIGHTLANE_BIN)")


def galois_code(n: int, k: int):
    gf = galois.GF(2**10, irreducible_poly=0x409, primitive_element=2)
    return galois.ReedSolomon(1023, 1023 - (n - k), field=gf, c=0), gf


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), "fec", *args], capture_output=True, text=True)


@pytest.mark.parametrize("code", ["kp4", "kr4"])
def test_encode_and_decode_agree_with_galois(tmp_path: Path, code: str) -> None:
    n, k = CODES[code]
    rs, gf = galois_code(n, k)
    rng = np.random.default_rng(20240521 + n)
    count = 60
    msgs = rng.integers(0, 1024, size=(count, k), dtype=np.uint16)

    # Encoding: the CLI against galois' shortened systematic encoder.
    (tmp_path / "msg.bin").write_bytes(msgs.astype("<u2").tobytes())
    r = run_cli("encode", "--code", code, str(tmp_path / "msg.bin"), str(tmp_path / "cw.bin"))
    assert r.returncode == 0, r.stderr
    ours = np.frombuffer((tmp_path / "cw.bin").read_bytes(), dtype="<u2").reshape(count, n)
    want = np.array(rs.encode(gf(msgs.astype(np.int64))), dtype=np.uint16)
    np.testing.assert_array_equal(ours, want)

    # Decoding: random symbol-error counts 0..20 at random positions with random non-zero values.
    rx = want.copy()
    nerr = rng.integers(0, 21, size=count)
    for i in range(count):
        pos = rng.choice(n, size=nerr[i], replace=False)
        rx[i, pos] ^= rng.integers(1, 1024, size=nerr[i], dtype=np.uint16)
    (tmp_path / "rx.bin").write_bytes(rx.astype("<u2").tobytes())
    r = run_cli("decode", "--code", code, str(tmp_path / "rx.bin"), str(tmp_path / "dec.bin"),
                "--json", str(tmp_path / "sum.json"))
    assert r.returncode == 0, r.stderr
    dec = np.frombuffer((tmp_path / "dec.bin").read_bytes(), dtype="<u2").reshape(count, n)
    summary = json.loads((tmp_path / "sum.json").read_text())

    g_cw, g_nerr = rs.decode(gf(rx.astype(np.int64)), output="codeword", errors=True)
    g_cw = np.array(g_cw, dtype=np.uint16)
    g_nerr = np.asarray(g_nerr)
    g_unc = set(np.flatnonzero(g_nerr < 0).tolist())
    assert set(summary["uncorrectable_indices"]) == g_unc
    assert summary["uncorrectable"] == len(g_unc)
    t = (n - k) // 2
    for i in range(count):
        if i in g_unc:
            np.testing.assert_array_equal(dec[i], rx[i], err_msg=f"uncorrectable word {i} must be unchanged")
            assert nerr[i] > t
        else:
            np.testing.assert_array_equal(dec[i], g_cw[i], err_msg=f"codeword {i}")
    corrected = g_nerr[g_nerr > 0]
    assert summary["corrected_symbols"] == int(corrected.sum())
    assert summary["corrected_codewords"] == int(len(corrected))
    assert summary["clean"] == int((g_nerr == 0).sum())
    # Every word with at most t errors was restored.
    ok = nerr <= t
    np.testing.assert_array_equal(dec[ok], want[ok])


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "short.bin").write_bytes(b"\x00" * 1087)
    r = run_cli("decode", str(tmp_path / "short.bin"), str(tmp_path / "o.bin"))
    assert r.returncode != 0 and "short.bin" in r.stderr and "1087" in r.stderr
    bad = np.zeros(544, dtype="<u2")
    bad[7] = 1024
    (tmp_path / "bad.bin").write_bytes(bad.tobytes())
    r = run_cli("decode", str(tmp_path / "bad.bin"), str(tmp_path / "o.bin"))
    assert r.returncode != 0 and "byte offset 14" in r.stderr and "1024" in r.stderr
    assert not (tmp_path / "o.bin").exists()
