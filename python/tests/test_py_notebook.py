"""examples/quickstart.ipynb runs top to bottom in a fresh kernel."""

from __future__ import annotations

import pytest

from conftest import REPO

NOTEBOOK = REPO / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_executes(ll, tmp_path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # The report rendered as HTML and at least one figure as PNG.
    assert any("text/html" in o.get("data", {}) and "lightlane Report" in o["data"]["text/html"] for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)
