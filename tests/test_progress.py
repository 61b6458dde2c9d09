"""Progress bars: a widget in a live kernel, nothing at all while the static book is executed (a widget in a
static page is dead; CI's browser check failed on chapter 13's training bars built from a cold cache)."""
import nbformat
from nbclient import NotebookClient

from wmnb.progress import STATIC_ENV, progress_bar

CELL = "from wmnb.progress import progress_bar\nfor _ in progress_bar(range(3), desc='steps'):\n    pass"
WIDGET = "application/vnd.jupyter.widget-view+json"


def _outputs_in_kernel(monkeypatch, static: bool) -> list:
    """The outputs of a cell that loops over a bar, executed in a real kernel with or without static mode."""
    if static:
        monkeypatch.setenv(STATIC_ENV, "1")
    else:
        monkeypatch.delenv(STATIC_ENV, raising=False)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb.cells[0].outputs


def test_a_live_kernel_gets_the_widget_bar(monkeypatch):
    """The positive control: without static mode the same cell draws a widget, so the static test can fail."""
    assert any(WIDGET in o.get("data", {}) for o in _outputs_in_kernel(monkeypatch, static=False))


def test_the_static_book_gets_no_bar_at_all(monkeypatch):
    assert _outputs_in_kernel(monkeypatch, static=True) == []


def test_a_bar_in_the_static_book_still_yields_every_item(monkeypatch):
    monkeypatch.setenv(STATIC_ENV, "1")
    assert list(progress_bar(range(4), desc="steps")) == [0, 1, 2, 3]
