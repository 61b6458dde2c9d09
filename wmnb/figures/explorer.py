"""Interactive explorers with a static fallback.

In a live kernel (Jupyter, Colab) a chapter shows an ipywidgets explorer. When the book is executed by
``wmnb book`` the kernel has ``WMNB_STATIC=1`` set, and the same cell shows a static matplotlib figure
instead, so the HTML book never contains a dead widget.
"""
from __future__ import annotations

import os
from typing import Callable


def static_mode() -> bool:
    """True when executing for the static book (set by :func:`wmnb.book.execute_run`)."""
    return os.environ.get("WMNB_STATIC", "") == "1"


def explorer(make_widget: Callable[[], object], make_static: Callable[[], object]) -> object:
    """Return the widget in a live kernel, the static fallback (e.g. a Figure) when building the book."""
    if static_mode():
        return make_static()
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return make_static()
    return make_widget()
