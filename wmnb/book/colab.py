"""Colab notebooks generated from the MyST chapter sources.

``notebooks/NN_name.ipynb`` is committed so that an "Open in Colab" link can point at it. It is the chapter's
``.md`` source converted by jupytext, with one setup cell in front that installs wmnb when running on Colab.
``tests/test_colab.py`` fails when a committed notebook is out of date with its source; refresh them with
``wmnb book colab``.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError
from .paths import ROOT

BRANCH = "main"
NOTEBOOK_DIR = ROOT / "notebooks"
CONFIG = ROOT / "_config.yml"
#: repository addresses that mean "not set yet": links built from them would point at nothing
PLACEHOLDERS = ("", "https://github.com/wmnb/wmnb")


def repository_url(config: Path = CONFIG) -> str | None:
    """The book's public repository (``repository.url`` in ``_config.yml``, the one setting that Jupyter Book's
    own buttons use too), or None while it is unset or still the placeholder."""
    import yaml

    url = ((yaml.safe_load(Path(config).read_text()) or {}).get("repository") or {}).get("url") or ""
    url = str(url).strip().rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    return None if url in PLACEHOLDERS else url


def _github_path(url: str) -> str:
    """``owner/name`` of a GitHub address (Colab opens notebooks from GitHub only)."""
    prefix = "https://github.com/"
    if not url.startswith(prefix) or url[len(prefix):].count("/") != 1:
        raise ConfigError(f"repository.url={url!r} in _config.yml is not allowed; Colab links need "
                          f"'https://github.com/<owner>/<name>'")
    return url[len(prefix):]


def setup_source(url: str | None) -> str:
    """The Colab setup cell: install wmnb from ``url`` (or say plainly that the address is not set)."""
    if url is None:
        install = ('    raise RuntimeError("This notebook was generated before the book\'s repository address was set '
                   '(repository.url in _config.yml); install wmnb from your own clone: pip install -e .[book]")')
    else:
        install = ('    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
                   f'                    "wmnb[book] @ git+{url}@{BRANCH}"], check=True)')
    return f"""\
# Setup: on Colab, install wmnb (the package behind this book); elsewhere use the project's venv.
import sys
if "google.colab" in sys.modules:
    import subprocess
{install}
    # the default stimuli need the Debian/Ubuntu mesh packages: refresh apt lists, then fetch them
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run([sys.executable, "-m", "wmnb.cli", "assets"], check=True)"""


def colab_url(source: str | Path, url: str | None = None) -> str | None:
    """The "Open in Colab" address of a chapter's committed notebook (None while the repository is unset)."""
    url = repository_url() if url is None else url
    if url is None:
        return None
    name = Path(source).with_suffix(".ipynb").name
    return f"https://colab.research.google.com/github/{_github_path(url)}/blob/{BRANCH}/notebooks/{name}"


def badge_markdown(source: str | Path) -> str:
    """The chapter's "Open in Colab" line, or "" while the repository address is unset (no dead links)."""
    href = colab_url(source)
    if href is None:
        return ""
    # a text link, not the usual badge image: the book must render without any remote image
    return (f"**[Open this chapter in Colab]({href})** — run it yourself with other parameters "
            "(the first cell installs wmnb; a GPU is used when present).")


_LABEL = re.compile(r"^\([A-Za-z0-9_.:-]+\)=[ \t]*\n?", re.MULTILINE)
_REF = re.compile(r"\{(?:ref|doc)\}`([^`<]*?)\s*<[^`>]+>`")
_CITE = re.compile(r"\{cite(?::[tp])?\}`([^`]+)`")


def plain_markdown(text: str) -> str:
    """MyST markdown as plain Jupyter markdown (Colab renders no MyST): labels ``(ch-x)=`` dropped,
    ``{ref}`text <ch-x>``` reduced to its text, a citation ``{cite}`key``` shown as ``[key]``."""
    text = _LABEL.sub("", text)
    text = _REF.sub(lambda m: m.group(1), text)
    return _CITE.sub(lambda m: "[" + ", ".join(k.strip() for k in m.group(1).split(",")) + "]", text)


def colab_notebook(source: str | Path):
    """The Colab notebook (an nbformat NotebookNode) for a chapter source."""
    import jupytext
    import nbformat

    nb = jupytext.read(Path(source))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = plain_markdown(cell.source)
    setup = nbformat.v4.new_code_cell(setup_source(repository_url()))
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
    from ..cache import atomic_write_bytes

    NOTEBOOK_DIR.mkdir(exist_ok=True)
    out = []
    for src in chapter_sources():
        path = NOTEBOOK_DIR / src.with_suffix(".ipynb").name
        atomic_write_bytes(path, colab_text(src).encode())
        out.append(path)
    return out
