"""Shared vs task-specific subspaces: cross-task decoder generalisation per architecture (F2; Fig. 2a, 2c).

For each architecture and seed, the multi-task model's hidden states are decoded by one decoder per (task,
property), fit on the training rows of that task and scored on the held-out rows of every task
(:mod:`wmnb.analysis.cross_task`). Two *sites* (the ``site`` column):

``"encoding"``  the stimulus shown at ``step`` (t = 0, the paper's Fig. 2): 9 x 9 matrices with N kept
                separate (the paper's ``D_{k,F}``), summarised per N over the 3 x 3 same-N block;
``"memory"``    the remembered stimulus at its memory steps, ages 1..N, per N (never pooled), where the
                paper's word "maintain" points (:func:`~wmnb.analysis.cross_task.cross_task_memory`).

Each cell comes in two variants from the same decoders: ``"raw"`` (the paper's procedure) and ``"centred"``
(label-free per-task-context centring on training rows, so a task-specific offset alone cannot read as a
task-specific subspace). The primary protocol is image-disjoint (``"image"``); the paper-style split by
sequence (``"sequence"``, images may repeat) is computed at the encoding site as the secondary number.

:func:`~wmnb.analysis.cross_task.cross_task_summary` reduces each matrix to *validation* (same task),
*generalisation* (tasks with a different task feature, Fig. 2c) and the generalisation index
``(generalisation - chance) / (validation - chance)`` (1 = fully shared subspace, 0 = no transfer).

Architectures are compared only when their behaviour is comparable: no task's masked novel-angle accuracy gap
larger than ``tolerance`` (2 points) beyond seed noise (:func:`~wmnb.analysis.cross_task.accuracy_comparable`, shown in
``extra["comparability"]``); otherwise the verdict of that comparison is "inconclusive".

Claim: :func:`claim_F2` (rule: :func:`f2_rule`).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pandas as pd

from ..config import ANALYSIS_SEED, MULTI_TASK_SCENARIOS
from ..errors import ConfigError, check_choice, check_float, check_int
from ..pipeline import RunSet
from ..runs import RunSpec
from ..verdicts import combine, interval_verdict, per_seed_values
from .core import (EXPERIMENT_VERSION, ExperimentTables, add_seed, aggregate, arm_of, as_runset, check_split,
                   claim_dict, cores_of, resolve_n_per_condition, run_row, seed_ci, seeds_of, source_tables)

__all__ = ["needs", "cross_task", "claim_F2", "f2_rule", "generalisation_by_core", "task_accuracy", "SITES",
           "PER_SEED_COLUMNS", "SUMMARY_COLUMNS", "claim_F2_markdown"]

SITES = ("encoding", "memory")

PER_SEED_COLUMNS = ["seed", "core", "scenario", "run_key", "site", "protocol", "variant", "property", "train_feature",
                    "train_n", "test_feature", "test_n", "same_task", "same_feature", "step", "age", "accuracy",
                    "ci_low", "ci_high", "chance", "n_classes", "n_train", "n_test", "n_unseen"]
SUMMARY_COLUMNS = ["seed", "core", "scenario", "site", "protocol", "variant", "age", "n", "property", "validation",
                   "generalisation", "same_feature_other_n", "chance", "generalisation_index", "decodable"]


def task_accuracy(run, seed: int, core: str) -> pd.DataFrame:
    """Masked accuracy per task and evaluation split of a run's last checkpoint (``Run.metrics``): columns
    ``core, seed, split, feature, n, accuracy`` (the input of
    :func:`~wmnb.analysis.cross_task.accuracy_comparable`)."""
    m = run.metrics
    m = m[m["feature"] != "all"]
    return pd.DataFrame(dict(core=core, seed=int(seed), split=m["split"].to_numpy(), feature=m["feature"].to_numpy(),
                             n=m["n"].astype(int).to_numpy(), accuracy=m["accuracy"].astype(float).to_numpy()))


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """The runs :func:`cross_task` reads for chapter parameters ``p``: ``scenario`` (default MTMF) x the cores
    (``cores`` / ``core``, "all": the three) x the seeds (:func:`~wmnb.experiments.core.seeds_of`), of ``arm``."""
    scenario = check_choice("scenario", p.get("scenario", "MTMF"), MULTI_TASK_SCENARIOS)
    return [RunSpec(scenario, c, s, arm=arm_of(p)) for c in cores_of(p, "all") for s in seeds_of(p)]


def cross_task(runs: RunSet, *, split: str = "train", n_per_condition: Optional[int] = None, step: int = 0,
               by_n: bool = True, memory: bool = True, paper_style: bool = True, tolerance: float = 0.02,
               C: float = 1.0, cache_dir=None, progress: bool = False, force: bool = False) -> ExperimentTables:
    """Cross-task decoder generalisation for each architecture and seed.

    Parameters
    ----------
    runs : wmnb.pipeline.RunSet of one training diet with several tasks ("MTMF" or "STMF"; STSF has one task
        and is refused): every core and seed it holds (e.g. the runs of :func:`needs`).
    split, n_per_condition : analysis recording (pool; sequences per condition, None = the profile's).
    step : step of the encoding site (0 = encoding step of the first stimulus).
    by_n : encoding-site tasks are (feature, N) pairs (default, 9 x 9) or features with N pooled (3 x 3).
    memory : also run the memory site (the stimulus of position 0 at ages 1..N, image-disjoint).
    paper_style : also run the encoding site under the paper-style sequence split (secondary number).
    tolerance : the behavioural comparability tolerance (every task within this accuracy on novel angles).
    C : decoder regularisation (multinomial logistic regression).
    cache_dir, force : cache root of the result tables; recompute.

    Returns
    -------
    ExperimentTables (name ``"cross_task"``)
        ``per_seed``: :data:`PER_SEED_COLUMNS`, one row per (seed, core, site, protocol, variant, property,
        age, train task, test task).
        ``summary``: :data:`SUMMARY_COLUMNS` (cross_task_summary per seed and core, per N).
        ``aggregated``: summary across seeds per (core, scenario, site, protocol, variant, age, n, property).
        ``runs``: one row per trained model.
        ``extra["cells"]``: accuracy and chance aggregated across seeds per (core, site, protocol, variant,
        age, property, train task, test task), for the matrices; ``extra["task_accuracy"]``: masked accuracy
        per task, split, core and seed; ``extra["comparability"]``: the pairwise comparability check.
    """
    from ..analysis.cross_task import accuracy_comparable, cross_task_memory, cross_task_summary
    from ..analysis.cross_task import cross_task as _cross_task
    from ..results import cached_table

    runs = as_runset(runs)
    scenario = check_choice("scenario", runs.one("scenario"), MULTI_TASK_SCENARIOS)
    cores, seeds = runs.cores, runs.seeds
    split = check_split(split)
    npc = resolve_n_per_condition(runs.profile, n_per_condition)
    step = check_int("step", step, low=0)
    tolerance = check_float("tolerance", tolerance, low=0.0)
    C = check_float("C", C, low=0.0, low_open=True)
    params = dict(step=step, by_n=bool(by_n), C=C, decoder="logreg", test_fraction=0.2, strict=True,
                  split_strata="identity", variants=["raw", "centred"], memory_position=0)
    jobs = [("encoding", "image")] + ([("encoding", "sequence")] if paper_style else []) \
        + ([("memory", "image")] if memory else [])
    parts, summ, run_rows, accs = [], [], [], []
    for spec in runs:
        core, seed = spec.core, spec.seed
        run = runs.run(spec, progress)
        run_rows.append(run_row(run, spec))
        accs.append(task_accuracy(run, seed, core))
        for site, pr in jobs:
            desc = dict(v=EXPERIMENT_VERSION, run=run.key, seed=int(seed), site=site, protocol=pr,
                        recording=dict(split=split, n_per_condition=npc, seed=ANALYSIS_SEED), analysis=params)

            def compute(spec=spec, seed=seed, site=site, pr=pr):
                rec = runs.recording(spec, split, npc)
                if site == "memory":
                    return cross_task_memory(rec.hidden, rec.labels, rec.feature, rec.n, rec.seq_id,
                                             stimuli=rec.stimuli, position=0, protocol=pr, seed=int(seed), C=C)
                return _cross_task(rec.hidden, rec.labels, rec.feature, rec.n, rec.seq_id, stimuli=rec.stimuli,
                                   step=step, by_n=by_n, protocol=pr, seed=int(seed), C=C)

            tab = cached_table("exp_cross_task", desc, compute, cache_dir=cache_dir, force=force)
            for c in ("same_task", "same_feature"):
                tab[c] = tab[c].astype(bool)
            s = cross_task_summary(tab, per_n=by_n)
            s.insert(0, "site", site)
            s.insert(0, "scenario", scenario)
            s.insert(0, "core", core)
            summ.append(add_seed(s, seed))
            tab.insert(0, "site", site)
            tab.insert(0, "run_key", run.key)
            tab.insert(0, "scenario", scenario)
            tab.insert(0, "core", core)
            parts.append(add_seed(tab, seed))
    per_seed = pd.concat(parts, ignore_index=True)[PER_SEED_COLUMNS]
    summary = pd.concat(summ, ignore_index=True)[SUMMARY_COLUMNS]
    summary["decodable"] = summary["decodable"].astype(bool)
    cell_keys = ["core", "scenario", "site", "protocol", "variant", "age", "property", "train_feature", "train_n",
                 "test_feature", "test_n", "same_task", "same_feature"]
    cells = aggregate(per_seed[["seed", *cell_keys, "accuracy", "chance", "n_test"]], cell_keys)
    agg = aggregate(summary.drop(columns="decodable"),
                    ["core", "scenario", "site", "protocol", "variant", "age", "n", "property"])
    acc = pd.concat(accs, ignore_index=True)
    return ExperimentTables("cross_task", per_seed, summary, agg, pd.DataFrame(run_rows),
                            dict(params, cores=list(cores), scenario=scenario, split=split, n_per_condition=npc,
                                 seeds=list(seeds), tolerance=tolerance, memory=bool(memory),
                                 paper_style=bool(paper_style)),
                            extra=dict(cells=cells, task_accuracy=acc,
                                       comparability=accuracy_comparable(acc, tolerance=tolerance)))


def _summary_of(source, **kw) -> tuple[pd.DataFrame, Optional[pd.DataFrame], Optional[float]]:
    """(per-seed summary rows, per-task accuracy table or None, tolerance or None) from any accepted source."""
    from ..analysis.cross_task import cross_task_summary

    if isinstance(source, RunSet):
        source = cross_task(source, **kw)
    if hasattr(source, "summary") and getattr(source, "name", None) == "cross_task":
        return source.summary, source.extra.get("task_accuracy"), source.params.get("tolerance")
    if isinstance(source, pd.DataFrame) and "generalisation_index" in source.columns:
        return source, None, None
    t = source_tables(source, "cross_task", cross_task, **kw)
    if "seed" not in t.columns:
        t = t.assign(seed=0)
    if "site" not in t.columns:
        t = t.assign(site="encoding")
    rows = []
    for (core, seed, site), g in t.groupby(["core", "seed", "site"], sort=True):
        s = cross_task_summary(g)
        s.insert(0, "site", site)
        s.insert(0, "core", core)
        rows.append(add_seed(s, seed))
    return pd.concat(rows, ignore_index=True), None, None


def generalisation_by_core(summary: pd.DataFrame, *, protocol: Optional[str] = "image",
                           variant: Optional[str] = None, site: Optional[str] = None) -> pd.DataFrame:
    """Per (core, seed[, site, protocol, variant]): validation, generalisation, chance and generalisation index
    averaged over properties, N and ages (each computed per N; N is never pooled inside a decoder).

    ``protocol`` / ``variant`` / ``site`` select rows when the summary has those columns (None keeps all
    and groups by them). Cells that are not decodable (NaN index) are left out of the index mean.
    """
    s = summary
    keys = ["core", "seed"]
    for col, val in (("site", site), ("protocol", protocol), ("variant", variant)):
        if col in s.columns:
            if val is not None:
                s = s[s[col] == val]
            else:
                keys.append(col)
    cols = ["validation", "generalisation", "chance", "generalisation_index"]
    return s.groupby(keys, sort=True)[cols].mean().reset_index()


def f2_rule(gi: pd.DataFrame, *, comparable: dict, margin: float = 0.05,
            sites: Optional[Sequence[str]] = None) -> dict:
    """The F2 verdict from per-seed generalisation indices (pure).

    Parameters
    ----------
    gi : DataFrame with columns ``core, seed, site, generalisation_index`` (one value per core, seed and site;
        NaN = no decodable cell). Needs the "rnn" core and at least one of "gru"/"lstm".
    comparable : gated core -> bool, whether it is behaviourally comparable with the vanilla RNN
        (:func:`~wmnb.analysis.cross_task.accuracy_comparable`); a missing core counts as not comparable.
    margin : GI(rnn) - GI(gated) difference that counts.
    sites : the sites judged (each must be present in ``gi``; None: those present, in :data:`SITES` order).

    Rule
    ----
    For each gated core g and site s: the paired differences d = GI(rnn, seed) - GI(g, seed) over the seeds
    both have, t interval across seeds, :func:`wmnb.verdicts.interval_verdict` (above ``margin``) with
    ``comparable=comparable[g]`` and ``controls_pass`` = every core has a finite GI at s in every seed (a
    decodable cell: the positive control). The verdict is :func:`wmnb.verdicts.combine` of all parts:
    **holds** (every part holds), **does not hold** (every part fails), **mixed** (some hold, some fail),
    **inconclusive** (any part straddles its threshold, fewer than two seeds, a failed control, or
    architectures not comparable, with no contradiction).

    Returns
    -------
    dict: ``verdict``, ``parts`` {``"<g>@<site>"``: dict(verdict, diff, ci_low, ci_high, comparable,
    controls_pass, n_seeds)}.
    """
    have = set(gi["core"])
    gated = [c for c in ("gru", "lstm") if c in have]
    if "rnn" not in have or not gated:
        raise ConfigError(f"F2 needs the 'rnn' core and 'gru' and/or 'lstm'; the table has {sorted(have)}")
    if sites is None:
        sites = [x for x in SITES if x in set(gi["site"])] + sorted(set(gi["site"]) - set(SITES))
    parts = {}
    for site in sites:
        g_site = gi[gi["site"] == site]
        if g_site.empty:
            raise ConfigError(f"no rows for site {site!r}; have {sorted(set(gi['site']))}")
        piv = g_site.pivot_table(index="seed", columns="core", values="generalisation_index", dropna=False)
        ok = bool(all(c in piv.columns and piv[c].notna().all() for c in ["rnn", *gated]))
        for g in gated:
            d = (piv["rnn"] - piv[g]).dropna() if g in piv.columns else pd.Series(dtype=float)
            m, lo, hi = seed_ci(d)
            comp = bool(comparable.get(g, False))
            v = interval_verdict(lo, hi, margin, direction="above", controls_pass=ok, comparable=comp)
            parts[f"{g}@{site}"] = dict(verdict=v, diff=m, ci_low=lo, ci_high=hi, comparable=comp, controls_pass=ok,
                                        n_seeds=int(d.size))
    return dict(verdict=combine([p["verdict"] for p in parts.values()]), parts=parts)


def _pair(comp_table: pd.DataFrame, gated: str) -> pd.Series:
    """The comparability row of the vanilla RNN vs ``gated``."""
    return comp_table[(comp_table.core_a == "rnn") & (comp_table.core_b == gated)].iloc[0]


def claim_F2(source, *, margin: float = 0.05, variant: str = "centred", protocol: str = "image",
             sites: Optional[Sequence[str]] = None, tolerance: Optional[float] = None,
             accuracy: Optional[pd.DataFrame] = None, **kw) -> dict:
    """F2: property subspaces are shared across tasks in vanilla RNNs, task-specific in GRU/LSTM.

    Parameters
    ----------
    source : RunSet (then :func:`cross_task` runs with ``**kw``), the ExperimentTables of :func:`cross_task`,
        its per-seed analysis rows, or a per-seed summary DataFrame with columns ``core, seed,
        generalisation_index`` (plus ``site, protocol, variant``; absent ones read as "encoding", ``protocol``,
        ``variant``). The "rnn" core and at least one of "gru"/"lstm" are needed.
    margin : generalisation-index difference that counts (0.05).
    variant : the variant the verdict uses: "centred" (default: a task-specific offset alone is not a
        task-specific subspace) or "raw" (the paper's procedure; always reported in ``details["raw"]``).
    protocol : "image" (primary); the paper-style "sequence" numbers are reported in ``details``.
    sites : sites judged (default: every site present among "encoding" and "memory").
    tolerance : behavioural comparability tolerance (default: the experiment's, else 0.02).
    accuracy : per-task accuracy table (columns ``core, feature, n, accuracy`` [, ``seed, split``]) for the
        comparability check when ``source`` does not carry one. Without any, architectures are *not shown*
        comparable and the verdict is "inconclusive".

    Rule
    ----
    GI(core, seed, site) = mean over properties, N and ages of the per-N generalisation index
    (generalisation - chance) / (validation - chance) of decodable cells (validation >= chance + 0.1), from
    ``variant`` and ``protocol``. Then :func:`f2_rule` per gated core and site (paired t interval of
    GI(rnn) - GI(g) above ``margin``; inconclusive when it straddles, when a control fails or when g is not
    within ``tolerance`` of the RNN on every task's novel-angle accuracy). ``value`` = GI(rnn) - mean GI of
    the gated cores at the first judged site (mean over seeds, t CI).
    """
    from ..analysis.cross_task import accuracy_comparable
    from ..analysis.task_relevance import PROTOCOL_NAMES

    margin = check_float("margin", margin, low=0.0)
    check_choice("variant", variant, ("raw", "centred"))
    summary, acc, tol0 = _summary_of(source, **kw)
    s = summary.copy()
    for col, default in (("site", "encoding"), ("protocol", protocol), ("variant", variant)):
        if col not in s.columns:
            s[col] = default
    have_sites = [x for x in SITES if x in set(s.loc[s.protocol == protocol, "site"])]
    sites = tuple(have_sites if sites is None else sites)
    if not sites:
        raise ConfigError(f"no rows of protocol {protocol!r} in the summary")
    tol = float(tolerance if tolerance is not None else (tol0 if tol0 is not None else 0.02))
    acc = accuracy if accuracy is not None else acc
    comp_table = accuracy_comparable(acc, tolerance=tol) if acc is not None else None
    comparable = {}
    for g in ("gru", "lstm"):
        if comp_table is not None:
            row = comp_table[(comp_table.core_a == "rnn") & (comp_table.core_b == g)]
            comparable[g] = bool(len(row) and row["comparable"].iloc[0])
        else:
            comparable[g] = False

    def gi_of(var, pr, site_list):
        sub = s[(s.variant == var) & (s.protocol == pr) & s.site.isin(site_list)]
        return sub.groupby(["core", "seed", "site"], sort=True)["generalisation_index"].mean().reset_index()

    gi = gi_of(variant, protocol, sites)
    res = f2_rule(gi, comparable=comparable, margin=margin, sites=sites)
    gated = sorted({k.split("@")[0] for k in res["parts"]}, key=("gru", "lstm").index)
    first = gi[gi.site == sites[0]].pivot(index="seed", columns="core", values="generalisation_index")
    value, lo, hi = seed_ci((first["rnn"] - first[gated].mean(axis=1)).dropna())
    per_core = {}
    for (c, site), sub in gi.groupby(["core", "site"]):
        m, clo, chi = seed_ci(sub["generalisation_index"])
        rows = s[(s.core == c) & (s.site == site) & (s.variant == variant) & (s.protocol == protocol)]
        per_core[f"{c}@{site}"] = dict(core=c, site=site, generalisation_index=m, gi_ci_low=clo, gi_ci_high=chi,
                                       validation=float(rows["validation"].mean()),
                                       generalisation=float(rows["generalisation"].mean()),
                                       chance=float(rows["chance"].mean()),
                                       n_seeds=int(sub["generalisation_index"].notna().sum()))
    others = {}
    other_variant = "raw" if variant == "centred" else "centred"
    for name, var, pr in ((other_variant, other_variant, protocol), ("paper_style", "raw", "sequence")):
        sl = [x for x in sites if x in set(s.loc[(s.variant == var) & (s.protocol == pr), "site"])]
        if not sl:
            continue
        g2 = gi_of(var, pr, sl)
        try:
            r2 = f2_rule(g2, comparable=comparable, margin=margin, sites=sl)
        except ConfigError:
            continue
        others[name] = dict(variant=var, protocol=PROTOCOL_NAMES.get(pr, pr), sites=sl, verdict=r2["verdict"],
                            parts=r2["parts"],
                            gi={f"{c}@{st}": float(v) for (c, st), v in
                                g2.groupby(["core", "site"])["generalisation_index"].mean().items()})
    seeds_rnn = gi[(gi.core == "rnn") & (gi.site == sites[0])]
    per_seed = []
    for c in ["rnn", *gated]:
        for site in sites:
            sub = gi[(gi.core == c) & (gi.site == site)]
            per_seed += per_seed_values(sub["seed"], sub["generalisation_index"],
                                        label=[f"{c} {site}"] * len(sub))
    n_dec = int(s.loc[(s.variant == variant) & (s.protocol == protocol), "generalisation_index"].notna().sum()) \
        if "generalisation_index" in s else 0
    n_all = int(((s.variant == variant) & (s.protocol == protocol)).sum())
    comp_txt = ("not shown (no per-task accuracy table)" if comp_table is None else "; ".join(
        f"rnn vs {g}: max gap {_pair(comp_table, g)['max_gap']:.3f} (beyond seed noise "
        f"{_pair(comp_table, g)['max_gap_low']:.3f}) -> {'comparable' if comparable[g] else 'NOT comparable'}"
        for g in gated if len(comp_table[(comp_table.core_a == 'rnn') & (comp_table.core_b == g)])))
    controls = (f"behavioural comparability (no task's novel-angle accuracy gap beyond {tol:.2f} outside seed "
                f"noise): {comp_txt}; "
                f"decodability (validation >= chance + 0.1): {n_dec} of {n_all} cells; "
                + ", ".join(f"{k}: {'passed' if p['controls_pass'] else 'FAILED'}" for k, p in res["parts"].items()))
    return claim_dict(
        "F2", "Object-property subspaces are shared across tasks in vanilla RNNs (decoders generalise across "
              "tasks) and task-specific in GRU/LSTM (they do not).",
        value, (lo, hi), "cross-task generalisation high for vanilla RNN, low for GRU/LSTM (Fig. 2a, 2c)",
        res["verdict"],
        dict(per_core=per_core, parts=res["parts"], gated=gated, margin=margin, variant=variant, sites=list(sites),
             comparable=comparable, tolerance=tol,
             comparability=None if comp_table is None else comp_table.to_dict("records"),
             others=others, n_seeds=int(seeds_rnn["generalisation_index"].notna().sum()),
             value_name=f"generalisation index ({variant}), RNN minus mean of gated cores, {sites[0]} site",
             rule="per gated core g and site: paired t interval of GI(rnn) - GI(g) above margin -> holds, below "
                  "-> does not hold, straddling / < 2 seeds / control failed / not comparable (every task within "
                  "2 points on novel angles) -> inconclusive; combined over parts (holds + does not hold -> mixed)"),
        protocol=PROTOCOL_NAMES.get(protocol, protocol), per_seed=per_seed, controls=controls)


def claim_F2_markdown(claim: dict) -> str:
    """Chapter 6's section for the F2 record (:func:`claim_F2`): the claim, protocol, variant, sites and
    controls, the table of its parts (one per gated core and site) and the verdicts of the other readings."""
    from ..book.report import claim_section, interval, markdown_table  # noqa: PLC0415

    d = claim["details"]
    rows = [(k.split("@")[0].upper(), k.split("@")[1], interval(v["diff"], v["ci_low"], v["ci_high"]),
             "yes" if v["comparable"] else "no", "pass" if v["controls_pass"] else "FAIL", f"**{v['verdict']}**")
            for k, v in d["parts"].items()]
    others = "\n".join(f"* {name} ({o['variant']}, {o['protocol']}): **{o['verdict']}** by the same rule."
                       for name, o in d["others"].items())
    table = markdown_table(["gated core", "site", "GI(RNN) - GI(gated), paired by seed", "comparable", "control",
                            "verdict"], rows)
    bullets = [f"Protocol: **{claim['protocol']}**, variant **{d['variant']}**, sites {', '.join(d['sites'])}.",
               f"Controls: {claim['controls']}."]
    return claim_section(claim, bullets=bullets, table=table,
                         after="\n\nThe other readings of the same data:\n\n" + others)
