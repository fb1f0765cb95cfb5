"""Every tutorial notebook runs top to bottom in a real Jupyter kernel.

With REDNET_TUTORIAL_SMALL=1 the notebooks shrink their sizes and step counts (the switch is
read in each notebook's first cell) so that all of them together stay within a few minutes
on 2 cores; the full-size path is the default that a learner runs. A cell that raises fails
the test, and so does a check cell that prints "wrong".

The tests run the small sizes unless REDNET_TUTORIAL_SMALL=0 is set: then they run the
notebooks at full size, as a learner would (minutes each on a GPU, up to ten on 2 cores).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


def test_the_numbered_path_is_there():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers[:8] == list(range(1, 9)), f"tutorials found: {[p.name for p in NOTEBOOKS]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch):
    small = os.environ.get("REDNET_TUTORIAL_SMALL", "1") not in ("", "0")
    monkeypatch.setenv("REDNET_TUTORIAL_SMALL", "1" if small else "0")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # files a notebook writes land in the test's own folder
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name}: stored with outputs; clear them"
    client = nbclient.NotebookClient(nb, timeout=300 if small else 1800, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            assert "wrong" not in text.lower().split(), (
                f"{path.name}: a check cell says wrong:\n{cell.source}\n{text}")
