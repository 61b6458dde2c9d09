"""Progress bars and the static-book switch, on the ground floor so any module may show a bar.

In a terminal or a live notebook a long step shows a tqdm bar (in a notebook tqdm draws an ipywidgets
widget). When ``wmnb book`` executes a chapter for the static HTML book it sets ``WMNB_STATIC=1`` in the
kernel's environment; then no bar is drawn at all, since a widget in a static page is dead (it shows nothing
without a kernel) and the book's browser check fails on it. ``TQDM_DISABLE`` alone is not enough: the notebook
bar passes ``disable`` explicitly, which overrides the environment's default.
"""
from __future__ import annotations

import os
from typing import Iterable, Optional

STATIC_ENV = "WMNB_STATIC"

__all__ = ["STATIC_ENV", "static_mode", "progress_bar"]


def static_mode() -> bool:
    """True while a chapter is executed for the static book (``WMNB_STATIC=1``, set by the book executor)."""
    return os.environ.get(STATIC_ENV, "") == "1"


def progress_bar(iterable: Optional[Iterable] = None, *, enabled: bool = True, **kwargs):
    """A tqdm bar over ``iterable`` (or a manual one with ``total=``), the notebook widget in a kernel; a
    disabled plain bar (no output, no widget) when ``enabled`` is false or the static book is being built.
    ``kwargs`` go to tqdm (``desc``, ``total``, ``unit``, ``leave``, ``initial``)."""
    if not enabled or static_mode():
        from tqdm.std import tqdm  # noqa: PLC0415  (never the widget, even disabled)

        return tqdm(iterable, disable=True, **kwargs)
    from tqdm.auto import tqdm  # noqa: PLC0415

    return tqdm(iterable, **kwargs)
