"""Orthogonalization of property codes: perceptual spaces vs the RNN's encoding space (F3; paper Fig. 3).

For each architecture and seed, the multi-task model's analysis recording gives three representations of the
stimulus shown at the encoding step (t = 0):

* ``backbone``: the frozen CNN's pooled feature of the image (1280-d for EfficientNet-Lite0), the paper's
  "perceptual space" (primary comparison);
* ``projection``: the trainable projection fed to the RNN (the public re-implementation's "perceptual"
  space; secondary);
* ``encoding``: the RNN hidden state.

Primary measure (:func:`wmnb.analysis.orthogonality.equal_k_orthogonality`): every space reduced to the same
``k`` principal components fitted on the training rows of each task context (feature, N), image-disjoint
held-out split, closed-form one-vs-rest normals and ``n_null`` shuffled-label nulls per cell (one batched
solve). Cells where the property is not decodable on held-out images (accuracy < chance + 0.1) are dropped
and counted. Statistics are over **models** (one value per trained model: the mean over its kept cells of
``(O - O_null)(encoding) - (O - O_null)(perceptual)``, normalised units), with a t interval across models.

Secondary, paper-style (``extra["paper_style"]``): LinearSVC normals on z-scored features in each space's own
dimension, sequence split, one cell per N with task features pooled, a subsample of
``paper_max_per_condition`` sequences per condition, no null (it is what costs: shuffled labels never let
the SVM converge). Shown because it is the paper's number; its O depends on each space's dimension.

Claim: :func:`claim_F3` (rule :func:`f3_rule`).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .. import params as rules
from ..config import ANALYSIS_SEED, FEATURES, ORTHOGONALITY, SCENARIOS
from ..errors import ConfigError, check_choice, check_float, check_int
from ..pipeline import RunSet
from ..runs import RunSpec
from .core import (EXPERIMENT_VERSION, ExperimentTables, add_seed, aggregate, arm_of, as_runset, check_split,
                   claim_dict, cores_of, resolve_n_per_condition, run_row, seed_ci, seeds_of, source_tables,
                   subsample_rows)

__all__ = ["needs", "orthogonality", "PARAMETERS", "per_model_deltas", "f3_rule", "space_tests", "claim_F3", "SPACES", "PERCEPTUAL",
           "PER_SEED_COLUMNS", "SUMMARY_COLUMNS", "PER_MODEL_COLUMNS", "DEFAULT_K", "PROPERTIES"]

#: representation name -> Recording attribute
SPACES = {"backbone": "backbone", "projection": "embedding", "encoding": "hidden"}
#: the perceptual spaces compared with the encoding space; the first is the primary comparison
PERCEPTUAL = ("backbone", "projection")
PROPERTIES = FEATURES
DEFAULT_K = 64
#: the chapter parameters of this experiment (:mod:`wmnb.params` rules); fewer than 10 shuffled-label draws
#: leave the null's spread unknown
PARAMETERS = {"k": rules.Int(low=2), "n_null": rules.Maybe(rules.Int(low=10))}

_KEYS = ["seed", "model", "core", "scenario", "run_key"]
PER_SEED_COLUMNS = _KEYS + ["space", "task_feature", "n", "property", "step", "protocol", "k", "n_classes", "O",
                            "O_normalised", "O_null", "O_null_sd", "O_null_normalised", "O_minus_null", "z_null",
                            "accuracy", "chance", "decodable", "n_train", "n_test", "n_train_groups",
                            "n_test_groups", "var_explained"]
SUMMARY_COLUMNS = ["seed", "core", "property", "space", "O", "O_normalised", "O_null_normalised", "O_minus_null",
                   "accuracy", "chance", "n_cells", "n_decodable", "frac_encoding_below"]
PER_MODEL_COLUMNS = ["model", "core", "seed", "space", "n_pairs", "n_kept", "n_dropped", "delta", "delta_raw",
                     "delta_location", "delta_identity", "delta_category"]


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """The runs :func:`orthogonality` reads for chapter parameters ``p``: ``scenario`` (default MTMF) x the cores
    (``cores`` / ``core``, "all": the three) x the seeds, of ``arm``."""
    scenario = check_choice("scenario", p.get("scenario", "MTMF"), SCENARIOS)
    return [RunSpec(scenario, c, s, arm=arm_of(p)) for c in cores_of(p, "all") for s in seeds_of(p)]


def orthogonality(runs: RunSet, *, split: str = "train", n_per_condition: Optional[int] = None, k: int = DEFAULT_K, step: int = 0,
                  n_null: Optional[int] = None, protocol: str = "image", min_above_chance: float = 0.1,
                  by_feature: bool = True, by_n: bool = True, paper_style: bool = True,
                  paper_max_per_condition: Optional[int] | str = "auto", C: float = 1.0, subsample_seed: int = 0,
                  cache_dir=None, progress: bool = False, force: bool = False) -> ExperimentTables:
    """Orthogonalization index at equal dimension in the backbone, projection and encoding spaces.

    Parameters
    ----------
    runs : wmnb.pipeline.RunSet of one training diet: every core and seed it holds (e.g. the runs of :func:`needs`).
    split, n_per_condition : analysis recording (pool; sequences per condition, None = the profile's). All
        recorded sequences are used.
    k : principal components per space and cell (fitted on training rows only).
    step : step analysed (0 = encoding step of the first stimulus).
    n_null : shuffled-label draws per cell (None = the profile's :data:`wmnb.config.ORTHOGONALITY`; at least 10 for the claim).
    protocol : held-out split ("image" primary; "sequence" paper-style).
    min_above_chance : decodability gate (held-out accuracy >= chance + this).
    by_feature, by_n : task cells (default: one per task context (feature, N)).
    paper_style : also compute the paper-style table (``extra["paper_style"]``).
    paper_max_per_condition : its subsample ("auto" = the profile's :data:`wmnb.config.ORTHOGONALITY`).
    C : its SVM regularisation. subsample_seed : its subsample seed.
    cache_dir, force : cache root of the result tables; recompute.

    Returns
    -------
    ExperimentTables (name ``"orthogonality"``)
        ``per_seed``: :data:`PER_SEED_COLUMNS`, one row per (seed, core, space, task cell, property).
        ``summary``: :data:`SUMMARY_COLUMNS`, per (seed, core, property, space) means over the cells decodable
        in that space, and the fraction of pairs (decodable in both) with O_minus_null(encoding) lower.
        ``aggregated``: summary across seeds per (core, property, space).
        ``runs``: one row per trained model.
        ``extra``: ``per_model`` (:func:`per_model_deltas`), ``tests`` (paired tests over kept cells),
        ``paper_style`` (the paper's procedure, or an empty table).
    """
    from ..analysis.orthogonality import equal_k_orthogonality
    from ..analysis.orthogonality import orthogonality as _paper_orthogonality
    from ..results import cached_table

    runs = as_runset(runs)
    scenario = runs.one("scenario")
    cores, seeds = runs.cores, runs.seeds
    split = check_split(split)
    npc = resolve_n_per_condition(runs.profile, n_per_condition)
    k = check_int("k", k, low=2)
    n_null = ORTHOGONALITY[runs.profile]["n_null"] if n_null is None else check_int("n_null", n_null, low=0)
    step = check_int("step", step, low=0)
    check_choice("protocol", protocol, ("image", "sequence"))
    min_above_chance = check_float("min_above_chance", min_above_chance, low=0.0, high=1.0)
    C = check_float("C", C, low=0.0, low_open=True)
    if isinstance(paper_max_per_condition, str):
        if paper_max_per_condition != "auto":
            raise ConfigError(f"paper_max_per_condition={paper_max_per_condition!r}; use an int >= 4, None or 'auto'")
        paper_max_per_condition = ORTHOGONALITY[runs.profile]["paper_max_per_condition"]
    if paper_max_per_condition is not None:
        paper_max_per_condition = check_int("paper_max_per_condition", paper_max_per_condition, low=4)
    params = dict(step=step, k=k, n_null=n_null, protocol=protocol, min_above_chance=min_above_chance,
                  by_feature=bool(by_feature), by_n=bool(by_n), test_fraction=0.2, normals="closed-form ridge LS",
                  ridge=1e-3)
    paper_params = dict(step=step, by_feature=False, by_n=True, n_null=0, C=C, kind="ovr_svm",
                        protocol="sequence", max_per_condition=paper_max_per_condition,
                        subsample_seed=subsample_seed, test_fraction=0.2)

    def spaces_at(rec, names, rows=None):
        r = slice(None) if rows is None else rows
        return {nm: (np.asarray(rec.backbone_table[rec.stimuli[r, step]], dtype=np.float32) if nm == "backbone"
                     else getattr(rec, SPACES[nm])[r, step]) for nm in names}

    def analyse(rec, names, seed):
        return equal_k_orthogonality(spaces_at(rec, names), {p: rec.labels[p][:, step] for p in PROPERTIES},
                                     rec.stimuli[:, step], rec.feature, rec.n, k=k, step=step,
                                     n_null=n_null, protocol=protocol, seq_id=rec.seq_id, seed=int(seed),
                                     min_above_chance=min_above_chance, by_feature=by_feature, by_n=by_n)

    def analyse_paper(rec, names, seed):
        r = subsample_rows(rec.feature, rec.n, paper_max_per_condition, subsample_seed)
        sp = {nm: a[:, None, :] for nm, a in spaces_at(rec, names, r).items()}
        return _paper_orthogonality(sp, {p: rec.labels[p][r][:, step:step + 1] for p in PROPERTIES}, None,
                                    rec.n[r], rec.seq_id[r], step=0, by_feature=False, by_n=True, n_null=0,
                                    seed=int(seed), C=C, kind="ovr_svm", protocol="sequence")

    parts, paper_parts, run_rows = [], [], []
    for spec in runs:
        core, seed, w = spec.core, spec.seed, runs.world_of(spec)
        run = runs.run(spec, progress)
        run_rows.append(run_row(run, spec))
        rec_desc = dict(split=split, n_per_condition=npc, seed=ANALYSIS_SEED)
        get_rec = (lambda spec=spec: runs.recording(spec, split, npc))
        # the backbone depends only on the analysis trials (the same for every run of a scenario), not on
        # the trained weights: computed once per seed and shared by all architectures
        bb_desc = dict(v=EXPERIMENT_VERSION, stimuli=w.stimuli.hash, features=w.features.key,
                       conditions=[c.name for c in run.conditions], seq_len=run.config.seq_len,
                       p_match=run.config.p_match, seed=int(seed), recording=rec_desc)
        run_desc = dict(v=EXPERIMENT_VERSION, run=run.key, seed=int(seed), recording=rec_desc)
        tabs = [cached_table("exp_orthogonality_k_backbone", dict(bb_desc, analysis=params),
                             lambda seed=seed, g=get_rec: analyse(g(), ["backbone"], seed),
                             cache_dir=cache_dir, force=force),
                cached_table("exp_orthogonality_k", dict(run_desc, analysis=params),
                             lambda seed=seed, g=get_rec: analyse(g(), ["projection", "encoding"], seed),
                             cache_dir=cache_dir, force=force)]
        if paper_style:
            tabs_p = [cached_table("exp_orthogonality_paper_backbone", dict(bb_desc, analysis=paper_params),
                                   lambda seed=seed, g=get_rec: analyse_paper(g(), ["backbone"], seed),
                                   cache_dir=cache_dir, force=force),
                      cached_table("exp_orthogonality_paper", dict(run_desc, analysis=paper_params),
                                   lambda seed=seed, g=get_rec: analyse_paper(g(), ["projection", "encoding"],
                                                                              seed),
                                   cache_dir=cache_dir, force=force)]
            paper_parts.append(_keyed(pd.concat(tabs_p, ignore_index=True), run.key, scenario, core, seed))
        parts.append(_keyed(pd.concat(tabs, ignore_index=True), run.key, scenario, core, seed))
    per_seed = pd.concat(parts, ignore_index=True)
    per_seed["task_feature"] = per_seed["task_feature"].astype(str)
    per_seed["decodable"] = per_seed["decodable"].astype(str).str.lower().isin(["true", "1"])
    per_seed = per_seed[PER_SEED_COLUMNS]
    summary = summarise(per_seed)
    paper = pd.concat(paper_parts, ignore_index=True) if paper_parts else pd.DataFrame()
    if len(paper):
        paper["task_feature"] = paper["task_feature"].astype(str)
    return ExperimentTables("orthogonality", per_seed, summary,
                            aggregate(summary, ["core", "property", "space"]), pd.DataFrame(run_rows),
                            dict(params, cores=list(cores), scenario=scenario, split=split, n_per_condition=npc,
                                 seeds=list(seeds), paper_style=paper_params if paper_style else None),
                            extra=dict(per_model=per_model_deltas(per_seed),
                                       tests=space_tests(per_seed), paper_style=paper))


def _keyed(tab, run_key, scenario, core, seed):
    tab = tab.copy()
    tab.insert(0, "run_key", run_key)
    tab.insert(0, "scenario", scenario)
    tab.insert(0, "core", core)
    tab.insert(0, "model", core)
    return add_seed(tab, seed)


def _pairs(per_seed: pd.DataFrame, space: str, value: str = "O_minus_null") -> pd.DataFrame:
    """Cells of ``space`` joined with the encoding space's: columns ``a``, ``b`` (values), ``dec_a``,
    ``dec_b`` (decodable flags) per (model, seed, task_feature, n, property)."""
    keys = ["model", "seed", "task_feature", "n", "property"]
    t = per_seed if "model" in per_seed.columns else per_seed.assign(model=per_seed.get("core", "model"))
    dec = t["decodable"] if "decodable" in t.columns else pd.Series(True, index=t.index)
    t = t.assign(decodable=dec.astype(bool))
    cols = list(dict.fromkeys([value, "O_normalised", "decodable"]))
    a = t[t["space"] == space].set_index(keys)[cols]
    b = t[t["space"] == "encoding"].set_index(keys)[cols]
    j = a.add_suffix("_a").join(b.add_suffix("_b"), how="inner").reset_index()
    j["a"], j["b"] = j[f"{value}_a"], j[f"{value}_b"]
    return j.rename(columns={"decodable_a": "dec_a", "decodable_b": "dec_b"})


def per_model_deltas(per_seed: pd.DataFrame, perceptual: Sequence[str] = PERCEPTUAL,
                     value: str = "O_minus_null") -> pd.DataFrame:
    """One row per (trained model, perceptual space): the model's mean over kept cells of
    ``value(encoding) - value(space)`` (``delta``; normalised O minus its shuffled-label null by default) and
    of the plain normalised O difference (``delta_raw``), per property too, with the number of paired cells,
    kept (decodable in both spaces) and dropped. Negative = less orthogonalized in the RNN.

    ``per_seed`` needs ``space, seed, task_feature, n, property, O_normalised, decodable``, ``value`` and
    ``model`` or ``core``. Returns :data:`PER_MODEL_COLUMNS`.
    """
    rows = []
    for sp in perceptual:
        if sp not in set(per_seed["space"]):
            continue
        j = _pairs(per_seed, sp, value)
        for (model, seed), g in j.groupby(["model", "seed"], sort=True):
            kept = g[g["dec_a"] & g["dec_b"] & np.isfinite(g["a"]) & np.isfinite(g["b"])]
            d = kept["b"] - kept["a"]
            row = dict(model=model, core=model, seed=int(seed), space=sp, n_pairs=len(g), n_kept=len(kept),
                       n_dropped=len(g) - len(kept), delta=float(d.mean()) if len(kept) else np.nan,
                       delta_raw=float((kept["O_normalised_b"] - kept["O_normalised_a"]).mean())
                       if len(kept) else np.nan)
            for p in PROPERTIES:
                kp = kept["property"] == p
                row[f"delta_{p}"] = float(d[kp].mean()) if kp.any() else np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=PER_MODEL_COLUMNS)


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, core, property, space): means over the cells decodable in that space, and the fraction of
    pairs decodable in both spaces with O_minus_null(encoding) < O_minus_null(space)."""
    rows = []
    for (seed, core, prop, space), g in per_seed.groupby(["seed", "core", "property", "space"], sort=True):
        ok = g[g["decodable"].astype(bool)]
        frac = np.nan
        if space != "encoding":
            j = _pairs(per_seed[(per_seed["seed"] == seed) & (per_seed["core"] == core)
                                & (per_seed["property"] == prop)], space)
            j = j[j["dec_a"] & j["dec_b"]]
            frac = float((j["b"] < j["a"]).mean()) if len(j) else np.nan
        rows.append(dict(seed=seed, core=core, property=prop, space=space, O=ok["O"].mean(),
                         O_normalised=ok["O_normalised"].mean(), O_null_normalised=ok["O_null_normalised"].mean(),
                         O_minus_null=ok["O_minus_null"].mean(), accuracy=g["accuracy"].mean(),
                         chance=g["chance"].mean(), n_cells=len(g), n_decodable=len(ok), frac_encoding_below=frac))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def space_tests(per_seed: pd.DataFrame, perceptual: Sequence[str] = PERCEPTUAL, *, value: str = "O_minus_null",
                by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Paired tests (:func:`~wmnb.analysis.orthogonality.compare_spaces`) of ``value`` between each perceptual
    space and the encoding space over the cells decodable in both, one row per value of ``by`` plus one over
    all pairs. Cells are not independent (they share a model): descriptive only; the claim uses
    :func:`per_model_deltas`."""
    from ..analysis.orthogonality import compare_spaces

    t = per_seed
    if "decodable" in t.columns:
        keys = ["model", "seed", "task_feature", "n", "property"]
        bad = t.loc[~t["decodable"].astype(bool), keys].drop_duplicates()
        t = t.merge(bad.assign(_bad=True), on=keys, how="left")
        t = t[t["_bad"].isna()].drop(columns="_bad")
    frames = [compare_spaces(t, a=sp, b="encoding", value=value, by=by) for sp in perceptual
              if sp in set(t["space"])]
    if not frames:
        raise ConfigError(f"no perceptual space among {list(perceptual)} in the table")
    return pd.concat(frames, ignore_index=True)


def f3_rule(per_model: pd.DataFrame, *, primary: str = "backbone", level: float = 0.95,
            min_kept_fraction: float = 0.5, min_models: int = 2) -> dict:
    """The F3 verdict from per-model deltas (pure; :func:`per_model_deltas`' table).

    Rule
    ----
    Values: ``delta`` of the ``primary`` perceptual space, one per trained model (models without a kept cell
    are left out). The paper's direction: the RNN's code is *less* orthogonalized, i.e. delta < 0.

    * **inconclusive** when a control fails: fewer than ``min_models`` models with a value, or fewer than
      ``min_kept_fraction`` of all paired cells decodable in both spaces (the index would describe noise);
    * otherwise the t interval of the mean delta across models decides (:func:`wmnb.verdicts.interval_verdict`,
      direction "below" 0): **holds** when the interval lies below 0, **does not hold** when it lies above 0,
      **inconclusive** when it straddles 0;
    * **mixed** when two or more architectures are present and their own intervals (across their seeds)
      disagree, one below 0 and another above 0.

    Returns dict ``verdict, value, ci_low, ci_high, n_models, kept_fraction, n_dropped, n_pairs,
    controls_pass, per_core`` (core -> dict value, ci_low, ci_high, n_models, verdict), ``models`` (the
    per-model records).
    """
    from ..verdicts import HOLDS, MIXED, NOT, interval_verdict

    t = per_model[per_model["space"] == primary]
    if t.empty:
        raise ConfigError(f"f3_rule: no rows for the primary space {primary!r}")
    vals = t[np.isfinite(t["delta"].astype(float))]
    n_pairs, n_kept = int(t["n_pairs"].sum()), int(t["n_kept"].sum())
    kept_fraction = n_kept / n_pairs if n_pairs else 0.0
    controls = bool(len(vals) >= min_models and kept_fraction >= min_kept_fraction)
    m, lo, hi = seed_ci(vals["delta"].to_numpy(float), level)
    verdict = interval_verdict(lo, hi, 0.0, direction="below", controls_pass=controls)
    per_core = {}
    for core, g in vals.groupby("core", sort=True):
        cm, clo, chi = seed_ci(g["delta"].to_numpy(float), level)
        per_core[str(core)] = dict(value=cm, ci_low=clo, ci_high=chi, n_models=len(g),
                                   verdict=interval_verdict(clo, chi, 0.0, direction="below",
                                                            controls_pass=len(g) >= 2))
    core_verdicts = {v["verdict"] for v in per_core.values()}
    if controls and len(per_core) >= 2 and {HOLDS, NOT} <= core_verdicts:
        verdict = MIXED
    return dict(verdict=verdict, value=m, ci_low=lo, ci_high=hi,
                n_models=len(vals), kept_fraction=kept_fraction, n_dropped=int(t["n_dropped"].sum()),
                n_pairs=n_pairs, controls_pass=controls, per_core=per_core,
                models=vals[["model", "core", "seed", "delta", "delta_raw", "n_kept", "n_dropped"]]
                .to_dict("records"))


def claim_F3(source, *, perceptual: Sequence[str] = PERCEPTUAL, level: float = 0.95, paper_style=None,
             **kw) -> dict:
    """F3: objects are *less* orthogonalized in the RNN's encoding space than in the perceptual (CNN) space.

    Parameters
    ----------
    source : RunSet (then :func:`orthogonality` runs with ``**kw``), the ExperimentTables of
        :func:`orthogonality`, or a per-seed DataFrame (:data:`PER_SEED_COLUMNS`; at least ``space, model or
        core, seed, task_feature, n, property, O_normalised, O_minus_null, decodable``).
    perceptual : perceptual spaces; the first (the backbone, the paper's CNN output) decides the verdict,
        the others are reported (secondary).
    level : confidence level of the t intervals across models.
    paper_style : optional paper-style table (``extra["paper_style"]``); taken from the ExperimentTables
        when ``source`` is one. Its numbers are reported, never used for the verdict.

    Rule: :func:`f3_rule` on :func:`per_model_deltas` of the primary space.
    """
    from ..analysis.decoding import PROTOCOL_LABELS
    from ..verdicts import per_seed_values

    level = check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    if hasattr(source, "extra") and paper_style is None:
        paper_style = source.extra.get("paper_style")
    if isinstance(source, RunSet):
        source = orthogonality(source, **kw)
        paper_style = source.extra.get("paper_style")
    t = source_tables(source, "orthogonality", orthogonality, **kw)
    if "model" not in t.columns:
        t = t.assign(model=t["core"] if "core" in t.columns else "model")
    if "core" not in t.columns:
        t = t.assign(core=t["model"])
    if "decodable" not in t.columns:
        t = t.assign(decodable=True)
    spaces = [s for s in perceptual if s in set(t["space"])]
    if "encoding" not in set(t["space"]) or not spaces:
        raise ConfigError(f"claim_F3 needs the 'encoding' space and one of {list(perceptual)}; "
                          f"the table has {sorted(set(t['space']))}")
    pm = per_model_deltas(t, spaces)
    pm["core"] = pm["model"].map(t.drop_duplicates("model").set_index("model")["core"])
    res = {sp: f3_rule(pm, primary=sp, level=level) for sp in spaces}
    main = res[spaces[0]]
    protocol = str(t["protocol"].iloc[0]) if "protocol" in t.columns else "image"
    k = int(t["k"].max()) if "k" in t.columns else None
    paper = None
    if paper_style is not None and len(paper_style):
        ps = paper_style
        if "model" not in ps.columns:
            ps = ps.assign(model=ps["core"])
        paper = {}
        for sp in spaces:
            j = _pairs(ps.assign(decodable=True), sp, "O_normalised")
            paper[sp] = dict(mean_perceptual=float(j["a"].mean()), mean_encoding=float(j["b"].mean()),
                             frac_encoding_below=float((j["b"] < j["a"]).mean()) if len(j) else np.nan,
                             n_cells=len(j))
    models = main["models"]
    controls = (f"decodability gate (image-disjoint accuracy >= chance + 0.1): {main['n_pairs'] - main['n_dropped']}"
                f" of {main['n_pairs']} paired cells kept, {main['n_dropped']} dropped; shuffled-label nulls per cell "
                f"(O - O_null compared); equal dimension k = {k} in every space; "
                + ("controls pass." if main["controls_pass"] else "controls FAIL (too few models or kept cells)."))
    return claim_dict(
        "F3", "Object properties are less orthogonalized in the RNN's encoding space than in the perceptual "
              "(CNN backbone) space: (O - O_null)(encoding) < (O - O_null)(backbone) at equal dimension, per "
              "trained model.",
        main["value"], (main["ci_low"], main["ci_high"]),
        "normalised O(encoding) < O(perceptual) in most models, across 1/2/3-back tasks; two-sample t-tests "
        "(Fig. 3)", main["verdict"],
        dict(per_space={sp: {kk: v for kk, v in r.items() if kk != "models"} for sp, r in res.items()},
             spaces=spaces, primary=spaces[0], n_dropped=main["n_dropped"], n_pairs=main["n_pairs"],
             kept_fraction=main["kept_fraction"], k=k, per_model=pm.round(5).to_dict("records"),
             paper_style=paper, level=level,
             value_name=f"mean over models of (O - O_null)(encoding) - (O - O_null)({spaces[0]}), normalised O, "
                        f"equal dimension",
             rule="one value per trained model (mean over its cells decodable in both spaces of the null-"
                  "corrected normalised O difference, encoding minus backbone); t interval across models: holds "
                  "if it lies below 0, does not hold if above 0, inconclusive if it straddles 0 or a control "
                  "fails (< 2 models, < 50 % of cells decodable); mixed if architectures' own intervals disagree"),
        protocol=PROTOCOL_LABELS.get(protocol, protocol),
        per_seed=per_seed_values([m_["seed"] for m_ in models], [m_["delta"] for m_ in models],
                                 label=[m_["core"] for m_ in models]),
        controls=controls)
