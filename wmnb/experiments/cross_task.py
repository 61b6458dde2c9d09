"""Shared vs task-specific subspaces: cross-task decoder generalisation per architecture (F2; Fig. 2a, 2c).

For each architecture and seed, the multi-task model's hidden states at the encoding step are decoded by one
decoder per (task, property), fit on the training sequences of that task and scored on the held-out sequences
of every task (:func:`wmnb.analysis.cross_task.cross_task`; 9 x 9 matrices with N kept separate, the paper's
``D_{k,F}``). :func:`~wmnb.analysis.cross_task.cross_task_summary` reduces each matrix to *validation* (same
task), *generalisation* (tasks with a different task feature, Fig. 2c) and the generalisation index
``(generalisation - chance) / (validation - chance)`` (1 = fully shared subspace, 0 = no transfer).

Claim: :func:`claim_F2`.
"""
from __future__ import annotations

from ..pipeline import ANALYSIS_SEED

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_choice, check_float, check_int
from ..tasks import SCENARIOS
from . import CORES, _check_cores, _check_split, _get_recording, _get_run, _n_per_condition, _run_row, _source_tables
from .dynamics import EXPERIMENT_VERSION, ExperimentTables, add_seed, aggregate, claim_dict, resolve_seeds, seed_ci

__all__ = ["cross_task", "claim_F2", "generalisation_by_core", "PER_SEED_COLUMNS", "SUMMARY_COLUMNS"]

PER_SEED_COLUMNS = ["seed", "core", "scenario", "run_key", "property", "train_feature", "train_n", "test_feature",
                    "test_n", "same_task", "same_feature", "step", "accuracy", "ci_low", "ci_high", "chance",
                    "n_classes", "n_train", "n_test", "n_unseen"]
SUMMARY_COLUMNS = ["seed", "core", "scenario", "property", "validation", "generalisation", "same_feature_other_n",
                   "chance", "generalisation_index"]


def cross_task(w, cores: Sequence[str] | str = CORES, scenario: str = "MTMF", *,
               seeds: Optional[Iterable[int]] = None, n_seeds: Optional[int] = None, split: str = "train",
               n_per_condition: Optional[int] = None, step: int = 0, by_n: bool = True, C: float = 1.0,
               cache_dir=None, progress: bool = False, force: bool = False) -> ExperimentTables:
    """Cross-task decoder generalisation for each architecture and seed.

    Parameters
    ----------
    w : wmnb.pipeline.World
    cores : architectures ("rnn", "gru", "lstm", a tuple of them, or "all").
    scenario : training diet with several tasks ("MTMF" or "STMF"; STSF has one task and is refused).
    seeds, n_seeds : seeds (None -> :func:`wmnb.pipeline.seeds_for` of ``w.profile``).
    split, n_per_condition : analysis recording (pool; sequences per condition, None = the profile's).
    step : step decoded (0 = encoding step of the first stimulus).
    by_n : tasks are (feature, N) pairs (default, 9 x 9) or features with N pooled (3 x 3).
    C : decoder regularisation (multinomial logistic regression).
    cache_dir, force : cache root of the result tables; recompute.

    Returns
    -------
    ExperimentTables (name ``"cross_task"``)
        ``per_seed``: :data:`PER_SEED_COLUMNS`, one row per (seed, core, property, train task, test task).
        ``summary``: :data:`SUMMARY_COLUMNS` (cross_task_summary per seed and core).
        ``aggregated``: summary across seeds per (core, scenario, property).
        ``runs``: one row per trained model.
        ``extra["cells"]``: accuracy and chance aggregated across seeds per (core, property, train task,
        test task), for the matrices.
    """
    from ..analysis.cross_task import cross_task as _cross_task
    from ..analysis.cross_task import cross_task_summary
    from ..results import cached_table

    cores = _check_cores(cores)
    check_choice("scenario", scenario, [s for s in SCENARIOS if s != "STSF"])
    seeds = resolve_seeds(w, seeds, n_seeds)
    split = _check_split(split)
    npc = _n_per_condition(w, n_per_condition)
    step = check_int("step", step, low=0)
    C = check_float("C", C, low=0.0, low_open=True)
    params = dict(step=step, by_n=bool(by_n), C=C, decoder="logreg", test_fraction=0.2)
    parts, summ, runs = [], [], []
    for core in cores:
        for seed in seeds:
            run = _get_run(w, scenario, core, seed, None, progress)
            runs.append(_run_row(run, seed, scenario, core))
            desc = dict(v=EXPERIMENT_VERSION, run=run.key, seed=int(seed),
                        recording=dict(split=split, n_per_condition=npc, seed=ANALYSIS_SEED), analysis=params)

            def compute(run=run, seed=seed):
                rec = _get_recording(w, run, split, npc)
                return _cross_task(rec.hidden, rec.labels, rec.feature, rec.n, rec.seq_id, step=step, by_n=by_n,
                                   seed=int(seed), C=C)

            tab = cached_table("exp_cross_task", desc, compute, cache_dir=cache_dir, force=force)
            for c in ("same_task", "same_feature"):
                tab[c] = tab[c].astype(bool)
            s = cross_task_summary(tab)
            s.insert(0, "scenario", scenario)
            s.insert(0, "core", core)
            summ.append(add_seed(s, seed))
            tab.insert(0, "run_key", run.key)
            tab.insert(0, "scenario", scenario)
            tab.insert(0, "core", core)
            parts.append(add_seed(tab, seed))
    per_seed = pd.concat(parts, ignore_index=True)[PER_SEED_COLUMNS]
    summary = pd.concat(summ, ignore_index=True)[SUMMARY_COLUMNS]
    cell_keys = ["core", "scenario", "property", "train_feature", "train_n", "test_feature", "test_n",
                 "same_task", "same_feature"]
    cells = aggregate(per_seed[["seed", *cell_keys, "accuracy", "chance", "n_test"]], cell_keys)
    return ExperimentTables("cross_task", per_seed, summary, aggregate(summary, ["core", "scenario", "property"]),
                            pd.DataFrame(runs),
                            dict(params, cores=list(cores), scenario=scenario, split=split, n_per_condition=npc,
                                 seeds=list(seeds)),
                            extra=dict(cells=cells))


def _summary_of(source, **kw) -> pd.DataFrame:
    """Per-seed cross_task_summary rows (with ``core`` and ``seed``) from any accepted ``source``."""
    from ..analysis.cross_task import cross_task_summary

    if hasattr(source, "summary") and getattr(source, "name", None) == "cross_task":
        return source.summary
    if isinstance(source, pd.DataFrame) and "generalisation_index" in source.columns:
        return source
    t = _source_tables(source, "cross_task", cross_task, **kw)
    if "seed" not in t.columns:
        t = t.assign(seed=0)
    rows = []
    for (core, seed), g in t.groupby(["core", "seed"], sort=True):
        s = cross_task_summary(g)
        s.insert(0, "core", core)
        rows.append(add_seed(s, seed))
    return pd.concat(rows, ignore_index=True)


def generalisation_by_core(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (core, seed): validation, generalisation, chance and generalisation index averaged over properties."""
    cols = ["validation", "generalisation", "chance", "generalisation_index"]
    return summary.groupby(["core", "seed"], sort=True)[cols].mean().reset_index()


def claim_F2(source, *, margin: float = 0.05, **kw) -> dict:
    """F2: property subspaces are shared across tasks in vanilla RNNs, task-specific in GRU/LSTM.

    Parameters
    ----------
    source : World (then :func:`cross_task` runs with ``**kw``), the ExperimentTables of :func:`cross_task`,
        its per-seed analysis rows, or a per-seed summary DataFrame with columns ``core, seed,
        generalisation_index`` (plus ``validation, generalisation, chance``), one row per property.
        The "rnn" core and at least one of "gru"/"lstm" are needed.
    margin : generalisation-index difference that counts (0.05).

    Rule
    ----
    GI(core, seed) = mean over properties of (generalisation - chance) / (validation - chance).
    For each gated core g: d_g = mean over seeds of GI(rnn, seed) - GI(g, seed) (t CI across the seeds both
    have; NaN with one seed). ``value`` = GI(rnn) - mean of GI over the gated cores (mean over seeds).

    * a gated core *supports* the claim if d_g > margin and its CI lower bound > 0 when a CI exists;
    * it *contradicts* it if d_g <= 0.

    **holds** if every gated core supports; **does not hold** if every gated core contradicts; **mixed**
    otherwise. Raises ConfigError when "rnn" or both gated cores are missing.
    """
    margin = check_float("margin", margin, low=0.0)
    s = _summary_of(source, **kw)
    by = generalisation_by_core(s)
    have = set(by["core"])
    gated = [c for c in ("gru", "lstm") if c in have]
    if "rnn" not in have or not gated:
        raise ConfigError(f"claim_F2 needs the 'rnn' core and 'gru' and/or 'lstm'; the table has {sorted(have)}")
    gi = by.pivot(index="seed", columns="core", values="generalisation_index")
    per_core = {}
    for c in sorted(have):
        sub = by[by.core == c]
        m, lo, hi = seed_ci(sub["generalisation_index"])
        per_core[c] = dict(generalisation_index=m, gi_ci_low=lo, gi_ci_high=hi,
                           validation=float(sub["validation"].mean()),
                           generalisation=float(sub["generalisation"].mean()), chance=float(sub["chance"].mean()),
                           n_seeds=int(sub["generalisation_index"].notna().sum()))
    support, contra, diffs = [], [], {}
    for g in gated:
        d = (gi["rnn"] - gi[g]).dropna()
        if d.empty:  # no common seed: compare the seed means
            dm, dlo, dhi = per_core["rnn"]["generalisation_index"] - per_core[g]["generalisation_index"], np.nan, np.nan
        else:
            dm, dlo, dhi = seed_ci(d)
        diffs[g] = dict(diff=dm, ci_low=dlo, ci_high=dhi)
        support.append(bool(np.isfinite(dm) and dm > margin and (not np.isfinite(dlo) or dlo > 0)))
        contra.append(bool(np.isfinite(dm) and dm <= 0))
    verdict = "holds" if all(support) else ("does not hold" if all(contra) else "mixed")
    rnn_gi = gi["rnn"]
    gated_gi = gi[gated].mean(axis=1)
    both = pd.concat([rnn_gi, gated_gi], axis=1).dropna()
    if len(both):
        value, lo, hi = seed_ci(both.iloc[:, 0] - both.iloc[:, 1])
    else:
        value, lo, hi = (per_core["rnn"]["generalisation_index"]
                         - np.mean([per_core[g]["generalisation_index"] for g in gated]), np.nan, np.nan)
    return claim_dict(
        "F2", "Object-property subspaces are shared across tasks in vanilla RNNs (decoders generalise across "
              "tasks) and task-specific in GRU/LSTM (they do not).",
        value, (lo, hi), "cross-task generalisation high for vanilla RNN, low for GRU/LSTM (Fig. 2a, 2c)", verdict,
        dict(per_core=per_core, differences=diffs, gated=gated, margin=margin,
             value_name="generalisation index, RNN minus mean of gated cores",
             rule="per gated core g: supports if GI(rnn) - GI(g) > margin (CI > 0 when available), contradicts "
                  "if <= 0; holds: all support; does not hold: all contradict; mixed otherwise"))
