"""The browser check judges what a reader sees: missing images, error cells and stack traces, raw TeX, tables
wider than the page, over-long outputs, explorer fallbacks that lack what the widget shows, dead links."""
import base64

import pytest

from wmnb.book.htmlcheck import (PLANTS, check_site, plant_pages, self_test, summarise, write_report)
from wmnb.book.mathjax import MATHJAX_PATH, mathjax_dir
from wmnb.errors import ConfigError

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
MATHJAX = f'<script defer src="_static/{MATHJAX_PATH}"></script>'


def _page(body: str, head: str = "") -> str:
    return (f'<html><head>{head}</head><body><main><article class="bd-article" style="width: 800px">'
            f'<h1 id="top">page</h1>{body}</article></main></body></html>')


def _output(text: str, kind: str = "stream") -> str:
    return (f'<div class="cell"><div class="cell_output"><div class="output {kind}"><div class="highlight">'
            f'<pre>{text}</pre></div></div></div></div>')


@pytest.fixture
def site(tmp_path):
    (tmp_path / "img.png").write_bytes(PNG)
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "mathjax").symlink_to(mathjax_dir(), target_is_directory=True)
    return tmp_path


def _check(site, pages: dict, **kw):
    for name, html in pages.items():
        (site / f"{name}.html").write_text(html)
    return {r.page.removesuffix(".html"): r for r in check_site(site, site / "shots", **kw)}


def test_broken_images_error_cells_and_links_fail_a_good_page_passes(site):
    r = _check(site, {
        "good": _page('<img src="img.png"><a href="bad.html">b</a><a href="good.html#top">self</a>'),
        "bad": _page('<img src="missing.png">' + _output("ZeroDivisionError", "traceback")
                     + '<a href="nowhere.html">x</a><a href="good.html#nope">y</a>'),
    })
    good, bad = r["good"], r["bad"]
    assert good.ok and good.n_images == 1
    assert not bad.ok
    assert bad.broken_images == ["missing.png"]
    assert bad.error_outputs and "ZeroDivisionError" in bad.error_outputs[0]
    assert len(bad.broken_links) == 2
    assert (site / "shots" / "good.png").stat().st_size > 0
    assert "1 pages broken" in summarise(list(r.values()))


def test_stack_trace_in_a_stream_warning_on_stderr_and_figure_text_fail(site):
    r = _check(site, {
        "trace": _page(_output('Traceback (most recent call last):\n  File "x.py", line 3, in f\nKeyError: 1')),
        "warn": _page(_output("/x.py:3: UserWarning: this will break", "stderr")),
        "figtext": _page(_output("&lt;Figure size 640x480 with 1 Axes&gt;", "text_plain")),
        "fine": _page(_output("loss 0.31\naccuracy 0.92")),
    })
    assert r["trace"].error_outputs and not r["trace"].ok
    assert r["warn"].error_outputs and "UserWarning" in r["warn"].error_outputs[0]
    assert r["figtext"].unrendered_figures == ["<Figure size 640x480 with 1 Axes"]
    assert r["fine"].ok


def test_raw_tex_fails_and_math_typeset_by_the_shipped_mathjax_passes(site):
    tex = r'<p>The index <span class="math">\(O = \frac{a}{b}\)</span> is small.</p>'
    r = _check(site, {
        "typeset": _page(tex, MATHJAX),
        "no_mathjax": _page(tex),
        "dollars": _page(r"<p>The rate is $\alpha = 0.5$ per step.</p>"),
        "code_is_fine": _page(r"<p>Type <code>$x$</code> or <code>\(x\)</code>.</p><pre>$$y$$</pre>"),
        "bad_tex": _page(r"<p><span class=\"math\">\(x^^2\)</span></p>", MATHJAX),
    })
    assert r["typeset"].ok and r["typeset"].n_math == 1
    assert r["no_mathjax"].raw_tex and r["no_mathjax"].n_math == 0
    assert r["dollars"].raw_tex and r"\alpha" in r["dollars"].raw_tex[0]
    assert r["code_is_fine"].ok
    assert r["bad_tex"].math_errors


def test_tables_wider_than_the_page_and_long_outputs_fail(site):
    def row(n):
        return "<table><tr>" + "".join(f"<td>value_{i}_long</td>" for i in range(n)) + "</tr></table>"

    r = _check(site, {
        "wide": _page(row(40)), "narrow": _page(row(3)),
        "long": _page(_output("\n".join(f"line {i}" for i in range(80)))),
        "short": _page(_output("\n".join(f"line {i}" for i in range(20)))),
    }, max_output_lines=50)
    assert r["wide"].wide_tables and "800 px page" in r["wide"].wide_tables[0]
    assert r["narrow"].ok
    assert r["long"].long_outputs and r["long"].long_outputs[0].startswith("80 lines")
    assert r["short"].ok


def test_explorer_fallback_must_show_what_the_widget_shows(site):
    def fallback(fields, header, rows, img="img.png"):
        table = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr></thead><tbody>"
                 + ("<tr>" + "<td>1</td>" * len(header) + "</tr>") * rows + "</tbody></table>")
        return (f'<div class="cell"><div class="cell_output"><div class="wmnb-explorer-fallback" '
                f'data-explorer="browser" data-fields="{",".join(fields)}" data-items="2">{table}</div>'
                f'<img src="{img}"></div></div>')
    r = _check(site, {
        "01_full": _page(fallback(["category", "angle"], ["category", "angle"], 2)),
        "02_lacks_a_field": _page(fallback(["category", "angle"], ["category"], 2)),
        "03_one_row_short": _page(fallback(["category"], ["category"], 1)),
        "04_no_figure": _page(fallback(["category"], ["category"], 2, img="gone.png")),
        "05_no_fallback": _page("<p>an explorer chapter that forgot its fallback</p>"),
        "06_dead_widget": _page('<div class="jupyter-widgets">slider</div>'),
    }, explorer_pages=("05_no_fallback",))
    assert r["01_full"].ok and r["01_full"].n_explorer_fallbacks == 1
    assert "angle" in r["02_lacks_a_field"].explorer_problems[0]
    assert "1 rows for 2 items" in r["03_one_row_short"].explorer_problems[0]
    assert "did not load" in r["04_no_figure"].explorer_problems[0]
    assert "no static fallback" in r["05_no_fallback"].explorer_problems[0]
    assert "live widget" in r["06_dead_widget"].explorer_problems[0]


def test_planted_faults_next_to_a_real_looking_page_are_all_caught(site):
    template = site / "chapter.html"
    template.write_text(_page(r'<p>See <span class="math">\(x_t\)</span>.</p><img src="img.png">', MATHJAX))
    assert check_site(site, pages=[template])[0].ok
    planted = plant_pages(site, template)
    assert len(planted) == len(PLANTS) + 1  # and the page that loads MathJax from a CDN
    for p in planted:
        p.unlink()
    missed, reports = self_test(site, site / "planted")
    assert missed == []
    assert all(not r.ok for r in reports)
    assert not list(site.glob("zz_planted_*.html"))  # removed again
    assert (site / "planted" / "zz_planted_raw_tex.png").is_file()
    assert write_report(reports, site / "report.json").read_text().count('"ok": false') == len(reports)


def test_bad_arguments_name_the_parameter(site, tmp_path):
    with pytest.raises(ConfigError, match="max_output_lines"):
        check_site(site, max_output_lines=0)
    with pytest.raises(ConfigError, match="html_root"):
        check_site(tmp_path / "not-there")
