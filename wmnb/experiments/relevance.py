"""Task-relevant and task-irrelevant properties at the encoding step, per training diet (F1; paper Fig. 2b).

For every training diet (STSF, STMF, MTMF), seed and trained model, the hidden state at step ``step`` (t = 0,
the first stimulus's encoding step) is decoded for every object property (location, identity, category) in
every task context the model was trained on (:mod:`wmnb.analysis.task_relevance`). A property is *relevant*
in a task context when it is the task's feature.

Three numbers per cell (the ``protocol`` column)
------------------------------------------------
``"image"`` (primary): form (a) of the image-disjoint rule on the train-pool analysis recording -- one split of
    its images, stratified by identity and shared by all properties; a decoder is scored only on states of
    images it never saw.
``"transfer"``: form (b) -- fit on the train-pool recording, score on a recording of the novel-angle pool
    (new views of known identities).
``"sequence"``: the paper-style split by sequence (images may repeat), the secondary number compared with
    the paper's figure; the gap to "image" is what a lookup of seen images adds.

STSF is one model per task: ``stsf_features`` says which (each trained on that feature at N = 2). All three
features are the default outside the smoke profile (the smoke profile trains the category one only).

Claim: :func:`claim_F1` (rule: :func:`f1_rule`).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..config import ANALYSIS_SEED, FEATURES, SCENARIOS
from ..errors import ConfigError, check_choices, check_float, check_int
from ..pipeline import RunSet
from ..runs import RunSpec
from ..verdicts import combine, interval_verdict, per_seed_values
from .core import (EXPERIMENT_VERSION, ExperimentTables, add_seed, aggregate, arm_of, as_runset, check_split,
                   claim_dict, cores_of, resolve_n_per_condition, run_row, seed_ci, seeds_of, source_tables)

__all__ = ["needs", "stsf_features_for", "relevance", "claim_F1", "f1_rule", "irrelevant_by_scenario",
           "irrelevant_by_protocol", "protocol_gap_markdown", "claim_F1_markdown", "PER_SEED_COLUMNS",
           "SUMMARY_COLUMNS", "PROTOCOLS"]

#: the protocols :func:`relevance` computes by default, primary first
PROTOCOLS = ("image", "transfer", "sequence")

#: columns of ``relevance(...).per_seed`` (the analysis columns of task_relevance plus the run keys)
PER_SEED_COLUMNS = ["seed", "model", "scenario", "core", "stsf_feature", "run_key", "protocol", "task_feature", "n",
                    "property", "relevant", "step", "accuracy", "ci_low", "ci_high", "chance", "chance_majority",
                    "n_classes", "n_train", "n_test", "n_test_images", "n_unseen", "train_accuracy"]
#: columns of ``relevance(...).summary`` (one row per seed, protocol, scenario, core, property, relevant);
#: ``normalised`` = mean over cells of (accuracy - chance) / (1 - chance)
SUMMARY_COLUMNS = ["seed", "protocol", "scenario", "core", "property", "relevant", "accuracy", "normalised",
                   "chance", "n_cells", "n_test"]


def _check_scenarios(scenarios) -> tuple[str, ...]:
    return check_choices("scenarios", scenarios, SCENARIOS)


def stsf_features_for(profile: str, stsf_features: Optional[Sequence[str]] = None) -> tuple[str, ...]:
    """The task features of the STSF models: ``stsf_features`` (validated), else all three, except
    ``("category",)`` at the smoke profile."""
    if stsf_features is None:
        return ("category",) if profile == "smoke" else tuple(FEATURES)
    return check_choices("stsf_features", stsf_features, FEATURES)


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """The runs :func:`relevance` reads for chapter parameters ``p``: per core (``cores`` / ``core``, default the
    GRU; one :func:`relevance` call each), for every seed, each diet of ``scenarios`` (default all three; STSF
    once per feature of ``stsf_features``, :func:`stsf_features_for`), of ``arm``."""
    scenarios = _check_scenarios(p.get("scenarios") or SCENARIOS)
    stsf = stsf_features_for(p["profile"], p.get("stsf_features"))
    return [RunSpec(scen, core, seed, feat, arm_of(p)) for core in cores_of(p, "gru") for seed in seeds_of(p)
            for scen in scenarios for feat in (stsf if scen == "STSF" else (None,))]


def _check_protocols(protocols) -> tuple[str, ...]:
    out = check_choices("protocols", protocols, PROTOCOLS)
    if "image" not in out:
        raise ConfigError(f"protocols={protocols!r} must include the primary 'image'; choose from {list(PROTOCOLS)}")
    return out


def relevance(runs: RunSet, *, split: str = "train", n_per_condition: Optional[int] = None, step: int = 0,
              by_n: bool = True,
              protocols: Sequence[str] = PROTOCOLS, C: float = 1.0, cache_dir=None, progress: bool = False,
              force: bool = False) -> ExperimentTables:
    """Decode every property at the encoding step from every task context, for each diet and seed.

    Parameters
    ----------
    runs : wmnb.pipeline.RunSet of one core: the diets to compare (STSF once per task feature) for every seed
        (e.g. the runs of :func:`needs`).
    split : pool of the analysis recording ("train" = new sequences of training-pool images).
    n_per_condition : sequences per (feature, N) condition of the recording (None: the profile's,
        :data:`wmnb.config.ANALYSIS_SEQUENCES`).
    step : time step decoded (0 = encoding step of the first stimulus, as in the paper).
    by_n : keep N separate (default) or pool it within each task feature.
    protocols : held-out protocols computed (module docstring); must include "image". "transfer" records the
        model on the novel-angle pool too.
    C : decoder regularisation (multinomial logistic regression).
    cache_dir : cache root of the result tables (runs and the world use their own caches).
    force : recompute the cached tables.

    Returns
    -------
    ExperimentTables (name ``"relevance"``)
        ``per_seed``: :data:`PER_SEED_COLUMNS` (one row per seed, model, protocol, task cell, property).
        ``summary``: :data:`SUMMARY_COLUMNS`, accuracy, normalised accuracy and chance averaged over task cells
        (and STSF models) per (seed, protocol, scenario, core, property, relevant).
        ``aggregated``: summary across seeds (``accuracy_mean, accuracy_ci_low, ...``, ``n_seeds``).
        ``runs``: one row per trained model.
        ``extra["cells"]``: per_seed aggregated across seeds per (protocol, model, scenario, core, task_feature,
        n, property, relevant) (for heatmaps); ``extra["by_task"]``:
        :func:`~wmnb.analysis.task_relevance.relevance_summary` per seed and model.
    """
    from ..analysis.task_relevance import relevance_summary, task_relevance, task_relevance_transfer
    from ..results import cached_table

    runs = as_runset(runs)
    core = runs.one("core")
    scenarios, seeds = runs.scenarios, runs.seeds
    stsf = tuple(dict.fromkeys(s.feature for s in runs if s.scenario == "STSF"))
    split = check_split(split)
    npc = resolve_n_per_condition(runs.profile, n_per_condition)
    step = check_int("step", step, low=0)
    protocols = _check_protocols(protocols)
    C = check_float("C", C, low=0.0, low_open=True)
    params = dict(step=step, by_n=bool(by_n), C=C, decoder="logreg", test_fraction=0.2, strict=True,
                  split_strata="identity")

    parts, run_rows, by_task = [], [], []
    for spec in runs:
        seed, scen, feat = spec.seed, spec.scenario, spec.feature
        run = runs.run(spec, progress)
        run_rows.append(run_row(run, spec))
        tabs = []
        for pr in protocols:
            desc = dict(v=EXPERIMENT_VERSION, run=run.key, seed=int(seed), protocol=pr,
                        recording=dict(split=split, n_per_condition=npc, seed=ANALYSIS_SEED,
                                       test_split="novel_angle" if pr == "transfer" else None),
                        analysis=params)

            def compute(spec=spec, seed=seed, pr=pr):
                rec = runs.recording(spec, split, npc)
                if pr == "transfer":
                    new = runs.recording(spec, "novel_angle", npc)
                    return task_relevance_transfer(rec.hidden, rec.labels, rec.feature, rec.n, new.hidden,
                                                   new.labels, new.feature, new.n, stimuli=rec.stimuli,
                                                   test_stimuli=new.stimuli, step=step, by_n=by_n,
                                                   seed=int(seed), C=C)
                return task_relevance(rec.hidden, rec.labels, rec.feature, rec.n, rec.seq_id,
                                      stimuli=rec.stimuli, step=step, by_n=by_n, protocol=pr,
                                      seed=int(seed), C=C)

            tabs.append(cached_table("exp_relevance", desc, compute, cache_dir=cache_dir, force=force))
        tab = pd.concat(tabs, ignore_index=True)
        tab["relevant"] = tab["relevant"].astype(bool)
        by_task.append(add_seed(relevance_summary(tab), seed).assign(
            model=spec.model, scenario=scen, core=core))
        tab.insert(0, "run_key", run.key)
        tab.insert(0, "stsf_feature", feat or "")
        tab.insert(0, "core", core)
        tab.insert(0, "scenario", scen)
        tab.insert(0, "model", spec.model)
        parts.append(add_seed(tab, seed))
    per_seed = pd.concat(parts, ignore_index=True)[PER_SEED_COLUMNS]
    summary = summarise(per_seed)
    keys = ["protocol", "scenario", "core", "property", "relevant"]
    cell_keys = ["protocol", "model", "scenario", "core", "task_feature", "n", "property", "relevant"]
    cells = aggregate(per_seed[["seed", *cell_keys, "accuracy", "chance", "n_test"]], cell_keys)
    return ExperimentTables("relevance", per_seed, summary, aggregate(summary, keys), pd.DataFrame(run_rows),
                            dict(params, scenarios=list(scenarios), core=core, stsf_features=list(stsf),
                                 split=split, n_per_condition=npc, seeds=list(seeds), protocols=list(protocols)),
                            extra=dict(cells=cells, by_task=pd.concat(by_task, ignore_index=True)))


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy, normalised accuracy, chance, number of task cells and test rows per (seed, protocol,
    scenario, core, property, relevant) of a per-seed relevance table (STSF models of one seed are pooled)."""
    from ..analysis.task_relevance import normalised_accuracy

    t = per_seed if "protocol" in per_seed.columns else per_seed.assign(protocol="image")
    t = t.assign(normalised=normalised_accuracy(t["accuracy"], t["chance"]))
    g = t.groupby(["seed", "protocol", "scenario", "core", "property", "relevant"], sort=True)
    out = g.agg(accuracy=("accuracy", "mean"), normalised=("normalised", "mean"), chance=("chance", "mean"),
                n_cells=("accuracy", "size"), n_test=("n_test", "sum")).reset_index()
    return out[SUMMARY_COLUMNS]


def irrelevant_by_scenario(table: pd.DataFrame, properties: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Per (scenario, seed): decoding of task-irrelevant (and relevant) properties, balanced over properties.

    For each property P in ``properties`` (default: every property that is irrelevant somewhere in the
    table), the mean over the task cells where P is irrelevant of the normalised accuracy
    ``(accuracy - chance) / (1 - chance)`` (0 = chance, 1 = perfect; identity has many more classes than
    location); then the mean over P, so that every property weighs the same whatever the number of cells.
    The table must hold one protocol (filter it first).

    Returns
    -------
    DataFrame with columns ``scenario, seed, irrelevant`` (normalised), ``irrelevant_raw`` (the same mean of
    raw accuracies), ``irrelevant_<P>`` (normalised, per property), ``relevant`` (normalised accuracy of the
    task-relevant property, mean over cells).
    """
    from ..analysis.task_relevance import normalised_accuracy

    if "protocol" in table.columns and table["protocol"].nunique() > 1:
        raise ConfigError(f"the table mixes protocols {sorted(table['protocol'].unique())}; filter it first")
    t = table.assign(normalised=normalised_accuracy(table["accuracy"], table["chance"]),
                     relevant=table["relevant"].astype(bool))
    irr_all = t[~t["relevant"]]
    props = list(properties) if properties is not None else [p for p in FEATURES if p in set(irr_all["property"])]
    rows = []
    for (scen, seed), g in t.groupby(["scenario", "seed"], sort=True):
        irr, rel = g[~g["relevant"]], g[g["relevant"]]
        per_p = {p: float(irr.loc[irr["property"] == p, "normalised"].mean()) for p in props}
        raw_p = {p: float(irr.loc[irr["property"] == p, "accuracy"].mean()) for p in props}
        vals = [v for v in per_p.values() if np.isfinite(v)]
        raws = [v for v in raw_p.values() if np.isfinite(v)]
        rows.append(dict(scenario=scen, seed=int(seed), irrelevant=float(np.mean(vals)) if vals else np.nan,
                         irrelevant_raw=float(np.mean(raws)) if raws else np.nan,
                         relevant=float(rel["normalised"].mean()) if len(rel) else np.nan,
                         **{f"irrelevant_{p}": v for p, v in per_p.items()}))
    return pd.DataFrame(rows)


def f1_rule(per_seed: pd.DataFrame, *, keep_level: float, margin: float = 0.05,
            min_relevant: float = 0.25) -> dict:
    """The F1 verdict from per-seed numbers (pure).

    Parameters
    ----------
    per_seed : DataFrame, one row per seed: ``mtmf`` and ``single`` (normalised irrelevant accuracy of the
        multi-task and the single-task models of that seed), ``mtmf_relevant`` and ``single_relevant``
        (normalised accuracy of the task-relevant property: the positive control).
    keep_level : normalised level MTMF must exceed to "keep" irrelevant properties (the paper's 85 % on the
        normalised scale, :func:`claim_F1`).
    margin : MTMF - single-task difference (normalised) that counts as "keeps less".
    min_relevant : the positive control: in both diets the relevant property must decode at a normalised
        accuracy >= this (mean over seeds), else the comparison says nothing and the verdict is inconclusive.

    Rule
    ----
    A ("MTMF keeps"): t interval across seeds of ``mtmf`` vs ``keep_level``
    (:func:`wmnb.verdicts.interval_verdict`, above). B ("single-task keeps less"): t interval of the paired
    difference ``mtmf - single`` vs ``margin`` (above). Verdict = :func:`wmnb.verdicts.combine` of A and B:
    **holds** (both hold), **does not hold** (both fail), **mixed** (one holds, one fails), **inconclusive**
    (an interval straddles its threshold, fewer than two seeds, or the positive control failed).

    Returns
    -------
    dict: ``verdict``, ``keep`` and ``less`` (the parts' verdicts), ``mtmf``/``single``/``diff`` as
    ``(mean, ci_low, ci_high)``, ``controls_pass``, ``relevant`` (per-diet control means), ``n_seeds``.
    """
    need = {"mtmf", "single", "mtmf_relevant", "single_relevant"}
    if not need <= set(per_seed.columns):
        raise ConfigError(f"per_seed needs columns {sorted(need)}; has {sorted(per_seed.columns)}")
    d = per_seed.dropna(subset=["mtmf", "single"])
    m = seed_ci(d["mtmf"])
    sgl = seed_ci(d["single"])
    diff = seed_ci(d["mtmf"] - d["single"])
    rel = dict(mtmf=float(np.nanmean(per_seed["mtmf_relevant"])) if len(per_seed) else np.nan,
               single=float(np.nanmean(per_seed["single_relevant"])) if len(per_seed) else np.nan)
    controls = all(np.isfinite(v) and v >= min_relevant for v in rel.values())
    keep = interval_verdict(m[1], m[2], keep_level, direction="above", controls_pass=controls)
    less = interval_verdict(diff[1], diff[2], margin, direction="above", controls_pass=controls)
    return dict(verdict=combine([keep, less]), keep=keep, less=less, mtmf=m, single=sgl, diff=diff,
                controls_pass=controls, relevant=rel, n_seeds=int(len(d)))


def _f1_per_seed(t: pd.DataFrame, single: str, props) -> pd.DataFrame:
    by = irrelevant_by_scenario(t, props)
    piv = by.pivot(index="seed", columns="scenario", values="irrelevant")
    rel = by.pivot(index="seed", columns="scenario", values="relevant")
    raw = by.pivot(index="seed", columns="scenario", values="irrelevant_raw")
    out = pd.DataFrame(dict(mtmf=piv["MTMF"], single=piv[single], mtmf_relevant=rel["MTMF"],
                            single_relevant=rel[single], mtmf_raw=raw["MTMF"], single_raw=raw[single]))
    return out.reset_index()


def claim_F1(source, *, level: float = 0.85, margin: float = 0.05, single: str = "STSF",
             protocol: str = "image", min_relevant: float = 0.25, **kw) -> dict:
    """F1: multi-task models keep task-irrelevant properties at the encoding step; single-task models less.

    Parameters
    ----------
    source : World (then :func:`relevance` runs with ``**kw``), the ExperimentTables of :func:`relevance`, or
        a per-seed DataFrame with columns ``scenario, seed, property, relevant, accuracy, chance`` (and
        ``protocol``; a table without it is read as image-disjoint). Rows of "MTMF" and ``single`` are needed.
    level : the paper's level for "decodable" irrelevant properties (0.85, raw accuracy); converted to the
        normalised scale property by property (``(level - chance) / (1 - chance)``, 0.80 for 4 classes) and
        averaged over the compared properties.
    margin : the MTMF - single-task difference of normalised accuracy that counts (0.05).
    single : the single-task diet compared with MTMF ("STSF"; "STMF" is reported in ``details``).
    protocol : the protocol the verdict uses ("image", the primary); the others present are reported in
        ``details["by_protocol"]`` (paper-style "sequence" and novel-angle "transfer").
    min_relevant : positive control threshold (:func:`f1_rule`).

    Rule
    ----
    Per seed, I(diet) = mean over properties P of the mean normalised accuracy
    ``(accuracy - chance) / (1 - chance)`` of P over the task cells where P is irrelevant, using only the
    properties irrelevant in *both* MTMF and the single-task diet (with STSF models of all three features,
    all three properties; STSF models of one seed are pooled). Then :func:`f1_rule`: A = MTMF's interval
    above the paper's level, B = the paired MTMF - single interval above ``margin``; holds / does not hold /
    mixed / inconclusive by :func:`wmnb.verdicts.combine`. ``value`` = mean over seeds of I(MTMF) (t CI).
    Raises ConfigError when MTMF or the single-task diet is missing.
    """
    from ..analysis.task_relevance import PROTOCOL_NAMES, normalised_accuracy

    level = check_float("level", level, low=0.0, high=1.0)
    margin = check_float("margin", margin, low=0.0)
    t = source_tables(source, "relevance", relevance, **kw)
    if "protocol" not in t.columns:
        t = t.assign(protocol=protocol)
    have = set(t["scenario"])
    if "MTMF" not in have or single not in have:
        raise ConfigError(f"claim_F1 needs rows of scenarios 'MTMF' and {single!r}; the table has {sorted(have)}")
    if protocol not in set(t["protocol"]):
        raise ConfigError(f"no rows of protocol {protocol!r}; the table has {sorted(set(t['protocol']))}")
    prim = t[t["protocol"] == protocol]
    irr = prim[~prim["relevant"].astype(bool)]
    props = [p for p in FEATURES if p in set(irr.loc[irr.scenario == "MTMF", "property"])
             and p in set(irr.loc[irr.scenario == single, "property"])]
    chance = {p: float(irr.loc[irr.property == p, "chance"].mean()) for p in props}
    keep_level = float(np.mean([normalised_accuracy(level, chance[p]) for p in props])) if props else np.nan
    ps = _f1_per_seed(prim, single, props)
    res = f1_rule(ps, keep_level=keep_level, margin=margin, min_relevant=min_relevant)
    m, lo, hi = res["mtmf"]
    by = irrelevant_by_scenario(prim, props)
    by_protocol = {}
    for pr in sorted(set(t["protocol"]), key=lambda x: PROTOCOLS.index(x) if x in PROTOCOLS else 9):
        tp = t[t["protocol"] == pr]
        if not {"MTMF", single} <= set(tp["scenario"]):
            continue
        sub = _f1_per_seed(tp, single, props)
        r = f1_rule(sub, keep_level=keep_level, margin=margin, min_relevant=min_relevant)
        by_protocol[pr] = dict(label=PROTOCOL_NAMES.get(pr, pr), mtmf=r["mtmf"][0], mtmf_ci=r["mtmf"][1:],
                               single=r["single"][0], diff=r["diff"][0], diff_ci=r["diff"][1:],
                               mtmf_raw=float(sub["mtmf_raw"].mean()), single_raw=float(sub["single_raw"].mean()),
                               verdict=r["verdict"])
    gap = (by_protocol["sequence"]["mtmf"] - m) if "sequence" in by_protocol else np.nan
    details = dict(single=single, properties=props, protocol=protocol, mtmf=m, mtmf_raw=float(ps["mtmf_raw"].mean()),
                   single_mean=res["single"][0], single_ci_low=res["single"][1], single_ci_high=res["single"][2],
                   single_raw=float(ps["single_raw"].mean()),
                   diff=res["diff"][0], diff_ci_low=res["diff"][1], diff_ci_high=res["diff"][2],
                   keep=res["keep"], less=res["less"], keep_level=keep_level, level=level, margin=margin,
                   min_relevant=min_relevant, relevant_control=res["relevant"], controls_pass=res["controls_pass"],
                   value_name="MTMF decoding of task-irrelevant properties at t = 0, normalised "
                              "(accuracy - chance) / (1 - chance)",
                   n_seeds=res["n_seeds"], by_protocol=by_protocol, sequence_minus_image=gap,
                   per_property={p: {s: float(by.loc[by.scenario == s, f"irrelevant_{p}"].mean())
                                     for s in sorted(have) if s in set(by.scenario)} for p in props},
                   chance=chance,
                   rule="normalised irrelevant accuracy per seed; A: MTMF t interval above the paper's 85 % "
                        "(normalised); B: paired MTMF - single interval above margin; holds: A and B hold; "
                        "does not hold: both fail; mixed: one holds, one fails; inconclusive: an interval "
                        "straddles its threshold, < 2 seeds, or the relevant-property control fails")
    for other in sorted(have - {"MTMF", single}):
        o = by.loc[by.scenario == other, "irrelevant"]
        details[f"{other.lower()}_mean"], details[f"{other.lower()}_ci_low"], details[f"{other.lower()}_ci_high"] \
            = seed_ci(o)
    seeds = [int(s) for s in ps["seed"]]
    per_seed = (per_seed_values(seeds, ps["mtmf"], label=["MTMF"] * len(seeds))
                + per_seed_values(seeds, ps["single"], label=[single] * len(seeds))
                + per_seed_values(seeds, ps["mtmf"] - ps["single"], label=[f"MTMF - {single}"] * len(seeds)))
    controls = (f"positive control (task-relevant property decodable, normalised >= {min_relevant}): MTMF "
                f"{res['relevant']['mtmf']:.2f}, {single} {res['relevant']['single']:.2f} -> "
                + ("passed" if res["controls_pass"] else "FAILED") + "; chance per property "
                + ", ".join(f"{p} {c:.3f}" for p, c in chance.items()))
    return claim_dict(
        "F1", "Multi-task (MTMF) networks keep task-irrelevant object properties decodable at the encoding "
              "step; single-task networks keep them less.",
        m, (lo, hi), "MTMF irrelevant properties > 85 % at t = 0; single-task models lower (Fig. 2b)",
        res["verdict"], details, protocol=PROTOCOL_NAMES.get(protocol, protocol), per_seed=per_seed,
        controls=controls)


def irrelevant_by_protocol(summary: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The task-irrelevant rows of a :func:`relevance` summary, meaned over properties per seed, then over seeds:
    a table scenario x (accuracy | normalised, protocol), and per scenario the gap "sequence" minus "image" of
    the normalised value (scenarios lacking either protocol are left out)."""
    irr = summary[~summary.relevant]
    tab = (irr.groupby(["protocol", "scenario", "seed"])[["accuracy", "normalised"]].mean()
           .groupby(["protocol", "scenario"]).mean().unstack("protocol"))
    gap = {}
    for s in tab.index:
        try:
            gap[s] = tab.loc[s, ("normalised", "sequence")] - tab.loc[s, ("normalised", "image")]
        except KeyError:
            pass
    return tab, gap


def protocol_gap_markdown(gap: Mapping[str, float]) -> str:
    """The sentence on :func:`irrelevant_by_protocol`'s gaps: what the paper-style split adds over the
    image-disjoint one."""
    return ("Paper-style minus image-disjoint (normalised): " + ", ".join(f"{s} {g:+.3f}" for s, g in gap.items())
            + ". A positive gap is accuracy that comes from recognising images already seen in fitting, not from "
              "a code that generalises to new images of the same object.")


def claim_F1_markdown(cl: dict, heading: str) -> str:
    """Chapter 5's section for one core's F1 record (:func:`claim_F1`): the claim, its protocol and controls,
    the compared quantity with its intervals, parts A and B, the per-property values and the table of the same
    rule under every protocol."""
    from ..book.report import claim_section, interval, markdown_table  # noqa: PLC0415

    d = cl["details"]
    props = ", ".join(d["properties"])
    per_p = "; ".join(f"{p}: " + ", ".join(f"{s} {v:.2f}" for s, v in sorted(d["per_property"][p].items()))
                      for p in d["properties"])
    stmf = (f" STMF models sit at {interval(d['stmf_mean'], d['stmf_ci_low'], d['stmf_ci_high'])}."
            if "stmf_mean" in d else "")
    rows = [(v["label"], f"{v['mtmf']:.3f}", f"{v['single']:.3f}", f"{v['diff']:+.3f}", f"{v['mtmf_raw']:.3f}",
             f"{v['single_raw']:.3f}", v["verdict"]) for v in d["by_protocol"].values()]
    bullets = [
        f"Protocol of the verdict: **{cl['protocol']}**. Controls: {cl['controls']}.",
        f"Compared quantity: task-irrelevant accuracy normalised above chance, averaged over the properties "
        f"irrelevant in both diets ({props}). MTMF {interval(d['mtmf'], cl['ci_low'], cl['ci_high'])}, "
        f"STSF {interval(d['single_mean'], d['single_ci_low'], d['single_ci_high'])}; "
        f"paired difference MTMF - STSF {interval(d['diff'], d['diff_ci_low'], d['diff_ci_high'])} "
        f"over {d['n_seeds']} seed(s).{stmf}",
        f"Part A, *MTMF keeps irrelevant properties at the paper's level* (85 % is {d['keep_level']:.3f} on the "
        f"normalised scale for these properties): **{d['keep']}**. Part B, *single-task models keep less* (paired "
        f"difference above {d['margin']}): **{d['less']}**.",
        f"Per property (normalised, irrelevant contexts): {per_p}.",
    ]
    table = markdown_table(["protocol", "MTMF (normalised)", "STSF (normalised)", "difference", "MTMF raw acc.",
                            "STSF raw acc.", "verdict by the same rule"], rows)
    return claim_section(cl, heading=heading, bullets=bullets, table=table)
