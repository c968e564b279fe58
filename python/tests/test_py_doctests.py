"""The docstring examples of every module run and print what they show."""

from __future__ import annotations

import doctest

import pytest

MODULES = ["lightlane", "lightlane.exceptions", "lightlane.io", "lightlane.filter", "lightlane.eq", "lightlane.eye",
           "lightlane.fec", "lightlane.pattern", "lightlane.modulation", "lightlane.timing",
           "lightlane.sim", "lightlane.analysis", "lightlane.plot", "lightlane.batch"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(ll, name: str) -> None:
    import importlib

    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name not in ("lightlane.batch",):
        assert result.attempted > 0, f"{name} has no examples"
