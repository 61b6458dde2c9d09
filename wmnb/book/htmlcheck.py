"""Open every page of the built book in headless Chromium and fail on what a reader would see wrong.

For each HTML page, after MathJax has typeset it (:data:`MATHJAX_WAIT_S` at most), the check judges what a
reader sees, not only that the page loads:

* *broken images*: every ``<img>`` loaded (complete, non-zero natural width);
* *figures not rendered*: no output shows a figure's text stand-in (``<Figure size 640x480 with 1 Axes>``);
* *error outputs*: no error cell, no stack trace (``Traceback (most recent call last)``), no warning on stderr;
* *raw TeX*: no visible text outside code still reads as TeX (``$...$``, ``\\(``, ``\\[``, ``\\begin{``,
  ``\\frac``...), and no equation is a MathJax error;
* *wide tables*: every table fits the width of the page's article (a reader never scrolls sideways);
* *long outputs*: no text output of a cell is longer than ``max_output_lines`` lines;
* *explorer fallbacks*: where a chapter has a widget explorer, its static fallback block
  (``div.wmnb-explorer-fallback``, :func:`wmnb.figures.explorer.fallback_table`) holds a figure that loaded
  and a table with every field the live widget shows, one row per item shown; no live widget is left dead;
* *broken links*: every internal link points at an existing file (and an existing anchor in it).

A full-page screenshot of each page is saved. :func:`plant_pages` writes pages that copy a real page of the
book and add one fault each (raw TeX, math left to a CDN, an error cell, a too-wide table, a too-long output,
a missing figure); :func:`self_test` checks the check flags each of them. Chromium and its driver come from
Debian (``chromium``, ``chromium-driver``) and run with ``--headless --no-sandbox --disable-gpu`` and no network.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import AssetError, ConfigError

SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
#: a cell's text output longer than this many lines fails the check (a reader scrolls past it, or gives up)
MAX_OUTPUT_LINES = 60
#: the longest wait for MathJax to finish typesetting a page, and for the whole in-page check (a loaded
#: machine is slow: past it the page is reported, not the check aborted)
MATHJAX_WAIT_S = 30
SCRIPT_TIMEOUT_S = 120
#: the viewport: a laptop screen (the landing page is judged by what shows in one of these)
WINDOW = (1280, 900)
#: full-page screenshots are cut at this height (Chromium's limit for one capture is near 16384 px)
MAX_SHOT_HEIGHT = 16000
#: the kinds of problem a page can have, in the order the summary lists them
KINDS = ("load_problems", "broken_images", "unrendered_figures", "error_outputs", "raw_tex", "math_errors",
         "wide_tables", "long_outputs", "explorer_problems", "broken_links")

# Runs in the page (execute_async_script): waits for MathJax's first typesetting, then collects what a
# reader sees. arguments[0]: max output lines; arguments[1]: wait in ms; last: the callback.
_JS_PAGE_STATE = r"""
const maxLines = arguments[0], waitMs = arguments[1], done = arguments[arguments.length - 1];
function collect() {
  const snip = (s, i, n) => s.slice(Math.max(0, i - 30), i + n + 30).replace(/\s+/g, ' ').trim();
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
  const outputs = Array.from(document.querySelectorAll('.cell_output .output, .cell_output > div'));
  const errors = Array.from(document.querySelectorAll(
      'div.output.traceback, div.output.error, .cell_output .traceback')).map(e => e.innerText.slice(0, 300));
  const figText = [], longOut = [];
  for (const o of new Set(outputs)) {
    const t = o.innerText || '';
    if (/Traceback \(most recent call last\)|^\s*File "[^"]+", line \d+/m.test(t) && !o.matches('.traceback, .error'))
      errors.push(t.slice(0, 300));
    if (o.matches('.stderr') && /(Warning|Error|Exception)\b/.test(t)) errors.push('stderr: ' + t.slice(0, 300));
    const m = t.match(/<(Figure size [\d.]+x[\d.]+ with \d+ Axes|matplotlib\.[\w.]+ object at|IPython\.core\.display\.\w+ object)/);
    if (m) figText.push(m[0]);
    if (o.querySelector('pre') && !o.querySelector('.output')) {
      const n = t.replace(/\n+$/, '').split('\n').length;
      if (n > maxLines) longOut.push(n + ' lines: ' + t.slice(0, 80).replace(/\s+/g, ' '));
    }
  }
  // raw TeX: visible text outside code, math containers and scripts that still reads as TeX
  const SKIP = /^(SCRIPT|STYLE|PRE|CODE|TEXTAREA|KBD|SAMP|NOSCRIPT|TEMPLATE|MJX-CONTAINER|SVG|svg|TITLE)$/;
  const TEX = /\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\$|\$[^\s$][^$\n]{0,300}?[^\s$\\]\$|\$[^\s$0-9]\$|\\(frac|alpha|beta|gamma|delta|lambda|sigma|theta|mathbf|mathrm|mathcal|lVert|rVert|sqrt|cdot|times|leq|geq|approx|sum|text|operatorname)\b/;
  const raw = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(n) {
    for (let e = n.parentElement; e; e = e.parentElement)
      if (SKIP.test(e.tagName) || e.classList.contains('highlight')) return NodeFilter.FILTER_REJECT;
    return NodeFilter.FILTER_ACCEPT; }});
  const blocks = new Map();  // text of one block (p, li, td...) joined across its inline elements
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const b = n.parentElement.closest('p, li, td, th, dt, dd, h1, h2, h3, h4, h5, h6, caption, figcaption, div, span.math') || document.body;
    blocks.set(b, (blocks.get(b) || '') + n.nodeValue);
  }
  for (const t of blocks.values()) { const m = TEX.exec(t); if (m) raw.add(snip(t, m.index, m[0].length)); }
  const mathErrors = Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
      .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 100));
  // tables wider than the article that holds them
  const article = ['article.bd-article', 'article', 'main', '[role=main]'].map(q => document.querySelector(q))
      .find(e => e) || document.body;
  const aw = article.clientWidth;
  const wide = Array.from(article.querySelectorAll('table')).filter(t => t.offsetParent !== null)
      .map(t => [Math.round(t.getBoundingClientRect().width), t]).filter(([w]) => w > aw + 2)
      .map(([w, t]) => `${w} px wide in a ${aw} px page: ` + (t.innerText || '').slice(0, 60).replace(/\s+/g, ' '));
  // widget explorers: a static fallback that shows what the widget shows, and no dead widget
  const explorer = [];
  const fallbacks = Array.from(document.querySelectorAll('.wmnb-explorer-fallback'));
  for (const f of fallbacks) {
    const fields = (f.dataset.fields || '').split(',').filter(Boolean), items = parseInt(f.dataset.items || '0');
    const cell = f.closest('.cell') || f.parentElement;
    const cellImgs = Array.from(cell.querySelectorAll('img'));
    const name = f.dataset.explorer || '?';
    if (!cellImgs.length || cellImgs.some(i => !i.complete || i.naturalWidth === 0))
      explorer.push(name + ': the fallback figure is missing or did not load');
    const head = Array.from(f.querySelectorAll('thead th, tr:first-child th')).map(th => th.innerText.trim());
    const missing = fields.filter(x => !head.includes(x));
    if (missing.length) explorer.push(name + ': fields the widget shows but the fallback table lacks: ' + missing.join(', '));
    const rows = f.querySelectorAll('tbody tr').length;
    if (!items || rows !== items) explorer.push(`${name}: the fallback table has ${rows} rows for ${items} items shown`);
  }
  for (const wdg of document.querySelectorAll('.jupyter-widgets, script[type="application/vnd.jupyter.widget-view+json"]'))
    explorer.push('a live widget in the static page (it shows nothing without a kernel)');
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  return {n_images: imgs.length, broken: broken, errors: errors, fig_text: figText, raw_tex: Array.from(raw),
          math_errors: mathErrors, wide: wide, long: longOut, explorer: explorer, n_fallbacks: fallbacks.length,
          n_math: document.querySelectorAll('mjx-container').length, links: links, title: document.title,
          mathjax: !!(window.MathJax && window.MathJax.startup)};
}
const ready = (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)
    ? window.MathJax.startup.promise : Promise.resolve();
Promise.race([ready, new Promise(r => setTimeout(r, waitMs))]).then(() => done(collect()), () => done(collect()));
"""


@dataclass
class PageReport:
    page: str
    n_images: int = 0
    n_math: int = 0
    n_explorer_fallbacks: int = 0
    load_problems: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    unrendered_figures: list[str] = field(default_factory=list)
    error_outputs: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    wide_tables: list[str] = field(default_factory=list)
    long_outputs: list[str] = field(default_factory=list)
    explorer_problems: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    screenshot: str = ""

    def problems(self) -> list[tuple[str, str]]:
        """Every problem as (kind, what), kinds in :data:`KINDS` order."""
        return [(k, it) for k in KINDS for it in getattr(self, k)]

    @property
    def ok(self) -> bool:
        return not self.problems()


def _driver(width: int = WINDOW[0], height: int = WINDOW[1]):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(chromium).exists() or not Path(chromedriver).exists():
        raise AssetError("headless Chromium is needed for the browser check: install the Debian packages "
                         "`chromium` and `chromium-driver` (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--hide-scrollbars", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
    driver.set_script_timeout(SCRIPT_TIMEOUT_S)
    return driver


def _check_link(href: str, html_root: Path, ids_cache: dict) -> bool:
    """True when an internal (file://) link resolves to a file, and its #anchor exists there."""
    url = urlparse(href)
    if url.scheme != "file":
        return True  # external links are not followed (no network here)
    target = Path(unquote(url.path))
    if target.is_dir():
        target = target / "index.html"
    if not target.exists():
        return False
    if url.fragment and target.suffix == ".html":
        ids = ids_cache.get(target)
        if ids is None:
            ids = set(re.findall(r'id="([^"]+)"', target.read_text(errors="replace")))
            ids_cache[target] = ids
        return unquote(url.fragment) in ids
    return True


def _full_page_screenshot(driver, path: Path) -> None:
    """The whole page, not only the viewport (Chromium's DevTools capture beyond the viewport)."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    width = max(int(size["width"]), WINDOW[0])
    height = min(max(int(size["height"]), WINDOW[1]), MAX_SHOT_HEIGHT)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


def pages_of(html_root: str | Path) -> list[Path]:
    """The HTML pages of a built book that a reader opens (not the search, index or static files)."""
    html_root = Path(html_root).resolve()
    return sorted(p for p in html_root.rglob("*.html")
                  if p.name not in SKIP_PAGES and "_static" not in p.parts and "_sources" not in p.parts)


def check_site(html_root: str | Path, screenshot_dir: str | Path | None = None, *,
               max_output_lines: int = MAX_OUTPUT_LINES, pages: list[Path] | None = None,
               explorer_pages: tuple[str, ...] = ()) -> list[PageReport]:
    """Check every page under ``html_root`` (or only ``pages``); returns one report per page.

    ``explorer_pages``: page names (no extension, e.g. ``"01_stimuli"``) whose chapter has a widget explorer:
    each must show at least one static fallback block. Full-page screenshots go to ``screenshot_dir``.
    """
    from selenium.common.exceptions import TimeoutException

    from ..errors import check_int

    max_output_lines = check_int("max_output_lines", max_output_lines, low=1)
    html_root = Path(html_root).resolve()
    if not html_root.is_dir():
        raise ConfigError(f"html_root={str(html_root)!r} is not a folder; build the book first")
    pages = pages_of(html_root) if pages is None else [Path(p).resolve() for p in pages]
    if not pages:
        raise AssetError(f"no HTML pages under {html_root}; build the book first")
    shots = Path(screenshot_dir) if screenshot_dir else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    reports = []
    ids_cache: dict = {}
    driver = _driver()
    try:
        for page in pages:
            rel = page.relative_to(html_root).as_posix()
            driver.get(page.as_uri())
            try:
                s = driver.execute_async_script(_JS_PAGE_STATE, max_output_lines, MATHJAX_WAIT_S * 1000)
            except TimeoutException:  # a page that never settles is what a reader sees too: report it, go on
                reports.append(PageReport(rel, load_problems=[f"the page did not finish loading and typesetting "
                                                               f"within {SCRIPT_TIMEOUT_S} s"]))
                continue
            r = PageReport(rel, n_images=s["n_images"], n_math=s["n_math"], n_explorer_fallbacks=s["n_fallbacks"],
                           broken_images=list(s["broken"]), unrendered_figures=list(s["fig_text"]),
                           error_outputs=list(s["errors"]), raw_tex=list(s["raw_tex"]),
                           math_errors=list(s["math_errors"]), wide_tables=list(s["wide"]),
                           long_outputs=list(s["long"]), explorer_problems=list(s["explorer"]))
            if page.stem in explorer_pages and not s["n_fallbacks"]:
                r.explorer_problems.append("the chapter has a widget explorer but the page shows no static "
                                           "fallback block (wmnb.figures.explorer.fallback_table)")
            r.broken_links = sorted({h for h in s["links"] if not _check_link(h, html_root, ids_cache)})
            if shots:
                path = shots / (rel.replace("/", "__").removesuffix(".html") + ".png")
                _full_page_screenshot(driver, path)
                r.screenshot = str(path)
            reports.append(r)
    finally:
        driver.quit()
    return reports


def summarise(reports: list[PageReport]) -> str:
    lines = []
    for r in reports:
        status = "ok" if r.ok else "FAIL"
        lines.append(f"{status:4s} {r.page}: {r.n_images} images, {r.n_math} equations"
                     + (f", {r.n_explorer_fallbacks} explorer fallbacks" if r.n_explorer_fallbacks else ""))
        for kind, it in r.problems():
            lines.append(f"     {kind.replace('_', ' ')}: {it}")
    bad = sum(not r.ok for r in reports)
    lines.append(f"browser check: {len(reports) - bad} pages fine, {bad} pages broken")
    return "\n".join(lines)


def write_report(reports: list[PageReport], path: str | Path) -> Path:
    """Every page's report as JSON (the test artefacts keep it beside the screenshots)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{**asdict(r), "ok": r.ok} for r in reports], indent=1) + "\n")
    return path


# ------------------------------------------------------------------------------------------- planted pages
#: what each planted page adds to a copy of a real page, and the kind of problem the check must report
PLANTS: dict[str, tuple[str, str]] = {
    "raw_tex": ("<p>Planted: the orthogonalization index is $O = \\frac{a}{b}$, and \\(x_t\\) is the state.</p>",
                "raw_tex"),
    "error_cell": ('<div class="cell docutils container"><div class="cell_output docutils container">'
                   '<div class="output traceback highlight-ipythontb notranslate"><div class="highlight"><pre>'
                   '---------------------------------------------------------------------------\n'
                   'ZeroDivisionError                         Traceback (most recent call last)\n'
                   'Cell In[3], line 1\n----&gt; 1 1 / 0\n\nZeroDivisionError: division by zero</pre></div>'
                   '</div></div></div>', "error_outputs"),
    "wide_table": ("<table><thead><tr>" + "".join(f"<th>column_{i}</th>" for i in range(40))
                   + "</tr></thead><tbody><tr>" + "".join(f"<td>{i * 1.234:.3f}</td>" for i in range(40))
                   + "</tr></tbody></table>", "wide_tables"),
    "long_output": ('<div class="cell docutils container"><div class="cell_output docutils container">'
                    '<div class="output stream highlight-myst-ansi notranslate"><div class="highlight"><pre>'
                    + "\n".join(f"epoch {i}: loss 0.{i:03d}" for i in range(300)) + "</pre></div></div></div></div>",
                    "long_outputs"),
    "missing_figure": ('<div class="cell docutils container"><div class="cell_output docutils container">'
                       '<img alt="planted" src="planted-figure-that-does-not-exist.png"></div></div>',
                       "broken_images"),
    "figure_as_text": ('<div class="cell docutils container"><div class="cell_output docutils container">'
                       '<div class="output text_plain highlight-myst-ansi notranslate"><div class="highlight"><pre>'
                       '&lt;Figure size 640x480 with 1 Axes&gt;</pre></div></div></div></div>', "unrendered_figures"),
}
#: the page whose equations are left to a CDN (as before MathJax shipped with the book): offline, raw TeX
CDN_PLANT = "math_from_cdn"
CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
PLANT_PREFIX = "zz_planted_"


def _insert(html: str, snippet: str) -> str:
    """``snippet`` right after the article's first ``</h1>``, else at the start of the body."""
    article = re.search(r"<article[^>]*>", html)
    at = html.find("</h1>", article.end() if article else 0)
    if at >= 0:
        return html[:at + 5] + snippet + html[at + 5:]
    m = re.search(r"<body[^>]*>", html)
    if not m:
        raise ValueError("page has no <body>")
    return html[:m.end()] + snippet + html[m.end():]


def plant_pages(html_root: str | Path, template: str | Path | None = None) -> dict[Path, str]:
    """Write the planted pages next to a real page of the book and return {page: kind the check must report}.

    ``template``: the real page to copy (default: the first page with a typeset equation, so the CDN page has
    equations to lose). Each copy keeps the page's theme, scripts and MathJax; one fault is added per page
    (:data:`PLANTS`), and one page loads MathJax from a CDN instead of the book (:data:`CDN_PLANT`).
    """
    html_root = Path(html_root).resolve()
    pages = [p for p in pages_of(html_root) if not p.name.startswith(PLANT_PREFIX)]
    if template is None:
        with_math = [p for p in pages if 'class="math' in p.read_text(errors="replace")
                     and "mathjax/" in p.read_text(errors="replace")]
        if not with_math:
            raise AssetError(f"no page under {html_root} has an equation to plant faults next to")
        template = with_math[0]
    template = Path(template).resolve()
    html = template.read_text()
    planted: dict[Path, str] = {}
    for name, (snippet, kind) in PLANTS.items():
        path = template.with_name(f"{PLANT_PREFIX}{name}.html")
        path.write_text(_insert(html, snippet))
        planted[path] = kind
    src = re.search(r'<script[^>]*src="([^"]*_static/mathjax/[^"]+)"', html)
    if src:
        path = template.with_name(f"{PLANT_PREFIX}{CDN_PLANT}.html")
        path.write_text(html.replace(src.group(1), CDN_MATHJAX))
        planted[path] = "raw_tex"
    return planted


def self_test(html_root: str | Path, screenshot_dir: str | Path | None = None, *,
              template: str | Path | None = None) -> tuple[list[str], list[PageReport]]:
    """Plant the faulty pages (:func:`plant_pages`, next to ``template``), check them and remove them. Returns
    the faults the check missed (empty when it caught every one) and the planted pages' reports."""
    planted = plant_pages(html_root, template)
    try:
        reports = check_site(html_root, screenshot_dir, pages=list(planted))
    finally:
        for p in planted:
            p.unlink(missing_ok=True)
    by_page = {r.page: r for r in reports}
    missed = []
    for path, kind in planted.items():
        r = by_page[path.relative_to(Path(html_root).resolve()).as_posix()]
        if not getattr(r, kind):
            missed.append(f"{path.name}: expected {kind.replace('_', ' ')}, the check saw "
                          f"{[k for k, _ in r.problems()] or 'nothing wrong'}")
    return missed, reports
