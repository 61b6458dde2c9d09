"""The shared core of every experiment: trained runs, recordings, run tables, per-seed cached tables, claims.

One place for what :mod:`~wmnb.experiments.relevance`, :mod:`~wmnb.experiments.cross_task`,
:mod:`~wmnb.experiments.orthogonality`, :mod:`~wmnb.experiments.dynamics`, :mod:`~wmnb.experiments.procrustes`
and :mod:`~wmnb.experiments.perturbation` all need:

* **run sets**: every experiment takes a :class:`wmnb.pipeline.RunSet` (:func:`as_runset`) and reads each run
  and its analysis recording through it; each experiment module has a ``needs(p)`` that turns chapter parameters
  ``p`` into the :class:`wmnb.runs.RunSpec` list it reads (:func:`seeds_of`, :func:`cores_of`, :func:`arm_of`),
  the one definition that both the chapter and the sweep plan (:mod:`wmnb.sweep`) use.
* **run tables**: :func:`run_row` / :func:`run_table`, one row per trained run (run key, overall masked
  accuracy of the last checkpoint).
* **per-seed tables**: :func:`per_seed_tables` runs one analysis per seed through
  :func:`wmnb.results.cached_table` (description = :data:`EXPERIMENT_VERSION` + run key + recording +
  analysis parameters); :func:`add_seed`, :func:`aggregate` (across seeds, :func:`wmnb.analysis.stats.
  aggregate_seeds`) and :class:`ExperimentTables` hold the result.
* **claims**: :func:`claim_dict` (the record every ``claim_*`` returns) and :func:`seed_ci` (the seed interval
  of :mod:`wmnb.analysis.stats`).
* **argument checks** shared by several experiments: :func:`check_cores`,
  :func:`check_split`, :func:`check_features`, :func:`relevant_cells`, :func:`resolve_n_per_condition`.

Nothing here computes an analysis number itself; every number comes from :mod:`wmnb.analysis`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .. import params
from ..analysis.stats import seed_ci
from ..config import ANALYSIS_SEED, ANALYSIS_SEQUENCES, CORES, EVAL_SPLITS, FEATURES, SPLITS, seeds_for
from ..errors import ConfigError, check_choice, check_int
from ..pipeline import RunSet
from ..runs import DEFAULT_ARM, Arm, RunSpec
from ..verdicts import VERDICTS

__all__ = ["EXPERIMENT_VERSION", "PARAMETERS", "ExperimentTables", "as_runset", "seeds_of", "cores_of", "arm_of",
           "resolve_n_per_condition", "recording_description", "run_row", "run_table", "check_cores", "check_split", "check_features", "feature_cells", "relevant_cells",
           "iter_feature_blocks", "subsample_rows", "source_tables", "seed_ci", "add_seed", "aggregate",
           "claim_dict", "per_seed_tables"]

#: bump when an experiment's computation changes (part of every cache description)
EXPERIMENT_VERSION = "1"

#: the analysis parameters chapters share (:mod:`wmnb.params` rules)
PARAMETERS = {"n_per_condition": params.Int(low=1), "by_n": params.Bool(), "by_feature": params.Bool()}


# ---------------------------------------------------------------------------------------------------------
# results of an experiment
# ---------------------------------------------------------------------------------------------------------
@dataclass
class ExperimentTables:
    """Result of one experiment over seeds.

    Attributes
    ----------
    name : str
    per_seed : DataFrame, the analysis function's rows for every seed (column ``seed`` added)
    summary : DataFrame, per-seed summary rows (column ``seed``)
    aggregated : DataFrame, ``summary`` aggregated across seeds: ``<v>_mean, <v>_sd, <v>_ci_low, <v>_ci_high``,
        ``n_seeds`` (t interval across seeds; NaN with one seed)
    runs : DataFrame, one row per seed: ``seed, run_key, scenario, core, acc_train, acc_novel_angle``
    params : dict, the analysis parameters
    extra : dict of further DataFrames (experiment-specific)
    """

    name: str
    per_seed: pd.DataFrame
    summary: pd.DataFrame
    aggregated: pd.DataFrame
    runs: pd.DataFrame
    params: dict
    extra: dict = field(default_factory=dict)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.runs["seed"])

    def __repr__(self) -> str:
        return (f"ExperimentTables({self.name}, seeds={self.seeds}, {len(self.per_seed)} rows, "
                f"summary {self.summary.shape}, extra={sorted(self.extra)})")


# ---------------------------------------------------------------------------------------------------------
# run sets: what an experiment reads, and the runs a chapter's parameters ask for
# ---------------------------------------------------------------------------------------------------------
def as_runset(runs, what: str = "runs") -> RunSet:
    """``runs`` if it is a :class:`wmnb.pipeline.RunSet`, else a ConfigError saying what an experiment takes."""
    if not isinstance(runs, RunSet):
        raise ConfigError(f"{what} must be a wmnb.pipeline.RunSet (e.g. RunSet.grid(world, scenarios=['MTMF'], "
                          f"cores=['gru'])); got {type(runs).__name__}")
    return runs


def seeds_of(p: Mapping[str, Any], key: str = "seeds") -> tuple[int, ...]:
    """The seeds chapter parameters ``p`` ask for: ``p[key]``, else the profile's first ``p["n_seeds"]``, else the
    profile's (:func:`wmnb.config.seeds_for`)."""
    return seeds_for(p["profile"], p.get("n_seeds"), p.get(key))


def cores_of(p: Mapping[str, Any], default: str = "gru") -> tuple[str, ...]:
    """The cores chapter parameters ``p`` ask for: ``p["cores"]``, else ``p["core"]`` (``"all"``: the three),
    else ``default``; validated (:func:`check_cores`)."""
    return check_cores(p.get("cores") or p.get("core") or default)


def arm_of(p: Mapping[str, Any]) -> Arm:
    """The arm of chapter parameters ``p`` (``p["arm"]``, an :class:`wmnb.runs.Arm`; the default when absent)."""
    arm = p.get("arm") or DEFAULT_ARM
    if not isinstance(arm, Arm):
        raise ConfigError(f"arm={arm!r} must be a wmnb.runs.Arm (chapters resolve an arm's name first)")
    return arm


def resolve_n_per_condition(profile: str, n_per_condition: Optional[int] = None) -> int:
    """Sequences per condition of the analysis recording: the profile's :data:`wmnb.config.ANALYSIS_SEQUENCES`
    when None, else the validated value (at least 2)."""
    return ANALYSIS_SEQUENCES[profile] if n_per_condition is None else check_int(
        "n_per_condition", n_per_condition, low=2)


def recording_description(profile: str, split: str) -> dict:
    """What determines the default analysis recording besides the run (for cache descriptions)."""
    return dict(split=split, n_per_condition=ANALYSIS_SEQUENCES[profile], seed=ANALYSIS_SEED)


# ---------------------------------------------------------------------------------------------------------
# run tables
# ---------------------------------------------------------------------------------------------------------
def run_row(run, spec: RunSpec) -> dict:
    """One row of an experiment's ``runs`` table: ``seed, model, scenario, core, stsf_feature, run_key`` and
    the overall masked accuracy of the last checkpoint ``acc_train, acc_novel_angle, acc_novel_identity``
    (NaN where the split was not evaluated)."""
    m = run.metrics
    row = dict(seed=spec.seed, model=spec.model, scenario=spec.scenario, core=spec.core,
               stsf_feature=spec.feature or "", run_key=run.key)
    for split in EVAL_SPLITS:
        sel = m[(m["feature"] == "all") & (m["split"] == split)]
        row[f"acc_{split}"] = float(sel["accuracy"].iloc[0]) if len(sel) else np.nan
    return row


_RUN_TABLE_COLUMNS = ["seed", "run_key", "scenario", "core", "acc_train", "acc_novel_angle", "acc_novel_identity"]


def run_table(runs: RunSet, progress: bool = False) -> pd.DataFrame:
    """One row per run: ``seed, run_key, scenario, core, acc_train, acc_novel_angle, acc_novel_identity``
    (overall masked accuracy of the last checkpoint, :func:`run_row`)."""
    rows = [run_row(runs.run(s, progress), s) for s in runs]
    return pd.DataFrame([{c: r[c] for c in _RUN_TABLE_COLUMNS} for r in rows])


# ---------------------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------------------
def check_cores(cores) -> tuple:
    """``"all"``, one core name or a sequence of them -> a validated tuple of :data:`CORES`."""
    if isinstance(cores, str):
        cores = CORES if cores == "all" else (cores,)
    cores = tuple(cores)
    bad = [c for c in cores if c not in CORES]
    if bad or not cores:
        raise ConfigError(f"cores={cores!r} is not allowed; choose from {list(CORES)} or 'all'")
    return cores


def check_split(split: str) -> str:
    """A validated stimulus pool of the analysis recording."""
    return check_choice("split", split, SPLITS)


def check_features(features) -> Optional[tuple[str, ...]]:
    """None (every task feature of the scenario) or a validated tuple of task-feature names."""
    if features is None:
        return None
    if isinstance(features, str):
        features = (features,)
    features = tuple(features)
    bad = [f for f in features if f not in FEATURES]
    if bad or not features:
        raise ConfigError(f"features={features!r} is not allowed; choose from {FEATURES} (or None for all)")
    return features


def feature_cells(features, n_values=(1, 2, 3)):
    """(feature, N) cells for :func:`subsample_rows`; None when ``features`` is None and all N are wanted."""
    if features is None and tuple(n_values) == (1, 2, 3):
        return None
    return [(f, int(k)) for f in (features or FEATURES) for k in n_values]


def relevant_cells(properties) -> Optional[tuple[str, ...]]:
    """``"relevant"`` -> None (each task feature decodes itself); else a validated tuple of properties."""
    if isinstance(properties, str):
        if properties == "relevant":
            return None
        properties = (properties,)
    props = tuple(properties)
    bad = [p for p in props if p not in FEATURES]
    if bad or not props:
        raise ConfigError(f"properties={properties!r} is not allowed; use 'relevant' or a subset of {FEATURES}")
    return props


def iter_feature_blocks(rec, rows: np.ndarray, properties):
    """Yield ``(feature name, row indices, properties)``: one block per task feature when
    ``properties == "relevant"`` (decoding that feature), else one block with all rows."""
    props = relevant_cells(properties)
    if props is not None:
        yield "all", rows, props
        return
    for fc in np.unique(rec.feature[rows]):
        yield FEATURES[int(fc)], rows[rec.feature[rows] == fc], (FEATURES[int(fc)],)


def subsample_rows(feature: np.ndarray, n: np.ndarray, max_per_cell: Optional[int], seed: int = 0,
                   cells: Optional[Iterable[tuple[str, int]]] = None) -> np.ndarray:
    """Sorted row indices: at most ``max_per_cell`` rows of every task cell (seeded random choice).

    ``feature``, ``n``: (B,) task-feature code and N of every sequence. ``cells`` restricts to those
    (feature name, N) cells; None keeps every cell present.
    """
    feature = np.asarray(feature).ravel()
    n = np.asarray(n).ravel()
    rng = np.random.default_rng(seed)
    keep = []
    wanted = None if cells is None else {(str(f), int(k)) for f, k in cells}
    for fc in np.unique(feature):
        for nv in np.unique(n):
            if wanted is not None and (FEATURES[int(fc)], int(nv)) not in wanted:
                continue
            rows = np.flatnonzero((feature == fc) & (n == nv))
            if rows.size == 0:
                continue
            if max_per_cell is not None and rows.size > max_per_cell:
                rows = rng.choice(rows, size=max_per_cell, replace=False)
            keep.append(rows)
    if not keep:
        raise ConfigError(f"no sequences left for cells={cells!r}")
    return np.sort(np.concatenate(keep))


def source_tables(source, name: str, run_experiment, **kw) -> pd.DataFrame:
    """``source`` as the per-seed table of experiment ``name``: an ExperimentTables, a DataFrame, or a RunSet
    (then ``run_experiment(runs, **kw)`` is called)."""
    if isinstance(source, pd.DataFrame):
        return source
    if hasattr(source, "per_seed") and hasattr(source, "name"):
        if source.name != name:
            raise ConfigError(f"expected the tables of experiment {name!r}, got {source.name!r}")
        return source.per_seed
    if isinstance(source, RunSet):
        return run_experiment(source, **kw).per_seed
    raise ConfigError(f"source must be a RunSet, an ExperimentTables or a DataFrame; got {type(source).__name__}")


# ---------------------------------------------------------------------------------------------------------
# per-seed tables, aggregation, claim records
# ---------------------------------------------------------------------------------------------------------
def add_seed(table: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A copy of ``table`` with a first column ``seed``."""
    t = table.copy()
    t.insert(0, "seed", int(seed))
    return t


def aggregate(summary: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """:func:`wmnb.analysis.stats.aggregate_seeds` of a per-seed summary table with a ``seed`` column."""
    from ..analysis.stats import aggregate_seeds

    if summary.empty:
        return pd.DataFrame()
    tables = [g.drop(columns="seed") for _, g in summary.groupby("seed", sort=True)]
    return aggregate_seeds(tables, list(keys))


def per_seed_tables(runs: RunSet, kind, analysis_desc, compute_one, split, progress, cache_dir
                    ) -> list[pd.DataFrame]:
    """Run ``compute_one(rec, run, seed)`` per run of ``runs`` (one model, several seeds) through
    :func:`wmnb.results.cached_table` on the default analysis recording of ``split``; one table per run, each with
    a first column ``seed``."""
    from ..results import cached_table

    out = []
    for spec in runs:
        run = runs.run(spec, progress)
        desc = dict(v=EXPERIMENT_VERSION, run=run.key, recording=recording_description(runs.profile, split),
                    analysis=analysis_desc)
        tab = cached_table(kind, desc, lambda run=run, spec=spec: compute_one(runs.recording(spec, split), run,
                                                                                spec.seed),
                           cache_dir=cache_dir)
        out.append(add_seed(tab, spec.seed))
    return out


def claim_dict(claim: str, statement: str, value: float, ci: tuple[float, float], paper: str, verdict: str,
               details: dict, *, protocol: str = "", per_seed: Optional[list] = None,
               controls: str = "") -> dict:
    """The claim record every ``claim_*`` returns.

    ``protocol`` names how the held-out number was made (``wmnb.analysis.decoding.PROTOCOL_LABELS``, e.g.
    "image-disjoint"); ``per_seed`` lists the per-seed (or per-model) values behind the verdict
    (:func:`wmnb.verdicts.per_seed_values`); ``controls`` says in words which controls ran and whether they
    passed. All three are shown on the claims page.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} not in {VERDICTS}")
    details = dict(details)
    details.setdefault("per_seed", per_seed or [])
    return dict(claim=claim, statement=statement, value=float(value), ci_low=float(ci[0]), ci_high=float(ci[1]),
                paper=paper, verdict=verdict, protocol=protocol, controls=controls, details=details)
