"""Claims T1-T3 of the temporal-superposition chapter: pure rules on numbers, and their claim records.

T1  the transition exists in our sweep: at the main hidden size the fraction of interference that lands on
    the ReLU readout's silent side (:data:`STATISTIC`, ``frac_filtered``: the share of (held feature, read
    feature) pairs whose effective angle with the readout is obtuse enough to be removed) differs between the
    dense end (smallest S) and the sparse end (largest S), per seed, by more than :data:`T1_MIN_CHANGE`, and
    the change is a step (the largest jump between neighbouring S values carries at least
    :data:`T1_SHARPNESS` of it). A change without a step is "mixed".
T2  the spectral radius of W drops across it: per seed, mean radius on the dense side of the transition
    (S below the largest jump) minus mean radius on the sparse side; its seed interval above 0.
T3  the N-back networks hold their remembered properties without temporal superposition: the directions of
    the properties at different memory ages are near-orthogonal, mean |cos| below :data:`PLANTED_MAX_ABS_COS`
    (the level the toy networks with d >= n k reach), with its interval over networks. Controls: the
    planted toy control passes (so the threshold means what it says) and the N-back directions are reliable
    (median split-half cosine >= :data:`T3_MIN_RELIABILITY`); the label-permutation null (the chance level)
    must itself lie below the threshold, or the measure cannot tell the regimes apart; and the bridge's own
    planted controls (:func:`wmnb.superposition.bridge.planted_controls`: synthetic states with each network's
    labels, shape and noise) must come out right: the codes planted orthogonal across memory ages read below
    the threshold, the codes planted superposed (one value at two ages at cosine
    :data:`~wmnb.superposition.bridge.PLANTED_SUPERPOSED_COS`) read above it and their temporal cosine is
    recovered within :data:`T3_COS_TOLERANCE` (the positive control: without it a reading below the
    threshold could mean that the measure is blind).

Controls of T1/T2: the planted network (d = n k, dense) recovers every feature with near-orthogonal
directions (:func:`planted_control`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..analysis.stats import seed_ci
from ..errors import ConfigError
from ..verdicts import HOLDS, MIXED, interval_verdict, per_seed_values
from .bridge import PLANTED_SUPERPOSED_COS
from ..pipeline import DEFAULT_SEEDS as NBACK_SEEDS  # the N-back runs the bridge reads: the book's seeds

__all__ = ["STATISTIC", "T1_MIN_CHANGE", "T1_SHARPNESS", "T3_MIN_RELIABILITY", "PLANTED_MIN_RECOVERED",
           "PLANTED_MAX_ABS_COS", "T3_COS_TOLERANCE", "chance_abs_cos", "rule_t1", "rule_t2", "rule_t3", "planted_control", "transition_point",
           "claim_t1", "claim_t2", "claim_t3", "claim_records", "PAPER"]

#: the per-network angle statistic that the transition is read on (a column of the sweep table)
STATISTIC = "frac_filtered"
T1_MIN_CHANGE = 0.1
T1_SHARPNESS = 0.5
T3_MIN_RELIABILITY = 0.5
PLANTED_MIN_RECOVERED = 0.95
PLANTED_MAX_ABS_COS = 0.2
#: the T3 positive control must recover the planted cosine between memory ages within this
T3_COS_TOLERANCE = 0.15

PAPER = ("Sharma et al. (ICLR 2026): a phase transition in the angular distribution of the features between an "
         "effectively linear dense regime and a sparse regime that uses an interference-free space, with a "
         "decrease of the spectral radius")


def _claim_dict(*a, **kw):
    try:
        from ..experiments.core import claim_dict
    except ImportError:  # pragma: no cover - older tree
        from ..experiments.dynamics import claim_dict
    return claim_dict(*a, **kw)


# ------------------------------------------------------------------------------------------------ rules
def transition_point(sparsities: Sequence[float], curve: Sequence[float]) -> tuple[int, float, float]:
    """(index i, jump, sharpness) of the largest absolute step ``curve[i+1] - curve[i]`` along increasing S;
    sharpness = |that step| / |curve[-1] - curve[0]| (inf when the ends are equal, NaN with < 2 points)."""
    s = np.asarray(sparsities, float)
    c = np.asarray(curve, float)
    if s.size != c.size:
        raise ConfigError(f"{s.size} sparsities but {c.size} curve values")
    if c.size < 2:
        return (0, np.nan, np.nan)
    o = np.argsort(s)
    c = c[o]
    steps = np.diff(c)
    i = int(np.argmax(np.abs(steps)))
    total = abs(c[-1] - c[0])
    return (i, float(steps[i]), float(abs(steps[i]) / total) if total > 0 else np.inf)


def rule_t1(dense: Sequence[float], sparse: Sequence[float], sharpness: float, *, controls_pass: bool = True,
            min_change: float = T1_MIN_CHANGE, min_sharpness: float = T1_SHARPNESS) -> tuple[str, tuple]:
    """Verdict of T1 from per-seed statistic values at the dense and the sparse end (paired by seed).

    The |paired difference| (sparse - dense, oriented by the sign of its mean) must exceed ``min_change``
    with its seed interval: holds when the interval lies above, does not hold when below, inconclusive when
    it straddles (or one seed). A change that holds but is not a step (``sharpness < min_sharpness``) is
    "mixed". A failed control -> inconclusive. Returns (verdict, (mean, lo, hi)) of the oriented difference.
    """
    diff = np.asarray(sparse, float) - np.asarray(dense, float)
    m, lo, hi = seed_ci(diff)
    if np.isfinite(m) and m < 0:
        m, lo, hi = -m, -hi, -lo
    v = interval_verdict(lo, hi, min_change, controls_pass=controls_pass)
    if v == HOLDS and not (np.isfinite(sharpness) and sharpness >= min_sharpness):
        v = MIXED
    return v, (m, lo, hi)


def rule_t2(rho_dense_side: Sequence[float], rho_sparse_side: Sequence[float], *, t1_verdict: str,
            controls_pass: bool = True) -> tuple[str, tuple]:
    """Verdict of T2 from per-seed mean spectral radii on the two sides of the transition (paired by seed):
    the drop dense - sparse must be above 0 with its seed interval. Without a transition (T1 neither
    "holds" nor "mixed") or with a failed control -> inconclusive. Returns (verdict, (mean, lo, hi))."""
    drop = np.asarray(rho_dense_side, float) - np.asarray(rho_sparse_side, float)
    m, lo, hi = seed_ci(drop)
    ok = controls_pass and t1_verdict in (HOLDS, MIXED)
    return interval_verdict(lo, hi, 0.0, controls_pass=ok), (m, lo, hi)


def chance_abs_cos(dim: float) -> float:
    """Mean |cos| between two independent uniformly random directions of R^dim:
    ``Gamma(dim/2) / (sqrt(pi) Gamma((dim+1)/2))``, about ``sqrt(2 / (pi dim))`` for large dim."""
    from scipy.special import gammaln

    dim = float(dim)
    if not dim >= 2:
        raise ConfigError(f"dim={dim!r} must be >= 2")
    return float(np.exp(gammaln(dim / 2) - gammaln((dim + 1) / 2)) / np.sqrt(np.pi))


def rule_t3(values: Sequence[float], *, reliability: Sequence[float], planted_passed: bool,
            null_values: Sequence[float], positive_values: Sequence[float], positive_temporal: Sequence[float],
            orthogonal_values: Sequence[float], planted_cos: float = PLANTED_SUPERPOSED_COS, threshold: float = PLANTED_MAX_ABS_COS,
            min_reliability: float = T3_MIN_RELIABILITY, cos_tolerance: float = T3_COS_TOLERANCE
            ) -> tuple[str, tuple, dict]:
    """Verdict of T3 ("the N-back networks' age-by-property directions are near-orthogonal").

    ``values``: mean |cos| of each N-back network's cross-group direction pairs. "holds" when their seed
    interval lies below ``threshold``, "does not hold" (overlapping, superposed directions) when above,
    inconclusive when it straddles, with one network, or when a control fails:

    * the planted toy control (``planted_passed``);
    * median split-half reliability < ``min_reliability``;
    * the label-permutation null (``null_values``: the same statistic with labels shuffled) is not below
      ``threshold`` -- then even directions without any code look non-orthogonal;
    * the bridge's negative planted control (``orthogonal_values``: the statistic on synthetic states whose
      codes are orthogonal across ages, one per network) is not below ``threshold``;
    * the bridge's positive planted control (``positive_values``: the statistic on synthetic states whose
      codes are superposed across ages at ``planted_cos``) is not above ``threshold``, or its temporal cosine
      (``positive_temporal``) misses ``planted_cos`` by more than ``cos_tolerance`` -- then the measure would
      read "near-orthogonal" even where superposition is planted, and a reading below the threshold says
      nothing.

    The controls are judged on their means over networks. Returns (verdict, (mean, lo, hi), controls dict).
    """
    def _mean(x):
        x = np.asarray(x, float)
        return float(np.nanmean(x)) if x.size and np.isfinite(x).any() else np.nan

    m, lo, hi = seed_ci(values)
    rel = float(np.nanmedian(reliability)) if len(reliability) else np.nan
    null = _mean(null_values)
    pos, pos_t, orth = _mean(positive_values), _mean(positive_temporal), _mean(orthogonal_values)
    controls = dict(planted=bool(planted_passed), reliability=rel,
                    reliable=bool(np.isfinite(rel) and rel >= min_reliability), threshold=float(threshold),
                    null=null, null_below_threshold=bool(np.isfinite(null) and null < threshold),
                    orthogonal=orth, orthogonal_below_threshold=bool(np.isfinite(orth) and orth < threshold),
                    positive=pos, positive_temporal=pos_t, planted_cos=float(planted_cos),
                    positive_above_threshold=bool(np.isfinite(pos) and pos > threshold),
                    positive_recovered=bool(np.isfinite(pos_t) and abs(pos_t - planted_cos) <= cos_tolerance))
    controls["positive_passed"] = controls["positive_above_threshold"] and controls["positive_recovered"]
    ok = (controls["planted"] and controls["reliable"] and controls["null_below_threshold"]
          and controls["orthogonal_below_threshold"] and controls["positive_passed"])
    return interval_verdict(lo, hi, threshold, direction="below", controls_pass=ok), (m, lo, hi), controls


def planted_control(table: pd.DataFrame) -> dict:
    """The planted control of the sweep: the linear nets with d >= n k at the densest S must recover >= 95 %
    of the features with mean |cos| of their directions <= 0.2 (near-orthogonal). Returns a dict with
    ``passed``, ``frac_recovered``, ``mean_abs_cos``, ``n_networks``."""
    lin = table[(table["kind"] == "linear") & (table["d"] >= table["n"] * table["k"])]
    if lin.empty:
        return dict(passed=False, frac_recovered=np.nan, mean_abs_cos=np.nan, n_networks=0)
    lin = lin[lin["sparsity"] == lin["sparsity"].min()]
    rec = float(lin["frac_recovered"].mean())
    mac = float(lin["mean_abs_cos_all"].mean()) if "mean_abs_cos_all" in lin else np.nan
    return dict(passed=bool(rec >= PLANTED_MIN_RECOVERED and np.isfinite(mac) and mac <= PLANTED_MAX_ABS_COS),
                frac_recovered=rec, mean_abs_cos=mac, n_networks=int(len(lin)))


# ------------------------------------------------------------------------------------------------ records
def _main_curve(table: pd.DataFrame, d: int, kind: str = "linear", stat: str = STATISTIC) -> pd.DataFrame:
    """(S x seed) pivot of ``stat`` for the nets of one (kind, d), S ascending."""
    sel = table[(table["kind"] == kind) & (table["d"] == d)]
    if sel.empty:
        raise ConfigError(f"the sweep table has no {kind} networks with d={d}")
    return sel.pivot_table(index="sparsity", columns="seed", values=stat).sort_index()


def claim_t1(table: pd.DataFrame, d: int) -> dict:
    """Claim T1 from the sweep table at the main hidden size ``d`` (linear nets; tanh nets in details)."""
    piv = _main_curve(table, d)
    curve = piv.mean(axis=1)
    i, jump, sharp = transition_point(curve.index, curve.values)
    ctrl = planted_control(table)
    seeds = list(piv.columns)
    verdict, (m, lo, hi) = rule_t1(piv.iloc[0].values, piv.iloc[-1].values, sharp, controls_pass=ctrl["passed"])
    s = list(curve.index)
    det = dict(statistic=STATISTIC, d=int(d), curve={f"{k:g}": float(v) for k, v in curve.items()},
               transition_between=(float(s[i]), float(s[min(i + 1, len(s) - 1)])), jump=jump, sharpness=sharp,
               planted=ctrl, min_change=T1_MIN_CHANGE, min_sharpness=T1_SHARPNESS,
               value_name="|change| of the interference share removed by the ReLU, sparse end vs dense end",
               rule=(f"holds when the seed interval of the paired |change| lies above {T1_MIN_CHANGE} and the largest "
                     f"step between neighbouring S carries >= {T1_SHARPNESS:.0%} of it (a change without a step: "
                     "mixed); below: does not hold; straddling or a failed planted control: inconclusive"))
    nl = table[(table["kind"] != "linear") & (table["d"] == d)]
    if not nl.empty:
        pn = nl.pivot_table(index="sparsity", columns="seed", values=STATISTIC).sort_index()
        det["nonlinear"] = dict(kind=str(nl["kind"].iloc[0]),
                                curve={f"{k:g}": float(v) for k, v in pn.mean(axis=1).items()},
                                verdict=rule_t1(pn.iloc[0].values, pn.iloc[-1].values,
                                                transition_point(pn.index, pn.mean(axis=1).values)[2],
                                                controls_pass=ctrl["passed"])[0])
    diffs = (piv.iloc[-1] - piv.iloc[0]).abs().values
    return _claim_dict(
        "T1", "The share of interference kept on the ReLU readout's silent side changes in a step between dense "
              "and sparse inputs "
              f"(linear RNNs, n={int(table['n'].iloc[0])}, k={int(table['k'].iloc[0])}, d={d}).",
        m, (lo, hi), PAPER, verdict, det, protocol="toy sweep (fresh held-out trials)",
        per_seed=per_seed_values(seeds, diffs),
        controls=(f"planted control d = n k, S = {table['sparsity'].min():g}: recovered "
                  f"{ctrl['frac_recovered']:.2f}, mean |cos| {ctrl['mean_abs_cos']:.2f} -> "
                  f"{'passed' if ctrl['passed'] else 'FAILED'}; chance level of a change: 0 "
                  f"(threshold {T1_MIN_CHANGE})"))


def claim_t2(table: pd.DataFrame, d: int, t1: Optional[dict] = None) -> dict:
    """Claim T2: the spectral radius drops across T1's transition (per seed: dense side minus sparse side)."""
    t1 = claim_t1(table, d) if t1 is None else t1
    piv = _main_curve(table, d, stat="spectral_radius")
    lo_s, hi_s = t1["details"]["transition_between"]
    dense = piv[piv.index <= lo_s].mean(axis=0)
    sparse = piv[piv.index >= hi_s].mean(axis=0)
    ctrl = t1["details"]["planted"]
    verdict, (m, lo, hi) = rule_t2(dense.values, sparse.values, t1_verdict=t1["verdict"], controls_pass=ctrl["passed"])
    det = dict(d=int(d), radius_curve={f"{k:g}": float(v) for k, v in piv.mean(axis=1).items()},
               dense_side=f"S <= {lo_s:g}", sparse_side=f"S >= {hi_s:g}", t1_verdict=t1["verdict"],
               value_name="spectral radius, dense side minus sparse side",
               rule="holds when the seed interval of the drop lies above 0; below 0: does not hold; straddling, "
                    "no transition (T1 neither holds nor mixed) or a failed planted control: inconclusive")
    return _claim_dict("T2", "The spectral radius of W is lower on the sparse side of the transition than on the "
                             "dense side.", m, (lo, hi), PAPER, verdict, det,
                       protocol="toy sweep", per_seed=per_seed_values(list(piv.columns), dense.values - sparse.values),
                       controls=f"T1 {t1['verdict']}; planted control {'passed' if ctrl['passed'] else 'FAILED'}; "
                                "no drop = 0")


def claim_t3(table: pd.DataFrame, nback: pd.DataFrame) -> dict:
    """Claim T3 from the sweep table (planted toy control) and the N-back bridge table (statistic, null,
    reliability and the bridge's planted orthogonal / superposed controls)."""
    ctrl_toy = planted_control(table)
    vals = nback[NB_STATISTIC].to_numpy(float)
    planted_cos = float(nback["planted_cos"].iloc[0])
    verdict, (m, lo, hi), ctrl = rule_t3(vals, reliability=nback["reliability"].values,
                                         planted_passed=ctrl_toy["passed"],
                                         null_values=nback[NB_NULL].to_numpy(float),
                                         positive_values=nback["pos_mean_abs_cos"].to_numpy(float),
                                         positive_temporal=nback["pos_temporal_mean_cos"].to_numpy(float),
                                         orthogonal_values=nback["orth_mean_abs_cos"].to_numpy(float),
                                         planted_cos=planted_cos)
    comps = float(nback["components"].mean()) if "components" in nback else np.nan
    det = dict(statistic=NB_STATISTIC, controls=ctrl, planted=ctrl_toy,
               per_core={c: float(g[NB_STATISTIC].mean()) for c, g in nback.groupby("core", sort=False)},
               null=float(nback[NB_NULL].mean()), ratio=float(nback["ratio"].mean()),
               n_features=int(nback["n_features"].iloc[0]),
               temporal_mean_cos=float(nback["temporal_mean_cos"].mean()),
               components=comps, random_abs_cos=chance_abs_cos(comps) if comps >= 2 else np.nan,
               value_name="mean |cos| between property-by-age directions (networks)",
               rule=(f"holds when the interval over networks lies below {PLANTED_MAX_ABS_COS} (the toy's full-capacity "
                     "level); above: does not hold (overlapping, superposed directions); straddling, a failed "
                     "planted toy control, reliability below the minimum, a label-permutation null not below the "
                     "threshold, or a failed planted bridge control (codes planted orthogonal across ages must read "
                     f"below the threshold; codes planted superposed at cos {planted_cos:g} must read above it and "
                     f"their temporal cos be recovered within {T3_COS_TOLERANCE}): inconclusive"))
    labels = [f"{c} seed {s}" for c, s in zip(nback["core"], nback["seed"])]
    pos_txt = (f"positive control (codes superposed across ages at cos {planted_cos:g}, same labels, shape and "
               f"noise): mean |cos| {ctrl['positive']:.3f} (must be > {PLANTED_MAX_ABS_COS}), temporal cos "
               f"{ctrl['positive_temporal']:.2f} (must be {planted_cos:g} +- {T3_COS_TOLERANCE}) -> "
               f"{'passed' if ctrl['positive_passed'] else 'FAILED'}")
    return _claim_dict(
        "T3", "The N-back networks hold their remembered object properties without temporal superposition: the "
              f"directions of the properties at different memory ages are near-orthogonal (mean |cos| < "
              f"{PLANTED_MAX_ABS_COS}).", m, (lo, hi),
        "not in the paper (our bridge): the paper's toy regimes applied to the N-back networks", verdict, det,
        protocol="class-mean directions per memory age, training-pool recording",
        per_seed=per_seed_values(list(nback["seed"]), vals, label=labels),
        controls=(f"planted toy control (d = n k recovers all, mean |cos| {ctrl_toy['mean_abs_cos']:.2f}) "
                  f"{'passed' if ctrl_toy['passed'] else 'FAILED'}; split-half reliability "
                  f"{ctrl['reliability']:.2f} (>= {T3_MIN_RELIABILITY}); chance level (labels permuted) "
                  f"{ctrl['null']:.3f}, must be < {PLANTED_MAX_ABS_COS}: "
                  f"{'passed' if ctrl['null_below_threshold'] else 'FAILED'}; negative control (codes planted "
                  f"orthogonal across ages) {ctrl['orthogonal']:.3f}, must be < {PLANTED_MAX_ABS_COS}: "
                  f"{'passed' if ctrl['orthogonal_below_threshold'] else 'FAILED'}; " + pos_txt))


def claim_records(profile: str = "quick", *, seeds=None, n=None, k=None, d=None, sparsities=None, w=None,
                  cores=("rnn", "gru", "lstm"), device="auto", progress: bool = False,
                  allow_training: Optional[bool] = None) -> list[dict]:
    """T1-T3 claim records for the claims page, from the cached sweep (trained once per parameters) and the
    cached N-back bridge (``w``: the stimulus world; built for ``profile`` when None). ``seeds`` are the
    N-back seeds (default :data:`NBACK_SEEDS`, the book's seeds of the profile: the MTMF runs of chapters
    4-10); the sweep's own seeds are the profile's. A missing N-back run is trained (cached, shared with the
    other chapters) unless ``allow_training=False``, which raises a ConfigError naming it instead."""
    from ..pipeline import world
    from .bridge import nback_table
    from .sweep import check_params, sweep_table

    p = check_params(profile, n=n, k=k, d=d, sparsities=sparsities)
    table = sweep_table(p, device=device, progress=progress)
    t1 = claim_t1(table, p["d"])
    out = [t1, claim_t2(table, p["d"], t1)]
    nb_seeds = tuple(seeds) if seeds is not None else NBACK_SEEDS[profile]
    w = world(profile=profile) if w is None else w
    allow = True if allow_training is None else bool(allow_training)
    nb = nback_table(w, cores, nb_seeds, allow_training=allow)
    out.append(claim_t3(table, nb))
    return out


#: the N-back statistic compared with :data:`STATISTIC` and its permutation null (columns of the bridge table)
NB_STATISTIC = "mean_abs_cos"
NB_NULL = "null_mean_abs_cos"
#: N-back seeds per profile (quick: the cached MTMF runs)
