"""A Sphinx extension that ships MathJax with the book, so its equations render offline and from ``file://``.

MathJax 3.2.2 comes from the PyPI package ``sphinx-mathjax-offline`` (pinned in ``pyproject.toml``), whose own
extension copies it into ``_build/html/_static/mathjax`` when a build succeeds. This extension loads that one
and points ``mathjax_path`` at the SVG output (``tex-svg.js``) instead of the package's CommonHTML one:
CommonHTML needs web fonts, and Chromium refuses to load fonts for a page opened from ``file://``, so the
equations would render in fallback glyphs. ``_config.yml`` names it under ``sphinx.extra_extensions``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

#: the MathJax package on PyPI and the script each page loads (relative to ``_static``)
PACKAGE = "sphinx-mathjax-offline"
MATHJAX_PATH = "mathjax/tex-svg.js"


def mathjax_dir() -> Path:
    """The folder of the shipped MathJax files; a clear error when the package is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    folder = Path(spec.origin).parent / "static" / "mathjax" if spec and spec.origin else None
    if folder is None or not (folder / MATHJAX_PATH.split("/", 1)[1]).is_file():
        raise RuntimeError(f"MathJax files not found: install the PyPI package {PACKAGE} "
                           f"(pip install -e '.[book]')")
    return folder


def _use_svg(app, config) -> None:
    config.mathjax_path = MATHJAX_PATH


def setup(app):
    mathjax_dir()  # fail the build early, naming the package, rather than ship pages with raw TeX
    app.setup_extension(PACKAGE)
    app.connect("config-inited", _use_svg, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
