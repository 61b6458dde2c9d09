"""Orthogonalization index of property codes (finding F3, paper Fig. 3).

Definitions
-----------
For one property with C values, fit one-vs-rest linear SVMs (``class_weight="balanced"``) on z-scored
features and take their unit hyperplane normals ``w_1 .. w_C`` (standardised coordinates, as in the paper).

Orthogonalization index (paper)::

    O = mean_{i<j} (1 - |cos(w_i, w_j)|)            in [0, 1]

O = 1: all normals mutually orthogonal; O = 0: all collinear.

**Normalised O (our definition; the paper's formula is not recoverable, reference section 5.4).**
One-vs-rest normals cannot all be orthogonal: when the C class means are *maximally distinct* (mutually
orthogonal, equally spaced directions, i.e. a regular simplex after centring) each normal points along its
centred class mean and ``cos(w_i, w_j) = -1/(C-1)``, so raw O = 1 - 1/(C-1) (0.667 for C = 4, 0.986 for
C = 72). Raw O therefore depends mostly on C, which makes location/category (C = 4) and identity (C = 4K)
incomparable. We divide by that reference value::

    O_normalised = O / (1 - 1/(C-1))               (C >= 3; NaN for C = 2, where O = 0 always)

so 1 = as orthogonal as a code of C orthogonal class directions, 0 = collinear. Values slightly above 1 are
possible (anisotropic noise), and the comparison of interest is relative (O(encoding) vs O(perceptual)).

**Null baseline.** Normals fitted to *shuffled labels* (the rows' labels permuted within the training set)
give the O that sample noise alone produces in this dimensionality and sample size; because the centred
class means of any labelling sum to zero, this null is close to 1 - 1/(C-1) too. A representation is only
"more (or less) orthogonal than chance" when O differs from ``O_null`` beyond its spread. The table reports
the null's mean, sd and percentile interval and an empirical p value.

**Held-out accuracy** of the one-vs-rest decoder (argmax of the C decision values) is reported so that O of
a space where the property is not decodable is not interpreted.

**Paired test** (:func:`compare_spaces`): O(perceptual) vs O(encoding) matched by (model, task, property ...):
paired t-test, Wilcoxon signed-rank and (as in the paper) a two-sample Welch t-test.

Computed for any space with layout (B, T, D): backbone output, trainable projection (embedding), RNN hidden.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_int
from ._checks import check_b, check_hidden, check_labels, check_step
from .decoding import FEATURES, fit_decoder, score, split_sequences, task_groups
from .stats import paired_test

__all__ = ["orthogonality_index", "normalised_orthogonality", "null_orthogonality", "orthogonality",
           "compare_spaces"]

COLUMNS = ["space", "task_feature", "n", "property", "step", "n_classes", "O", "O_normalised", "O_null",
           "O_null_sd", "O_null_low", "O_null_high", "O_null_normalised", "O_minus_null", "p_null",
           "accuracy", "chance", "n_train", "n_test"]


def orthogonality_index(normals: np.ndarray) -> float:
    """``O = mean_{i<j} (1 - |cos(w_i, w_j)|)`` over the rows of ``normals`` (C, H); NaN for C < 2."""
    W = np.asarray(normals, dtype=np.float64)
    if W.ndim != 2:
        raise ConfigError(f"normals must be (C, H); got shape {W.shape}")
    C = W.shape[0]
    if C < 2:
        return float("nan")
    norm = np.linalg.norm(W, axis=1, keepdims=True)
    U = W / np.where(norm > 0, norm, 1.0)
    cos = U @ U.T
    iu = np.triu_indices(C, k=1)
    return float(np.mean(1.0 - np.abs(cos[iu])))


def normalised_orthogonality(O: float | np.ndarray, n_classes: int | np.ndarray) -> float | np.ndarray:
    """``O / (1 - 1/(C-1))`` (see the module docstring); NaN where C < 3."""
    C = np.asarray(n_classes, dtype=float)
    ref = np.where(C >= 3, 1.0 - 1.0 / np.maximum(C - 1.0, 1.0), np.nan)
    out = np.asarray(O, dtype=float) / ref
    return float(out) if out.ndim == 0 else out


def null_orthogonality(X: np.ndarray, y: np.ndarray, *, n_null: int = 10, seed: int = 0, C: float = 1.0,
                       kind: str = "ovr_svm", max_iter: int = 1000) -> np.ndarray:
    """O of one-vs-rest normals fitted to shuffled labels, ``n_null`` times. Returns ``(n_null,)``.

    X : (n, H); y : (n,) raw labels (permuted across rows for each draw, seeded).
    max_iter : solver iterations per null fit, as for the real fits. Shuffled labels are not separable, so
        the solver always runs to this limit; fewer iterations are cheaper but bias the null (measured on
        EfficientNet pooled features: 4 shuffled classes gave O 0.708 at 200 iterations vs 0.740 at 1000,
        48 classes 0.962 vs 0.962), so keep it equal to the real fits'.
    """
    n_null = check_int("n_null", n_null, low=0)
    rng = np.random.default_rng(seed)
    y = np.asarray(y).ravel()
    out = np.empty(n_null)
    for k in range(n_null):
        dec = fit_decoder(X, rng.permutation(y), kind=kind, C=C, seed=seed, max_iter=max_iter)
        out[k] = orthogonality_index(dec.normals("standardised"))
    return out


def orthogonality(spaces: dict, labels: dict, feature: np.ndarray | None, n: np.ndarray | None,
                  seq_id: np.ndarray, *, step: int = 0, properties: Sequence[str] = FEATURES,
                  by_feature: bool = True, by_n: bool = True, n_null: int = 10, test_fraction: float = 0.2,
                  seed: int = 0, C: float = 1.0, kind: str = "ovr_svm") -> pd.DataFrame:
    """Orthogonalization index (raw, normalised, null) per space, task cell and property.

    Parameters
    ----------
    spaces : dict name -> (B, T, D) float array
        Representations to compare, e.g. ``{"backbone": rec.backbone, "perceptual": rec.embedding,
        "encoding": rec.hidden}``. Each is z-scored (train statistics) before fitting.
    labels : dict property -> (B, T) raw labels of the shown stimulus.
    feature, n : (B,) task feature codes and N (None = not split by it).
    seq_id : (B,) sequence ids. Normals are fit on the training sequences; the held-out ones give the
        reported decoder accuracy.
    step : int
        Step used (0 = encoding step of the first stimulus, as in the paper).
    by_feature, by_n : bool
        One O per task (feature, N) cell (default, "across 1/2/3-back tasks") or pooled.
    n_null : int
        Shuffled-label fits for the null (0 disables; the null columns are then NaN).
    C, kind : SVM regularisation and kind (``"ovr_svm"`` = the paper's LinearSVC, or ``"ovr_logreg"``).

    Returns
    -------
    DataFrame
        One row per (space, task_feature, n, property): ``space``, ``task_feature`` ("all" = pooled),
        ``n`` (0 = pooled), ``property``, ``step``, ``n_classes``, ``O``, ``O_normalised``, ``O_null`` (mean
        over shuffles), ``O_null_sd``, ``O_null_low``/``O_null_high`` (2.5/97.5 percentiles),
        ``O_null_normalised``, ``O_minus_null``, ``p_null`` (two-sided empirical p of O under the null,
        (1 + #{|null - mean| >= |O - mean|}) / (1 + n_null)), ``accuracy`` (held-out one-vs-rest decoder),
        ``chance``, ``n_train``, ``n_test``.
    """
    if not isinstance(spaces, dict) or not spaces:
        raise ConfigError("spaces must be a non-empty dict name -> (B, T, D) array")
    arrays = {k: check_hidden(v, f"spaces[{k!r}]") for k, v in spaces.items()}
    B, T = next(iter(arrays.values())).shape[:2]
    for k, v in arrays.items():
        if v.shape[:2] != (B, T):
            raise ConfigError(f"spaces[{k!r}] has shape {v.shape}; expected ({B}, {T}, D)")
    step = check_step(step, T)
    labs = check_labels(labels, B, T, properties)
    feature = check_b(feature, B, "feature", allow_none=True)
    n = check_b(n, B, "n", allow_none=True)
    seq_id = check_b(seq_id, B, "seq_id")
    strat = None
    if feature is not None or n is not None:
        strat = (np.zeros(B, np.int64) if feature is None else feature.astype(np.int64)) * 100 + (
            np.zeros(B, np.int64) if n is None else n.astype(np.int64))
    train, test = split_sequences(seq_id, test_fraction, seed, stratify=strat)
    rows = []
    for sname, X in arrays.items():
        for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=by_n):
            tr, te = mask & train, mask & test
            if tr.sum() == 0:
                continue
            for p in properties:
                y = labs[p][:, step]
                dec = fit_decoder(X[tr, step], y[tr], kind=kind, C=C, seed=seed)
                O = orthogonality_index(dec.normals("standardised"))
                Cn = dec.n_classes
                null = null_orthogonality(X[tr, step], y[tr], n_null=n_null, seed=seed + 1, C=C, kind=kind)
                s = score(dec, X[te, step], y[te]) if te.sum() else dict(accuracy=np.nan, chance=np.nan, n_test=0)
                if null.size:
                    mu = float(null.mean())
                    sd = float(null.std(ddof=1)) if null.size > 1 else np.nan
                    lo, hi = (float(np.quantile(null, 0.025)), float(np.quantile(null, 0.975)))
                    p_null = float((1 + np.sum(np.abs(null - mu) >= abs(O - mu))) / (1 + null.size))
                else:
                    mu = sd = lo = hi = p_null = np.nan
                rows.append(dict(space=sname, task_feature=fname, n=nval, property=p, step=step, n_classes=Cn,
                                 O=O, O_normalised=normalised_orthogonality(O, Cn), O_null=mu, O_null_sd=sd,
                                 O_null_low=lo, O_null_high=hi,
                                 O_null_normalised=normalised_orthogonality(mu, Cn), O_minus_null=O - mu,
                                 p_null=p_null, accuracy=s["accuracy"], chance=s["chance"],
                                 n_train=int(tr.sum()), n_test=s["n_test"]))
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_spaces(table: pd.DataFrame, a: str = "perceptual", b: str = "encoding", *,
                   value: str = "O_normalised", pair_on: Sequence[str] | None = None,
                   by: Sequence[str] = ("property",)) -> pd.DataFrame:
    """Paired test of ``value`` between two spaces (e.g. O(perceptual) vs O(encoding), F3).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`orthogonality`, possibly several concatenated with extra key columns such as
        ``model`` or ``seed``.
    a, b : str
        Space names; differences are ``b - a`` (negative = ``b`` less orthogonal, the paper's finding for
        b = encoding, a = perceptual).
    value : str
        Column compared (``"O_normalised"`` by default; ``"O"`` or ``"O_minus_null"`` also make sense).
    pair_on : sequence of str or None
        Columns that match a pair; default: the key columns present among
        ``model, seed, task_feature, n, property, step``.
    by : sequence of str
        Report one test per group of these columns, plus one row over all pairs (group value ``"all"``).

    Returns
    -------
    DataFrame
        Columns ``*by``, ``a``, ``b``, ``value`` and the keys of :func:`wmnb.analysis.stats.paired_test`:
        ``n_pairs, mean_a, mean_b, mean_diff, diff_ci_low, diff_ci_high, frac_b_below_a, t_stat, t_pvalue,
        wilcoxon_stat, wilcoxon_pvalue, welch_t, welch_pvalue``.
    """
    by = list(by)
    if pair_on is None:
        pair_on = [c for c in ("model", "seed", "task_feature", "n", "property", "step") if c in table.columns]
    pair_on = list(pair_on)
    ta = table[table["space"] == a].set_index(pair_on)[value]
    tb = table[table["space"] == b].set_index(pair_on)[value]
    if ta.index.has_duplicates or tb.index.has_duplicates:
        raise ConfigError(f"pair_on={pair_on} does not identify rows uniquely; add a key column (e.g. model)")
    joined = pd.concat([ta.rename("a"), tb.rename("b")], axis=1, join="inner").reset_index()
    groups = [("all", joined)]
    if by:
        groups = list(joined.groupby(by, sort=True)) + groups
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key if len(key) == len(by) else ("all",) * len(by)))
        row.update(a=a, b=b, value=value)
        row.update(paired_test(g["a"].to_numpy(), g["b"].to_numpy()))
        rows.append(row)
    return pd.DataFrame(rows)
