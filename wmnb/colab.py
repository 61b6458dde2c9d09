"""Colab notebooks generated from the MyST chapter sources.

``notebooks/NN_name.ipynb`` is committed so that an "Open in Colab" link can point at it. It is the chapter's
``.md`` source converted by jupytext, with one setup cell in front that installs wmnb when running on Colab.
``tests/test_colab.py`` fails when a committed notebook is out of date with its source; refresh them with
``wmnb book colab``.
"""
from __future__ import annotations

from pathlib import Path

from .book import ROOT

#: where the package is installed from on Colab (the public repository of this book)
REPOSITORY = "wmnb/wmnb"
BRANCH = "main"
NOTEBOOK_DIR = ROOT / "notebooks"

SETUP_SOURCE = f"""\
# Setup: on Colab, install wmnb (the package behind this book); elsewhere use the project's venv.
import sys
if "google.colab" in sys.modules:
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "wmnb[book] @ git+https://github.com/{REPOSITORY}@{BRANCH}"], check=True)
    # the default stimuli need the Debian/Ubuntu mesh packages: refresh apt lists, then fetch them
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run([sys.executable, "-m", "wmnb.cli", "assets"], check=True)"""


def colab_url(source: str | Path) -> str:
    """The "Open in Colab" address of a chapter's committed notebook."""
    name = Path(source).with_suffix(".ipynb").name
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{name}"


def badge_markdown(source: str | Path) -> str:
    # a text link, not the usual badge image: the book must render without any remote image
    return (f"**[Open this chapter in Colab]({colab_url(source)})** — run it yourself with other parameters "
            "(the first cell installs wmnb; a GPU is used when present).")


def colab_notebook(source: str | Path):
    """The Colab notebook (an nbformat NotebookNode) for a chapter source."""
    import jupytext
    import nbformat

    nb = jupytext.read(Path(source))
    setup = nbformat.v4.new_code_cell(SETUP_SOURCE)
    setup.metadata["tags"] = ["colab-setup"]
    nb.cells.insert(0, setup)
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    nb.metadata["accelerator"] = "GPU"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, cell in enumerate(nb.cells):  # stable ids so regeneration is byte-identical
        cell["id"] = f"cell-{i}"
    return nb


def colab_text(source: str | Path) -> str:
    import nbformat

    return nbformat.writes(colab_notebook(source)) + "\n"


def chapter_sources() -> list[Path]:
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))


def write_all() -> list[Path]:
    """(Re)generate every committed Colab notebook; returns the paths written."""
    from .cache import atomic_write_bytes

    NOTEBOOK_DIR.mkdir(exist_ok=True)
    out = []
    for src in chapter_sources():
        path = NOTEBOOK_DIR / src.with_suffix(".ipynb").name
        atomic_write_bytes(path, colab_text(src).encode())
        out.append(path)
    return out
