"""Interactive explorers with a static fallback.

In a live kernel (Jupyter, Colab) a chapter shows an ipywidgets explorer. When the book is executed by
``wmnb book`` the kernel has ``WMNB_STATIC=1`` set, and the same cell shows a static matplotlib figure
instead, so the HTML book never contains a dead widget.
"""
from __future__ import annotations

from typing import Callable

from ..progress import static_mode

__all__ = ["static_mode", "explorer", "fallback_table"]


def explorer(make_widget: Callable[[], object], make_static: Callable[[], object]) -> object:
    """Return the widget in a live kernel, the static fallback (e.g. a Figure) when building the book."""
    if static_mode():
        return make_static()
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return make_static()
    return make_widget()


def fallback_table(name: str, table, fields, caption: str = "") -> None:
    """Show, under a static fallback, the table of what it shows: one row per item of the figure (an image,
    a trial), with a column for each of ``fields``, the values the live widget lets a reader pick or shows.

    In a kernel this displays an HTML block ``div.wmnb-explorer-fallback`` (``data-explorer``, ``data-fields``,
    ``data-items``) that the book's browser check reads (:mod:`wmnb.book.htmlcheck`): the table must have
    every field as a column and one row per item, and the cell a figure that loaded. Outside a kernel (a
    script, the tests) it shows nothing.
    """
    import html

    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return
    if get_ipython() is None:
        return
    fields = [str(f) for f in fields]
    missing = [f for f in fields if f not in table.columns]
    if missing:
        raise ValueError(f"fallback_table({name!r}): fields {missing} are not columns of the table "
                         f"({list(table.columns)})")
    attrs = (f'data-explorer="{html.escape(name)}" data-fields="{html.escape(",".join(fields))}" '
             f'data-items="{len(table)}"')
    text = f"<p>{html.escape(caption)}</p>" if caption else ""
    display(HTML(f'<div class="wmnb-explorer-fallback" {attrs}>{text}'
                 f'{table[fields].to_html(index=False, border=0)}</div>'))
