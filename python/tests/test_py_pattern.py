"""lightlane.pattern and lightlane.modulation against numpy references."""

from __future__ import annotations

import numpy as np
import pytest


def prbs_reference(order: int, tap: int, n: int) -> np.ndarray:
    """Fibonacci LFSR x^order + x^tap + 1 from the all-ones state (ITU-T O.150)."""
    state = [1] * order
    out = np.empty(n, np.uint8)
    for i in range(n):
        b = state[order - 1] ^ state[tap - 1]
        out[i] = b
        state = [b] + state[:-1]
    return out


@pytest.mark.parametrize("name,order,tap", [("prbs7", 7, 6), ("prbs9", 9, 5), ("prbs15", 15, 14)])
def test_prbs_is_the_o150_sequence(ll, name: str, order: int, tap: int) -> None:
    p = ll.pattern.Pattern(name)
    bits = p.generate(3000, modulation="nrz")
    ref = prbs_reference(order, tap, 3000 + 2**order)
    # Same sequence up to the starting phase (the seed convention): find the shift.
    period = 2**order - 1
    assert p.period(modulation="nrz") == period
    shifts = [s for s in range(period) if np.array_equal(ref[s : s + 3000], bits)]
    assert len(shifts) == 1


def test_check_counts_injected_errors(ll) -> None:
    p = ll.pattern.Pattern("prbs13q")
    sym = p.generate(50_000, modulation="pam4")
    rx = sym.copy()
    idx = np.arange(1000, 50_000, 997)
    rx[idx] = (rx[idx] + 1) % 4  # one symbol error each; Gray: 1 bit error for +1 except 3->0
    r = p.check(rx, modulation="pam4")
    assert r.symbol_errors == len(idx)
    s_err, b_err = ll.pattern.count_errors(rx, sym, modulation="pam4")
    assert s_err == len(idx) and r.bit_errors == b_err
    clean = p.check(sym)
    assert clean.bit_errors == 0 and clean.ber == 0.0 and clean.pattern == "PRBS13Q"
    with pytest.raises(ll.UnknownPatternError):
        ll.pattern.Pattern("prbs8")
    with pytest.raises(ll.PatternSyncError):
        p.check(np.random.default_rng(0).integers(0, 4, 50_000))
    u = ll.pattern.Pattern.from_symbols([0, 3, 1, 2], origin="mine")
    assert u.name == "mine" and u.generate(6).tolist() == [0, 3, 1, 2, 0, 3]
    with pytest.raises(ll.IllegalSymbolError):
        ll.pattern.Pattern.from_symbols([0, 7])
    assert "prbs13q" in ll.pattern.KNOWN_PATTERNS


def test_modulation(ll) -> None:
    md = ll.modulation
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, 2000).astype(np.uint8)
    sym = md.bits_to_symbols(bits)
    msb, lsb = bits[0::2], bits[1::2]
    np.testing.assert_array_equal(sym, (msb << 1) | (msb ^ lsb))  # 802.3 Gray
    np.testing.assert_array_equal(md.symbols_to_bits(sym), bits)
    np.testing.assert_array_equal(md.bits_to_symbols(bits, mapping="binary"), (msb << 1) | lsb)
    np.testing.assert_allclose(md.symbols_to_levels(sym), -1 + 2 * sym / 3, atol=1e-6)
    pre = md.precode(sym)
    np.testing.assert_array_equal(md.decode_precoded(pre), sym)
    np.testing.assert_array_equal((pre[1:] + pre[:-1]) % 4, sym[1:])
    sl = md.Slicer.for_levels(md.levels("pam4"))
    np.testing.assert_array_equal(sl.slice(md.symbols_to_levels(sym) * 0.9), sym)
    assert md.levels("nrz").tolist() == [-1.0, 1.0]
    with pytest.raises(ll.ValueOutOfRangeError):
        md.symbols_to_levels([0, 4])
    with pytest.raises(ll.ValueOutOfRangeError):
        md.bits_to_symbols([0, 2])
    with pytest.raises(ll.InvalidParameterError):
        md.bits_to_symbols([0, 1], mapping="weird")
    with pytest.raises(ll.InvalidParameterError):
        md.Slicer([1.0, 0.0])
