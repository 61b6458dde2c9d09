"""Task-guided attention (chapter 11), the pure part: attention maps, entropy, gate suppression, who learned location.

Functions of arrays and tidy tables only (no runs, no files); :mod:`wmnb.experiments.attention` feeds them the
chapter's runs and caches their tables.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..config import FEATURES
from .stats import mean_t_interval

__all__ = ["QUADRANT_MASKS", "UNIFORM_QUADRANT", "LEARNED_LOCATION", "LOCATION_AT_CHANCE", "entropy",
           "maps_from_arrays", "quadrant_mass", "entropy_from_arrays", "channel_relevance", "suppression_index",
           "location_learners", "accuracy_summary", "suppression_summary"]

#: quadrant (location label: top-left, top-right, bottom-left, bottom-right) -> (49,) bool mask of its 3x3
#: block of the 7x7 map (row-major); the middle row and column belong to no quadrant
QUADRANT_MASKS = np.zeros((4, 49), dtype=bool)
for _q in range(4):
    _r0, _c0 = 4 * (_q // 2), 4 * (_q % 2)
    for _r in range(_r0, _r0 + 3):
        QUADRANT_MASKS[_q, _r * 7 + _c0:_r * 7 + _c0 + 3] = True
#: weight a uniform attention puts on one quadrant
UNIFORM_QUADRANT = 9 / 49


def entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy in nats of attention weight vectors (..., 49) -> (...); uniform = log 49 = 3.89."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 1e-12, None)
    return -(w * np.log(w)).sum(-1)


def maps_from_arrays(attn: np.ndarray, feature: np.ndarray, location: np.ndarray) -> pd.DataFrame:
    """Mean attention weight per (task feature, quadrant of the shown object, position) (pure).

    attn (B,T,49) weights; feature (B,) task feature codes; location (B,T) quadrant of the object shown at
    each step. Returns ``task_feature, quadrant, position, weight, n_steps`` (every step counted)."""
    B, T, P = attn.shape
    f = np.repeat(np.asarray(feature), T)
    q = np.asarray(location).reshape(-1)
    a = attn.reshape(-1, P)
    rows = []
    for fc in np.unique(f):
        for qc in range(4):
            sel = (f == fc) & (q == qc)
            if not sel.any():
                continue
            m = a[sel].mean(0)
            rows += [dict(task_feature=FEATURES[int(fc)], quadrant=qc, position=p, weight=float(m[p]),
                          n_steps=int(sel.sum())) for p in range(P)]
    return pd.DataFrame(rows)


def quadrant_mass(maps: pd.DataFrame) -> pd.DataFrame:
    """Weight on the shown object's quadrant per (…, task_feature, quadrant) of a maps table (pure): the mean
    over steps of the summed weight of that quadrant's 3x3 block (a sum of means is the mean of sums).
    ``mass``; ``uniform`` = 9/49 is what uniform attention gives."""
    keys = [c for c in maps.columns if c not in ("position", "weight", "n_steps")]
    t = maps.assign(_in=QUADRANT_MASKS[maps["quadrant"].to_numpy(int), maps["position"].to_numpy(int)])
    out = t[t["_in"]].groupby(keys, sort=False)["weight"].sum().rename("mass").reset_index()
    return out.assign(uniform=UNIFORM_QUADRANT)


def entropy_from_arrays(attn: np.ndarray, feature: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    """Mean attention entropy (nats) per task (feature, N) (pure): ``task_feature, n, entropy, max_entropy``."""
    h = entropy(attn).mean(1)  # (B,) mean over steps
    rows = []
    for fc in np.unique(feature):
        for nv in np.unique(n):
            sel = (feature == fc) & (n == nv)
            if sel.any():
                rows.append(dict(task_feature=FEATURES[int(fc)], n=int(nv), entropy=float(h[sel].mean()),
                                 max_entropy=float(np.log(attn.shape[-1]))))
    return pd.DataFrame(rows)


def channel_relevance(x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """Mean over classes of |w_c| of one-vs-rest ridge least-squares normals on z-scored ``x`` (rows, D)."""
    z = (x - x.mean(0)) / (x.std(0) + 1e-8)
    classes = np.unique(y)
    Y = (y[:, None] == classes[None, :]).astype(np.float64) * 2 - 1
    W = np.linalg.solve(z.T @ z + ridge * len(z) * np.eye(z.shape[1]), z.T @ Y)
    return np.abs(W).mean(1)


def suppression_index(gates: np.ndarray, relevance: Mapping[str, np.ndarray], feature: str, *,
                      fraction: float = 0.25, n_null: int = 50, seed: int = 0) -> dict:
    """The reference's suppression index for one task cell (pure).

    gates (rows, D) gate values; relevance: property -> (D,) channel relevance. contrast = z(relevance of
    ``feature``) - z(mean relevance of the other properties); with k = round(fraction D): index = mean gate on
    the k lowest-contrast channels - mean gate on the k highest (negative = irrelevant channels suppressed).
    ``null_mean, null_sd``: the index with the contrast shuffled over channels ``n_null`` times; ``r``: Pearson
    correlation of per-channel mean gate and contrast."""
    from scipy.stats import zscore

    g = np.asarray(gates, dtype=np.float64).mean(0)
    others = [p for p in relevance if p != feature]
    c = zscore(relevance[feature]) - zscore(np.mean([relevance[p] for p in others], axis=0))
    D = len(c)
    k = max(1, int(round(fraction * D)))

    def index(contrast):
        o = np.argsort(contrast)
        return float(g[o[:k]].mean() - g[o[-k:]].mean())
    rng = np.random.default_rng(seed)
    null = np.array([index(rng.permutation(c)) for _ in range(n_null)])
    r = float(np.corrcoef(g, c)[0, 1]) if g.std() > 0 else np.nan
    return dict(index=index(c), null_mean=float(null.mean()), null_sd=float(null.std(ddof=1)), r=r, k=k,
                mean_gate=float(g.mean()))


#: a seed "learned location" when its mean masked accuracy over the location tasks reaches this (chance 0.5)
LEARNED_LOCATION = 0.9
#: ... and "stayed at chance" on location at or below this (a pooled readout's level)


#: ... and "stayed at chance" on location at or below this (a pooled readout's level)
LOCATION_AT_CHANCE = 0.6


def location_learners(per_seed: pd.DataFrame, split: str = "novel_angle") -> pd.DataFrame:
    """Did each run learn the location tasks? One row per (scenario, arm, seed): ``location`` (mean masked
    accuracy over the location tasks on ``split``), ``overall`` (all tasks) and ``outcome``: "learned"
    (>= :data:`LEARNED_LOCATION`), "at chance" (<= :data:`LOCATION_AT_CHANCE`) or "partly".

    Attention can only report an object's quadrant by concentrating on it; a run whose attention stays
    spread out is, for location, a pooled readout."""
    t = per_seed[(per_seed.split == split) & (per_seed.feature == "location")]
    loc = t.groupby(["scenario", "arm", "seed"], sort=False)["accuracy"].mean().rename("location")
    a = per_seed[(per_seed.split == split) & (per_seed.feature == "all")]
    overall = a.set_index(["scenario", "arm", "seed"])["accuracy"].rename("overall")
    out = pd.concat([loc, overall], axis=1, join="inner").reset_index()
    out["outcome"] = np.select([out.location >= LEARNED_LOCATION, out.location <= LOCATION_AT_CHANCE],
                               ["learned", "at chance"], "partly")
    return out


def _ci(values) -> tuple[float, float, float]:
    return mean_t_interval(np.asarray(values, dtype=float))


def accuracy_summary(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t interval across seeds per (scenario, arm, split, feature, n): ``mean, ci_low, ci_high,
    n_seeds`` (interval NaN with one seed)."""
    rows = []
    for key, g in per_seed.groupby(["scenario", "arm", "split", "feature", "n"], sort=False):
        m, lo, hi = _ci(g["accuracy"])
        rows.append(dict(zip(["scenario", "arm", "split", "feature", "n"], key), mean=m, ci_low=lo, ci_high=hi,
                         n_seeds=int(g["seed"].nunique())))
    return pd.DataFrame(rows)


def suppression_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, arm, task_feature, n): index and index - null mean across seeds with 95 % t intervals."""
    rows = []
    for key, g in table.groupby(["scenario", "arm", "task_feature", "n"], sort=False):
        m, lo, hi = _ci(g["index"])
        d, dlo, dhi = _ci(g["index"] - g["null_mean"])
        rows.append(dict(zip(["scenario", "arm", "task_feature", "n"], key), index=m, ci_low=lo, ci_high=hi,
                         minus_null=d, minus_null_ci_low=dlo, minus_null_ci_high=dhi, r=float(g["r"].mean()),
                         n_seeds=len(g)))
    return pd.DataFrame(rows)
