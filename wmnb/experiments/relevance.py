"""Task-relevant and task-irrelevant properties at the encoding step, per training diet (F1; paper Fig. 2b).

For every training diet (STSF, STMF, MTMF), seed and trained model, the hidden state at step ``step`` (t = 0,
the first stimulus's encoding step) of the analysis recording is decoded for every object property
(location, identity, category) in every task context the model was trained on
(:func:`wmnb.analysis.task_relevance.task_relevance`: held-out sequences, raw-value classes, chance and a
Wilson CI per cell). A property is *relevant* in a task context when it is the task's feature.

STSF is one model per task: ``stsf_features`` says which (each trained on that feature at N = 2). The paper
trained one per task; all three features are the default outside the smoke profile.

Claim: :func:`claim_F1`.
"""
from __future__ import annotations

from ..pipeline import ANALYSIS_SEED

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_choice, check_float, check_int
from ..tasks import FEATURES, SCENARIOS
from . import _check_split, _get_recording, _get_run, _model_label, _n_per_condition, _run_row, _source_tables
from .dynamics import EXPERIMENT_VERSION, ExperimentTables, add_seed, aggregate, claim_dict, resolve_seeds, seed_ci

__all__ = ["relevance", "claim_F1", "irrelevant_by_scenario", "PER_SEED_COLUMNS", "SUMMARY_COLUMNS"]

#: columns of ``relevance(...).per_seed`` (the analysis columns of task_relevance plus the run keys)
PER_SEED_COLUMNS = ["seed", "model", "scenario", "core", "stsf_feature", "run_key", "task_feature", "n",
                    "property", "relevant", "step", "accuracy", "ci_low", "ci_high", "chance", "chance_majority",
                    "n_classes", "n_train", "n_test", "n_unseen", "train_accuracy"]
#: columns of ``relevance(...).summary`` (one row per seed, scenario, core, property, relevant)
SUMMARY_COLUMNS = ["seed", "scenario", "core", "property", "relevant", "accuracy", "chance", "n_cells", "n_test"]


def _check_scenarios(scenarios) -> tuple[str, ...]:
    if isinstance(scenarios, str):
        scenarios = (scenarios,)
    scenarios = tuple(scenarios)
    if not scenarios:
        raise ConfigError(f"scenarios=() is not allowed; choose from {list(SCENARIOS)}")
    for s in scenarios:
        check_choice("scenarios", s, SCENARIOS)
    return scenarios


def _check_stsf_features(w, stsf_features) -> tuple[str, ...]:
    if stsf_features is None:
        return ("category",) if w.profile == "smoke" else tuple(FEATURES)
    if isinstance(stsf_features, str):
        stsf_features = (stsf_features,)
    out = tuple(stsf_features)
    if not out:
        raise ConfigError(f"stsf_features=() is not allowed; choose from {list(FEATURES)} or None")
    for f in out:
        check_choice("stsf_features", f, FEATURES)
    return out


def relevance(w, scenarios: Sequence[str] = ("STSF", "STMF", "MTMF"), core: str = "gru", *,
              seeds: Optional[Iterable[int]] = None, n_seeds: Optional[int] = None,
              stsf_features: Optional[Sequence[str]] = None, split: str = "train",
              n_per_condition: Optional[int] = None, step: int = 0, by_n: bool = True, C: float = 1.0,
              cache_dir=None, progress: bool = False, force: bool = False) -> ExperimentTables:
    """Decode every property at the encoding step from every task context, for each diet and seed.

    Parameters
    ----------
    w : wmnb.pipeline.World
    scenarios : diets to compare (subset of ``("STSF", "STMF", "MTMF")``).
    core : architecture ("rnn", "gru", "lstm").
    seeds, n_seeds : seeds (None -> :func:`wmnb.pipeline.seeds_for` of ``w.profile``).
    stsf_features : features of the STSF models (one model per feature); None -> all three, except
        ``("category",)`` at the smoke profile.
    split : pool of the analysis recording ("train" = new sequences of training-pool images).
    n_per_condition : sequences per (feature, N) condition of the recording (None: the profile's,
        :data:`wmnb.pipeline.ANALYSIS_SEQUENCES`).
    step : time step decoded (0 = encoding step of the first stimulus, as in the paper).
    by_n : keep N separate (default) or pool it within each task feature.
    C : decoder regularisation (multinomial logistic regression).
    cache_dir : cache root of the result tables (runs and the world use their own caches).
    force : recompute the cached tables.

    Returns
    -------
    ExperimentTables (name ``"relevance"``)
        ``per_seed``: :data:`PER_SEED_COLUMNS` (one row per seed, model, task cell, property).
        ``summary``: :data:`SUMMARY_COLUMNS`, accuracy and chance averaged over task cells (and STSF models)
        per (seed, scenario, core, property, relevant).
        ``aggregated``: summary across seeds (``accuracy_mean, accuracy_ci_low, ...``, ``n_seeds``).
        ``runs``: one row per trained model.
        ``extra["cells"]``: per_seed aggregated across seeds per (model, scenario, core, task_feature, n,
        property, relevant) (for heatmaps); ``extra["by_task"]``:
        :func:`~wmnb.analysis.task_relevance.relevance_summary` per seed and model.
    """
    from ..analysis.task_relevance import relevance_summary, task_relevance
    from ..results import cached_table

    scenarios = _check_scenarios(scenarios)
    check_choice("core", core, ("rnn", "gru", "lstm"))
    seeds = resolve_seeds(w, seeds, n_seeds)
    stsf = _check_stsf_features(w, stsf_features)
    split = _check_split(split)
    npc = _n_per_condition(w, n_per_condition)
    step = check_int("step", step, low=0)
    C = check_float("C", C, low=0.0, low_open=True)
    params = dict(step=step, by_n=bool(by_n), C=C, decoder="logreg", test_fraction=0.2)
    models = [(s, f) for s in scenarios for f in (stsf if s == "STSF" else (None,))]

    parts, runs, by_task = [], [], []
    for seed in seeds:
        for scen, feat in models:
            run = _get_run(w, scen, core, seed, feat, progress)
            runs.append(_run_row(run, seed, scen, core, feat))
            desc = dict(v=EXPERIMENT_VERSION, run=run.key, seed=int(seed),
                        recording=dict(split=split, n_per_condition=npc, seed=ANALYSIS_SEED), analysis=params)

            def compute(run=run, seed=seed):
                rec = _get_recording(w, run, split, npc)
                return task_relevance(rec.hidden, rec.labels, rec.feature, rec.n, rec.seq_id, step=step,
                                      by_n=by_n, seed=int(seed), C=C)

            tab = cached_table("exp_relevance", desc, compute, cache_dir=cache_dir, force=force)
            tab["relevant"] = tab["relevant"].astype(bool)
            by_task.append(add_seed(relevance_summary(tab), seed).assign(
                model=_model_label(scen, core, feat), scenario=scen, core=core))
            tab.insert(0, "run_key", run.key)
            tab.insert(0, "stsf_feature", feat or "")
            tab.insert(0, "core", core)
            tab.insert(0, "scenario", scen)
            tab.insert(0, "model", _model_label(scen, core, feat))
            parts.append(add_seed(tab, seed))
    per_seed = pd.concat(parts, ignore_index=True)[PER_SEED_COLUMNS]
    summary = summarise(per_seed)
    keys = ["scenario", "core", "property", "relevant"]
    cell_keys = ["model", "scenario", "core", "task_feature", "n", "property", "relevant"]
    cells = aggregate(per_seed[["seed", *cell_keys, "accuracy", "chance", "n_test"]], cell_keys)
    return ExperimentTables("relevance", per_seed, summary, aggregate(summary, keys), pd.DataFrame(runs),
                            dict(params, scenarios=list(scenarios), core=core, stsf_features=list(stsf),
                                 split=split, n_per_condition=npc, seeds=list(seeds)),
                            extra=dict(cells=cells, by_task=pd.concat(by_task, ignore_index=True)))


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy, chance, number of task cells and test sequences per (seed, scenario, core, property,
    relevant) of a per-seed relevance table (STSF models of one seed are pooled)."""
    g = per_seed.groupby(["seed", "scenario", "core", "property", "relevant"], sort=True)
    out = g.agg(accuracy=("accuracy", "mean"), chance=("chance", "mean"), n_cells=("accuracy", "size"),
                n_test=("n_test", "sum")).reset_index()
    return out[SUMMARY_COLUMNS]


def irrelevant_by_scenario(table: pd.DataFrame, properties: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Per (scenario, seed): decoding of task-irrelevant properties, balanced over properties.

    For each property P in ``properties`` (default: every property that is irrelevant somewhere in the
    table), the mean accuracy over the task cells where P is irrelevant; then the mean over P (so that every
    property weighs the same whatever the number of cells). Returns columns ``scenario, seed,
    irrelevant, irrelevant_<P>...``.
    """
    t = table[~table["relevant"].astype(bool)]
    props = list(properties) if properties is not None else [p for p in FEATURES if p in set(t["property"])]
    rows = []
    for (scen, seed), g in t.groupby(["scenario", "seed"], sort=True):
        per_p = {p: float(g.loc[g["property"] == p, "accuracy"].mean()) for p in props}
        vals = [v for v in per_p.values() if np.isfinite(v)]
        rows.append(dict(scenario=scen, seed=int(seed), irrelevant=float(np.mean(vals)) if vals else np.nan,
                         **{f"irrelevant_{p}": v for p, v in per_p.items()}))
    return pd.DataFrame(rows)


def claim_F1(source, *, threshold: float = 0.85, margin: float = 0.05, single: str = "STSF", **kw) -> dict:
    """F1: multi-task models keep task-irrelevant properties at the encoding step; single-task models less.

    Parameters
    ----------
    source : World (then :func:`relevance` runs with ``**kw``), the ExperimentTables of :func:`relevance`, or
        a per-seed DataFrame with columns ``scenario, seed, property, relevant, accuracy`` (rows with
        scenario "MTMF" and ``single`` are needed).
    threshold : the paper's level for "decodable" irrelevant properties (0.85).
    margin : the MTMF - single-task difference that counts (0.05).
    single : the single-task diet compared with MTMF ("STSF"; "STMF" is reported in ``details``).

    Rule
    ----
    Irrelevant decoding I(scenario, seed) = mean over properties P of the mean accuracy of P over the task
    cells where P is irrelevant, using only the properties that are irrelevant in *both* MTMF and the
    single-task diet (so both sides average the same properties). ``value`` = mean over seeds of I(MTMF)
    (t CI across seeds, NaN with one seed); ``diff`` = mean over seeds of I(MTMF) - I(single).

    * A: value >= threshold (MTMF decodes irrelevant properties at the paper's level);
    * B: diff > margin, and its CI lower bound > 0 when a CI exists (MTMF > single-task).

    **holds** if A and B; **mixed** if exactly one; **does not hold** if neither.
    Raises ConfigError when MTMF or the single-task diet is missing.
    """
    threshold = check_float("threshold", threshold, low=0.0, high=1.0)
    margin = check_float("margin", margin, low=0.0)
    t = _source_tables(source, "relevance", relevance, **kw)
    have = set(t["scenario"])
    if "MTMF" not in have or single not in have:
        raise ConfigError(f"claim_F1 needs rows of scenarios 'MTMF' and {single!r}; the table has {sorted(have)}")
    irr = t[~t["relevant"].astype(bool)]
    props = [p for p in FEATURES if p in set(irr.loc[irr.scenario == "MTMF", "property"])
             and p in set(irr.loc[irr.scenario == single, "property"])]
    by = irrelevant_by_scenario(t, props)
    piv = by.pivot(index="seed", columns="scenario", values="irrelevant")
    m, lo, hi = seed_ci(piv["MTMF"])
    s_m, s_lo, s_hi = seed_ci(piv[single])
    d_m, d_lo, d_hi = seed_ci(piv["MTMF"] - piv[single])
    a = bool(np.isfinite(m) and m >= threshold)
    b = bool(np.isfinite(d_m) and d_m > margin and (not np.isfinite(d_lo) or d_lo > 0))
    verdict = "holds" if a and b else ("mixed" if a or b else "does not hold")
    details = dict(single=single, properties=props, mtmf=m, single_mean=s_m, single_ci_low=s_lo,
                   single_ci_high=s_hi, diff=d_m, diff_ci_low=d_lo, diff_ci_high=d_hi,
                   value_name="MTMF decoding of task-irrelevant properties at t = 0",
                   mtmf_at_paper_level=a, mtmf_above_single=b, threshold=threshold, margin=margin,
                   n_seeds=int(piv["MTMF"].notna().sum()),
                   per_property={p: {s: float(by.loc[by.scenario == s, f"irrelevant_{p}"].mean())
                                     for s in sorted(have) if s in set(by.scenario)} for p in props},
                   chance={p: float(irr.loc[irr.property == p, "chance"].mean()) for p in props},
                   rule="holds: MTMF irrelevant >= threshold AND MTMF - single > margin (CI > 0 when "
                        "available); mixed: one of the two; does not hold: neither")
    for other in sorted(have - {"MTMF", single}):
        o_m, o_lo, o_hi = seed_ci(piv[other]) if other in piv.columns else (np.nan, np.nan, np.nan)
        details[f"{other.lower()}_mean"], details[f"{other.lower()}_ci_low"], details[f"{other.lower()}_ci_high"] \
            = o_m, o_lo, o_hi
    return claim_dict(
        "F1", "Multi-task (MTMF) networks keep task-irrelevant object properties decodable at the encoding "
              "step; single-task networks keep them less.",
        m, (lo, hi), "MTMF irrelevant properties > 85 % at t = 0; single-task models lower (Fig. 2b)",
        verdict, details)
