"""The book machinery (publishing, not science): the declared chapter runs, their execution by papermill and
the HTML build, the Colab notebooks, the browser check of the built site, the API page, and the report snippets
the chapters print (intervals, verdicts, the smoke-profile note).

One module per job: :mod:`.chapters` (the run list), :mod:`.paths` (where things live, the build root),
:mod:`.executor` (execute, stamp, build, check), :mod:`.timings`, :mod:`.colab`, :mod:`.htmlcheck`,
:mod:`.apidoc`, :mod:`.report`. The names below are re-exported so ``from wmnb.book import CHAPTERS`` and
``wmnb.book.artefact_path(...)`` work.
"""
from .chapters import CHAPTERS, CORE_TITLES, ChapterRun, select
from .executor import (_stamp_path, _write_stamp, build, build_html, check, default_jobs, execute,  # noqa: F401
                       execute_run, is_fresh, pretrain, refresh_nbval, run_fingerprint, shadow_root, stages)
from .chapter_setup import ALL_CORES, Chapter, setup
from .paths import BOOK_DIR, BUILD_ROOT_ENV, EXECUTED_DIR, NBVAL_DIR, ROOT, artefact_path, build_root
from .timings import TIMINGS, record_time, record_training, record_wall, timings_markdown

__all__ = ["setup", "Chapter", "ALL_CORES", "CHAPTERS", "CORE_TITLES", "ChapterRun", "select", "ROOT", "BOOK_DIR", "EXECUTED_DIR",
           "NBVAL_DIR", "BUILD_ROOT_ENV", "build_root", "artefact_path", "run_fingerprint", "is_fresh",
           "execute_run", "execute", "default_jobs", "stages", "pretrain", "build_html", "build", "shadow_root",
           "check", "refresh_nbval", "TIMINGS", "record_time", "record_training", "record_wall", "timings_markdown"]
