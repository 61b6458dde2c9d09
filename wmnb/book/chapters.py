"""The declared run list of the book: every executed page, in book order (:data:`CHAPTERS`).

A *run* is a chapter source ``book/NN_name.md`` with one parameter set (a *variant*, e.g. one per architecture),
executed at one *profile* (``smoke`` | ``quick`` | ``paper``). ``_toc.yml`` lists the executed pages;
``tests/test_project.py`` checks it agrees with :data:`CHAPTERS`. A new chapter joins the book here and there.

Each run names the ``needs`` of the experiments it reads: functions from the chapter's parameters to the
:class:`wmnb.runs.RunSpec` it trains, the very functions its own code calls (``RunSet(w, xt.needs(P))``), so the
sweep plan (:mod:`wmnb.sweep`) is derived from the experiments, never mirrored. ``tests/test_sweep.py`` executes
the chapters at the smoke profile and checks that the runs they ask for are exactly the plan's.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import claims
from ..config import check_profile
from ..errors import ConfigError
from ..runs import RunSpec
from .paths import ROOT
from ..experiments import ablation, attention, behaviour, cross_task, dynamics, orthogonality, relevance
from ..superposition import bridge


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
    #: the experiments' ``needs`` functions whose runs the page trains (none: it trains no run of wmnb.training)
    needs: tuple[Callable, ...] = ()

    @property
    def page(self) -> str:
        """The executed page's name (no extension), unique across the book."""
        stem = Path(self.source).stem
        return f"{stem}__{self.variant}" if self.variant else stem

    @property
    def toc_entry(self) -> str:
        return f"book/_executed/{self.page}"


__all__ = ["ChapterRun", "CHAPTERS", "CORE_TITLES", "COLD_FIRST", "select", "runs_of", "chapter_parameters"]


#: architecture variants, in execution order ("all" last: it reuses the three cached analyses)
CORE_TITLES = {"rnn": "vanilla RNN", "gru": "GRU", "lstm": "LSTM", "all": "all architectures compared"}


def _per_core(source: str, needs: Callable) -> list[ChapterRun]:
    """One run per architecture, then the "all" variant (stage 1: it reads the three runs' cached tables)."""
    return [ChapterRun(source, core, {"core": core}, CORE_TITLES[core], stage=int(core == "all"), needs=(needs,))
            for core in CORE_TITLES]


#: The declared list of chapter runs, in book order. Variants of one chapter follow each other.
CHAPTERS: list[ChapterRun] = [
    ChapterRun("book/01_stimuli.md"),
    ChapterRun("book/02_perception.md"),
    ChapterRun("book/03_nback.md"),
    ChapterRun("book/04_behaviour.md", needs=(behaviour.needs,)),
    # STSF models of all three task features (the chapter's default), so F1 is tested for each
    ChapterRun("book/05_task_relevance.md", needs=(relevance.needs,)),
    *_per_core("book/06_cross_task.md", cross_task.needs),
    *_per_core("book/07_orthogonalization.md", orthogonality.needs),
    *_per_core("book/08_memory_dynamics.md", dynamics.needs),
    *_per_core("book/09_procrustes.md", dynamics.needs),
    *_per_core("book/10_causal.md", dynamics.needs),
    # beyond the paper's figures: attention (the reference's own extension), superposition, procedural tasks
    ChapterRun("book/11_attention.md", needs=(attention.needs,)),
    ChapterRun("book/13_superposition.md", needs=(bridge.needs,)),
    ChapterRun("book/14_procedural.md"),  # its automata models live in their own cache (wmnb.automata.training)
    # the claims page runs after every chapter whose claims it collects, so it only reads their caches
    # the claims page also reads the paper-faithful arm's claims, which chapter 15 computes (its caches)
    ChapterRun("book/12_claims.md", artefacts=("_build/claims.json",), stage=2,
               needs=(claims.needs, ablation.paper_needs)),
    # why our verdicts differ from the paper's: stage 0, so that its long analyses of the arms' runs overlap the
    # other chapters' (the default arm's tables it reads last, by when chapters 6-10 have cached them)
    ChapterRun("book/15_ablation.md", needs=(ablation.needs,)),
    ChapterRun("book/95_attribution.md"),
    ChapterRun("book/96_api.md"),
]


#: page prefixes of the slowest pages of the last measured cold quick build (2 cores; see the reproducibility
#: page), slowest first: a build with no timings of its own starts them first, so that no long page is left
#: running alone at the end of its stage
COLD_FIRST = ("15_ablation", "14_procedural", "07_orthogonalization__rnn", "07_orthogonalization__gru",
              "02_perception", "13_superposition", "05_task_relevance", "08_memory_dynamics__rnn", "11_attention")


def runs_of(run: ChapterRun, profile: str) -> list[RunSpec]:
    """The training runs chapter run ``run`` asks for at ``profile`` (its ``needs`` applied to its parameters,
    :func:`chapter_parameters`), without duplicates, in the order first asked."""
    if not run.needs:
        return []
    p = chapter_parameters(run, profile)
    return list(dict.fromkeys(spec for needs in run.needs for spec in needs(p)))


def _parameters_cell(source: Path) -> str:
    """The source of the ``parameters``-tagged code cell of a MyST chapter."""
    import jupytext

    nb = jupytext.read(source)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell.source
    raise ConfigError(f"{source} has no code cell tagged 'parameters'")


def chapter_parameters(run, profile: str) -> dict[str, Any]:
    """The parameters a chapter run executes with at ``profile``: its ``parameters`` cell's defaults, then
    the run's :attr:`~wmnb.book.ChapterRun.parameters`, then ``profile`` (papermill's order).

    The cell is parsed, not executed: every statement must be ``name = <literal>`` (else ConfigError).
    """
    check_profile(profile)
    source = Path(run.source)
    if not source.is_absolute():
        source = ROOT / source  # ChapterRun.source is relative to the repository root
    out: dict[str, Any] = {}
    for node in ast.parse(_parameters_cell(source)).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ConfigError(f"{source}: the parameters cell may hold only `name = literal` lines; "
                              f"found {ast.dump(node)[:80]}")
        try:
            out[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ConfigError(f"{source}: parameter {node.targets[0].id!r} is not a literal") from None
    out.update(run.parameters)
    out["profile"] = profile
    return out


def select(chapters: list[str] | None) -> list[ChapterRun]:
    """The runs whose page or chapter stem starts with one of ``chapters`` (all when None)."""
    if not chapters:
        return list(CHAPTERS)
    chosen = [r for r in CHAPTERS if any(r.page.startswith(c) or Path(r.source).stem.startswith(c)
                                         for c in chapters)]
    if not chosen:
        raise ConfigError(f"chapters={chapters!r} match no chapter run; known pages: {[r.page for r in CHAPTERS]}")
    return chosen
