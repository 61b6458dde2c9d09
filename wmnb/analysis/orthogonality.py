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

Equal-dimension protocol (the primary numbers; issue 8)
-------------------------------------------------------
O depends on the space's dimension relative to the number of rows: one-vs-rest SVMs in a 1280-d backbone
space fitted on a few hundred rows give a very different O from the same geometry in 256 dimensions
(planted in ``tests/test_analysis_orthogonality.py``). :func:`equal_k_orthogonality` therefore compares
spaces at **equal dimension**:

1. split the rows by the decoded image (:func:`wmnb.analysis.decoding.holdout_split`, protocol ``"image"``);
2. per space and task cell, z-score the units (training statistics, the paper's StandardScaler), then PCA to
   ``k`` components fitted on the **training rows only** (:func:`pca_fit`; ``k`` capped at a quarter of the
   cell's distinct training images, the same for every space). PCA is a rotation: angles between normals are
   those of the standardised space restricted to its top k directions;
3. closed-form one-vs-rest normals (:func:`ls_normals` with ``ridge=inf``): the centroid normal
   ``mu_c - mu`` of each class, so every shuffled-label null is one matrix product, all draws in one call
   (:func:`null_orthogonality_ls`). Labels are shuffled across images, not rows. The components are *not*
   whitened: on white coordinates the class means of a property that dominates its own directions are
   forced towards a regular simplex, whose O equals the null's (``whiten=True`` keeps that variant);
4. decodability gate: a nearest-class-mean decoder on the white components (LDA-style), scored on the
   held-out images; cells whose accuracy is below ``chance + min_above_chance`` are flagged
   ``decodable = False`` and must be dropped (and counted) by the caller.

``tests/test_analysis_orthogonality.py`` checks the closed-form normals against LinearSVC normals fitted on the same
PCA scores of planted cells (agreement measured there and asserted: see that test's docstring).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from ..errors import ConfigError, check_int
from ._checks import check_b, check_hidden, check_labels, check_step
from .decoding import PROTOCOLS, fit_decoder, holdout_split, score, task_groups
from .stats import paired_test

__all__ = ["orthogonality_index", "normalised_orthogonality", "null_orthogonality", "orthogonality",
           "compare_spaces", "pca_fit", "ls_normals", "null_orthogonality_ls", "batch_orthogonality_index",
           "equal_k_orthogonality", "EQUAL_K_COLUMNS"]

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
                  seed: int = 0, C: float = 1.0, kind: str = "ovr_svm", protocol: str = "image",
                  image_id: np.ndarray | None = None) -> pd.DataFrame:
    """Orthogonalization index (raw, normalised, null) per space, task cell and property: the paper's procedure
    (LinearSVC normals on z-scored features in each space's own dimension). Its O depends on the dimension
    (see the module docstring); the primary F3 measure is :func:`equal_k_orthogonality`.

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
    protocol : held-out split of the reported accuracy: ``"image"`` (default; needs ``image_id``, (B, T) or
        (B,) the shown image ids, the split uses those at ``step``) or ``"sequence"`` (paper-style, by
        ``seq_id``, stratified by task cell).

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
    if protocol == "image":
        if image_id is None:
            raise ConfigError("protocol='image' needs image_id (the shown image per sequence and step)")
        img = np.asarray(image_id)
        img = img[:, step] if img.ndim == 2 else check_b(img, B, "image_id")
        strat_img = labs["identity"][:, step] if "identity" in labs else None
        train, test = holdout_split("image", image_id=img, strata=strat_img, test_fraction=test_fraction,
                                    seed=seed)
    else:
        train, test = holdout_split(protocol, seq_id=seq_id, seq_strata=strat, test_fraction=test_fraction,
                                    seed=seed)
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


# ---------------------------------------------------------------------------------------------------------
# equal-dimension protocol: PCA to k on training rows, closed-form normals, batched shuffled-label nulls
# ---------------------------------------------------------------------------------------------------------
EQUAL_K_COLUMNS = ["space", "task_feature", "n", "property", "step", "protocol", "k", "n_classes", "O",
                   "O_normalised", "O_null", "O_null_sd", "O_null_normalised", "O_minus_null", "z_null",
                   "accuracy", "chance", "decodable", "n_train", "n_test", "n_train_groups", "n_test_groups",
                   "var_explained"]


def pca_fit(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Principal components of the rows of ``X`` (fit this on training rows only).

    Exact duplicate rows (e.g. the t = 0 state of one image shown in many sequences) are collapsed with
    their counts as weights first, which gives the same components as the full SVD at a fraction of the cost.

    Parameters
    ----------
    X : (n, D) float array
    k : int >= 1
        Components wanted; fewer are returned when the rows span fewer (``min(k, D, n_unique - 1)``, and
        components with zero variance are dropped).

    Returns
    -------
    mean : (D,) weighted row mean
    components : (k', D) orthonormal rows, by decreasing variance
    scale : (k',) standard deviation of the training scores along each component (> 0)
    var_explained : float, fraction of the total variance the k' components carry
    """
    k = check_int("k", k, low=1)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ConfigError(f"X must be (n >= 2, D); got shape {X.shape}")
    U, counts = np.unique(X, axis=0, return_counts=True)
    w = counts / counts.sum()
    mean = w @ U
    A = (U - mean) * np.sqrt(w)[:, None]
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    var = s ** 2
    total = float(var.sum())
    keep = min(k, int(np.sum(var > 1e-12 * max(total, 1e-300))))
    if keep < 1:
        raise ConfigError("X has no variance: cannot fit principal components")
    return mean, Vt[:keep], np.sqrt(var[:keep]), float(var[:keep].sum() / total)


def ls_normals(Z: np.ndarray, Y: np.ndarray, *, ridge: float = 1e-3) -> np.ndarray:
    """Closed-form one-vs-rest normals: ridge least squares of centred targets on centred inputs.

    ``W = (Zc'Zc + ridge * n * I)^-1 Zc'(Y - mean Y)`` with ``Zc = Z - mean Z`` (an intercept). On white
    inputs (``Zc'Zc = n I``, e.g. standardised principal components) column c is ``p_c (mu_c - mu) / (1 +
    ridge)``: the LDA-style normal of class c against the rest, whose direction does not depend on the ridge.
    ``ridge=inf`` gives the limit on any inputs: the centroid normals ``p_c (mu_c - mu)`` (up to scale).

    Parameters
    ----------
    Z : (n, k) inputs.
    Y : (n, m) targets, e.g. one-hot labels (m = C), or many label sets stacked side by side (m = C * n_sets:
        all shuffled-label fits at once, one solve).

    Returns
    -------
    W : (m, k) normals (not unit length; one row per target column).
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Z.ndim != 2 or Y.shape[0] != Z.shape[0]:
        raise ConfigError(f"Z must be (n, k) and Y (n, m) with the same n; got {Z.shape} and {Y.shape}")
    n, k = Z.shape
    Zc = Z - Z.mean(0)
    if np.isinf(ridge):                       # the limit: centroid normals, n p_c (mu_c - mu)
        return (Zc.T @ (Y - Y.mean(0))).T
    G = Zc.T @ Zc + float(ridge) * n * np.eye(k)
    return np.linalg.solve(G, Zc.T @ (Y - Y.mean(0))).T


def batch_orthogonality_index(W: np.ndarray) -> np.ndarray:
    """:func:`orthogonality_index` of a stack of normal sets ``W`` (S, C, k); returns (S,)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 3:
        raise ConfigError(f"W must be (S, C, k); got shape {W.shape}")
    S, C, _ = W.shape
    if C < 2:
        return np.full(S, np.nan)
    norm = np.linalg.norm(W, axis=2, keepdims=True)
    U = W / np.where(norm > 0, norm, 1.0)
    cos = U @ np.swapaxes(U, 1, 2)
    iu = np.triu_indices(C, k=1)
    return np.mean(1.0 - np.abs(cos[:, iu[0], iu[1]]), axis=1)


def _onehot(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return (np.asarray(y)[:, None] == classes[None, :]).astype(np.float64)


def null_orthogonality_ls(Z: np.ndarray, y: np.ndarray, *, n_null: int = 10, seed: int = 0,
                          groups: np.ndarray | None = None, ridge: float = 1e-3) -> np.ndarray:
    """O of closed-form one-vs-rest normals fitted to shuffled labels, ``n_null`` draws in one solve.

    Z : (n, k) training inputs; y : (n,) raw labels.
    groups : (n,) or None. Rows of one group (e.g. the states of one image, which are identical at the
        encoding step of one task) keep one label between them: labels are permuted across groups, so a
        shuffle never gives copies of one state different labels. None: every row is its own group.
    Returns ``(n_null,)``.
    """
    n_null = check_int("n_null", n_null, low=0)
    y = np.asarray(y).ravel()
    classes = np.unique(y)
    if n_null == 0 or classes.size < 2:
        return np.full(n_null, np.nan) if classes.size < 2 else np.empty(0)
    g = np.arange(y.size) if groups is None else np.asarray(groups).ravel()
    if g.shape != y.shape:
        raise ConfigError(f"groups has shape {g.shape}; expected {y.shape}")
    ug, first, inv = np.unique(g, return_index=True, return_inverse=True)
    glab = y[first]
    rng = np.random.default_rng(seed)
    Y = np.concatenate([_onehot(rng.permutation(glab)[inv.ravel()], classes) for _ in range(n_null)], axis=1)
    W = ls_normals(Z, Y, ridge=ridge)                     # (n_null * C, k)
    return batch_orthogonality_index(W.reshape(n_null, classes.size, -1))


def _cells(B, feature, n, by_feature, by_n):
    return list(task_groups(B, feature, n, by_feature=by_feature, by_n=by_n))


def equal_k_orthogonality(spaces: dict, labels: dict, image_id: np.ndarray, feature: np.ndarray | None = None,
                          n: np.ndarray | None = None, *, k: int = 64, step: int = 0,
                          properties: Sequence[str] = FEATURES, n_null: int = 10, protocol: str = "image",
                          seq_id: np.ndarray | None = None, strata: np.ndarray | None = None,
                          test_fraction: float = 0.2, seed: int = 0, ridge: float = float("inf"),
                          whiten: bool = False, standardise_units: bool = True,
                          min_above_chance: float = 0.1, by_feature: bool = True, by_n: bool = True,
                          max_k_fraction: float = 0.25) -> pd.DataFrame:
    """Orthogonalization index of every space at the same dimension ``k`` (the primary F3 measure).

    Parameters
    ----------
    spaces : dict name -> (B, D_space) float array
        The representations of the analysed step (one row per sequence), e.g. backbone features of the
        shown image (``rec.backbone_table[rec.stimuli[:, 0]]``), ``rec.embedding[:, 0]``,
        ``rec.hidden[:, 0]``. Dimensions may differ: each is reduced to ``k`` principal components.
    labels : dict property -> (B,) raw labels of the decoded image.
    image_id : (B,) id of the decoded image per row: the unit of the image-disjoint split, and the group
        whose rows keep one label in the shuffled-label null.
    feature, n : (B,) task feature codes and N, or None. One cell per (feature, N) by default (the network's
        task context; task features are not pooled).
    k : principal components per space (fitted on each cell's training rows only).
    step : recorded for the table (the arrays are already at that step).
    n_null : shuffled-label draws per cell (>= 10 for a claim).
    protocol : "image" (primary, :func:`~wmnb.analysis.decoding.holdout_split`) or "sequence" (paper-style;
        needs ``seq_id``). strata : per-row value the image split is stratified by (default: the identity
        labels when present, the finest property, so one split serves every property).
    test_fraction, seed : held-out fraction of images and the split / null seed.
    ridge, whiten : the normals. Default (``ridge=inf``, ``whiten=False``): centroid normals (class mean minus
        grand mean) in the PCA scores of the z-scored units, a rotation of the paper's standardised space, so
        angles are those of that space. ``whiten=True`` z-scores each component first (then any ridge gives
        the LDA-style normal): not the default, because on white coordinates the class means of a property
        that dominates its own directions are forced towards a regular simplex (O -> its null).
    min_above_chance : a cell is ``decodable`` when the held-out accuracy >= chance + this.
    standardise_units : z-score every unit (training statistics) before the PCA, as the paper's StandardScaler
        does before its SVMs (default). Then every unit weighs the same in the PCA, so a property carried by
        a few high-variance units can fall outside the top k components (the decodability gate shows it);
        False: PCA of the raw covariance.
    max_k_fraction : ``k`` is capped at this fraction of the cell's distinct training images (``image_id``):
        on white coordinates the class means of g distinct points in g - 1 components have no geometry left
        (any labelling gives the null's O; planted in the tests). The cap is the same for every space.

    Returns
    -------
    DataFrame, :data:`EQUAL_K_COLUMNS`, one row per (space, task cell, property):
    ``k`` (components used), ``O`` (raw index of the closed-form normals), ``O_normalised``
    (:func:`normalised_orthogonality`), ``O_null`` / ``O_null_sd`` (mean / sd over the shuffles, raw),
    ``O_null_normalised``, ``O_minus_null`` (normalised O minus normalised null mean), ``z_null``
    ((O - O_null) / O_null_sd), ``accuracy`` (held-out images, nearest-class-mean decoder in the same
    coordinates), ``chance`` (1 / classes), ``decodable``, ``n_train``/``n_test`` (rows),
    ``n_train_groups``/``n_test_groups`` (distinct images), ``var_explained`` (of the k components).
    """
    from ..errors import check_choice, check_float

    if not isinstance(spaces, dict) or not spaces:
        raise ConfigError("spaces must be a non-empty dict name -> (B, D) array")
    arrays = {}
    for name, v in spaces.items():
        a = np.asarray(v)
        if a.ndim != 2:
            raise ConfigError(f"spaces[{name!r}] must be (B, D) (the analysed step); got shape {a.shape}")
        arrays[name] = a
    B = next(iter(arrays.values())).shape[0]
    for name, a in arrays.items():
        if a.shape[0] != B:
            raise ConfigError(f"spaces[{name!r}] has {a.shape[0]} rows; expected {B}")
    k = check_int("k", k, low=1)
    n_null = check_int("n_null", n_null, low=0)
    check_choice("protocol", protocol, PROTOCOLS)
    min_above_chance = check_float("min_above_chance", min_above_chance, low=0.0)
    max_k_fraction = check_float("max_k_fraction", max_k_fraction, low=0.0, high=1.0, low_open=True)
    if not isinstance(labels, dict):
        raise ConfigError("labels must be a dict property -> (B,) array")
    labs = {}
    for p in properties:
        if p not in labels:
            raise ConfigError(f"labels has no entry {p!r}; it has {sorted(labels)}")
        labs[p] = check_b(labels[p], B, f"labels[{p!r}]")
    image_id = check_b(image_id, B, "image_id")
    feature = check_b(feature, B, "feature", allow_none=True)
    n = check_b(n, B, "n", allow_none=True)
    if strata is None:
        strata = labels.get("identity") if "identity" in labels else None
    strata = None if strata is None else check_b(strata, B, "strata")
    cell_code = (np.zeros(B, np.int64) if feature is None else np.unique(feature, return_inverse=True)[1].ravel()
                 ) * 1000 + (np.zeros(B, np.int64) if n is None else np.asarray(n, np.int64))
    if protocol == "image":
        train, test = holdout_split("image", image_id=image_id, strata=strata, test_fraction=test_fraction,
                                    seed=seed)
    else:
        seq_id = check_b(seq_id, B, "seq_id")
        train, test = holdout_split("sequence", seq_id=seq_id, seq_strata=cell_code, test_fraction=test_fraction,
                                    seed=seed)
    rows = []
    for fname, nval, mask in _cells(B, feature, n, by_feature, by_n):
        tr, te = mask & train, mask & test
        if tr.sum() < 3:
            continue
        # whitening k components of g distinct images erases the geometry as k -> g - 1 (every labelling then
        # gives the null's O), so k is capped at a fraction of the cell's distinct training images; the cap
        # is the same for every space (they share the rows)
        k_cell = max(2, min(k, int(np.unique(image_id[tr]).size * max_k_fraction)))
        for sname, X in arrays.items():
            Xtr, Xte = np.asarray(X[tr], np.float64), np.asarray(X[te], np.float64)
            if standardise_units:                                          # the paper's per-unit z-scoring
                mu_u, sd_u = Xtr.mean(0), Xtr.std(0)
                sd_u = np.where(sd_u > 1e-12, sd_u, 1.0)
                Xtr, Xte = (Xtr - mu_u) / sd_u, (Xte - mu_u) / sd_u
            mean, comp, scale, ve = pca_fit(Xtr, k_cell)
            Str, Ste = (Xtr - mean) @ comp.T, (Xte - mean) @ comp.T       # PCA scores (a rotation: angles kept)
            Ztr, Zte = Str / scale, Ste / scale                            # white scores (decoder gate only)
            Sn = Str if whiten else Str / np.sqrt(np.mean(scale ** 2))
            for j, p in enumerate(properties):
                y = labs[p]
                ytr, yte = y[tr], y[te]
                classes = np.unique(ytr)
                Cn = int(classes.size)
                if Cn >= 2:
                    Zn = Ztr if whiten else Sn
                    W = ls_normals(Zn, _onehot(ytr, classes), ridge=ridge)
                    O = orthogonality_index(W)
                    null = null_orthogonality_ls(Zn, ytr, n_null=n_null, seed=seed + 1 + j, groups=image_id[tr],
                                                 ridge=ridge)
                    # nearest class mean in the white coordinates (LDA-style) on the held-out images
                    mu = np.stack([Ztr[ytr == c].mean(0) for c in classes])
                    if te.sum():
                        d = Zte @ mu.T - 0.5 * np.sum(mu ** 2, axis=1)
                        acc = float(np.mean(classes[np.argmax(d, axis=1)] == yte))
                    else:
                        acc = np.nan
                else:
                    O, null, acc = np.nan, np.full(n_null, np.nan), np.nan
                chance = 1.0 / max(Cn, 1)
                if null.size and np.isfinite(null).all():
                    mu0 = float(null.mean())
                    sd0 = float(null.std(ddof=1)) if null.size > 1 else np.nan
                else:
                    mu0 = sd0 = np.nan
                On, Nn = normalised_orthogonality(O, Cn), normalised_orthogonality(mu0, Cn)
                rows.append(dict(space=sname, task_feature=fname, n=nval, property=p, step=int(step),
                                 protocol=protocol, k=int(comp.shape[0]), n_classes=Cn, O=O, O_normalised=On,
                                 O_null=mu0, O_null_sd=sd0, O_null_normalised=Nn, O_minus_null=On - Nn,
                                 z_null=(O - mu0) / sd0 if (sd0 and np.isfinite(sd0) and sd0 > 0) else np.nan,
                                 accuracy=acc, chance=chance,
                                 decodable=bool(np.isfinite(acc) and acc >= chance + min_above_chance),
                                 n_train=int(tr.sum()), n_test=int(te.sum()),
                                 n_train_groups=int(np.unique(image_id[tr]).size),
                                 n_test_groups=int(np.unique(image_id[te]).size), var_explained=ve))
    return pd.DataFrame(rows, columns=EQUAL_K_COLUMNS)
