"""The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``): MathJax shipped with the book
(:mod:`.mathjax`) and the book's own style, ``static/wmnb.css`` and ``static/wmnb.js`` (result tables fit the
page width: smaller type, wrapping headers, long tokens allowed to wrap; numbers never wrap).

The static files live in the package, so a build in another root (the smoke check's shadow root) has them too.
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _add_static(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    app.setup_extension("wmnb.book.mathjax")
    app.connect("config-inited", _add_static)
    app.add_css_file("wmnb.css")
    app.add_js_file("wmnb.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
