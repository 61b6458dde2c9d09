"""Open every page of the built book in headless Chromium and fail on what a reader would see broken.

For each HTML page: every ``<img>`` must have loaded (complete, non-zero natural width), no cell output may be
an error (traceback), and every internal link must point at an existing file (and an existing anchor in it).
A screenshot of each page is saved. Chromium and its driver come from Debian (``chromium``,
``chromium-driver``) and run with ``--headless --no-sandbox --disable-gpu`` and no network.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import AssetError

SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}

_JS_PAGE_STATE = """
const imgs = Array.from(document.images);
const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
const errors = Array.from(document.querySelectorAll(
    'div.output.traceback, div.output.error, .cell_output .traceback')).map(e => e.innerText.slice(0, 300));
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id);
return {n_images: imgs.length, broken: broken, errors: errors, links: links, ids: ids,
        title: document.title};
"""


@dataclass
class PageReport:
    page: str
    n_images: int = 0
    broken_images: list[str] = field(default_factory=list)
    error_outputs: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    screenshot: str = ""

    @property
    def ok(self) -> bool:
        return not (self.broken_images or self.error_outputs or self.broken_links)


def _driver(width: int = 1280, height: int = 2400):
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
                "--no-first-run", "--disable-quic", f"--window-size={width},{height}"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)


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
            import re

            ids = set(re.findall(r'id="([^"]+)"', target.read_text(errors="replace")))
            ids_cache[target] = ids
        return unquote(url.fragment) in ids
    return True


def check_site(html_root: str | Path, screenshot_dir: str | Path | None = None) -> list[PageReport]:
    """Check every page under ``html_root``; returns one report per page (see :class:`PageReport`)."""
    html_root = Path(html_root).resolve()
    pages = sorted(p for p in html_root.rglob("*.html")
                   if p.name not in SKIP_PAGES and "_static" not in p.parts and "_sources" not in p.parts)
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
            state = driver.execute_script(_JS_PAGE_STATE)
            r = PageReport(rel, n_images=state["n_images"], broken_images=list(state["broken"]),
                           error_outputs=list(state["errors"]))
            r.broken_links = sorted({h for h in state["links"] if not _check_link(h, html_root, ids_cache)})
            if shots:
                path = shots / (rel.replace("/", "__").removesuffix(".html") + ".png")
                driver.save_screenshot(str(path))
                r.screenshot = str(path)
            reports.append(r)
    finally:
        driver.quit()
    return reports


def summarise(reports: list[PageReport]) -> str:
    lines = []
    for r in reports:
        status = "ok" if r.ok else "FAIL"
        lines.append(f"{status:4s} {r.page}: {r.n_images} images")
        for what, items in (("broken image", r.broken_images), ("error output", r.error_outputs),
                            ("broken link", r.broken_links)):
            for it in items:
                lines.append(f"     {what}: {it}")
    bad = sum(not r.ok for r in reports)
    lines.append(f"browser check: {len(reports) - bad} pages fine, {bad} pages broken")
    return "\n".join(lines)
