"""The notebooks run top to bottom on this machine, offline, showing their plots and results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "kansci-test"


@pytest.fixture()
def kernel(tmp_path, monkeypatch):
    """A kernel spec running this interpreter, found first on JUPYTER_PATH (no user spec wins)."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    work = tmp_path / "work"
    work.mkdir()
    return work


def _run(name: str, work: Path):
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(book, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()
    assert list(work.iterdir()) == [], "the notebook wrote files"
    return book


def _outputs(book, mime: str) -> list[str]:
    return [out["data"][mime] for cell in book.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if mime in out.get("data", {})]


def _text(book) -> str:
    parts = []
    for cell in book.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_notebooks_are_stored_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), path.name


def test_quickstart(kernel):
    book = _run("quickstart", kernel)
    assert len(_outputs(book, "image/png")) >= 5  # pareto, stages, training, edge, network
    html = "\n".join(_outputs(book, "text/html"))
    assert "R&sup2;" in html and "<table>" in html
    slope = _text(book).split("slope of log P against log a:")[1].split()[0]
    assert abs(float(slope) - 1.5) < 0.01  # Kepler's exponent, read off the snapped edge


def test_feynman(kernel):
    book = _run("feynman", kernel)
    assert len(_outputs(book, "image/png")) >= 2
    assert "symbolic solutions:" in _text(book)


def test_custom_library(kernel):
    book = _run("custom_library", kernel)
    assert len(_outputs(book, "image/png")) >= 3
    latex = "\n".join(_outputs(book, "text/latex"))
    assert "sinh" in latex


def test_collaborator(kernel):
    book = _run("collaborator", kernel)
    assert len(_outputs(book, "image/png")) >= 3  # hypothesis network, changed edge, final network
    text = _text(book)
    assert "the data changed the edge y -> h1.0" in text
    assert "law: f = exp(y**3 + sin(pi*x))" in text
    latex = "\n".join(_outputs(book, "text/latex"))
    assert "y^{3}" in latex and "\\sin" in latex


def test_pde_poisson(kernel):
    book = _run("pde_poisson", kernel)
    assert len(_outputs(book, "image/png")) >= 2  # error against steps, solution and error maps
    text = _text(book)
    assert "equals sin(pi x) sin(pi y): True" in text
    error = float(text.split("KAN [2,10,1]: relative L2 error")[1].split()[0])
    assert error < 1e-2
    lap_check = float(text.split("largest difference:")[1].split()[0])
    assert lap_check < 1e-6

def test_units(kernel):
    book = _run("units", kernel)
    text = _text(book)
    assert "F = q1*q2/(4*pi*eps_0*r**2)" in text
    assert "left out: ['T']" in text
    assert "'hbar'" in text or "'h'" in text  # Planck's law with named constants
    assert "k_B" in text

