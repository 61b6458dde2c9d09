"""The chapter pipeline: one declared list of chapter runs, executed by papermill, compiled by Jupyter Book.

Every chapter is a MyST-markdown notebook ``book/NN_name.md`` (the only committed source). A *run* is a
chapter with one parameter set (a *variant*, e.g. one per architecture) at one *profile*
(``smoke`` | ``quick`` | ``paper``). :func:`execute` runs each into ``book/_executed/<page>.ipynb`` (git-ignored)
and skips a run whose inputs (source text, parameters, package version, profile) are unchanged, so a warm
``make book`` only rebuilds the HTML. A failing run is reported with its cell and error; the others still run;
the command exits non-zero.

``_toc.yml`` lists the executed pages; ``tests/test_book.py`` checks it agrees with :data:`CHAPTERS`.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, check_choice

ROOT = Path(__file__).resolve().parent.parent
BOOK_DIR = ROOT / "book"
EXECUTED_DIR = BOOK_DIR / "_executed"
PROFILES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class ChapterRun:
    """One executed page: a chapter source plus one parameter set."""

    source: str  # path relative to the repo root, e.g. "book/01_stimuli.md"
    variant: str = ""  # "" for the single run of a chapter; else a short slug (e.g. "gru")
    parameters: dict[str, Any] = field(default_factory=dict)
    title: str = ""

    @property
    def page(self) -> str:
        """The executed page's name (no extension), unique across the book."""
        stem = Path(self.source).stem
        return f"{stem}__{self.variant}" if self.variant else stem

    @property
    def toc_entry(self) -> str:
        return f"book/_executed/{self.page}"


#: The declared list of chapter runs, in book order. Variants of one chapter follow each other.
CHAPTERS: list[ChapterRun] = [
    ChapterRun("book/01_stimuli.md"),
]


def _package_version() -> str:
    from . import __version__

    return __version__


def run_fingerprint(run: ChapterRun, profile: str) -> str:
    """sha256 of everything that determines a run's output: source text, parameters, package version, profile.

    The package's own source files are included too, so a change in the code a chapter calls re-executes it.
    """
    h = hashlib.sha256()
    h.update((ROOT / run.source).read_bytes())
    h.update(json.dumps({"p": run.parameters, "profile": profile, "v": _package_version()},
                        sort_keys=True).encode())
    for p in sorted((ROOT / "wmnb").rglob("*")):
        if p.is_file() and p.suffix in {".py", ".json"}:
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _stamp_path(run: ChapterRun) -> Path:
    return EXECUTED_DIR / f".{run.page}.stamp"


def is_fresh(run: ChapterRun, profile: str) -> bool:
    out = EXECUTED_DIR / f"{run.page}.ipynb"
    stamp = _stamp_path(run)
    return out.exists() and stamp.exists() and stamp.read_text().strip() == run_fingerprint(run, profile)


def select(chapters: list[str] | None) -> list[ChapterRun]:
    """The runs whose page or chapter stem starts with one of ``chapters`` (all when None)."""
    if not chapters:
        return list(CHAPTERS)
    chosen = [r for r in CHAPTERS if any(r.page.startswith(c) or Path(r.source).stem.startswith(c)
                                         for c in chapters)]
    if not chosen:
        raise ConfigError(f"chapters={chapters!r} match no chapter run; known pages: {[r.page for r in CHAPTERS]}")
    return chosen


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
    os.environ["WMNB_STATIC"] = "1"  # the kernel inherits it: explorers render their static fallback
    papermill.execute_notebook(nb, str(tmp), parameters=params, cwd=str(ROOT), kernel_name="python3",
                               progress_bar=False, log_output=log_output)
    os.replace(tmp, out)
    return out


def execute(chapters: list[str] | None = None, profile: str = "quick", *, force: bool = False) -> list[str]:
    """Execute the selected runs (skipping fresh ones). Returns the pages that failed."""
    check_choice("profile", profile, PROFILES)
    runs = select(chapters)
    failed: list[str] = []
    t_all = time.time()
    for i, run in enumerate(runs, 1):
        head = f"[{i}/{len(runs)}] {run.page}"
        if not force and is_fresh(run, profile):
            print(f"{head}: up to date", flush=True)
            continue
        print(f"{head}: executing (profile={profile}) ...", flush=True)
        t0 = time.time()
        try:
            execute_run(run, profile)
        except Exception as exc:  # report and go on: one failing chapter must not lose the others
            failed.append(run.page)
            _stamp_path(run).unlink(missing_ok=True)
            print(f"{head}: FAILED after {time.time() - t0:.0f}s\n{_describe_failure(exc)}", flush=True)
            continue
        _stamp_path(run).write_text(run_fingerprint(run, profile))
        print(f"{head}: done in {time.time() - t0:.0f}s (elapsed {time.time() - t_all:.0f}s, "
              f"{len(runs) - i} left)", flush=True)
    return failed


def _describe_failure(exc: Exception) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "exec_count", None)
    where = f" in cell [{cell}]" if cell is not None else ""
    return f"    {ename}{where}: {evalue}"


def build_html(strict: bool = True) -> int:
    """Compile the executed notebooks into ``_build/html`` with Jupyter Book (warnings are errors)."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    return subprocess.call(cmd, cwd=ROOT)


def build(chapters: list[str] | None = None, profile: str = "quick", *, force: bool = False) -> int:
    """Execute what is stale, then build the HTML. Returns a process exit code."""
    t0 = time.time()
    failed = execute(chapters, profile, force=force)
    if failed:
        print(f"chapters failed: {failed}; the HTML book is not built until they pass", flush=True)
        return 1
    missing = [r.page for r in CHAPTERS if not (EXECUTED_DIR / f"{r.page}.ipynb").exists()]
    if missing:
        print(f"pages never executed (run them first): {missing}", flush=True)
        return 1
    code = build_html()
    print(f"book built in {time.time() - t0:.0f}s -> {ROOT / '_build' / 'html' / 'index.html'}", flush=True)
    return code
