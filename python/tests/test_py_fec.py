"""lightlane.fec against galois (an independent RS implementation) and a numpy model of the
codeword statistics."""

from __future__ import annotations

import numpy as np
import pytest

CODES = {"kp4": (544, 514), "kr4": (528, 514)}


def galois_code(n: int, k: int):
    galois = pytest.importorskip("galois")
    gf = galois.GF(2**10, irreducible_poly=0x409, primitive_element=2)
    return galois.ReedSolomon(1023, 1023 - (n - k), field=gf, c=0), gf


@pytest.mark.parametrize("code", ["kp4", "kr4"])
def test_encode_decode_agree_with_galois(ll, code: str) -> None:
    n, k = CODES[code]
    rs_g, gf = galois_code(n, k)
    rs = getattr(ll.fec.ReedSolomon, code)()
    assert (rs.n, rs.k, rs.t, rs.code) == (n, k, (n - k) // 2, code)
    rng = np.random.default_rng(11 + n)
    count = 40
    msgs = rng.integers(0, 1024, size=(count, k), dtype=np.uint16)
    cw = rs.encode(msgs)
    want = np.array(rs_g.encode(gf(msgs.astype(np.int64))), dtype=np.uint16)
    np.testing.assert_array_equal(cw, want)
    assert not rs.syndromes(cw[0]).any()

    rx = want.copy()
    nerr = rng.integers(0, 2 * rs.t + 3, size=count)
    for i in range(count):
        pos = rng.choice(n, size=nerr[i], replace=False)
        rx[i, pos] ^= rng.integers(1, 1024, size=nerr[i], dtype=np.uint16)
    before = rx.copy()
    res = rs.decode(rx)
    np.testing.assert_array_equal(rx, before)  # the input is not modified
    g_cw, g_nerr = rs_g.decode(gf(rx.astype(np.int64)), output="codeword", errors=True)
    g_cw = np.array(g_cw, dtype=np.uint16)
    g_nerr = np.asarray(g_nerr)
    np.testing.assert_array_equal(res.ok, g_nerr >= 0)
    np.testing.assert_array_equal(res.corrected, np.where(g_nerr > 0, g_nerr, 0))
    for i in range(count):
        if res.ok[i]:
            np.testing.assert_array_equal(res.data[i], g_cw[i])
        else:
            np.testing.assert_array_equal(res.data[i], rx[i])
    ok = nerr <= rs.t
    np.testing.assert_array_equal(res.messages[ok], msgs[ok])
    assert ok.any() and (~ok).any()


def test_decode_erasures_and_single_word(ll) -> None:
    rs = ll.fec.ReedSolomon.kp4()
    msg = np.arange(514, dtype=np.uint16) % 1024
    cw = rs.encode(msg)[0]
    rx = cw.copy()
    pos = np.arange(0, 60, 2)  # 30 erasures = 2t
    rx[pos] = 0
    res = rs.decode_erasures(rx, pos)
    assert res.ok[0] and np.array_equal(res.data[0], cw)
    single = rs.decode(rx[None, :])
    assert single.data.shape == (1, 544)


def test_bad_fec_input(ll) -> None:
    rs = ll.fec.ReedSolomon.kr4()
    with pytest.raises(ll.LengthMismatchError):
        rs.encode(np.zeros((2, 500), np.uint16))
    with pytest.raises(ll.ValueOutOfRangeError) as e:
        bad = np.zeros((1, 528), np.uint16)
        bad[0, 7] = 1024
        rs.decode(bad)
    assert e.value.value == 1024
    with pytest.raises(ll.ValueOutOfRangeError):
        rs.decode(np.full((1, 528), -1, np.int64))
    with pytest.raises(ll.InvalidParameterError):
        ll.fec.ReedSolomon("rs255")
    with pytest.raises(ll.InvalidParameterError):
        rs.decode(np.zeros((1, 528), np.float64))


def test_codeword_statistics_matches_numpy(ll) -> None:
    rng = np.random.default_rng(12)
    total = 5440 * 200
    errs = np.sort(rng.choice(total, size=900, replace=False)).astype(np.uint64)
    s = ll.fec.codeword_statistics(errs, total, code="kp4")
    sym_err = np.unique(errs // 10)
    per_cw = np.bincount((sym_err // 544).astype(np.int64), minlength=200)
    hist = np.bincount(np.minimum(per_cw, 16), minlength=17)
    assert s.codewords == 200 and s.histogram == hist.tolist()
    assert s.uncorrectable == int((per_cw > 15).sum())
    assert s.pre_fec_bit_errors == 900 and s.symbol_errors == len(sym_err)
    assert s.max_symbol_errors == int(per_cw.max())
    assert s.cer == pytest.approx(s.uncorrectable / 200)
    m = ll.fec.random_error_model(1e-4)
    assert 0 < m.symbol_error_probability < 1e-3
    with pytest.raises(ll.InputTooShortError):
        ll.fec.codeword_statistics([], 100)
    with pytest.raises(ll.InvalidParameterError):
        ll.fec.codeword_statistics([5, 3], total)
