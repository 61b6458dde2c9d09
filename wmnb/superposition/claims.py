"""Claims T1-T3 of the temporal-superposition chapter: pure rules on numbers, and their claim records.

T1  the transition exists in our sweep: at the main hidden size the fraction of interference that lands on
    the ReLU readout's silent side (:data:`STATISTIC`, ``frac_filtered``: the share of (held feature, read
    feature) pairs whose effective angle with the readout is obtuse enough to be removed) differs between the
    dense end (smallest S) and the sparse end (largest S), per seed, by more than :data:`T1_MIN_CHANGE`, and
    the change is a step (the largest jump between neighbouring S values carries at least
    :data:`T1_SHARPNESS` of it). A change without a step is "mixed".
T2  the spectral radius of W drops across it: per seed, mean radius on the dense side of the transition
    (S below the largest jump) minus mean radius on the sparse side; its seed interval above 0.
T3  the N-back networks hold their remembered properties without temporal superposition. Statistic: the
    temporal overlap of :func:`wmnb.superposition.bridge.temporal_overlap` (signed mean cosine between the
    direction of one property value at two memory ages; partial directions, whitened by the residual
    covariance), read on each network and on its two planted versions
    (:func:`wmnb.superposition.bridge.planted_controls`: the network's labels, shape and noise with codes
    planted orthogonal across ages, c = 0, or superposed at c = ``PLANTED_SUPERPOSED_COS``). Per network the
    *excess* = network - its orthogonal plant, and its *position between the plants*
    c (network - orth) / (superposed - orth), i.e. the planted cosine the network reads like. The claim holds
    when the excess's interval over networks lies below :data:`T3_TOLERANCE`, does not hold when above,
    is "mixed" when the architectures disagree (or the signed and |cos| readings do); see :func:`rule_t3`
    for the controls.

Controls of T1/T2: the planted network (d = n k, dense) recovers every feature with near-orthogonal
directions (:func:`planted_control`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..analysis.stats import seed_ci
from ..config import CORES, SEEDS  # the N-back runs the bridge reads: the book's seeds
from ..errors import ConfigError
from ..experiments.core import claim_dict
from ..verdicts import HOLDS, MIXED, NOT, interval_verdict, per_seed_values
from .bridge import PLANTED_SUPERPOSED_COS

__all__ = ["STATISTIC", "T1_MIN_CHANGE", "T1_SHARPNESS", "T3_MIN_RELIABILITY", "PLANTED_MIN_RECOVERED",
           "PLANTED_MAX_ABS_COS", "T3_COS_TOLERANCE", "T3_TOLERANCE", "T3_RESOLUTION_SD", "T3_MIN_SEPARATION", "chance_abs_cos", "rule_t1", "rule_t2", "rule_t3", "planted_control", "transition_point",
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
#: T3: an excess temporal cosine (network - its orthogonal plant) below this is "no temporal superposition":
#: the two ages share at most 5 % of a code's variance, 1/12 of the planted superposition (c = 0.6)
T3_TOLERANCE = 0.05
#: T3 resolution control: this many standard deviations (over networks) of each plant's reading must fit
#: below :data:`T3_TOLERANCE`, or the measure cannot resolve the tolerance it is judged by
T3_RESOLUTION_SD = 3.0
#: T3 separation control: the plants' contrast (superposed - orthogonal) must lie above this share of the
#: planted cosine with its interval over networks
T3_MIN_SEPARATION = 0.5

PAPER = ("Sharma et al. (ICLR 2026): a phase transition in the angular distribution of the features between an "
         "effectively linear dense regime and a sparse regime that uses an interference-free space, with a "
         "decrease of the spectral radius")


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


def rule_t3(values: Sequence[float], *, orthogonal: Sequence[float], superposed: Sequence[float],
            reliability: Sequence[float], planted_passed: bool, abs_values: Optional[Sequence[float]] = None,
            orthogonal_abs: Optional[Sequence[float]] = None, cores: Optional[Sequence[str]] = None,
            planted_cos: float = PLANTED_SUPERPOSED_COS, tolerance: float = T3_TOLERANCE,
            min_reliability: float = T3_MIN_RELIABILITY, cos_tolerance: float = T3_COS_TOLERANCE,
            resolution_sd: float = T3_RESOLUTION_SD, min_separation: float = T3_MIN_SEPARATION
            ) -> tuple[str, tuple, dict]:
    """Verdict of T3 ("the N-back networks hold their properties without temporal superposition").

    Parameters (one entry per network, aligned)
    ----------
    values : signed temporal cosine of each network (``temporal_cos``)
    orthogonal, superposed : the same statistic on the network's plants with codes orthogonal across ages
        (c = 0) and superposed at ``planted_cos``
    reliability : split-half reliability of each network's directions
    planted_passed : the toy's planted control (:func:`planted_control`)
    abs_values, orthogonal_abs : optional mean |cos| of the network and of its orthogonal plant
    cores : optional architecture of each network (per-core verdicts)

    Rule: excess = values - orthogonal, its t interval over networks. "holds" when the interval lies below
    ``tolerance``, "does not hold" when above, "inconclusive" when it straddles (or one network). It is
    "mixed" when the per-core verdicts (cores with >= 2 networks) contain both "holds" and "does not hold",
    or when the signed excess holds but the |cos| excess (``abs_values - orthogonal_abs``) lies above the
    tolerance (overlaps of opposite sign cancelling in the signed mean). The signed mean decides because it
    is unbiased under estimation noise (noise has no sign) and codes planted at cosine c read c; the |cos|
    mean is pushed up by noise, by as much as the orthogonal plant shows.

    Controls (any failure, or a NaN in them -> "inconclusive"):

    * the toy's planted control (``planted_passed``);
    * reliability: median split-half reliability >= ``min_reliability``;
    * positive control: the superposed plant reads ``planted_cos`` within ``cos_tolerance`` (mean over
      networks);
    * separation: the interval of (superposed - orthogonal) lies above ``min_separation * planted_cos``;
    * resolution: ``resolution_sd`` standard deviations over networks of each plant's reading stay below
      ``tolerance`` (a measure that scatters more than the tolerance cannot judge it).

    Returns (verdict, (mean, lo, hi) of the excess, controls dict with the per-core numbers, the position
    between the plants ``planted_cos * excess / (superposed - orthogonal)`` and the control outcomes).
    """
    v = np.asarray(values, float)
    orth, pos = np.asarray(orthogonal, float), np.asarray(superposed, float)
    if not (v.shape == orth.shape == pos.shape):
        raise ConfigError(f"values, orthogonal and superposed need one entry per network: {v.shape}, "
                          f"{orth.shape}, {pos.shape}")
    c = float(planted_cos)
    excess = v - orth
    contrast = pos - orth
    position = np.where(np.abs(contrast) > 1e-9, c * excess / np.where(np.abs(contrast) > 1e-9, contrast, 1.0),
                        np.nan)
    m, lo, hi = seed_ci(excess)
    rel = float(np.nanmedian(reliability)) if len(reliability) and np.isfinite(reliability).any() else np.nan
    sep = seed_ci(contrast)
    sd = max(float(np.std(orth, ddof=1)), float(np.std(pos, ddof=1))) if v.size > 1 else np.nan
    pos_m = float(np.mean(pos)) if pos.size else np.nan
    controls = dict(planted=bool(planted_passed), reliability=rel,
                    reliable=bool(np.isfinite(rel) and rel >= min_reliability),
                    orthogonal=float(np.mean(orth)) if orth.size else np.nan, positive=pos_m,
                    planted_cos=c, positive_recovered=bool(np.isfinite(pos_m) and abs(pos_m - c) <= cos_tolerance),
                    separation=sep, separated=bool(np.isfinite(sep[1]) and sep[1] > min_separation * c),
                    plant_sd=sd, resolved=bool(np.isfinite(sd) and resolution_sd * sd < tolerance),
                    tolerance=float(tolerance), position=seed_ci(position),
                    finite=bool(np.isfinite(excess).all() and np.isfinite(contrast).all()))
    ok = all(controls[k] for k in ("planted", "reliable", "positive_recovered", "separated", "resolved", "finite"))
    verdict = interval_verdict(lo, hi, tolerance, direction="below", controls_pass=ok)
    per_core = {}
    if cores is not None:
        cores = np.asarray(cores)
        for core in dict.fromkeys(cores):
            sel = cores == core
            cm, clo, chi = seed_ci(excess[sel])
            per_core[str(core)] = dict(n=int(sel.sum()), excess=(cm, clo, chi), network=seed_ci(v[sel]),
                                       orthogonal=seed_ci(orth[sel]), superposed=seed_ci(pos[sel]),
                                       position=seed_ci(position[sel]),
                                       verdict=interval_verdict(clo, chi, tolerance, direction="below",
                                                                controls_pass=ok))
    core_vs = [pc["verdict"] for pc in per_core.values() if pc["n"] >= 2]
    controls["cores_disagree"] = bool(HOLDS in core_vs and NOT in core_vs)
    if ok and controls["cores_disagree"]:
        verdict = MIXED
    if abs_values is not None and orthogonal_abs is not None:
        am, alo, ahi = seed_ci(np.asarray(abs_values, float) - np.asarray(orthogonal_abs, float))
        controls["abs_excess"] = (am, alo, ahi)
        controls["signs_disagree"] = bool(verdict == HOLDS and np.isfinite(alo) and alo > tolerance)
        if controls["signs_disagree"]:
            verdict = MIXED
    controls["per_core"] = per_core
    return verdict, (m, lo, hi), controls


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
    return claim_dict(
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
    return claim_dict("T2", "The spectral radius of W is lower on the sparse side of the transition than on the "
                             "dense side.", m, (lo, hi), PAPER, verdict, det,
                       protocol="toy sweep", per_seed=per_seed_values(list(piv.columns), dense.values - sparse.values),
                       controls=f"T1 {t1['verdict']}; planted control {'passed' if ctrl['passed'] else 'FAILED'}; "
                                "no drop = 0")


def _iv(t: tuple, nd: int = 3) -> str:
    m, lo, hi = t
    return (f"{m:.{nd}f} [{lo:.{nd}f}, {hi:.{nd}f}]" if np.isfinite(lo) and np.isfinite(hi)
            else f"{m:.{nd}f} (no interval)")


def claim_t3(table: pd.DataFrame, nback: pd.DataFrame) -> dict:
    """Claim T3 from the sweep table (the toy's planted control) and the N-back bridge table (one row per
    network: ``temporal_cos`` and its plants ``orth_temporal_cos`` / ``pos_temporal_cos``, the |cos| versions,
    ``temporal_reliability``, the permutation null ``temporal_null``; :func:`rule_t3` decides)."""
    ctrl_toy = planted_control(table)
    vals = nback[NB_STATISTIC].to_numpy(float)
    planted_cos = float(nback["planted_cos"].iloc[0])
    verdict, (m, lo, hi), ctrl = rule_t3(
        vals, orthogonal=nback["orth_temporal_cos"].to_numpy(float),
        superposed=nback["pos_temporal_cos"].to_numpy(float), reliability=nback["temporal_reliability"].values,
        planted_passed=ctrl_toy["passed"], abs_values=nback["temporal_abs_cos"].to_numpy(float),
        orthogonal_abs=nback["orth_temporal_abs_cos"].to_numpy(float), cores=nback["core"].values,
        planted_cos=planted_cos)
    gaps = {g: float(nback[f"temporal_gap{g}"].mean()) for g in (1, 2, 3) if f"temporal_gap{g}" in nback}
    det = dict(statistic=NB_STATISTIC, controls=ctrl, planted=ctrl_toy, per_core=ctrl["per_core"],
               network=seed_ci(vals), orthogonal=seed_ci(nback["orth_temporal_cos"]),
               superposed=seed_ci(nback["pos_temporal_cos"]), position=ctrl["position"],
               null=seed_ci(nback[NB_NULL]), gaps=gaps, tolerance=T3_TOLERANCE,
               n_pairs=int(nback["n_temporal_pairs"].iloc[0]),
               old_measure=dict(network=float(nback["mean_abs_cos"].mean()),
                                superposed=float(nback["pos_mean_abs_cos"].mean()),
                                orthogonal=float(nback["orth_mean_abs_cos"].mean()))
               if {"mean_abs_cos", "pos_mean_abs_cos", "orth_mean_abs_cos"} <= set(nback) else None,
               value_name="excess temporal cosine over the orthogonal plant (networks)",
               rule=(f"holds when the interval over networks of the excess (network minus its orthogonal plant) "
                     f"lies below {T3_TOLERANCE}; above: does not hold; straddling: inconclusive; architectures "
                     "disagreeing (or the |cos| excess above the tolerance where the signed one is below): "
                     "mixed; a failed control: inconclusive (the toy's planted control; median split-half "
                     f"reliability >= {T3_MIN_RELIABILITY}; the superposed plant reads {planted_cos:g} +- "
                     f"{T3_COS_TOLERANCE}; the plants' contrast above {T3_MIN_SEPARATION:g} x {planted_cos:g} "
                     f"with its interval; {T3_RESOLUTION_SD:g} SD of each plant's reading over networks below "
                     f"{T3_TOLERANCE})"))
    labels = [f"{c} seed {s}" for c, s in zip(nback["core"], nback["seed"])]
    excess = vals - nback["orth_temporal_cos"].to_numpy(float)
    ok = lambda b: "passed" if b else "FAILED"
    return claim_dict(
        "T3", "The N-back networks hold their remembered object properties without temporal superposition: one "
              "property value has directions at different memory ages no closer than in the network's "
              f"orthogonal plant (excess temporal cosine < {T3_TOLERANCE}).", m, (lo, hi),
        "not in the paper (our bridge): the paper's toy regimes applied to the N-back networks", verdict, det,
        protocol="partial directions per memory age, residual-whitened, training-pool recording",
        per_seed=per_seed_values(list(nback["seed"]), excess, label=labels),
        controls=(f"planted toy control {ok(ctrl_toy['passed'])}; split-half reliability "
                  f"{ctrl['reliability']:.2f} (>= {T3_MIN_RELIABILITY}) {ok(ctrl['reliable'])}; positive control "
                  f"(codes superposed at cos {planted_cos:g}, the network's labels, shape and noise) reads "
                  f"{ctrl['positive']:.3f} (must be {planted_cos:g} +- {T3_COS_TOLERANCE}) "
                  f"{ok(ctrl['positive_recovered'])}; orthogonal plant (chance level of the statistic) "
                  f"{ctrl['orthogonal']:.3f}, contrast of the plants {_iv(ctrl['separation'])} (must exceed "
                  f"{T3_MIN_SEPARATION * planted_cos:g}) {ok(ctrl['separated'])}; plants' spread over networks "
                  f"SD {ctrl['plant_sd']:.3f} ({T3_RESOLUTION_SD:g} SD must be < {T3_TOLERANCE}) "
                  f"{ok(ctrl['resolved'])}; label-permutation null {_iv(det['null'])} (reported, not a floor: "
                  "permuted labels keep the N-back correlations between ages, and their directions are pure, "
                  "temporally smooth noise)"))


def claim_records(profile: str = "quick", *, seeds=None, n=None, k=None, d=None, sparsities=None, w=None,
                  cores=CORES, device="auto", progress: bool = False,
                  allow_training: Optional[bool] = None) -> list[dict]:
    """T1-T3 claim records for the claims page, from the cached sweep (trained once per parameters) and the
    cached N-back bridge (``w``: the stimulus world; built for ``profile`` when None). ``seeds`` are the
    N-back seeds (default :data:`wmnb.config.SEEDS`, the book's seeds of the profile: the MTMF runs of chapters
    4-10); the sweep's own seeds are the profile's. A missing N-back run is trained (cached, shared with the
    other chapters) unless ``allow_training=False``, which raises a ConfigError naming it instead."""
    from ..pipeline import world
    from .bridge import nback_table
    from .sweep import check_params, sweep_table

    p = check_params(profile, n=n, k=k, d=d, sparsities=sparsities)
    table = sweep_table(p, device=device, progress=progress)
    t1 = claim_t1(table, p["d"])
    out = [t1, claim_t2(table, p["d"], t1)]
    nb_seeds = tuple(seeds) if seeds is not None else SEEDS[profile]
    w = world(profile=profile) if w is None else w
    allow = True if allow_training is None else bool(allow_training)
    nb = nback_table(w, cores, nb_seeds, allow_training=allow)
    out.append(claim_t3(table, nb))
    return out


#: the N-back statistic of T3 and its permutation null (columns of the bridge table)
NB_STATISTIC = "temporal_cos"
NB_NULL = "temporal_null"
#: N-back seeds per profile (quick: the cached MTMF runs)
