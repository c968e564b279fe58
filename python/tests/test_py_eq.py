"""lightlane.filter / lightlane.eq against numpy references."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("taps", [1, 5, 15, 31, 64])
def test_fir_matches_numpy_convolve(ll, taps: int) -> None:
    rng = np.random.default_rng(taps)
    x = rng.uniform(-1, 1, 10_007).astype(np.float32)
    h = rng.uniform(-1, 1, taps).astype(np.float32)
    want = np.convolve(x.astype(np.float64), h.astype(np.float64), "valid")
    tol = 1e-5 * np.sqrt(taps)  # f32 accumulation error grows like sqrt(taps)
    for engine in ll.filter.Fir.engines():
        got = ll.filter.Fir(h, engine=engine).convolve_valid(x)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=engine)
    par = ll.filter.Fir(h).convolve_valid(x, parallel=True)
    np.testing.assert_array_equal(par, ll.filter.Fir(h).convolve_valid(x))


def test_fir_inputs_out_and_views(ll) -> None:
    rng = np.random.default_rng(3)
    x64 = rng.normal(size=4000)
    h = [0.25, 0.5, 0.25]
    fir = ll.filter.Fir(h)
    want = np.convolve(x64, h, "valid")
    # float64 and list inputs are converted; strided views are gathered.
    np.testing.assert_allclose(fir.convolve_valid(x64), want, atol=1e-5)
    np.testing.assert_allclose(fir.convolve_valid(list(x64[:100])), want[:98], atol=1e-5)
    xs = x64.astype(np.float32)[::2]
    np.testing.assert_allclose(fir.convolve_valid(xs), np.convolve(xs.astype(np.float64), h, "valid"), atol=1e-5)
    # out= is written in place and returned.
    out = np.full(len(x64) - 2, np.nan, dtype=np.float32)
    r = fir.convolve_valid(x64.astype(np.float32), out=out)
    assert r is out and np.allclose(out, want, atol=1e-5)
    with pytest.raises(ll.LengthMismatchError):
        fir.convolve_valid(x64.astype(np.float32), out=np.zeros(5, np.float32))
    with pytest.raises(ll.InvalidParameterError):
        ll.filter.Fir([])
    with pytest.raises(ll.NonFiniteError):
        ll.filter.Fir([1.0, np.nan])
    assert ll.filter.convolve_valid([1, 2, 3], [1, 1]).tolist() == [3.0, 5.0]


def ffe_reference(w: np.ndarray, sps: int, c: int, x: np.ndarray) -> np.ndarray:
    """y[k] = sum_j w[j] x[k*sps + c - j], zeros outside x (the documented definition)."""
    n_out = len(x) // sps
    y = np.zeros(n_out)
    for k in range(n_out):
        for j, wj in enumerate(w):
            i = k * sps + c - j
            if 0 <= i < len(x):
                y[k] += wj * x[i]
    return y


@pytest.mark.parametrize("sps,c", [(1, 3), (2, 4)])
def test_ffe_matches_definition(ll, sps: int, c: int) -> None:
    rng = np.random.default_rng(sps)
    w = rng.uniform(-1, 1, 11).astype(np.float32)
    x = rng.uniform(-1, 1, 2000).astype(np.float32)
    ffe = ll.eq.Ffe(w, samples_per_symbol=sps, reference_tap=c)
    assert ffe.reference_tap == c and ffe.samples_per_symbol == sps
    np.testing.assert_allclose(ffe.equalize(x), ffe_reference(w, sps, c, x), atol=2e-5)
    out = np.empty(len(x) // sps, np.float32)
    assert ffe.equalize(x, out=out) is out
    assert ll.eq.Ffe(np.ones(15)).reference_tap == 3  # 802.3dj default: 3 precursors


def test_ffe_train_mmse_inverts_isi(ll) -> None:
    rng = np.random.default_rng(5)
    sym = rng.integers(0, 4, 20_000).astype(np.uint8)
    lv = ll.modulation.symbols_to_levels(sym)
    x = np.convolve(lv, [1.0, 0.45, 0.2])[: len(lv)].astype(np.float32)
    x += rng.normal(0, 0.01, len(x)).astype(np.float32)
    t = ll.eq.Ffe.train_mmse(x, lv, n_taps=15)
    assert t.delay == 0 and t.snr_db > 30 and t.n_symbols > 10_000
    y = t.ffe.equalize(x)
    dec = ll.modulation.Slicer.for_levels(ll.modulation.levels("pam4")).slice(y)
    assert np.count_nonzero(dec[20:] != sym[20:]) == 0
    assert t.to_dict()["ffe"]["reference_tap"] == t.ffe.reference_tap
    with pytest.raises(ll.InputTooShortError):
        ll.eq.Ffe.train_mmse(x[:10], lv[:10], n_taps=15)


def test_adapt_ffe_lms_converges(ll) -> None:
    rng = np.random.default_rng(6)
    sym = rng.integers(0, 2, 30_000).astype(np.uint8)
    lv = ll.modulation.symbols_to_levels(sym, modulation="nrz")
    x = np.convolve(lv, [1.0, 0.3])[: len(lv)].astype(np.float32)
    init = ll.eq.Ffe.identity(7, reference_tap=1)
    r = ll.eq.adapt_ffe(x, init=init, levels=ll.modulation.levels("nrz"), targets=lv[:4096], rule="nlms", mu=0.05)
    assert r.mse_trace[-1] < 0.1 * r.mse_trace[0]
    assert r.output.shape == x.shape and np.isfinite(r.training_mse)
    rls = ll.eq.adapt_ffe(x, init=init, levels=ll.modulation.levels("nrz"), targets=lv[:4096], rule="rls")
    assert rls.mse_trace[-1] < 1e-3
    with pytest.raises(ll.InvalidParameterError):
        ll.eq.adapt_ffe(x, init=init, levels=[-1, 1], rule="lms", mu=-1.0)


def test_ctle(ll) -> None:
    c = ll.eq.Ctle.ieee_8023ck(53.125e9, fs=256e9, gdc_db=-6)
    h = c.response([0.0, 1e9, 26.5625e9])
    assert abs(abs(h[0]) - 10 ** (-6 / 20)) < 1e-9
    assert abs(h[2]) > abs(h[0])  # peaking toward Nyquist
    x = np.ones(4096, np.float32)
    y = c.apply(x)
    assert y.shape == x.shape and abs(y[2048] - 10 ** (-6 / 20)) < 1e-2  # DC gain on a DC input
    assert c.config["gdc_db"] == -6 and c.fs == 256e9 and c.n_taps > 1
    with pytest.raises(ll.InvalidParameterError):
        ll.eq.Ctle.ieee_8023dj(106.25e9, fs=256e9, gdc_db=100)


def test_dfe_and_mlse(ll) -> None:
    rng = np.random.default_rng(7)
    sym = rng.integers(0, 4, 20_000).astype(np.uint8)
    lv = ll.modulation.symbols_to_levels(sym)
    y = (lv + 0.5 * np.concatenate([[0], lv[:-1]])).astype(np.float32)
    y += rng.normal(0, 0.02, len(y)).astype(np.float32)
    dfe = ll.eq.Dfe.train(y, sym, n_taps=1)
    assert abs(dfe.taps[0] - 0.5) < 0.02 and dfe.modulation == "pam4"
    assert np.count_nonzero(dfe.detect(y)[1:] != sym[1:]) == 0
    ep = ll.eq.error_propagation(dfe.detect(y), sym)
    assert ep.symbols == len(sym)
    mlse, target = ll.eq.Mlse.fit_linear(y, sym, memory=1)
    assert abs(target[1] - 0.5) < 0.02 and mlse.memory == 1 and mlse.states == 4
    assert np.count_nonzero(mlse.detect(y)[5:-5] != sym[5:-5]) == 0
    with pytest.raises(ll.NonFiniteError):
        dfe.detect(np.array([np.nan], np.float32))
    with pytest.raises(ll.InvalidParameterError):
        ll.eq.Dfe([0.1], [-1, 1], modulation="pam8")


def test_axis(ll) -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 500, 2)).astype(np.float32)  # filter along axis 1
    h = np.array([0.5, -0.25, 0.125], np.float32)
    got = ll.filter.Fir(h).convolve_valid(x, axis=1)
    assert got.shape == (3, 498, 2)
    for i in range(3):
        for j in range(2):
            np.testing.assert_allclose(got[i, :, j], np.convolve(x[i, :, j].astype(np.float64), h, "valid"), atol=1e-5)
    ffe = ll.eq.Ffe(h, reference_tap=1)
    y = ffe.equalize(x[:, :, 0])  # default axis=-1
    assert y.shape == (3, 500)
    np.testing.assert_array_equal(y[2], ffe.equalize(np.ascontiguousarray(x[2, :, 0])))
    with pytest.raises(ll.InvalidParameterError):
        ffe.equalize(x[:, :, 0], out=np.zeros((3, 500), np.float32))
    c = ll.eq.Ctle.ieee_8023ck(53.125e9, fs=256e9)
    assert c.apply(x, axis=1).shape == x.shape
