"""Orthogonalization of property codes: perceptual spaces vs the RNN's encoding space (F3; paper Fig. 3).

For each architecture and seed, the multi-task model's analysis recording gives three representations of the
stimulus shown at the encoding step (t = 0):

* ``backbone``: the frozen CNN's pooled feature of the image (1280-d for EfficientNet-Lite0);
* ``projection``: the trainable projection fed to the RNN (before the task vector is concatenated);
* ``encoding``: the RNN hidden state.

:func:`wmnb.analysis.orthogonality.orthogonality` fits one-vs-rest linear SVMs per property (location, identity,
category) in each space and task cell and reports the orthogonalization index O, its normalised version
(O / (1 - 1/(C-1))), a shuffled-label null and the held-out decoder accuracy.
:func:`~wmnb.analysis.orthogonality.compare_spaces` pairs O(perceptual) with O(encoding) cell by cell.

Cost control (documented choices)
---------------------------------
* ``by_feature=False`` (default): one cell per N with the three task features pooled, i.e. the paper's
  "across 1/2/3-back tasks"; ``by_feature=True`` gives the 9 (feature, N) cells (three times the fits).
* ``max_per_condition``: at most this many sequences of every (feature, N) condition are used (seeded
  subsample of the analysis recording; default 150 at ``quick``, so 450 sequences per N cell, 360 of them fit
  the SVMs); one-vs-rest SVMs for 4K identities in 256-d (and in the 1280-d backbone space, where repeated
  images slow the solver down) are the most expensive fits of the book.
* ``n_null``: shuffled-label fits per cell (default 0 at smoke, 1 at quick, 10 at paper).
* The backbone space does not depend on the trained weights: its table is computed once per seed (the analysis
  trials are the same for every run of a scenario) and shared by all architectures.

Claim: :func:`claim_F3`.
"""
from __future__ import annotations

from ..pipeline import ANALYSIS_SEED

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_choice, check_float, check_int
from ..tasks import SCENARIOS
from . import CORES, _check_cores, _check_split, _get_recording, _get_run, _n_per_condition, _run_row, _source_tables
from .dynamics import EXPERIMENT_VERSION, ExperimentTables, add_seed, aggregate, claim_dict, resolve_seeds

__all__ = ["orthogonality", "space_tests", "claim_F3", "SPACES", "PERCEPTUAL", "PER_SEED_COLUMNS",
           "SUMMARY_COLUMNS", "DEFAULT_MAX_PER_CONDITION", "DEFAULT_N_NULL"]

#: representation name -> Recording attribute
SPACES = {"backbone": "backbone", "projection": "embedding", "encoding": "hidden"}
#: the perceptual spaces compared with the encoding space
PERCEPTUAL = ("backbone", "projection")
DEFAULT_MAX_PER_CONDITION = {"smoke": None, "quick": 150, "paper": 1000}
DEFAULT_N_NULL = {"smoke": 0, "quick": 1, "paper": 10}

PER_SEED_COLUMNS = ["seed", "model", "core", "scenario", "run_key", "space", "task_feature", "n", "property",
                    "step", "n_classes", "O", "O_normalised", "O_null", "O_null_sd", "O_null_low", "O_null_high",
                    "O_null_normalised", "O_minus_null", "p_null", "accuracy", "chance", "n_train", "n_test"]
SUMMARY_COLUMNS = ["seed", "core", "property", "space", "O", "O_normalised", "O_null_normalised", "accuracy",
                   "chance", "n_cells", "frac_encoding_below"]


def _subsample(feature, n, max_per_condition, seed):
    rng = np.random.default_rng(seed)
    keep = []
    for fc in np.unique(feature):
        for nv in np.unique(n):
            rows = np.flatnonzero((feature == fc) & (n == nv))
            if max_per_condition is not None and rows.size > max_per_condition:
                rows = rng.choice(rows, size=max_per_condition, replace=False)
            keep.append(rows)
    return np.sort(np.concatenate(keep))


def orthogonality(w, cores: Sequence[str] | str = CORES, scenario: str = "MTMF", *,
                  seeds: Optional[Iterable[int]] = None, n_seeds: Optional[int] = None, split: str = "train",
                  n_per_condition: Optional[int] = None, max_per_condition: Optional[int] | str = "auto",
                  step: int = 0, by_feature: bool = False, by_n: bool = True, n_null: Optional[int] = None,
                  C: float = 1.0, subsample_seed: int = 0, cache_dir=None, progress: bool = False,
                  force: bool = False) -> ExperimentTables:
    """Orthogonalization index in the backbone, projection and encoding spaces, per architecture and seed.

    Parameters
    ----------
    w : wmnb.pipeline.World
    cores : architectures ("rnn", "gru", "lstm", a tuple, or "all").
    scenario : training diet ("MTMF" by default).
    seeds, n_seeds : seeds (None -> :func:`wmnb.pipeline.seeds_for` of ``w.profile``).
    split, n_per_condition : analysis recording (pool; sequences per condition, None = the profile's).
    max_per_condition : sequences per (feature, N) condition used ("auto" = :data:`DEFAULT_MAX_PER_CONDITION`
        of the profile; None = all).
    step : step analysed (0 = encoding step of the first stimulus).
    by_feature, by_n : task cells (default: one per N, task features pooled).
    n_null : shuffled-label fits per cell (None = :data:`DEFAULT_N_NULL` of the profile).
    C : SVM regularisation. subsample_seed : seed of the subsample.
    cache_dir, force : cache root of the result tables; recompute.

    Returns
    -------
    ExperimentTables (name ``"orthogonality"``)
        ``per_seed``: :data:`PER_SEED_COLUMNS`, one row per (seed, core, space, task cell, property);
        ``model`` = core (the pairing key of :func:`~wmnb.analysis.orthogonality.compare_spaces`).
        ``summary``: :data:`SUMMARY_COLUMNS`, per (seed, core, property, space) means over task cells and the
        fraction of cells where O(encoding) < O(space) (NaN for the encoding space itself).
        ``aggregated``: summary across seeds per (core, property, space).
        ``runs``: one row per trained model.
        ``extra["tests"]``: :func:`space_tests` of ``per_seed`` (paired tests per model and over all).
    """
    from ..analysis.orthogonality import orthogonality as _orthogonality
    from ..results import cached_table

    cores = _check_cores(cores)
    check_choice("scenario", scenario, SCENARIOS)
    seeds = resolve_seeds(w, seeds, n_seeds)
    split = _check_split(split)
    npc = _n_per_condition(w, n_per_condition)
    if isinstance(max_per_condition, str):
        if max_per_condition != "auto":
            raise ConfigError(f"max_per_condition={max_per_condition!r}; use an int >= 4, None or 'auto'")
        max_per_condition = DEFAULT_MAX_PER_CONDITION[w.profile]
    if max_per_condition is not None:
        max_per_condition = check_int("max_per_condition", max_per_condition, low=4)
    n_null = DEFAULT_N_NULL[w.profile] if n_null is None else check_int("n_null", n_null, low=0)
    step = check_int("step", step, low=0)
    C = check_float("C", C, low=0.0, low_open=True)
    params = dict(step=step, by_feature=bool(by_feature), by_n=bool(by_n), n_null=n_null, C=C, kind="ovr_svm",
                  max_per_condition=max_per_condition, subsample_seed=subsample_seed, test_fraction=0.2,
                  spaces=list(SPACES))
    parts, runs = [], []
    props = ("location", "identity", "category")

    def analyse(rec, names, seed):
        r = _subsample(rec.feature, rec.n, max_per_condition, subsample_seed)
        # the backbone is gathered for the kept rows only (the full (B, T, 1280) array is large at quick)
        spaces = {name: (np.asarray(rec.backbone_table[rec.stimuli[r]], dtype=np.float32) if name == "backbone"
                         else getattr(rec, SPACES[name])[r]) for name in names}
        return _orthogonality(spaces, {p: rec.labels[p][r] for p in props},
                              rec.feature[r] if by_feature else None, rec.n[r] if by_n else None,
                              rec.seq_id[r], step=step, by_feature=by_feature, by_n=by_n, n_null=n_null,
                              seed=int(seed), C=C, kind="ovr_svm")

    for core in cores:
        for seed in seeds:
            run = _get_run(w, scenario, core, seed, None, progress)
            runs.append(_run_row(run, seed, scenario, core))
            rec_desc = dict(split=split, n_per_condition=npc, seed=ANALYSIS_SEED)
            desc = dict(v=EXPERIMENT_VERSION, run=run.key, seed=int(seed), recording=rec_desc,
                        analysis=dict(params, spaces=["projection", "encoding"]))
            # The backbone space depends only on the analysis trials (same for every run of a scenario), not on
            # the trained weights: it is computed once per seed and shared by all architectures.
            bb_desc = dict(v=EXPERIMENT_VERSION, stimuli=w.stimuli.hash, features=w.features.key,
                           conditions=[c.name for c in run.conditions], seq_len=run.config.seq_len,
                           p_match=run.config.p_match, seed=int(seed), recording=rec_desc,
                           analysis=dict(params, spaces=["backbone"]))
            bb = cached_table("exp_orthogonality_backbone", bb_desc,
                              lambda run=run, seed=seed: analyse(_get_recording(w, run, split, npc), ["backbone"],
                                                                 seed), cache_dir=cache_dir, force=force)
            tab = cached_table("exp_orthogonality", desc,
                               lambda run=run, seed=seed: analyse(_get_recording(w, run, split, npc),
                                                                  ["projection", "encoding"], seed),
                               cache_dir=cache_dir, force=force)
            tab = pd.concat([bb, tab], ignore_index=True)
            tab.insert(0, "run_key", run.key)
            tab.insert(0, "scenario", scenario)
            tab.insert(0, "core", core)
            tab.insert(0, "model", core)
            parts.append(add_seed(tab, seed))
    per_seed = pd.concat(parts, ignore_index=True)
    per_seed["task_feature"] = per_seed["task_feature"].astype(str)
    per_seed = per_seed[PER_SEED_COLUMNS]
    summary = summarise(per_seed)
    return ExperimentTables("orthogonality", per_seed, summary,
                            aggregate(summary, ["core", "property", "space"]), pd.DataFrame(runs),
                            dict(params, cores=list(cores), scenario=scenario, split=split, n_per_condition=npc,
                                 seeds=list(seeds)),
                            extra=dict(tests=space_tests(per_seed)))


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, core, property, space): means over task cells and the fraction of cells with
    O_normalised(encoding) < O_normalised(space)."""
    keys = ["seed", "core", "task_feature", "n", "property"]
    enc = per_seed[per_seed["space"] == "encoding"].set_index(keys)["O_normalised"]
    rows = []
    for (seed, core, prop, space), g in per_seed.groupby(["seed", "core", "property", "space"], sort=True):
        frac = np.nan
        if space != "encoding":
            a = g.set_index(keys)["O_normalised"]
            j = pd.concat([a.rename("a"), enc.rename("b")], axis=1, join="inner").dropna()
            frac = float((j["b"] < j["a"]).mean()) if len(j) else np.nan
        rows.append(dict(seed=seed, core=core, property=prop, space=space, O=g["O"].mean(),
                         O_normalised=g["O_normalised"].mean(), O_null_normalised=g["O_null_normalised"].mean(),
                         accuracy=g["accuracy"].mean(), chance=g["chance"].mean(), n_cells=len(g),
                         frac_encoding_below=frac))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def space_tests(per_seed: pd.DataFrame, perceptual: Sequence[str] = PERCEPTUAL, *, value: str = "O_normalised",
                by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Paired tests O(perceptual) vs O(encoding) (:func:`~wmnb.analysis.orthogonality.compare_spaces`) for each
    perceptual space, one row per value of ``by`` plus one over all pairs (``model == "all"``)."""
    from ..analysis.orthogonality import compare_spaces

    frames = [compare_spaces(per_seed, a=sp, b="encoding", value=value, by=by) for sp in perceptual
              if sp in set(per_seed["space"])]
    if not frames:
        raise ConfigError(f"no perceptual space among {list(perceptual)} in the table")
    return pd.concat(frames, ignore_index=True)


def claim_F3(source, *, alpha: float = 0.05, perceptual: Sequence[str] = PERCEPTUAL, **kw) -> dict:
    """F3: objects are less orthogonalized in the RNN's encoding space than in the perceptual space.

    Parameters
    ----------
    source : World (then :func:`orthogonality` runs with ``**kw``), the ExperimentTables of
        :func:`orthogonality`, or a per-seed DataFrame with columns ``space, model (or core), seed, task_feature,
        n, property, O_normalised`` (spaces "encoding" and those in ``perceptual``).
    alpha : significance level of the paired t-test.
    perceptual : the perceptual spaces compared with "encoding" (backbone features and the projection).

    Rule
    ----
    Cells = (model, seed, task cell, property) present in both spaces. For each perceptual space S: ``frac``
    = fraction of cells with O_normalised(encoding) < O_normalised(S); the paired t-test of the difference
    (encoding - S) over the cells gives ``mean_diff`` and ``p``.

    * S *supports* the claim if frac > 0.5, mean_diff < 0 and p < alpha;
    * S *contradicts* it if frac < 0.5, mean_diff > 0 and p < alpha; otherwise S is *inconclusive*.

    **holds** if every perceptual space supports; **does not hold** if none supports; **mixed** otherwise.
    ``value`` = frac for the first perceptual space (the backbone), CI = Wilson interval over its cells (cells
    are treated as independent, which they are only approximately).
    """
    from ..analysis.stats import wilson_ci

    alpha = check_float("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    t = _source_tables(source, "orthogonality", orthogonality, **kw)
    if "model" not in t.columns:
        t = t.assign(model=t["core"] if "core" in t.columns else "model")
    spaces = [s for s in perceptual if s in set(t["space"])]
    if "encoding" not in set(t["space"]) or not spaces:
        raise ConfigError(f"claim_F3 needs the 'encoding' space and one of {list(perceptual)}; "
                          f"the table has {sorted(set(t['space']))}")
    tests = space_tests(t, spaces, by=("model",))
    per_space, status = {}, []
    for sp in spaces:
        row = tests[(tests["a"] == sp) & (tests["model"] == "all")].iloc[0]
        frac, k = float(row["frac_b_below_a"]), int(row["n_pairs"])
        p, d = float(row["t_pvalue"]), float(row["mean_diff"])
        lo, hi = wilson_ci(round(frac * k), k) if k else (np.nan, np.nan)
        sig = bool(np.isfinite(p) and p < alpha)
        st = "supports" if (frac > 0.5 and d < 0 and sig) else (
            "contradicts" if (frac < 0.5 and d > 0 and sig) else "inconclusive")
        status.append(st)
        by_model = tests[(tests["a"] == sp) & (tests["model"] != "all")]
        per_space[sp] = dict(frac_encoding_below=frac, frac_ci_low=lo, frac_ci_high=hi, n_cells=k,
                             mean_perceptual=float(row["mean_a"]), mean_encoding=float(row["mean_b"]),
                             mean_diff=d, diff_ci_low=float(row["diff_ci_low"]),
                             diff_ci_high=float(row["diff_ci_high"]), t_pvalue=p,
                             wilcoxon_pvalue=float(row["wilcoxon_pvalue"]), welch_pvalue=float(row["welch_pvalue"]),
                             status=st,
                             by_model={str(r.model): dict(frac=float(r.frac_b_below_a), n_cells=int(r.n_pairs),
                                                          mean_diff=float(r.mean_diff), t_pvalue=float(r.t_pvalue))
                                       for r in by_model.itertuples(index=False)})
    verdict = "holds" if all(s == "supports" for s in status) else (
        "does not hold" if not any(s == "supports" for s in status) else "mixed")
    first = per_space[spaces[0]]
    return claim_dict(
        "F3", "Object properties are less orthogonalized in the RNN's encoding space than in the perceptual "
              "(CNN) space: normalised O(encoding) < O(perceptual) in most cells.",
        first["frac_encoding_below"], (first["frac_ci_low"], first["frac_ci_high"]),
        "O(encoding) < O(perceptual) in most models and 1/2/3-back tasks; t-tests (Fig. 3)", verdict,
        dict(per_space=per_space, spaces=spaces, alpha=alpha,
             value_name=f"fraction of cells with O(encoding) < O({spaces[0]})",
             rule="per perceptual space: supports if frac > 0.5, mean diff < 0 and paired-t p < alpha; contradicts "
                  "if frac < 0.5, mean diff > 0 and p < alpha; holds: all support; does not hold: none supports; "
                  "mixed otherwise"))
