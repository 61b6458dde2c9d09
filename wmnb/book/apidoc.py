"""A compact, always-current API overview (signatures + first docstring lines) for the book's API page."""
from __future__ import annotations

import importlib
import inspect

#: modules in data-flow order (science), then figures, then the book machinery
MODULES = (
    # the ground floor: names, profiles and sizes; the parameter engine; errors, caches
    "wmnb.config", "wmnb.params", "wmnb.errors", "wmnb.cache", "wmnb.results",
    # science, in data-flow order
    "wmnb.stimuli", "wmnb.stimuli.debian", "wmnb.perception", "wmnb.tasks", "wmnb.models", "wmnb.training",
    "wmnb.recording", "wmnb.runs", "wmnb.pipeline", "wmnb.analysis.probes", "wmnb.analysis.decoding",
    "wmnb.analysis.task_relevance", "wmnb.analysis.cross_task", "wmnb.analysis.orthogonality",
    "wmnb.analysis.dynamics", "wmnb.analysis.procrustes", "wmnb.analysis.perturbation", "wmnb.analysis.attention",
    "wmnb.analysis.stats", "wmnb.verdicts",
    # experiments: run sets in, cached tables and claim records out
    "wmnb.experiments.core", "wmnb.experiments.behaviour", "wmnb.experiments.relevance",
    "wmnb.experiments.cross_task", "wmnb.experiments.orthogonality", "wmnb.experiments.dynamics",
    "wmnb.experiments.procrustes", "wmnb.experiments.perturbation", "wmnb.experiments.attention",
    # beyond the paper's figures: temporal superposition (ch. 13), procedural tasks (ch. 14)
    "wmnb.superposition.model", "wmnb.superposition.measures", "wmnb.superposition.sweep",
    "wmnb.superposition.ksweep", "wmnb.superposition.bridge", "wmnb.superposition.claims", "wmnb.superposition.text",
    "wmnb.automata.tasks", "wmnb.automata.models",
    "wmnb.automata.training", "wmnb.automata.fsm", "wmnb.automata.extraction", "wmnb.automata.claims",
    # every claim, and every parameter an entry point takes
    "wmnb.claims", "wmnb.checks",
    # figures, one module per topic, in chapter order
    "wmnb.figures.style", "wmnb.figures.stimuli", "wmnb.figures.perception", "wmnb.figures.tasks",
    "wmnb.figures.behaviour",
    "wmnb.figures.relevance", "wmnb.figures.cross_task", "wmnb.figures.orthogonality", "wmnb.figures.dynamics",
    "wmnb.figures.procrustes", "wmnb.figures.perturbation", "wmnb.figures.attention",
    "wmnb.figures.superposition", "wmnb.figures.automata", "wmnb.figures.explorer",
    # the book machinery, cluster sweeps included
    "wmnb.book", "wmnb.book.chapter_setup", "wmnb.book.chapters", "wmnb.book.sweep", "wmnb.book.report",
    "wmnb.book.colab", "wmnb.book.htmlcheck",
)


def public_members(module) -> list[tuple[str, object]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(obj) or inspect.isclass(obj))
                 and getattr(obj, "__module__", "").startswith(module.__name__)]
    return [(n, getattr(module, n)) for n in names if inspect.isfunction(getattr(module, n, None))
            or inspect.isclass(getattr(module, n, None))]


def _first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _signature(obj) -> str:
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""
    return sig if len(sig) <= 110 else sig[:107] + "...)"


def api_markdown(modules=MODULES) -> str:
    """Markdown: one section per module, one bullet per public function/class."""
    out = []
    for name in modules:
        mod = importlib.import_module(name)
        out.append(f"## `{name}`\n\n{_first_line(mod)}\n")
        for n, obj in public_members(mod):
            kind = "class" if inspect.isclass(obj) else "def"
            sig = _signature(obj).replace("`", "")
            out.append(f"- **{kind} `{n}{sig}`** — {_first_line(obj)}")
        out.append("")
    return "\n".join(out)
