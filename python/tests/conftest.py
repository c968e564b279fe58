"""Shared fixtures of the Python tests.

Tests of the bindings need the installed `lightlane` package (scripts/test.sh builds the wheel
with maturin and installs it into .venv); they are skipped with a reason when it is missing so
that the CLI cross-check (test_fec_galois.py) still runs on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_CAPTURES = REPO.parent / "shared" / "captures"


def lightlane_bin() -> Optional[Path]:
    """The CLI: $LIGHTLANE_BIN, else target/{test-bin,release,debug}/lightlane."""
    env = os.environ.get("LIGHTLANE_BIN")
    if env:
        return Path(env) if Path(env).exists() else None
    for profile in ("test-bin", "release", "debug"):
        p = REPO / "target" / profile / "lightlane"
        if p.exists():
            return p
    return None


@pytest.fixture(scope="session")
def ll():
    """The installed lightlane package (skips when it is not installed)."""
    return pytest.importorskip("lightlane", reason="lightlane Python package not installed (run scripts/test.sh)")


@pytest.fixture(scope="session")
def captures() -> Path:
    """../shared/captures (skips when the folder is absent)."""
    if not SHARED_CAPTURES.is_dir():
        pytest.skip(f"shared captures not present at {SHARED_CAPTURES}")
    return SHARED_CAPTURES
