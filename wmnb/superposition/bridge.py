"""The same angle statistics for the N-back networks of chapters 4-10.

In an N-back trial the hidden state at step t holds the objects shown at t, t-1, ..., t-N: each object
property (location, category, ...) at each *memory age* a = 0..3 is a "feature at a lag". Its direction in
the hidden space is estimated as class-mean differences: for property P and value v, the mean hidden state
of the rows whose object of age a has P = v, minus the mean of all rows (states centred per step first, so
the trial's clock does not enter). Rows of every task of the recording are pooled.

The values of one property at one age are mutually exclusive and their centred class means sum to zero, so
pairs inside one (property, age) group are obtuse by construction; they are left out. The angle statistics
are computed over pairs from *different* (property, age) groups, and separately over *temporal* pairs (same
property and value, different ages).

The hidden states of a trained network are strongly anisotropic: a few dimensions carry most of the
variance, so even directions without any code (class means of shuffled labels) point along them and look
aligned. The main statistics are therefore computed in the *whitened* state space (principal components up to
99 % of the variance, at most :data:`MAX_COMPONENTS`, each scaled to unit variance), where directions without
a code are isotropic; the raw-space numbers are kept as ``raw_*``.

Controls: split-half reliability (directions fitted on two halves of the sequences, median cosine between
the halves), a label-permutation null (labels shuffled across sequences, same statistic), and two planted
controls run through exactly the same code (:func:`planted_hidden`, :func:`planted_controls`): synthetic
hidden states with the network's own labels, shape and noise in which the property codes are planted either
orthogonal across memory ages or superposed (the same value at two ages at cosine
:data:`PLANTED_SUPERPOSED_COS`). The superposed one is the positive control: a measure that reads it below
the near-orthogonality threshold cannot see temporal superposition.

That measure is blind: whitening by the *total* covariance (which contains the codes themselves) maps
linearly independent codes toward orthogonal ones, and the cross-group pairs are mostly pairs of different
properties, so codes planted at cosine 0.6 across ages read near the orthogonal plant. Claim T3 therefore
reads the **temporal overlap** (:func:`temporal_overlap`) instead: the signed mean cosine between the direction
of one (property, value) at age a and at age b != a, with each direction a *partial* (multiple-regression)
contrast -- the least-squares coefficient of its one-hot label in a fit of the states on every (property,
age, value) label at once, so that the N-back matches (one object seen at two ages) do not leak one age's
code into another's -- and measured after whitening by the *residual* (within-class) covariance, regularised
by shrinkage (:data:`RESIDUAL_RIDGE`). The residual covariance holds only the noise, so whitening by it makes
the estimation noise isotropic without touching the geometry of the codes. The same function runs on the
two planted versions of every network (:func:`planted_controls`), which must read 0 and
:data:`PLANTED_SUPERPOSED_COS`.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .. import params
from ..config import SEEDS, check_seeds
from ..errors import ConfigError
from ..experiments.core import cores_of
from ..runs import RunSpec
from .measures import angle_stats

__all__ = ["needs", "DEFAULT_PROPERTIES", "DEFAULT_AGES", "NBACK_SOURCES", "MAX_COMPONENTS", "whiten", "age_directions", "direction_table",
           "nback_regime_table", "load_nback_recordings", "nback_table", "PLANTED_SUPERPOSED_COS",
           "property_design", "planted_hidden", "planted_controls", "RESIDUAL_RIDGE", "partial_directions",
           "residual_whitener", "temporal_overlap"]

#: the code whose source is part of the bridge table's cache key
NBACK_SOURCES = ("superposition/bridge.py", "superposition/measures.py")

DEFAULT_PROPERTIES = ("location", "category")
#: most principal components kept by :func:`whiten`
MAX_COMPONENTS = 100
#: cosine between the directions of one property value at two memory ages in the superposed planted control
PLANTED_SUPERPOSED_COS = 0.6
#: shrinkage of the residual covariance for :func:`residual_whitener`: Sigma + RESIDUAL_RIDGE * mean(eig) * I
RESIDUAL_RIDGE = 0.1


def whiten(hidden: np.ndarray, var_kept: float = 0.99, max_components: int = MAX_COMPONENTS) -> np.ndarray:
    """(B, T, H) -> (B, T, r): states centred per step, projected on the principal components that explain
    ``var_kept`` of the variance (at most ``max_components``), each scaled to unit variance. (The components
    come from the eigen-decomposition of the (H, H) second-moment matrix: the same as an SVD of the states,
    several times faster for B T >> H.)"""
    B, T, H = hidden.shape
    h = hidden.astype(np.float64) - hidden.mean(axis=0, keepdims=True)
    X = h.reshape(-1, H)
    lam, V = np.linalg.eigh(X.T @ X)
    lam, V = np.clip(lam[::-1], 0.0, None), V[:, ::-1]                  # descending
    r = int(np.searchsorted(np.cumsum(lam) / lam.sum(), var_kept) + 1)
    r = max(1, min(r, max_components, int((lam > lam[0] * 1e-12).sum())))
    Z = X @ V[:, :r] / np.sqrt(lam[:r] / X.shape[0])
    return Z.reshape(B, T, r)


def _lstsq(Xc: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm least squares ``Y ~ Xc coef`` through the normal equations (pseudo-inverse of the small
    (F, F) Gram matrix; the one-hot groups make it singular). Xc (n, F), Y (n, H) -> (coef (F, H), Gram)."""
    G = Xc.T @ Xc
    return np.linalg.pinv(G, rcond=1e-10, hermitian=True) @ (Xc.T @ Y), G
DEFAULT_AGES = (0, 1, 2, 3)


def age_directions(hidden: np.ndarray, labels: dict, properties: Sequence[str], ages: Sequence[int],
                   rows: np.ndarray | None = None) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Class-mean-difference directions of each (property, age, value).

    Parameters
    ----------
    hidden : (B, T, H) hidden states
    labels : property -> (B, T) int labels of the object SHOWN at each step
    rows : optional index of the sequences to use

    Returns
    -------
    (dirs, names): dirs (H, F) one column per feature, names [(property, age, value)] of length F. A value
    with fewer than 5 rows at some age is skipped.
    """
    B, T, H = hidden.shape
    rows = np.arange(B) if rows is None else np.asarray(rows)
    h = hidden[rows].astype(np.float32)
    h = h - h.mean(axis=0, keepdims=True)                    # centre per step
    cols, names = [], []
    for prop in properties:
        if prop not in labels:
            raise ConfigError(f"property={prop!r} is not in the recording; allowed: {sorted(labels)}")
        lab = np.asarray(labels[prop])[rows]
        for a in ages:
            if a >= T:
                continue
            hs = h[:, a:].reshape(-1, H)                     # steps t >= a
            ls = lab[:, : T - a].reshape(-1)                 # label of the object shown at t - a
            mu = hs.mean(axis=0)
            for v in np.unique(ls):
                sel = ls == v
                if sel.sum() < 5:
                    continue
                cols.append(hs[sel].mean(axis=0) - mu)
                names.append((prop, int(a), int(v)))
    if not cols:
        raise ConfigError("no feature direction could be estimated (too few rows)")
    return np.stack(cols, axis=1), names


def _pair_cosines(dirs: np.ndarray, names) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of pairs from different (property, age) groups, and of temporal pairs (same property and value,
    different age)."""
    U = dirs / np.maximum(np.linalg.norm(dirs, axis=0, keepdims=True), 1e-12)
    C = U.T @ U
    group = np.array([f"{p}|{a}" for p, a, _ in names])
    pv = np.array([f"{p}|{v}" for p, _, v in names])
    iu, ju = np.triu_indices(len(names), 1)
    cross = group[iu] != group[ju]
    temporal = (pv[iu] == pv[ju]) & cross
    return C[iu, ju][cross], C[iu, ju][temporal]


def direction_table(hidden: np.ndarray, labels: dict, *, properties=DEFAULT_PROPERTIES, ages=DEFAULT_AGES,
                    seed: int = 0, whitened: bool = True) -> dict:
    """Angle statistics of the N-back feature directions with their controls (one network).

    Returns a dict: ``n_features``, ``hidden`` (H), ``ratio`` (H / n_features), the :func:`angle_stats` of the
    cross-group pairs (``mean_cos``, ``frac_obtuse`` ...), ``temporal_mean_cos`` (same property value at two
    ages), ``reliability`` (median split-half cosine of the directions), ``null_frac_obtuse`` /
    ``null_mean_cos`` / ``null_mean_abs_cos`` (labels permuted across sequences), and ``cos`` (the
    cross-group cosines, for histograms). With ``whitened`` (default) all of these are computed in the
    whitened space (:func:`whiten`; ``components`` = its dimension) and the raw-space ``raw_mean_abs_cos``,
    ``raw_null_mean_abs_cos``, ``raw_mean_cos`` and ``raw_temporal_mean_cos`` are added.
    """
    if whitened:
        raw = direction_table(hidden, labels, properties=properties, ages=ages, seed=seed, whitened=False)
        z = whiten(hidden)
        out = direction_table(z, labels, properties=properties, ages=ages, seed=seed, whitened=False)
        out.update(hidden=hidden.shape[-1], ratio=hidden.shape[-1] / out["n_features"], components=z.shape[-1],
                   raw_mean_abs_cos=raw["mean_abs_cos"], raw_null_mean_abs_cos=raw["null_mean_abs_cos"],
                   raw_mean_cos=raw["mean_cos"], raw_temporal_mean_cos=raw["temporal_mean_cos"])
        return out
    rng = np.random.default_rng(seed)
    B, T, H = hidden.shape
    dirs, names = age_directions(hidden, labels, properties, ages)
    cross, temporal = _pair_cosines(dirs, names)
    out = dict(n_features=len(names), hidden=H, ratio=H / len(names), components=H, **angle_stats(cross),
               temporal_mean_cos=float(temporal.mean()) if temporal.size else np.nan)
    perm = rng.permutation(B)
    half = B // 2
    d1, n1 = age_directions(hidden, labels, properties, ages, rows=perm[:half])
    d2, n2 = age_directions(hidden, labels, properties, ages, rows=perm[half:])
    common = [x for x in n1 if x in set(n2)]
    i1 = [n1.index(x) for x in common]
    i2 = [n2.index(x) for x in common]
    a, b = d1[:, i1], d2[:, i2]
    rel = (a * b).sum(0) / np.maximum(np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0), 1e-12)
    out["reliability"] = float(np.median(rel))
    shuffled = {p: np.asarray(labels[p])[rng.permutation(B)] for p in properties}
    dn, nn = age_directions(hidden, shuffled, properties, ages)
    null_cross, _ = _pair_cosines(dn, nn)
    ns = angle_stats(null_cross)
    out.update(null_frac_obtuse=ns["frac_obtuse"], null_mean_cos=ns["mean_cos"],
               null_mean_abs_cos=ns["mean_abs_cos"])
    out["cos"] = cross
    return out


def property_design(labels: dict, T: int, properties: Sequence[str], ages: Sequence[int]
                    ) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """One-hot design of the (property, age, value) features, aligned with :func:`age_directions`.

    Returns (X, names): X (B, T, F) float, ``X[b, t, f] = 1`` when the object shown at step ``t - a`` of
    sequence ``b`` has value ``v`` of property ``P`` (feature f = (P, a, v)), 0 otherwise or when ``t < a``."""
    cols, names = [], []
    for prop in properties:
        if prop not in labels:
            raise ConfigError(f"property={prop!r} is not in the recording; allowed: {sorted(labels)}")
        lab = np.asarray(labels[prop])
        B = lab.shape[0]
        for a in ages:
            if a >= T:
                continue
            for v in np.unique(lab):
                x = np.zeros((B, T))
                x[:, a:] = lab[:, : T - a] == v
                cols.append(x)
                names.append((prop, int(a), int(v)))
    return np.stack(cols, axis=-1), names


def partial_directions(hidden: np.ndarray, labels: dict, properties: Sequence[str] = DEFAULT_PROPERTIES,
                       ages: Sequence[int] = DEFAULT_AGES, rows: np.ndarray | None = None, *,
                       residual: bool = True, gram: np.ndarray | None = None
                       ) -> tuple[np.ndarray, Optional[np.ndarray], list[tuple[str, int, int]]]:
    """Partial (multiple-regression) directions of every (property, age, value) and the residual covariance.

    The states (centred per step) are fitted by least squares on the centred one-hot design of
    :func:`property_design` (all properties and ages at once; minimum-norm solution, so the coefficients of
    one (property, age) group are contrasts that sum to ~0 over its values). A direction is the coefficient
    row of its label: the code of that value at that age with the other ages' labels held fixed, so a
    correlation between ages in the labels (an N-back match) does not mix their codes.

    Parameters
    ----------
    hidden : (B, T, H) hidden states (any units)
    labels : property -> (B, T) int labels of the object shown at each step
    rows : optional index of the sequences to use
    residual : also return the residual covariance (else None)
    gram : optional precomputed ``Y.T @ Y`` of the centred states of these rows (H, H), reused by callers
        that fit several label sets to the same states

    Returns
    -------
    (dirs, cov, names): dirs (H, F) one column per feature (units of ``hidden`` per label), cov (H, H) the
    covariance of the fit's residual (``(Y'Y - coef' X'X coef) / n``, n = rows x T) or None, names
    [(property, age, value)] of length F.
    """
    B, T, H = hidden.shape
    rows = np.arange(B) if rows is None else np.asarray(rows)
    missing = [p for p in properties if p not in labels]
    if missing:
        raise ConfigError(f"property={missing[0]!r} is not in the recording; allowed: {sorted(labels)}")
    h = hidden[rows].astype(np.float64)
    h = h - h.mean(axis=0, keepdims=True)
    X, names = property_design({p: np.asarray(labels[p])[rows] for p in properties}, T, properties, ages)
    Xc = (X - X.mean(axis=0, keepdims=True)).reshape(-1, X.shape[-1])
    Y = h.reshape(-1, H)
    coef, G = _lstsq(Xc, Y)
    cov = None
    if residual:
        YY = Y.T @ Y if gram is None else gram
        cov = (YY - coef.T @ G @ coef) / Y.shape[0]
    return coef.T, cov, names


def residual_whitener(cov: np.ndarray, ridge: float = RESIDUAL_RIDGE) -> np.ndarray:
    """(H, H) matrix M with ``M.T @ d`` the direction ``d`` whitened by the regularised residual covariance.

    ``cov`` (H, H): the residual (within-class) covariance (:func:`partial_directions`); eigen-decomposition
    ``V diag(lam) V.T``; ``M = V diag(1 / sqrt(lam + ridge * mean(lam)))``. The shrinkage (ridge 0.1: every
    eigenvalue is raised by a tenth of the mean one) keeps the near-empty directions of saturated units from
    dominating; ridge -> inf gives back the raw geometry."""
    if not ridge >= 0:
        raise ConfigError(f"ridge={ridge!r} must be >= 0")
    lam, V = np.linalg.eigh(np.asarray(cov, float))
    lam = np.clip(lam, 0.0, None)
    return V / np.sqrt(lam + max(ridge * lam.mean(), 1e-12))


def _temporal_pairs(names) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i, j) of temporal pairs (same property and value, different ages) and their age gaps."""
    pv = np.array([f"{p}|{v}" for p, _, v in names])
    ag = np.array([a for _, a, _ in names])
    iu, ju = np.triu_indices(len(names), 1)
    keep = (pv[iu] == pv[ju]) & (ag[iu] != ag[ju])
    return iu[keep], ju[keep], np.abs(ag[iu] - ag[ju])[keep]


def _unit(Z: np.ndarray) -> np.ndarray:
    return Z / np.maximum(np.linalg.norm(Z, axis=0, keepdims=True), 1e-12)


def temporal_overlap(hidden: np.ndarray, labels: dict, *, properties=DEFAULT_PROPERTIES, ages=DEFAULT_AGES,
                     seed: int = 0, ridge: float = RESIDUAL_RIDGE, null: bool = True) -> dict:
    """Temporal overlap of one network: how much one property value shares its direction across memory ages.

    Directions: :func:`partial_directions`, whitened by :func:`residual_whitener` (a cosine in the metric of the
    network's own noise). Pairs: same property and value, different ages (for 2 properties x 4 values x 4
    ages: 48 pairs).

    Returns a dict of floats: ``temporal_cos`` the signed mean cosine of the temporal pairs (the statistic of
    T3; codes planted at cosine c read c), ``temporal_abs_cos`` their mean |cos| (biased upward by the
    estimation noise), ``temporal_cos_raw`` the signed mean without whitening, ``temporal_gap1`` ..
    ``temporal_gap3`` the signed mean per age gap |a - b|,
    ``temporal_reliability`` the median cosine between the whitened directions fitted on two halves of the
    sequences, ``temporal_null`` the signed mean with the labels permuted across sequences (with ``null``;
    not a floor: the permuted labels keep their N-back correlations between ages), ``n_temporal_pairs``.
    """
    rng = np.random.default_rng(seed)
    B, _, H = hidden.shape
    Y = (hidden.astype(np.float64) - hidden.mean(axis=0, keepdims=True)).reshape(-1, H)
    gram = Y.T @ Y                                        # shared by the fit and the permutation null
    del Y
    dirs, cov, names = partial_directions(hidden, labels, properties, ages, gram=gram)
    M = residual_whitener(cov, ridge)
    U = _unit(M.T @ dirs)
    i, j, gap = _temporal_pairs(names)
    c = (U[:, i] * U[:, j]).sum(axis=0)
    out = dict(temporal_cos=float(c.mean()) if c.size else np.nan,
               temporal_abs_cos=float(np.abs(c).mean()) if c.size else np.nan, n_temporal_pairs=int(c.size))
    R = _unit(dirs)                                   # the same pairs without whitening (ridge -> inf)
    out["temporal_cos_raw"] = float((R[:, i] * R[:, j]).sum(axis=0).mean()) if i.size else np.nan
    for g in range(1, 4):
        out[f"temporal_gap{g}"] = float(c[gap == g].mean()) if (gap == g).any() else np.nan
    perm = rng.permutation(B)
    d1, _, n1 = partial_directions(hidden, labels, properties, ages, rows=perm[: B // 2], residual=False)
    d2, _, n2 = partial_directions(hidden, labels, properties, ages, rows=perm[B // 2:], residual=False)
    if n1 == n2 == names:
        out["temporal_reliability"] = float(np.median((_unit(M.T @ d1) * _unit(M.T @ d2)).sum(axis=0)))
    else:                                       # a value missing from one half: compare the common features
        common = [x for x in n1 if x in set(n2)]
        a = _unit(M.T @ d1[:, [n1.index(x) for x in common]])
        b = _unit(M.T @ d2[:, [n2.index(x) for x in common]])
        out["temporal_reliability"] = float(np.median((a * b).sum(axis=0)))
    if null:
        shuffled = dict(labels, **{p: np.asarray(labels[p])[rng.permutation(B)] for p in properties})
        dn, cn, nn = partial_directions(hidden, shuffled, properties, ages, gram=gram)
        Un = _unit(residual_whitener(cn, ridge).T @ dn)
        i, j, _ = _temporal_pairs(nn)
        out["temporal_null"] = float((Un[:, i] * Un[:, j]).sum(axis=0).mean()) if i.size else np.nan
    return out


def planted_hidden(hidden: np.ndarray, labels: dict, cos: float, *, properties=DEFAULT_PROPERTIES,
                   ages=DEFAULT_AGES, seed: int = 0) -> tuple[np.ndarray, float]:
    """Synthetic hidden states shaped like ``hidden`` with a planted geometry of the property codes.

    Every (property P, value v, age a) gets the code ``sqrt(cos) s_{P,v} + sqrt(1 - cos) o_{P,a,v}`` with all
    ``s`` and ``o`` orthonormal random vectors of R^H: the same value at two different ages has cosine ``cos``
    (temporal superposition of strength ``cos``; 0 = every age in its own orthogonal slot), different
    properties and different values of a property share nothing. The state of step t of sequence b is the
    sum of the codes of the objects it holds (ages ``a <= t``, the network's own labels, so the label
    correlations of the N-back sequences are kept), scaled so that the codes carry the variance the labels
    explain linearly in ``hidden`` (least squares on :func:`property_design`), plus *realistic noise*: the
    residual of that fit taken from another sequence (rows permuted), i.e. the network's own noise with its
    anisotropy and temporal structure but no relation to the labels.

    Parameters
    ----------
    hidden : (B, T, H) hidden states of one network (any units)
    labels : property -> (B, T) int labels of the object shown at each step
    cos : planted cosine between the ages of one value, in [0, 1)

    Returns
    -------
    (synthetic (B, T, H) float64, signal_fraction): the fraction of the per-step-centred variance of
    ``hidden`` explained by the design (also the codes' share of the synthetic states).
    """
    if not 0.0 <= float(cos) < 1.0:
        raise ConfigError(f"cos={cos!r} must lie in [0, 1)")
    rng = np.random.default_rng(seed)
    B, T, H = hidden.shape
    h = hidden.astype(np.float64) - hidden.mean(axis=0, keepdims=True)
    X, names = property_design(labels, T, properties, ages)
    Xc = (X - X.mean(axis=0, keepdims=True)).reshape(-1, X.shape[-1])
    coef, _ = _lstsq(Xc, h.reshape(-1, H))
    fit = (Xc @ coef).reshape(B, T, H)
    resid = h - fit
    total, signal = h.var(axis=0).sum(), fit.var(axis=0).sum()
    values = {p: sorted({v for q, _, v in names if q == p}) for p in properties}
    ages_used = sorted({a for _, a, _ in names})
    need = sum(len(v) for v in values.values()) * (1 + len(ages_used))
    if need > H:
        raise ConfigError(f"hidden size H={H} is too small for {need} orthogonal planted codes")
    Q = np.linalg.qr(rng.normal(size=(H, need)))[0]
    code, j = np.zeros((B, T, H)), 0
    for p in properties:
        vals = np.asarray(values[p])
        S = Q[:, j:j + len(vals)]
        j += len(vals)
        lab = np.searchsorted(vals, np.asarray(labels[p]))
        for a in ages_used:
            O = Q[:, j:j + len(vals)]
            j += len(vals)
            E = np.sqrt(cos) * S + np.sqrt(1.0 - cos) * O                  # (H, V)
            code[:, a:] += E.T[lab[:, : T - a]]
    code -= code.mean(axis=0, keepdims=True)
    code *= np.sqrt(signal / max(code.var(axis=0).sum(), 1e-12))
    return code + resid[rng.permutation(B)], float(signal / max(total, 1e-12))


def planted_controls(hidden: np.ndarray, labels: dict, *, properties=DEFAULT_PROPERTIES, ages=DEFAULT_AGES,
                     seed: int = 0, cos: float = PLANTED_SUPERPOSED_COS, whitened: bool = True,
                     raw: bool = True) -> dict:
    """The bridge's statistics (:func:`direction_table`, same code) on two planted versions of one network's
    states (:func:`planted_hidden`): ``orth_*`` with the ages orthogonal (cos 0), ``pos_*`` with the ages
    superposed at cosine ``cos``. Returns ``orth_mean_abs_cos``, ``orth_temporal_mean_cos``,
    ``pos_mean_abs_cos``, ``pos_temporal_mean_cos`` (with ``whitened`` and ``raw`` also their raw-space
    ``{orth,pos}_raw_mean_abs_cos`` and ``{orth,pos}_raw_temporal_mean_cos``), ``planted_cos`` and
    ``signal_fraction`` (the share of the network's variance the labels explain; the codes' share), and the
    temporal overlap of each plant (:func:`temporal_overlap`): ``{orth,pos}_temporal_cos``,
    ``{orth,pos}_temporal_abs_cos``, ``{orth,pos}_temporal_reliability``."""
    out = dict(planted_cos=float(cos))
    for tag, c in (("orth", 0.0), ("pos", cos)):
        z, frac = planted_hidden(hidden, labels, c, properties=properties, ages=ages, seed=seed + 1)
        o = temporal_overlap(z, labels, properties=properties, ages=ages, seed=seed, null=False)
        out.update({f"{tag}_{k}": o[k] for k in ("temporal_cos", "temporal_abs_cos", "temporal_reliability")})
        if whitened and not raw:                 # the whitened statistics only (the bridge table's case)
            t = direction_table(whiten(z), labels, properties=properties, ages=ages, seed=seed, whitened=False)
        else:
            t = direction_table(z, labels, properties=properties, ages=ages, seed=seed, whitened=whitened)
        out.update({f"{tag}_mean_abs_cos": t["mean_abs_cos"], f"{tag}_temporal_mean_cos": t["temporal_mean_cos"]})
        if whitened and raw:
            out.update({f"{tag}_raw_mean_abs_cos": t["raw_mean_abs_cos"],
                        f"{tag}_raw_temporal_mean_cos": t["raw_temporal_mean_cos"]})
        out["signal_fraction"] = frac
    return out


def nback_regime_table(recordings: dict, *, properties=DEFAULT_PROPERTIES, ages=DEFAULT_AGES) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """:func:`direction_table` for several networks.

    Parameters
    ----------
    recordings : {(core, seed): Recording}

    Returns
    -------
    (summary, histograms): one row per network (core, seed, the statistics of :func:`direction_table`, the
    temporal overlap of :func:`temporal_overlap` and the planted controls of :func:`planted_controls`), and its cross-group cosine histogram (``bin_lo``, ``bin_hi``, ``count``).
    """
    from .measures import COS_BINS

    rows, hist = [], []
    for (core, seed), rec in recordings.items():
        t = direction_table(rec.hidden, rec.labels, properties=properties, ages=ages, seed=int(seed))
        cos = t.pop("cos")
        t.update(temporal_overlap(rec.hidden, rec.labels, properties=properties, ages=ages, seed=int(seed)))
        t.update(planted_controls(rec.hidden, rec.labels, properties=properties, ages=ages, seed=int(seed),
                                  raw=False))
        rows.append(dict(core=core, seed=int(seed), **t))
        counts, _ = np.histogram(np.clip(cos, -1, 1), bins=COS_BINS)
        hist += [dict(core=core, seed=int(seed), bin_lo=float(lo), bin_hi=float(hi), count=int(c))
                 for lo, hi, c in zip(COS_BINS[:-1], COS_BINS[1:], counts)]
    return pd.DataFrame(rows), pd.DataFrame(hist)


def load_nback_recordings(w, cores: Sequence[str], seeds: Sequence[int], *, scenario: str = "MTMF",
                          allow_training: bool = False, n_per_condition: Optional[int] = None) -> dict:
    """{(core, seed): Recording} of the N-back runs. With ``allow_training=False`` a run that is not in the
    run cache raises ConfigError instead of training (the quick book must never train here)."""
    from ..cache import CacheEntry, default_cache_dir
    from ..pipeline import recording, train_config, trained_run
    from ..training import run_key

    out = {}
    for core in cores:
        for seed in seeds:
            if not allow_training:
                cfg = train_config(scenario, core, profile=w.profile, seed=int(seed))
                key = run_key(w.stimuli, w.features, cfg)
                if not CacheEntry(default_cache_dir(), "runs", key).complete(verify=False):
                    raise ConfigError(f"the {scenario} {core} run of seed {seed} at profile {w.profile!r} is not "
                                      f"cached (run {key}); train it first (wmnb train) or choose cached seeds")
            run = trained_run(w, scenario, core, seed=int(seed), progress=False)
            out[(core, int(seed))] = recording(w, run, "train", n_per_condition=n_per_condition)
    return out


#: the chapter's parameters of the bridge (:mod:`wmnb.params` rules)
PARAMETERS = {"nback_seeds": params.Seeds()}


def needs(p) -> list[RunSpec]:
    """The N-back runs chapter 13's bridge reads for its parameters ``p``: MTMF of ``cores`` (default the three) x
    ``nback_seeds`` (default the book's seeds of the profile, :data:`wmnb.config.SEEDS`)."""
    seeds = check_seeds("nback_seeds", p.get("nback_seeds")) or SEEDS[p["profile"]]
    return [RunSpec("MTMF", c, s) for c in cores_of(p, "all") for s in seeds]


def nback_table(w, cores: Sequence[str], seeds: Sequence[int], *, scenario: str = "MTMF",
                allow_training: bool = False, cache_dir=None, properties=None, ages=None,
                n_per_condition: Optional[int] = None) -> pd.DataFrame:
    """The bridge statistics (:func:`wmnb.superposition.bridge.direction_table`) of each (core, seed) N-back
    network, cached; one row per network plus its cross-group cosine histogram ``h00``..``h19``.

    ``n_per_condition``: sequences per (feature, N) condition of the recording; None = :data:`wmnb.config.BRIDGE_SEQUENCES`
    of the profile (class means need far fewer sequences than the decoders of chapters 5-10)."""
    from ..config import ANALYSIS_SEED, ANALYSIS_SEQUENCES, BRIDGE_SEQUENCES
    from ..pipeline import train_config
    from ..results import cached_table
    from ..training import run_key
    from .sweep import _histogram_columns
    
    properties = tuple(properties or DEFAULT_PROPERTIES)
    ages = tuple(ages or DEFAULT_AGES)
    n_seq = int(n_per_condition or BRIDGE_SEQUENCES.get(w.profile) or ANALYSIS_SEQUENCES[w.profile])
    keys = [run_key(w.stimuli, w.features, train_config(scenario, c, profile=w.profile, seed=int(s)))
            for c in cores for s in seeds]
    desc = dict(runs=keys, cores=list(cores), seeds=[int(s) for s in seeds], scenario=scenario,
                properties=list(properties), ages=list(ages),
                recording=dict(split="train", n=n_seq, seed=ANALYSIS_SEED))

    def compute() -> pd.DataFrame:
        recs = load_nback_recordings(w, cores, seeds, scenario=scenario, allow_training=allow_training,
                                     n_per_condition=n_seq)
        summary, hist = nback_regime_table(recs, properties=properties, ages=ages)
        return summary.merge(_histogram_columns(hist, ["core", "seed"]), on=["core", "seed"])

    return cached_table("superposition_nback", desc, compute, cache_dir=cache_dir, sources=NBACK_SOURCES)
