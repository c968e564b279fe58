"""lightlane.plot draws taps, FEC histograms, eyes and bathtubs; reports render inline."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")


def test_plots(ll) -> None:
    import matplotlib.pyplot as plt

    r = ll.analyze(REPO / "testdata" / "demo_pam4.bin")
    ax = ll.plot.taps(r)
    assert len(ax.get_lines()) >= 1 and "main cursor" in ax.get_xlabel()
    ax = ll.plot.taps(ll.eq.Ffe(np.ones(5), reference_tap=2))
    ax = ll.plot.fec_histogram(r)
    assert ax.get_yscale() == "log" and len(ax.patches) == len(r.fec["histogram"])
    ax = ll.plot.fec_histogram(ll.fec.codeword_statistics([3, 5000, 9000], 5440 * 4))
    ax = ll.plot.fec_histogram(np.array([10, 3, 1, 0]))
    assert ax.get_xticklabels()[-1].get_text() == ">2"
    img = np.zeros((64, 128))
    img[16, :] = img[48, :] = 5
    ax = ll.plot.eye(img, extent=(-0.5, 1.5, -1, 1))
    assert len(ax.images) == 1 and ax.images[0].get_extent() == [-0.5, 1.5, -1, 1]
    x = np.linspace(0, 1, 50)
    ax = ll.plot.bathtub(x, [10.0 ** (-12 * np.sin(np.pi * x)), 10.0 ** (-10 * np.sin(np.pi * x))],
                         target_ber=1e-6, labels=["upper", "lower"])
    assert len(ax.get_lines()) == 3
    fig = r.plot()
    assert len(fig.axes) == 2
    with pytest.raises(ValueError):
        ll.plot.eye(np.zeros(5))
    with pytest.raises(ValueError):
        ll.plot.bathtub([0, 1], [1e-3])
    plt.close("all")


def test_inline_reprs(ll) -> None:
    w = ll.io.Waveform(np.zeros(10), fs=1e9)
    assert "10 samples" in w._repr_html_()
    s = ll.fec.codeword_statistics([3], 5440)
    assert "<table" in s._repr_html_() and "cer" in s._repr_html_()
