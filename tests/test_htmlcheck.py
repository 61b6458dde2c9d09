"""The browser check catches what a reader would see broken: missing images, error cells, dead links."""
import base64

import pytest

from wmnb.book.htmlcheck import check_site, summarise

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def _site(tmp_path):
    (tmp_path / "img.png").write_bytes(PNG)
    (tmp_path / "good.html").write_text(
        '<html><body><h1 id="top">ok</h1><img src="img.png"><a href="bad.html">b</a>'
        '<a href="good.html#top">self</a></body></html>')
    (tmp_path / "bad.html").write_text(
        '<html><body><img src="missing.png"><div class="cell_output"><div class="output traceback">'
        'ZeroDivisionError</div></div><a href="nowhere.html">x</a><a href="good.html#nope">y</a>'
        '</body></html>')
    return tmp_path


def test_browser_check_flags_broken_pages_and_passes_good_ones(tmp_path):
    reports = {r.page: r for r in check_site(_site(tmp_path), tmp_path / "shots")}
    good, bad = reports["good.html"], reports["bad.html"]
    assert good.ok and good.n_images == 1
    assert not bad.ok
    assert bad.broken_images == ["missing.png"]
    assert bad.error_outputs and "ZeroDivisionError" in bad.error_outputs[0]
    assert len(bad.broken_links) == 2
    assert (tmp_path / "shots" / "good.png").stat().st_size > 0
    assert "1 pages broken" in summarise(list(reports.values()))
