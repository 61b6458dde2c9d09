"""What each chapter trains: (a chapter run's declared parameters, profile) -> the training runs it asks for.

A chapter declares its parameters in its ``parameters``-tagged cell (defaults) and in the run list
(:data:`wmnb.book.CHAPTERS`, per variant). :func:`chapter_parameters` reads both, exactly as papermill would
merge them; :data:`NEEDS` maps a chapter's stem to a small pure function turning those parameters into the
:class:`RunRequest` list the chapter's code passes to :func:`wmnb.pipeline.trained_run` (directly or through
:mod:`wmnb.experiments` and :func:`wmnb.claims.collect`). Where a chapter resolves a default through a package
function (the profile's seeds, the STSF features of the profile), the same function is called here.

This mapping is checked against what the chapters really ask for: ``tests/test_sweep.py`` executes chapters at
the smoke profile with ``$WMNB_RUN_LOG`` set (:func:`wmnb.training.log_event`) and requires the requested
run keys to equal the plan's. A chapter without an entry is reported by :func:`requests`, never guessed.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Optional

from .errors import ConfigError, check_choice

__all__ = ["RunRequest", "NEEDS", "chapter_parameters", "requests", "declared"]

#: the repository root (chapter sources in the run list are relative to it)
ROOT = Path(__file__).resolve().parent.parent
CORES = ("rnn", "gru", "lstm")
SCENARIOS_ALL = ("STSF", "STMF", "MTMF")


@dataclass(frozen=True, order=True)
class RunRequest:
    """One training run a chapter asks for: the arguments of :func:`wmnb.pipeline.trained_run` besides the
    world (whose profile is the chapter's)."""

    scenario: str
    core: str
    seed: int
    feature: Optional[str] = None
    readout: str = "spatial"
    attention: str = "none"
    gate: str = "none"

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`wmnb.pipeline.train_config` (without ``profile``)."""
        kw: dict[str, Any] = dict(scenario=self.scenario, core=self.core, seed=int(self.seed))
        if self.feature is not None:
            kw["feature"] = self.feature
        for name, default in (("readout", "spatial"), ("attention", "none"), ("gate", "none")):
            if getattr(self, name) != default:
                kw[name] = getattr(self, name)
        return kw


# ---------------------------------------------------------------------------------------------------------
# the chapters' declared parameters
# ---------------------------------------------------------------------------------------------------------
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
    check_choice("profile", profile, ("smoke", "quick", "paper"))
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


# ---------------------------------------------------------------------------------------------------------
# per chapter: parameters -> runs (each mirrors the chapter's code; the smoke test keeps them honest)
# ---------------------------------------------------------------------------------------------------------
def _seeds(p: dict, key: str = "seeds") -> tuple[int, ...]:
    from .pipeline import seeds_for

    if p.get(key) is not None:
        return tuple(int(s) for s in p[key])
    return seeds_for(p["profile"], p.get("n_seeds"))


def _cores(core) -> tuple[str, ...]:
    if isinstance(core, (list, tuple)):
        return tuple(core)
    return CORES if core == "all" else (core,)


def _stsf(p: dict, stsf_features) -> tuple[str, ...]:
    """The STSF features :func:`wmnb.experiments.relevance.relevance` trains (its own default rule)."""
    from .experiments.relevance import _check_stsf_features

    return tuple(_check_stsf_features(SimpleNamespace(profile=p["profile"]), stsf_features))


def _relevance(p: dict, scenarios, core: str, stsf_features) -> list[RunRequest]:
    """:func:`wmnb.experiments.relevance.relevance`: every diet, STSF once per feature, every seed."""
    stsf = _stsf(p, stsf_features)
    out = []
    for seed in _seeds(p):
        for scen in scenarios:
            for feat in (stsf if scen == "STSF" else (None,)):
                out.append(RunRequest(scen, core, seed, feat))
    return out


def _none(p: dict) -> list[RunRequest]:
    """Chapters that train nothing (stimuli, perception, the task, attribution, API)."""
    return []


def _behaviour(p: dict) -> list[RunRequest]:
    """04: the scenario at every seed with its readout; with ``compare_avgpool`` also the spatial and the
    avgpool readouts at the first seed."""
    seeds = _seeds(p)
    out = [RunRequest(p["scenario"], p["core"], s, readout=p["readout"]) for s in seeds]
    if p.get("compare_avgpool"):
        out += [RunRequest(p["scenario"], p["core"], seeds[0], readout=r) for r in ("spatial", "avgpool")]
    return out


def _task_relevance(p: dict) -> list[RunRequest]:
    """05: :func:`~wmnb.experiments.relevance.relevance` per core."""
    return [r for c in _cores(p["core"]) for r in _relevance(p, p["scenarios"], c, p.get("stsf_features"))]


def _per_core(p: dict) -> list[RunRequest]:
    """06-10: the chapter's scenario, per core (``"all"``: the three) and seed."""
    return [RunRequest(p["scenario"], c, s) for c in _cores(p["core"]) for s in _seeds(p)]


def _claims(p: dict) -> list[RunRequest]:
    """12: :func:`wmnb.claims.collect`: F1 = relevance of the GRU on all diets; F2, F3, F9 = MTMF per core of
    ``cores``; F4-F8 = MTMF per core of ``dynamics_cores`` (None: ``cores``)."""
    seeds = _seeds(p)
    q = dict(p, seeds=list(seeds))
    cores = tuple(p["cores"])
    dyn = cores if p.get("dynamics_cores") is None else tuple(p["dynamics_cores"])
    out = _relevance(q, SCENARIOS_ALL, "gru", p.get("stsf_features"))
    out += [RunRequest("MTMF", c, s) for c in dict.fromkeys(cores + dyn) for s in seeds]
    # the extension claims (wmnb.claims._extension_makers): attention A1-A3 on the first seeds, the
    # superposition bridge T3 on MTMF of all three cores; the procedural tasks P1-P3 train no run of wmnb.training
    from . import attention as at
    from .claims import ATTENTION_SEEDS

    out += _attention_arms("gru", at.SCENARIOS, tuple(at.ARMS), seeds[:ATTENTION_SEEDS], "avgpool")
    out += [RunRequest("MTMF", c, s) for c in CORES for s in seeds]
    return out


def _attention_arms(core: str, scenarios, arms, seeds, gate_readout: str) -> list[RunRequest]:
    """:func:`wmnb.attention.train_runs`: every (scenario, arm, seed), arms as :func:`wmnb.attention.arm_kwargs`."""
    from . import attention as at

    out = []
    for scen in scenarios:
        for arm in arms:
            kw = at.arm_kwargs(arm, gate_readout)
            for seed in seeds:
                out.append(RunRequest(scen, core, int(seed), None, kw["readout"], kw.get("attention", "none"),
                                      kw.get("gate", "none")))
    return out


def _attention(p: dict) -> list[RunRequest]:
    """11: the readout arms per multi-feature diet, on the profile's first three seeds unless ``seeds``."""
    from . import attention as at
    from .pipeline import seeds_for

    a = at.check_params(arms=p["arms"], scenarios=p["scenarios"], core=p["core"], gate_readout=p["gate_readout"],
                        profile=p["profile"])
    seeds = seeds_for(p["profile"])[:3] if p.get("seeds") is None else tuple(p["seeds"])
    return _attention_arms(p["core"], a["scenarios"], a["arms"], seeds, a["gate_readout"])


def _superposition(p: dict) -> list[RunRequest]:
    """13: the N-back bridge reads the MTMF runs of ``cores`` x ``nback_seeds`` (its toy networks have their own
    cache and are not runs of :mod:`wmnb.training`)."""
    from .superposition.claims import NBACK_SEEDS

    seeds = NBACK_SEEDS[p["profile"]] if p.get("nback_seeds") is None else tuple(p["nback_seeds"])
    return [RunRequest("MTMF", c, int(s)) for c in p["cores"] for s in seeds]


#: chapter stem -> (its parameters incl. profile) -> the runs it trains
NEEDS: dict[str, Callable[[dict], list[RunRequest]]] = {
    "01_stimuli": _none,
    "02_perception": _none,
    "03_nback": _none,
    "04_behaviour": _behaviour,
    "05_task_relevance": _task_relevance,
    "06_cross_task": _per_core,
    "07_orthogonalization": _per_core,
    "08_memory_dynamics": _per_core,
    "09_procrustes": _per_core,
    "10_causal": _per_core,
    "11_attention": _attention,
    "12_claims": _claims,
    "13_superposition": _superposition,
    "14_procedural": _none,  # its automata models live in their own cache (wmnb.automata.training)
    "95_attribution": _none,
    "96_api": _none,
}


def declared(run) -> bool:
    """Whether the chapter of ``run`` has an entry in :data:`NEEDS`."""
    return Path(run.source).stem in NEEDS


def requests(run, profile: str) -> list[RunRequest]:
    """The training runs chapter run ``run`` (a :class:`wmnb.book.ChapterRun`) asks for at ``profile``,
    without duplicates, in the order first asked.

    Raises ConfigError when the chapter has no entry in :data:`NEEDS` (its training needs are unknown: add a
    function there, even ``_none``).
    """
    stem = Path(run.source).stem
    if stem not in NEEDS:
        raise ConfigError(f"chapter {stem!r} declares no training needs; add an entry to wmnb.runplan.NEEDS "
                          f"(known: {sorted(NEEDS)})")
    return list(dict.fromkeys(NEEDS[stem](chapter_parameters(run, profile))))
