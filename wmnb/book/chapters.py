"""The declared run list of the book: every executed page, in book order (:data:`CHAPTERS`).

A *run* is a chapter source ``book/NN_name.md`` with one parameter set (a *variant*, e.g. one per architecture),
executed at one *profile* (``smoke`` | ``quick`` | ``paper``). ``_toc.yml`` lists the executed pages;
``tests/test_project.py`` checks it agrees with :data:`CHAPTERS`. A new chapter joins the book here and there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

PROFILES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class ChapterRun:
    """One executed page: a chapter source plus one parameter set."""

    source: str  # path relative to the repo root, e.g. "book/01_stimuli.md"
    variant: str = ""  # "" for the single run of a chapter; else a short slug (e.g. "gru")
    parameters: dict[str, Any] = field(default_factory=dict)
    title: str = ""  # appended to the chapter's title on a variant's page, e.g. "vanilla RNN"
    artefacts: tuple[str, ...] = ()  # files it writes, relative to the build root, e.g. "_build/claims.json"
    #: runs of a later stage start only when every run of the earlier stages is done, so a page that reads
    #: other pages' cached tables (the "all" variants: 1; the claims page: 2) never computes them itself
    stage: int = 0

    @property
    def page(self) -> str:
        """The executed page's name (no extension), unique across the book."""
        stem = Path(self.source).stem
        return f"{stem}__{self.variant}" if self.variant else stem

    @property
    def toc_entry(self) -> str:
        return f"book/_executed/{self.page}"


#: architecture variants, in execution order ("all" last: it reuses the three cached analyses)
CORE_TITLES = {"rnn": "vanilla RNN", "gru": "GRU", "lstm": "LSTM", "all": "all architectures compared"}


def _per_core(source: str) -> list[ChapterRun]:
    """One run per architecture, then the "all" variant (stage 1: it reads the three runs' cached tables)."""
    return [ChapterRun(source, core, {"core": core}, CORE_TITLES[core], stage=int(core == "all"))
            for core in CORE_TITLES]


#: The declared list of chapter runs, in book order. Variants of one chapter follow each other.
CHAPTERS: list[ChapterRun] = [
    ChapterRun("book/01_stimuli.md"),
    ChapterRun("book/02_perception.md"),
    ChapterRun("book/03_nback.md"),
    ChapterRun("book/04_behaviour.md"),
    # STSF models of all three task features (the chapter's default), so F1 is tested for each
    ChapterRun("book/05_task_relevance.md"),
    *_per_core("book/06_cross_task.md"),
    *_per_core("book/07_orthogonalization.md"),
    *_per_core("book/08_memory_dynamics.md"),
    *_per_core("book/09_procrustes.md"),
    *_per_core("book/10_causal.md"),
    # beyond the paper's figures: attention (the reference's own extension), superposition, procedural tasks
    ChapterRun("book/11_attention.md"),
    ChapterRun("book/13_superposition.md"),
    ChapterRun("book/14_procedural.md"),
    # the claims page runs after every chapter whose claims it collects, so it only reads their caches
    ChapterRun("book/12_claims.md", artefacts=("_build/claims.json",), stage=2),
    ChapterRun("book/95_attribution.md"),
    ChapterRun("book/96_api.md"),
]


#: page prefixes of the slowest pages of the last measured cold quick build (2 cores; see the reproducibility
#: page), slowest first: a build with no timings of its own starts them first, so that no long page is left
#: running alone at the end of its stage
COLD_FIRST = ("14_procedural", "07_orthogonalization__rnn", "07_orthogonalization__gru", "02_perception",
              "13_superposition", "05_task_relevance", "08_memory_dynamics__rnn", "11_attention")


def select(chapters: list[str] | None) -> list[ChapterRun]:
    """The runs whose page or chapter stem starts with one of ``chapters`` (all when None)."""
    if not chapters:
        return list(CHAPTERS)
    chosen = [r for r in CHAPTERS if any(r.page.startswith(c) or Path(r.source).stem.startswith(c)
                                         for c in chapters)]
    if not chosen:
        raise ConfigError(f"chapters={chapters!r} match no chapter run; known pages: {[r.page for r in CHAPTERS]}")
    return chosen
