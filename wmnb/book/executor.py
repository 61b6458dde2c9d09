"""The chapter pipeline: the declared runs (:mod:`.chapters`) executed by papermill, compiled by Jupyter Book.

Every chapter is a MyST-markdown notebook ``book/NN_name.md`` (the only committed source). A *run* is a
chapter with one parameter set (a *variant*, e.g. one per architecture) at one *profile*
(``smoke`` | ``quick`` | ``paper``). :func:`execute` runs each into ``book/_executed/<page>.ipynb`` (git-ignored)
and skips a run whose inputs (source text, parameters, package version, profile) are unchanged, so a warm
``make book`` only rebuilds the HTML. A failing run is reported with its cell and error; the others still run;
the command exits non-zero.

Every artefact a run writes besides its notebook (e.g. ``_build/claims.json``) goes under the root of the
build that executes it (:func:`artefact_path`; a papermill kernel learns it from ``$WMNB_BUILD_ROOT``), so the
smoke-profile check in its shadow root never touches the real book's files. Such artefacts are declared on
the run (:attr:`ChapterRun.artefacts`) and their sha256 is recorded in the run's stamp: a run whose artefact
is missing or was overwritten is stale and re-executes.

``_toc.yml`` lists the executed pages; ``tests/test_project.py`` checks it agrees with :data:`CHAPTERS`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ..cache import CacheEntry, atomic_write_bytes, default_cache_dir, sha256_file
from ..config import PROFILES
from ..errors import check_choice, check_int
from ..progress import STATIC_ENV, progress_bar
from . import sweep
from .chapters import CHAPTERS, COLD_FIRST, ChapterRun, select
from .paths import BOOK_DIR, BUILD_ROOT_ENV, EXECUTED_DIR, NBVAL_DIR, ROOT
from .timings import TIMINGS, record_time, record_training, record_wall, timings_markdown


def _package_version() -> str:
    from .. import __version__

    return __version__


def run_fingerprint(run: ChapterRun, profile: str) -> str:
    """sha256 of everything that determines a run's output: source text, parameters, package version, profile,
    and ``$WMNB_PRECISION`` (the training arithmetic a user chose, :class:`wmnb.training.TrainConfig`).

    The package's own source files are included too, so a change in the code a chapter calls re-executes it.
    """
    h = hashlib.sha256()
    h.update((ROOT / run.source).read_bytes())
    h.update(json.dumps({"p": run.parameters, "profile": profile, "v": _package_version(),
                         "precision": os.environ.get("WMNB_PRECISION", "")}, sort_keys=True).encode())
    for p in sorted((ROOT / "wmnb").rglob("*")):
        if p.is_file() and p.suffix in {".py", ".json"}:
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _stamp_path(run: ChapterRun, out_dir: Path = EXECUTED_DIR) -> Path:
    return out_dir / f".{run.page}.stamp"


def _root_of(out_dir: Path) -> Path:
    """The build root whose ``book/_executed`` is ``out_dir``."""
    return Path(out_dir).parent.parent


def _artefact_digests(run: ChapterRun, root: Path) -> dict[str, str | None]:
    """sha256 of each declared artefact of ``run`` under ``root`` (None when missing)."""

    return {a: sha256_file(root / a) if (root / a).is_file() else None for a in run.artefacts}


def _write_stamp(run: ChapterRun, profile: str, out_dir: Path) -> None:
    stamp = {"fingerprint": run_fingerprint(run, profile), "artefacts": _artefact_digests(run, _root_of(out_dir))}
    _stamp_path(run, out_dir).write_text(json.dumps(stamp, sort_keys=True) + "\n")


def is_fresh(run: ChapterRun, profile: str, out_dir: Path = EXECUTED_DIR) -> bool:
    """True when the executed page exists, its inputs are unchanged, and every artefact it wrote is still
    there with the content it wrote (so a file overwritten by another build is rewritten)."""
    out = out_dir / f"{run.page}.ipynb"
    stamp_path = _stamp_path(run, out_dir)
    if not (out.exists() and stamp_path.exists()):
        return False
    try:
        stamp = json.loads(stamp_path.read_text())
    except ValueError:
        return False  # a stamp of an older format
    if not isinstance(stamp, dict) or stamp.get("fingerprint") != run_fingerprint(run, profile):
        return False
    recorded = stamp.get("artefacts", {})
    current = _artefact_digests(run, _root_of(out_dir))
    return all(recorded.get(a) is not None and recorded.get(a) == d for a, d in current.items())


@contextmanager
def _kernel_env(out_dir: Path, threads: int | None = None):
    """The environment the chapter kernels inherit while the block runs (restored after): explorers render
    their static fallback and :func:`wmnb.progress.progress_bar` draws no bar (in a notebook it is a widget, dead
    in the HTML), artefacts go under this build's root (never another's), and with ``threads`` each
    kernel's torch uses that many CPU threads (parallel chapters share the cores instead of fighting)."""
    # TQDM_DISABLE for any bar outside wmnb's own (the notebook bar ignores it: it passes disable explicitly)
    want = {STATIC_ENV: "1", BUILD_ROOT_ENV: str(_root_of(out_dir).resolve()), "TQDM_DISABLE": "1"}
    if threads is not None:
        want.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    before = {k: os.environ.get(k) for k in want}
    os.environ.update(want)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_run(run: ChapterRun, profile: str, *, out_dir: Path = EXECUTED_DIR,
                extra_parameters: dict | None = None, log_output: bool = False) -> Path:
    """Execute one run with papermill into ``out_dir/<page>.ipynb`` (atomically). Returns the path."""
    import jupytext
    import papermill

    check_choice("profile", profile, PROFILES)
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(ROOT / run.source)
    params = {"profile": profile, **run.parameters, **(extra_parameters or {})}
    out = out_dir / f"{run.page}.ipynb"
    tmp = out_dir / f".{run.page}.partial.ipynb"
    if os.environ.get(BUILD_ROOT_ENV) == str(_root_of(out_dir).resolve()):
        env = nullcontext()  # set by execute() for all its runs: parallel runs must not restore it under each other
    else:
        env = _kernel_env(out_dir)
    with env:
        papermill.execute_notebook(nb, str(tmp), parameters=params, cwd=str(ROOT), kernel_name="python3",
                                   progress_bar=False, log_output=log_output)
    _add_colab_badge(tmp, run.source, run.title, label_suffix="" if run.variant in ("", "all") else run.variant)
    os.replace(tmp, out)
    return out


#: a MyST target line, ``(ch-stimuli)=``, that labels the heading or paragraph below it
_LABEL_LINE = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=[ \t]*$", re.MULTILINE)


def _title_cell(cells) -> int | None:
    """Index of the markdown cell holding the page's ``# title`` (after any MyST labels), or None."""
    for i, c in enumerate(cells):
        if c.cell_type == "markdown" and _LABEL_LINE.sub("", c.source).lstrip().startswith("# "):
            return i
    return None


def _add_colab_badge(path: Path, source: str, title_suffix: str = "", label_suffix: str = "") -> None:
    """Put the chapter's "Open in Colab" link right under its title in the executed notebook, and name the
    variant in the title (so the variants of one chapter are told apart in the table of contents).

    ``label_suffix`` (a variant's slug) renames every MyST label of the page, ``(ch-x)=`` to ``(ch-x-gru)=``:
    the variants of a chapter execute one source, and a label may exist once in the book, so only the
    chapter's main page (its "all" variant) keeps the labels that ``{ref}`` links point to."""
    import nbformat

    from .colab import badge_markdown

    nb = nbformat.read(path, as_version=4)
    if label_suffix:
        for c in nb.cells:
            if c.cell_type == "markdown":
                c.source = _LABEL_LINE.sub(lambda m: f"({m.group(1)}-{label_suffix})=", c.source)
    at = _title_cell(nb.cells)
    if at is not None and title_suffix:
        src = nb.cells[at].source
        m = re.search(r"^# .*$", src, re.MULTILINE)
        nb.cells[at].source = src[:m.end()] + f" ({title_suffix})" + src[m.end():]
    pos = 0 if at is None else at + 1
    badge = badge_markdown(source)
    if badge:  # no link while the repository address is unset: a dead link is worse than none
        nb.cells.insert(pos, nbformat.v4.new_markdown_cell(badge))
    nbformat.write(nb, path)


def default_jobs() -> int:
    """Chapters (and training runs) at a time: one per CPU core, at most 2 (the laptop the book is built for;
    a chapter's own analyses are mostly one-threaded tensor work)."""
    return max(1, min(2, os.cpu_count() or 1))


def stages(runs: list[ChapterRun]) -> list[list[ChapterRun]]:
    """``runs`` grouped by :attr:`ChapterRun.stage`, in stage order, keeping the declared order within one."""
    return [[r for r in runs if r.stage == s] for s in sorted({r.stage for r in runs})]


def pretrain(runs: list[ChapterRun], profile: str, out_dir: Path = EXECUTED_DIR, workers: int = 1) -> None:
    """Train every run the given chapter runs will ask for and that is not cached yet, before any chapter
    executes, so the chapters (executing in parallel, one torch thread each) only read the cache.

    ``workers`` = 1 (default) trains them one after another in this process on all of torch's threads;
    more trains them in parallel processes of one thread each (:func:`wmnb.book.sweep.run`). On a 2-core laptop one
    at a time is faster (``benchmarks/bench_time_to_accuracy.py``: 55 s per quick MTMF GRU run alone on 2
    threads, 61 s per run for two side by side on one thread each). Records the stage's wall time and each
    run's training time (:func:`record_training`). A run that fails here fails again, visibly, in its chapter.
    """
    pages = [r.page for r in runs if r.needs]
    if not pages:
        return
    items = [it for it in sweep.plan(profile, chapters=pages) if not it.cached]
    if not items:
        return
    t0 = time.time()
    print(f"training the {len(items)} runs the chapters need first ({workers} at a time) ...", flush=True)
    failed: dict[str, str] = {}
    if workers > 1:
        failed = dict(sweep.run(items, executor="local", workers=workers, threads=1).failed)
    else:
        for it in progress_bar(items, desc="training runs", unit="run"):
            try:
                sweep.train_one(it)
            except Exception as exc:  # the chapter that needs it retrains it and reports the error in place
                failed[it.key] = f"{type(exc).__name__}: {exc}"
                print(f"run {it.label()} failed: {failed[it.key]}", flush=True)
    seconds = {}
    for it in items:
        info = CacheEntry(default_cache_dir(), "runs", it.key).path("info.json")
        if info.is_file():
            seconds[it.label()] = round(float(json.loads(info.read_text())["train_seconds"]), 1)
    wall = time.time() - t0
    print(f"trained {len(seconds)} of {len(items)} runs in {wall:.0f}s"
          + (f"; {len(failed)} failed (their chapters retry them)" if failed else ""), flush=True)
    record_training(out_dir, profile, wall, workers, seconds)


def execute(chapters: list[str] | None = None, profile: str = "quick", *, force: bool = False,
            out_dir: Path = EXECUTED_DIR, jobs: int | None = None, train_jobs: int = 1) -> list[str]:
    """Execute the selected runs (skipping fresh ones). Returns the pages that failed.

    With ``jobs`` > 1 (default :func:`default_jobs`), the training runs the stale chapters need are trained
    first, ``train_jobs`` at a time (:func:`pretrain`), and then up to ``jobs`` chapters execute at once, stage
    by stage (:func:`stages`), each kernel on ``cores // jobs`` torch threads (measured on 2 cores: two quick
    analysis chapters in 83 s side by side against 129 s one after another). Two chapters that need one table
    compute it once: the second waits on its cache lock (:func:`wmnb.results.cached_table`).
    """
    check_choice("profile", profile, PROFILES)
    jobs = default_jobs() if jobs is None else check_int("jobs", jobs, low=1)
    train_jobs = check_int("train_jobs", train_jobs, low=1)
    runs = select(chapters)
    stale = [r for r in runs if force or not is_fresh(r, profile, out_dir)]
    for r in runs:
        if r not in stale:
            print(f"{r.page}: up to date", flush=True)
    if not stale:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    if jobs > 1:
        pretrain(stale, profile, out_dir, workers=train_jobs)
    failed: list[str] = []
    t_all = time.time()
    done = 0

    def one(run: ChapterRun) -> None:
        nonlocal done
        t0 = time.time()
        print(f"{run.page}: executing (profile={profile}) ...", flush=True)
        try:
            execute_run(run, profile, out_dir=out_dir)
        except Exception as exc:  # report and go on: one failing chapter must not lose the others
            failed.append(run.page)
            _stamp_path(run, out_dir).unlink(missing_ok=True)
            print(f"{run.page}: FAILED after {time.time() - t0:.0f}s\n{_describe_failure(exc)}", flush=True)
            return
        _write_stamp(run, profile, out_dir)
        with _timings_lock:
            record_time(out_dir, run.page, profile, time.time() - t0)
            done += 1
            print(f"{run.page}: done in {time.time() - t0:.0f}s (elapsed {time.time() - t_all:.0f}s, "
                  f"{len(stale) - done - len(failed)} left)", flush=True)

    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    with _kernel_env(out_dir, threads):
        for group in stages(stale):
            if jobs == 1:
                for run in group:
                    one(run)
                continue
            with ThreadPoolExecutor(max_workers=jobs) as pool:  # each run is a papermill kernel process
                list(pool.map(one, _longest_first(group, out_dir)))
    record_wall(out_dir, profile, time.time() - t_start, jobs, len(stale))
    return failed


_timings_lock = threading.Lock()


def _longest_first(group: list[ChapterRun], out_dir: Path) -> list[ChapterRun]:
    """The runs of one stage, those that took longest last time first: two workers then finish together
    instead of one waiting on a long chapter started last. Runs this build never timed follow, those of
    :data:`~.chapters.COLD_FIRST` first (the slowest of a measured cold build), the others in declared order."""
    path = out_dir / TIMINGS
    data = json.loads(path.read_text()) if path.is_file() else {}
    known = sorted((r for r in group if r.page in data), key=lambda r: -data[r.page]["seconds"])

    def hint(r: ChapterRun) -> int:
        return next((i for i, p in enumerate(COLD_FIRST) if r.page.startswith(p)), len(COLD_FIRST))
    return known + sorted((r for r in group if r.page not in data), key=hint)


def _describe_failure(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    where = f" in cell [{cell}]" if cell is not None else ""
    return f"    {ename}{where}: {evalue}"


def build_html(root: Path = ROOT, strict: bool = True) -> int:
    """Compile the executed notebooks under ``root`` into ``root/_build/html`` (warnings are errors)."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    return subprocess.call(cmd, cwd=root)


def build(chapters: list[str] | None = None, profile: str = "quick", *, force: bool = False,
          root: Path = ROOT, jobs: int | None = None, train_jobs: int = 1) -> int:
    """Execute what is stale (``jobs`` at a time: :func:`execute`), then build the HTML of the book rooted at
    ``root``. Returns an exit code."""
    t0 = time.time()
    out_dir = root / "book" / "_executed"
    failed = execute(chapters, profile, force=force, out_dir=out_dir, jobs=jobs, train_jobs=train_jobs)
    if failed:
        print(f"chapters failed: {failed}; the HTML book is not built until they pass", flush=True)
        return 1
    missing = [r.page for r in CHAPTERS if not (out_dir / f"{r.page}.ipynb").exists()]
    if missing:
        print(f"pages never executed (run them first): {missing}", flush=True)
        return 1

    table = timings_markdown(out_dir).encode()
    if not (out_dir / "timings.md").is_file() or (out_dir / "timings.md").read_bytes() != table:
        atomic_write_bytes(out_dir / "timings.md", table)
    from .findings import write_pages

    write_pages(root)  # landing-page findings, changelog and citation, from this build's claims.json
    if html_fresh(root):
        print(f"HTML up to date (nothing changed since the last successful build) -> "
              f"{root / '_build' / 'html' / 'index.html'}", flush=True)
        return 0
    code = build_html(root)
    if code == 0:
        _html_stamp(root).write_text(time.strftime("%Y-%m-%d %H:%M:%S\n", time.gmtime()))
    print(f"book ({profile}) built in {time.time() - t0:.0f}s -> {root / '_build' / 'html' / 'index.html'}",
          flush=True)
    return code


def _html_stamp(root: Path) -> Path:
    """Written after an HTML build that passed (no warning); its time is the build's."""
    return root / "_build" / "html" / ".wmnb-built"


def _html_inputs(root: Path) -> list[Path]:
    """Every file the HTML is compiled from: config, TOC, the front-matter pages, the executed notebooks and
    the Markdown the build generates (timings, findings, changelog, citation)."""
    book_dir = root / "book"
    files = [root / "_config.yml", root / "_toc.yml"]
    files += [p for p in book_dir.glob("*") if p.is_file() and p.suffix in {".md", ".bib", ".png", ".svg"}]
    files += sorted((book_dir / "_executed").glob("*.ipynb")) + sorted((book_dir / "_executed").glob("*.md"))
    return files


def html_fresh(root: Path = ROOT) -> bool:
    """True when the last HTML build of ``root`` passed and no input changed since (a warm rebuild with nothing
    changed then takes seconds instead of a Jupyter Book run)."""
    stamp = _html_stamp(root)
    if not stamp.is_file():
        return False
    t = stamp.stat().st_mtime
    return all(p.stat().st_mtime <= t for p in _html_inputs(root) if p.exists())


def shadow_root(path: Path) -> Path:
    """A copy of the book's frame (config, TOC, front matter) at ``path``, for a build that must not touch
    the real book (the smoke-profile check). Chapter sources are still read from the repository."""

    path.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        atomic_write_bytes(path / name, (ROOT / name).read_bytes())
    for src in [*BOOK_DIR.glob("*.md"), *BOOK_DIR.glob("*.bib")]:  # front matter and the bibliography it cites
        if not src.name[:2].isdigit():
            atomic_write_bytes(path / "book" / src.name, src.read_bytes())
    return path


#: where ``wmnb book check`` keeps its test artefacts: a full-page screenshot of every smoke page, of every
#: planted page (``planted/``), and ``report.json`` (every page's problems); git-ignored
ARTEFACTS_DIR = ROOT / "test-artefacts" / "book-check"


def explorer_pages() -> tuple[str, ...]:
    """The pages whose chapter has a widget explorer (its source asks ``static_mode()`` which one to show):
    the browser check wants a static fallback block on each."""
    return tuple(r.page for r in CHAPTERS if "static_mode()" in (ROOT / r.source).read_text())


def check(root: Path | None = None, artefacts: Path | None = None) -> int:
    """Build the whole book at the smoke profile in a shadow root and open every page in headless Chromium.

    Fails (non-zero) on a chapter error, a Jupyter Book warning, or anything :mod:`.htmlcheck` finds on a page
    (missing figure, error cell or stack trace, raw TeX, a table wider than the page, an output over
    :data:`~.htmlcheck.MAX_OUTPUT_LINES` lines, an explorer whose static fallback lacks what the widget shows,
    a broken internal link). Then it plants pages with one fault each next to a real page and fails if the
    check misses one (:func:`~.htmlcheck.self_test`). Screenshots and ``report.json`` go to ``artefacts``
    (default :data:`ARTEFACTS_DIR`).
    """
    import shutil

    from .htmlcheck import check_site, self_test, summarise, write_report

    root = shadow_root(root or (default_cache_dir() / "book-smoke"))
    artefacts = Path(artefacts) if artefacts else ARTEFACTS_DIR
    code = build(None, "smoke", root=root)
    if code:
        return code
    shutil.rmtree(artefacts, ignore_errors=True)
    t0 = time.time()
    html = root / "_build" / "html"
    reports = check_site(html, artefacts, explorer_pages=explorer_pages())
    # plant next to a page that passed and has equations (the CDN plant must have some to lose)
    clean = [html / r.page for r in reports if r.ok and r.n_math]
    missed, planted = self_test(html, artefacts / "planted", template=clean[0] if clean else None)
    write_report(reports + planted, artefacts / "report.json")
    print(summarise(reports), flush=True)
    caught = {r.page.rsplit("/", 1)[-1]: sorted({k for k, _ in r.problems()}) for r in planted}
    print(f"planted faults: {len(planted) - len(missed)} of {len(planted)} caught "
          + "; ".join(f"{p}: {', '.join(k) or '-'}" for p, k in caught.items()), flush=True)
    for m in missed:
        print(f"the browser check MISSED a planted fault: {m}", flush=True)
    print(f"browser check took {time.time() - t0:.0f}s; screenshots and report.json in {artefacts}", flush=True)
    return 0 if all(r.ok for r in reports) and not missed else 1


def refresh_nbval() -> list[Path]:
    """Re-execute the nbval reference notebooks (``tests/nbval/src/*.md`` -> ``tests/nbval/*.ipynb``).

    Run this only after a *deliberate* change of a computed number; ``make test`` then checks the new outputs.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    written = []
    for src in sorted((NBVAL_DIR / "src").glob("*.md")):
        nb = jupytext.read(src)
        nb.metadata.pop("jupytext", None)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
        out = NBVAL_DIR / src.with_suffix(".ipynb").name
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i}"
            cell.metadata.pop("execution", None)
        nbformat.write(nb, out)
        written.append(out)
    return written
