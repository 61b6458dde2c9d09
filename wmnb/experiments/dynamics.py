"""Memory-dynamics experiments on trained runs: cross-time decoding and E(i,i) -> E(j,j) transfer (F4, F5).

Each experiment fetches the trained runs of one (scenario, core) for several seeds through
:mod:`wmnb.pipeline`, records their hidden states on the fixed analysis set, runs the pure analysis functions
of :mod:`wmnb.analysis.dynamics` and returns an :class:`ExperimentTables`: the per-seed analysis rows, a per-seed
summary and the summary aggregated across seeds (:func:`wmnb.analysis.stats.aggregate_seeds`). Every per-seed
analysis table is cached with :func:`wmnb.results.cached_table`, keyed by the run key, the recording and every
analysis parameter, so a chapter and the claims chapter share one computation.

Labels are always those of the **remembered** stimulus: stimulus i's property paired with the hidden state at
step j >= i (never the stimulus shown at step j).

Cost control (documented choices)
---------------------------------
* ``properties="relevant"``: each task cell (feature F, N) is decoded for its own task-relevant property F
  only (the property the network must hold in memory), not for all three.
* ``max_sequences``: at most this many sequences per task cell are used (a seeded random subsample of the
  profile's analysis recording, 2000 per cell at ``quick``); 80 % of them train the decoders, 20 % are held
  out for scoring. With 1000 sequences that is 800 training samples per decoder.
* ``positions=(0, 1, 2)``: cross-time decoders are fit at the encoding steps of stimuli 0-2, the positions
  whose executive step i + N lies inside a 6-step trial for every N.
* Encoding transfer pools N (``by_n=False``) per task feature: E(i,i) -> E(j,j) involves encoding steps
  only.

Claims (verdict rules in the docstrings): :func:`claim_F4`, :func:`claim_F5`.
"""
from __future__ import annotations

from ..pipeline import ANALYSIS_SEED

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_float, check_int

__all__ = ["ExperimentTables", "EXPERIMENT_VERSION", "resolve_seeds", "run_table", "get_recording",
           "subsample_rows", "relevant_cells", "cross_time", "encoding_transfer", "hypotheses", "claim_F4",
           "claim_F5", "seed_ci", "VERDICTS"]

#: bump when an experiment's computation changes (part of every cache description)
EXPERIMENT_VERSION = "1"
from ..verdicts import VERDICTS  # noqa: E402  (one vocabulary for every claim)
FEATURES = ("location", "identity", "category")


# ---------------------------------------------------------------------------------------------------------
# shared plumbing (also used by wmnb.experiments.procrustes and .perturbation)
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


def resolve_seeds(w, seeds: Optional[Iterable[int]] = None, n_seeds: Optional[int] = None) -> tuple[int, ...]:
    """``seeds`` as a tuple; None -> :func:`wmnb.pipeline.seeds_for` (``w.profile``, ``n_seeds``)."""
    from ..pipeline import seeds_for

    if seeds is None:
        return seeds_for(w.profile, n_seeds)
    seeds = tuple(check_int("seed", s, low=0) for s in seeds)
    if not seeds:
        raise ConfigError("seeds is empty; pass at least one seed or None for the profile's seeds")
    return seeds


_RUNS: "OrderedDict[tuple, Any]" = OrderedDict()
_RECORDINGS: "OrderedDict[tuple, Any]" = OrderedDict()


def get_run(w, scenario: str, core: str, seed: int, progress: bool = False):
    """The trained run (memoised in-process; cached on disk by :func:`wmnb.pipeline.trained_run`)."""
    from ..pipeline import trained_run

    key = (id(w.stimuli), w.profile, scenario, core, int(seed))
    if key not in _RUNS:
        _RUNS[key] = trained_run(w, scenario, core, seed=int(seed), progress=progress)
        while len(_RUNS) > 16:
            _RUNS.popitem(last=False)
    return _RUNS[key]


def get_recording(w, run, split: str = "train"):
    """:func:`wmnb.pipeline.recording` of ``run``, memoised in-process (the last 3 recordings)."""
    from ..pipeline import recording

    key = (run.key, split, w.profile)
    if key in _RECORDINGS:
        _RECORDINGS.move_to_end(key)
        return _RECORDINGS[key]
    rec = recording(w, run, split=split)
    _RECORDINGS[key] = rec
    while len(_RECORDINGS) > 3:
        _RECORDINGS.popitem(last=False)
    return rec


def recording_description(w, split: str) -> dict:
    """What determines the analysis recording besides the run (for cache descriptions)."""
    from ..pipeline import ANALYSIS_SEQUENCES

    return dict(split=split, n_per_condition=ANALYSIS_SEQUENCES[w.profile], seed=ANALYSIS_SEED)


def run_table(w, scenario: str, core: str, seeds: Sequence[int], progress: bool = False) -> pd.DataFrame:
    """One row per seed: run key and overall masked accuracy (last checkpoint) on train / novel angles."""
    rows = []
    for s in seeds:
        run = get_run(w, scenario, core, s, progress)
        m = run.metrics
        acc = {}
        for split in ("train", "novel_angle", "novel_identity"):
            sel = m[(m["feature"] == "all") & (m["split"] == split)]
            acc[f"acc_{split}"] = float(sel["accuracy"].iloc[0]) if len(sel) else np.nan
        rows.append(dict(seed=int(s), run_key=run.key, scenario=scenario, core=core, **acc))
    return pd.DataFrame(rows)


def subsample_rows(feature: np.ndarray, n: np.ndarray, max_per_cell: Optional[int], seed: int = 0,
                   cells: Optional[Iterable[tuple[str, int]]] = None) -> np.ndarray:
    """Sorted row indices: at most ``max_per_cell`` rows of every task cell (seeded random choice).

    ``cells`` restricts to those (feature name, N) cells; None keeps every cell present.
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


def seed_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t confidence interval across seeds (NaN interval with fewer than two finite values)."""
    from ..analysis.stats import mean_t_interval

    return mean_t_interval(values, level)


def add_seed(table: pd.DataFrame, seed: int) -> pd.DataFrame:
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


def _per_seed_tables(w, scenario, core, seeds, kind, analysis_desc, compute_one, split, progress, cache_dir):
    """Run ``compute_one(rec, run, seed)`` per seed through :func:`wmnb.results.cached_table`."""
    from ..results import cached_table

    out = []
    for s in seeds:
        run = get_run(w, scenario, core, s, progress)
        desc = dict(v=EXPERIMENT_VERSION, run=run.key, recording=recording_description(w, split),
                    analysis=analysis_desc)
        tab = cached_table(kind, desc, lambda run=run, s=s: compute_one(get_recording(w, run, split), run, s),
                           cache_dir=cache_dir)
        out.append(add_seed(tab, s))
    return out


# ---------------------------------------------------------------------------------------------------------
# experiments
# ---------------------------------------------------------------------------------------------------------
def cross_time(w, scenario: str = "MTMF", core: str = "gru", *, seeds: Optional[Iterable[int]] = None,
               n_seeds: Optional[int] = None, split: str = "train", properties="relevant",
               features: Optional[Sequence[str]] = None, positions: Sequence[int] = (0, 1, 2),
               max_sequences: Optional[int] = 1000,
               test_fraction: float = 0.2, C: float = 1.0, subsample_seed: int = 0, cache_dir=None,
               progress: bool = False) -> ExperimentTables:
    """E(i,i) -> M(i,j) decoding with remembered-stimulus labels (paper Fig. 4b/4c; F4), per seed.

    Parameters
    ----------
    w : wmnb.pipeline.World
    scenario, core : the trained runs (:func:`wmnb.pipeline.trained_run`).
    seeds, n_seeds : seeds (None -> :func:`wmnb.pipeline.seeds_for` of ``w.profile``).
    split : pool of the analysis recording.
    properties : ``"relevant"`` (each task decodes its own feature) or a tuple of properties (every task).
    features : task features analysed (None = all in the scenario).
    positions : stimulus positions i whose encoding decoders are fit.
    max_sequences : sequences per task cell (seeded subsample); None = all.
    test_fraction, C : held-out fraction of sequences and decoder regularisation.

    Returns
    -------
    ExperimentTables
        ``per_seed``: :func:`wmnb.analysis.dynamics.cross_time_decoding` columns (``property, task_feature, n,
        stim, step, age, kind, executive, accuracy, ci_low, ci_high, chance, n_classes, n_train, n_test,
        n_unseen``) plus ``seed``. ``summary``: :func:`~wmnb.analysis.dynamics.executive_summary` per seed
        (``seed, property, task_feature, n, validation, executive, non_executive, memory, after,
        executive_minus_non_executive, chance, n_cells``). ``aggregated``: summary across seeds.
        ``extra["curves"]``: per_seed accuracy aggregated across seeds per (property, task_feature, n, stim,
        step, age, kind).
    """
    from ..analysis.dynamics import cross_time_decoding, executive_summary

    seeds = resolve_seeds(w, seeds, n_seeds)
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    positions = tuple(check_int("position", i, low=0) for i in positions)
    if max_sequences is not None:
        max_sequences = check_int("max_sequences", max_sequences, low=4)
    relevant_cells(properties)
    features = check_features(features)
    params = dict(properties=properties if isinstance(properties, str) else list(properties),
                  features=None if features is None else list(features), positions=list(positions),
                  max_sequences=max_sequences, test_fraction=test_fraction, C=C,
                  subsample_seed=subsample_seed, decoder="logreg")

    def compute_one(rec, run, seed):
        T = rec.hidden.shape[1]
        pos = [i for i in positions if i < T]
        rows = subsample_rows(rec.feature, rec.n, max_sequences, subsample_seed, cells=feature_cells(features))
        parts = []
        for fname, r, props in iter_feature_blocks(rec, rows, properties):
            parts.append(cross_time_decoding(
                rec.hidden[r], {p: rec.labels[p][r] for p in props}, rec.n[r], rec.seq_id[r],
                feature=rec.feature[r], properties=props, positions=pos, by_feature=True,
                test_fraction=test_fraction, seed=seed, C=C))
        return pd.concat(parts, ignore_index=True)

    per = _per_seed_tables(w, scenario, core, seeds, "exp_cross_time", params, compute_one, split, progress,
                           cache_dir)
    per_seed = pd.concat(per, ignore_index=True)
    per_seed["executive"] = per_seed["executive"].astype(bool)
    summary = pd.concat([add_seed(executive_summary(t.drop(columns="seed")), s) for s, t in zip(seeds, per)],
                        ignore_index=True)
    keys = ["property", "task_feature", "n"]
    curves = aggregate(per_seed[["seed", *keys, "stim", "step", "age", "kind", "accuracy", "ci_low", "ci_high",
                                 "chance", "n_test"]], [*keys, "stim", "step", "age", "kind"])
    return ExperimentTables("cross_time", per_seed, summary, aggregate(summary, keys),
                            run_table(w, scenario, core, seeds, progress), params, extra=dict(curves=curves))


def encoding_transfer(w, scenario: str = "MTMF", core: str = "gru", *, seeds: Optional[Iterable[int]] = None,
                      n_seeds: Optional[int] = None, split: str = "train", properties="relevant",
                      features: Optional[Sequence[str]] = None, by_n: bool = False,
                      max_sequences: Optional[int] = 400, test_fraction: float = 0.2,
                      C: float = 1.0, subsample_seed: int = 0, cache_dir=None,
                      progress: bool = False) -> ExperimentTables:
    """E(i,i) -> E(j,j): encoding decoders of every position scored at every other position (Fig. 4d; F5).

    Parameters as :func:`cross_time` (``features`` included); ``by_n=False`` pools N within each task feature
    (``n == 0`` in the tables) and ``max_sequences`` is per (feature, N) cell before pooling (default 400 ->
    1200 sequences per task feature).

    Returns
    -------
    ExperimentTables
        ``per_seed``: :func:`wmnb.analysis.dynamics.encoding_transfer` columns (``property, task_feature, n,
        train_stim, test_stim, same, accuracy, ci_low, ci_high, chance, n_classes, n_train, n_test,
        n_unseen``) plus ``seed``. ``summary``: :func:`~wmnb.analysis.dynamics.transfer_summary` per seed
        (``seed, property, task_feature, n, validation, generalisation, gap, chance``). ``aggregated``:
        summary across seeds. ``extra["matrix"]``: accuracy per (property, task_feature, n, train_stim,
        test_stim) aggregated across seeds.
    """
    from ..analysis.dynamics import encoding_transfer as _transfer
    from ..analysis.dynamics import transfer_summary

    seeds = resolve_seeds(w, seeds, n_seeds)
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    if max_sequences is not None:
        max_sequences = check_int("max_sequences", max_sequences, low=4)
    relevant_cells(properties)
    features = check_features(features)
    params = dict(properties=properties if isinstance(properties, str) else list(properties), by_n=bool(by_n),
                  features=None if features is None else list(features),
                  max_sequences=max_sequences, test_fraction=test_fraction, C=C, subsample_seed=subsample_seed,
                  decoder="logreg")

    def compute_one(rec, run, seed):
        rows = subsample_rows(rec.feature, rec.n, max_sequences, subsample_seed, cells=feature_cells(features))
        parts = []
        for fname, r, props in iter_feature_blocks(rec, rows, properties):
            parts.append(_transfer(rec.hidden[r], {p: rec.labels[p][r] for p in props}, rec.n[r], rec.seq_id[r],
                                   feature=rec.feature[r], properties=props, by_feature=True, by_n=by_n,
                                   test_fraction=test_fraction, seed=seed, C=C))
        return pd.concat(parts, ignore_index=True)

    per = _per_seed_tables(w, scenario, core, seeds, "exp_encoding_transfer", params, compute_one, split,
                           progress, cache_dir)
    per_seed = pd.concat(per, ignore_index=True)
    per_seed["same"] = per_seed["same"].astype(bool)
    summary = pd.concat([add_seed(transfer_summary(t.drop(columns="seed")), s) for s, t in zip(seeds, per)],
                        ignore_index=True)
    keys = ["property", "task_feature", "n"]
    matrix = aggregate(per_seed[["seed", *keys, "train_stim", "test_stim", "accuracy", "chance"]],
                       [*keys, "train_stim", "test_stim"])
    return ExperimentTables("encoding_transfer", per_seed, summary, aggregate(summary, keys),
                            run_table(w, scenario, core, seeds, progress), params, extra=dict(matrix=matrix))


def hypotheses(cross: Optional[ExperimentTables], transfer: Optional[ExperimentTables] = None, swap=None, *,
               margin: float = 0.1) -> pd.DataFrame:
    """:func:`wmnb.analysis.dynamics.hypothesis_verdicts` per seed, then one row per test and property.

    ``cross`` is an :class:`ExperimentTables` from :func:`cross_time` or None (then only the transfer and swap
    tests are judged); ``swap`` is one from :func:`wmnb.experiments.procrustes.swap_tests` (or None).

    Returns
    -------
    DataFrame
        ``test, hypothesis, property, value, value_ci_low, value_ci_high, reference, reference_ci_low,
        reference_ci_high, verdict`` (the verdict most seeds give; ties -> "split: a / b"), ``verdicts``
        (per-seed verdicts joined by ", "), ``value_name, reference_name, margin, n_seeds``.
    """
    from ..analysis.dynamics import CROSS_TIME_COLUMNS, hypothesis_verdicts

    present = [t for t in (cross, transfer, swap) if t is not None]
    if not present:
        raise ConfigError("hypotheses() needs at least one of cross, transfer, swap")
    frames = []
    for s in present[0].seeds:
        if cross is None:
            ct = pd.DataFrame(columns=CROSS_TIME_COLUMNS)
        else:
            ct = cross.per_seed[cross.per_seed["seed"] == s].drop(columns="seed")
        tr = None if transfer is None else transfer.per_seed[transfer.per_seed["seed"] == s].drop(columns="seed")
        sw = None
        if swap is not None:
            sw = swap.per_seed[swap.per_seed["seed"] == s].drop(columns="seed")
            sw = sw if len(sw) else None
        frames.append(add_seed(hypothesis_verdicts(ct, tr if tr is not None and len(tr) else None, sw,
                                                   margin=margin), s))
    v = pd.concat(frames, ignore_index=True)
    rows = []
    for (test, prop), g in v.groupby(["test", "property"], sort=False):
        counts = g["verdict"].value_counts()
        top = counts[counts == counts.max()].index.tolist()
        val = seed_ci(g["value"])
        ref = seed_ci(g["reference"])
        rows.append(dict(test=test, hypothesis=g["hypothesis"].iloc[0], property=prop, value=val[0],
                         value_ci_low=val[1], value_ci_high=val[2], reference=ref[0], reference_ci_low=ref[1],
                         reference_ci_high=ref[2], verdict=top[0] if len(top) == 1 else "split: " + " / ".join(top),
                         verdicts=", ".join(g["verdict"]), value_name=g["value_name"].iloc[0],
                         reference_name=g["reference_name"].iloc[0], margin=margin, n_seeds=len(g)))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------
# claims
# ---------------------------------------------------------------------------------------------------------
def _summary_of(source, kind: str, compute, **kw) -> pd.DataFrame:
    if isinstance(source, ExperimentTables):
        return source.summary
    if isinstance(source, pd.DataFrame):
        t = source
        if "seed" not in t.columns:
            t = t.assign(seed=0)
        return t
    return compute(source, **kw).summary


def claim_F4(source, scenario: str = "MTMF", core: str = "gru", *, margin: float = 0.1, **kw) -> dict:
    """F4: no stable slot (H1 rejected), but partial realignment at executive steps.

    Parameters
    ----------
    source : World (the experiment :func:`cross_time` is run with ``scenario, core, **kw``), an
        :class:`ExperimentTables` from it, or a per-seed summary DataFrame with columns ``seed`` (optional),
        ``validation, executive, non_executive, chance`` (one row per task cell).
    margin : float, accuracy difference that counts (default 0.1).

    Rule
    ----
    Per seed, average over task cells: validation V, executive E, non-executive M (memory + after steps).
    ``value`` = E - M (mean over seeds; CI = t interval across seeds, NaN with one seed).

    * A, *H1 rejected*: mean M < mean V - margin (the encoding decoder does not read the memory states).
    * B, *executive realignment*: value > margin / 2, and ci_low > 0 when a CI exists.

    **holds** if A and B; **mixed** if exactly one; **does not hold** if neither.
    """
    margin = check_float("margin", margin, low=0.0)
    s = _summary_of(source, "cross_time", lambda w, **k: cross_time(w, scenario, core, **k), **kw)
    per = s.groupby("seed")[["validation", "executive", "non_executive", "chance"]].mean()
    diff = per["executive"] - per["non_executive"]
    m, lo, hi = seed_ci(diff)
    V, E, M = per["validation"].mean(), per["executive"].mean(), per["non_executive"].mean()
    a = bool(M < V - margin)
    b = bool(m > margin / 2 and (not np.isfinite(lo) or lo > 0))
    verdict = "holds" if a and b else ("mixed" if a or b else "does not hold")
    return claim_dict(
        "F4", "A decoder fit at an object's encoding step generalises poorly to that object's later memory "
              "states (no stable slot, H1 rejected), but better at executive steps.",
        m, (lo, hi), "executive > non-executive generalisation; H1 rejected (Fig. 4b, 4c)", verdict,
        dict(validation=float(V), executive=float(E), non_executive=float(M), chance=float(per["chance"].mean()),
             h1_rejected=a, executive_realignment=b, margin=margin, n_seeds=int(len(per)),
             n_cells=int(len(s) // max(len(per), 1)), per_seed=[float(x) for x in diff],
             value_name="executive - non-executive accuracy",
             rule="holds: non_executive < validation - margin AND (executive - non_executive) > margin/2 "
                  "(CI > 0 when available); mixed: one of the two; does not hold: neither"))


def claim_F5(source, scenario: str = "MTMF", core: str = "gru", *, margin: float = 0.1, **kw) -> dict:
    """F5: encoding spaces are shared across stimulus positions, E(i,i) -> E(j,j) generalisation ~ validation.

    Parameters
    ----------
    source : World (runs :func:`encoding_transfer`), an :class:`ExperimentTables` from it, or a per-seed
        summary DataFrame with ``seed`` (optional), ``validation, generalisation, chance`` per task cell.

    Rule
    ----
    Per seed and task cell: gap = validation - generalisation. ``value`` = mean gap (over cells, then seeds;
    CI = t interval across seeds). ``frac_cells`` = fraction of (seed, cell) rows with gap <= margin.
    Informative only if the validation accuracy beats chance by more than ``margin``.

    **holds** if value <= margin, frac_cells >= 2/3 and validation - chance > margin; **does not hold** if
    value > margin and frac_cells < 1/3 (with an informative validation); **mixed** otherwise.
    """
    margin = check_float("margin", margin, low=0.0)
    s = _summary_of(source, "encoding_transfer", lambda w, **k: encoding_transfer(w, scenario, core, **k), **kw)
    gap_rows = s["validation"] - s["generalisation"]
    per = s.assign(gap_=gap_rows).groupby("seed")[["validation", "generalisation", "gap_", "chance"]].mean()
    m, lo, hi = seed_ci(per["gap_"])
    frac = float(np.mean(gap_rows <= margin))
    informative = bool(per["validation"].mean() - per["chance"].mean() > margin)
    if m <= margin and frac >= 2 / 3 and informative:
        verdict = "holds"
    elif m > margin and frac < 1 / 3 and informative:
        verdict = "does not hold"
    else:
        verdict = "mixed"
    return claim_dict(
        "F5", "Encoding subspaces are shared across stimulus positions: a decoder trained on E(i,i) is about as "
              "accurate on E(j,j), j != i.",
        m, (lo, hi), "generalisation ~ validation (Fig. 4d)", verdict,
        dict(validation=float(per["validation"].mean()), generalisation=float(per["generalisation"].mean()),
             chance=float(per["chance"].mean()), frac_cells=frac, informative=informative, margin=margin,
             n_seeds=int(len(per)), per_seed=[float(x) for x in per["gap_"]],
             value_name="validation - generalisation accuracy",
             rule="holds: mean gap <= margin, >= 2/3 of cells with gap <= margin, validation > chance + margin; "
                  "does not hold: mean gap > margin and < 1/3 of cells within margin; mixed: otherwise"))
