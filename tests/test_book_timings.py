"""The build's time table: every executed page's last wall time, shown on the reproducibility page."""
import json

from wmnb import book


def test_record_time_keeps_the_last_execution_per_page(tmp_path):
    page = book.CHAPTERS[0].page
    book.record_time(tmp_path, page, "smoke", 12.0)
    book.record_time(tmp_path, page, "quick", 90.0)
    data = json.loads((tmp_path / book.TIMINGS).read_text())
    assert data[page]["seconds"] == 90.0 and data[page]["profile"] == "quick"
    md = book.timings_markdown(tmp_path)
    assert f"`{page}` | quick" in md and "1.5 min" in md and "**all pages above**" in md


def test_timings_markdown_without_any_execution(tmp_path):
    assert "executed and timed yet" in book.timings_markdown(tmp_path)
