"""Structured transformations between decoders: Procrustes reconstruction and swap tests (F6, F7; Fig. 4f-g).

Decoder stacks
--------------
For a property with C values, stimulus position i and step j >= i, ``W(i,j)`` is the (C, H) weight matrix
of a multinomial logistic decoder that reads stimulus i's property (the **remembered** stimulus,
``labels[:, i]``) from ``hidden[:, j]``, in the standardised coordinates of step j. Rows are keyed by raw
label value; rotations are fitted on the classes common to both stacks (by value, never by row position).

The paper's procedure (as quoted in the reference, section 5.7)
----------------------------------------------------------------
For a source stack ``W_s`` and target stack ``W_t``:

1. *Standardise* each stack: subtract its mean row ``m`` (mean over classes) and divide by the Frobenius
   norm of the centred matrix: ``A = (W_s - m_s) / ||W_s - m_s||``, ``B = (W_t - m_t) / ||W_t - m_t||``.
2. *Orthogonal Procrustes*: ``R = argmin_{R^T R = I} ||A R - B||_F`` (H x H; ``R = U V^T`` from the SVD
   ``A^T B = U S V^T``; on the span of the rows identical to :func:`scipy.linalg.orthogonal_procrustes`, the
   identity outside it: :func:`procrustes_rotation`), with the common scale ``s = trace(S)`` (optimal for
   unit-norm A).
3. *Reconstruct*: ``B_hat = s * A R``; then undo the standardisation with the **target's** statistics:
   ``W_hat = B_hat * ||W_t - m_t|| + m_t``.
4. *Disparity* = ``||s A R - B||^2 = 1 - s^2`` (what :func:`scipy.spatial.procrustes` returns); the public
   re-implementation reported ``s`` itself as "disparity".

``R(i, j)`` maps stimulus i's decoder at step j to step j + 1 (encoding -> memory for j == i, memory ->
memory after). With C classes and H > C dimensions R is determined only on the span of the source rows; the
remaining directions follow the SVD's (deterministic) completion. Applying a rotation fitted on *another*
pair (swap tests) is therefore only accurate when that pair's decoders span the same subspace, which is
exactly what the swap test asks.

Scoring
-------
All decoders (hence all rotations) are fit on the *training* sequences; every accuracy is computed on the
*held-out* sequences: ``X = hidden[test, j+1]`` z-scored with the target decoder's training statistics,
prediction = value of ``argmax_c X W^T`` (no intercept, for fitted and reconstructed decoders alike).

Swap tests (``swap`` column of :func:`swap_test`)
-----------------------------------------------
``fitted``                        the target decoder W(i, j+1) itself (upper reference)
``correct``                       R(i, j) applied to W(i, j)                      (Fig. 4f reconstruction)
``none``                          R = I, s = 1 (no transformation; control)
``same_stimulus_other_interval``  R(i, j') with j' = j +- 1 (paper Eq. 2): same stimulus, other time step
``other_stimulus_same_age``       R(i+k, j+k), k != 0 (paper Eq. 3): other stimulus, same age
``*_permuted``                    null: the same rotation refitted with a permuted class correspondence (the
                                  target stack's rows deranged), one per swap kind above
``correct_random``                null: a random orthogonal R with the fitted scale s
``heldout_classes*``              predictive decoder-level test: R and s fitted on half of the class values,
                                  the other half's rows reconstructed and scored among themselves (chance
                                  1 / half); ``_fitted`` (their own fitted rows), ``_permuted``, ``_random`` nulls
Paper (F7): other-stimulus/same-age swaps stay high, same-stimulus/other-interval swaps fall.

Why the nulls (F6 was circular)
-------------------------------
With C nearly regular class normals and H >> C, *any* two stacks are close to a rotation of each other, so
"reconstructed ~ fitted" is close to true by construction. Two things make the test able to fail:

* **held-out prediction**: :func:`state_map_test` fits a rotation + scale map between the hidden *states*
  ``h_j -> h_{j+1}`` (H x H from thousands of training sequences, well determined) and scores it on held-out
  sequences, next to an unconstrained linear (ridge) map and no map; the class-split rows above fit the
  decoder-level rotation on half of the values and predict the others;
* **nulls** it must beat: the same fit with the class correspondence permuted, and a random orthogonal R with
  the same scale.

Held-out protocol
-----------------
``protocol="image"`` (default): one partition of the images (:func:`image_partition`, stratified by
``strata``); for stimulus position i the training rows are the sequences whose image at i is a training
image and the scored rows those whose image at i is held out, so no decoded (remembered) image is ever
fitted on. ``protocol="sequence"``: the paper-style sequence split (images may repeat).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from ..errors import ConfigError, check_choice, check_int
from ._checks import check_b, check_hidden, check_labels
from .decoding import LinearDecoder, fit_decoder, holdout_split, split_images, task_groups
from .dynamics import step_kind
from .stats import accuracy_with_ci

__all__ = ["standardise_stack", "procrustes_rotation", "Rotation", "fit_rotation", "apply_rotation", "decoder_stacks", "swap_test",
           "procrustes_reconstruction", "swap_summary", "random_orthogonal", "derangement", "image_partition",
           "position_split", "reconstruct_heldout_rows", "StateMap", "fit_state_map", "state_map_test",
           "state_map_summary", "STATE_MAPS", "SWAP_KINDS"]

SWAP_KINDS = ("fitted", "correct", "none", "same_stimulus_other_interval", "other_stimulus_same_age",
              "correct_permuted", "correct_random", "same_stimulus_other_interval_permuted",
              "other_stimulus_same_age_permuted", "heldout_classes_fitted", "heldout_classes",
              "heldout_classes_permuted", "heldout_classes_random")
STATE_COLUMNS = ["property", "task_feature", "n", "stim", "step_from", "step_to", "age", "transition", "map",
                 "accuracy", "ci_low", "ci_high", "r2", "scale", "chance", "n_train", "n_test", "protocol"]
#: maps compared by :func:`state_map_test`
STATE_MAPS = ("fitted", "rotation", "ridge", "none", "rotation_permuted", "rotation_random")
SWAP_COLUMNS = ["property", "task_feature", "n", "stim", "step_from", "step_to", "age", "kind_to", "swap",
                "source_stim", "source_step", "accuracy", "ci_low", "ci_high", "chance", "n_test", "disparity",
                "scale"]


def standardise_stack(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre the rows of ``W`` (C, H) and scale to unit Frobenius norm.

    Returns ``(A, mean, norm)`` with ``A = (W - mean) / norm``; ``mean`` is (H,), ``norm`` a float.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ConfigError(f"W must be a (C, H) stack; got shape {W.shape}")
    mean = W.mean(0)
    Wc = W - mean
    norm = float(np.linalg.norm(Wc))
    if norm == 0:
        raise ConfigError("decoder stack has zero spread (all class rows equal); cannot standardise")
    return Wc / norm, mean, norm


def procrustes_rotation(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, float]:
    """Orthogonal Procrustes ``argmin_R ||A R - B||_F`` for short stacks ``A, B`` (k, H), k << H, and the
    common scale ``s`` = sum of the singular values of ``A^T B``.

    Solved in the span E of the rows of A and B (dimension m <= 2k): ``R = E r E^T + (I - E E^T)`` with ``r``
    the m x m Procrustes solution. On the rows' span this is the same solution as the full H x H SVD
    (:func:`scipy.linalg.orthogonal_procrustes`); outside it -- where the data fix nothing and the full SVD
    completes arbitrarily -- R is the identity. Cost O(H k^2 + H^2 m) instead of an H x H SVD.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    H = A.shape[1]
    J = np.hstack([A.T, B.T])                                # (H, 2k)
    Uj, sj, _ = np.linalg.svd(J, full_matrices=False)
    E = Uj[:, sj > sj.max() * 1e-10] if sj.size and sj.max() > 0 else np.zeros((H, 0))
    if E.shape[1] >= H:                                      # no reduction possible: full problem
        U, S, Vt = np.linalg.svd(A.T @ B)
        return U @ Vt, float(S.sum())
    a, b = A @ E, B @ E                                      # (k, m) coordinates in the span
    u, sig, vt = np.linalg.svd(a.T @ b)
    R = E @ (u @ vt - np.eye(E.shape[1])) @ E.T + np.eye(H)
    return R, float(sig.sum())


@dataclass
class Rotation:
    """Result of :func:`fit_rotation`.

    Attributes
    ----------
    R : (H, H) orthogonal matrix, applied on the right (``A @ R``); the identity outside the span of the two
        stacks' rows (:func:`procrustes_rotation`).
    scale : float, the common scale ``s`` (sum of singular values of ``A^T B``).
    disparity : float, ``1 - s^2`` = residual ``||s A R - B||^2`` of the standardised stacks.
    classes : (C',) raw values common to both stacks, used for the fit.
    """

    R: np.ndarray
    scale: float
    disparity: float
    classes: np.ndarray


def _common(classes_s, W_s, classes_t, W_t):
    cs, ct = np.asarray(classes_s), np.asarray(classes_t)
    common = np.intersect1d(cs, ct)
    if common.size < 2:
        raise ConfigError(f"stacks share {common.size} class values; need >= 2 to fit a rotation")
    return common, np.asarray(W_s)[np.searchsorted(cs, common)], np.asarray(W_t)[np.searchsorted(ct, common)]


def fit_rotation(W_source: np.ndarray, W_target: np.ndarray, classes_source: np.ndarray | None = None,
                 classes_target: np.ndarray | None = None) -> Rotation:
    """Paper procedure steps 1-2: standardise both stacks, orthogonal Procrustes, common scale.

    Parameters
    ----------
    W_source, W_target : (C_s, H), (C_t, H) decoder stacks.
    classes_source, classes_target : raw class values of the rows (sorted); default ``arange(C)`` (then the
        stacks must have the same number of rows). Only common values are used.

    Returns
    -------
    Rotation
    """
    W_source = np.asarray(W_source, dtype=np.float64)
    W_target = np.asarray(W_target, dtype=np.float64)
    if W_source.shape[1] != W_target.shape[1]:
        raise ConfigError(f"stacks have different widths: {W_source.shape} vs {W_target.shape}")
    if classes_source is None:
        classes_source = np.arange(W_source.shape[0])
    if classes_target is None:
        classes_target = np.arange(W_target.shape[0])
    common, Ws, Wt = _common(classes_source, W_source, classes_target, W_target)
    A, _, _ = standardise_stack(Ws)
    B, _, _ = standardise_stack(Wt)
    R, s = procrustes_rotation(A, B)
    return Rotation(R=R, scale=s, disparity=float(max(0.0, 1.0 - s * s)), classes=common)


def apply_rotation(W_source: np.ndarray, rotation: Rotation, target_mean: np.ndarray,
                   target_norm: float) -> np.ndarray:
    """Paper procedure step 3: ``W_hat = s * standardise(W_source) @ R * target_norm + target_mean``.

    ``W_source`` (C, H) is standardised with its own mean row and norm; the result has the same rows.
    """
    A, _, _ = standardise_stack(W_source)
    return rotation.scale * (A @ rotation.R) * float(target_norm) + np.asarray(target_mean, dtype=np.float64)


def random_orthogonal(H: int, seed=0) -> np.ndarray:
    """A Haar-random (H, H) orthogonal matrix (QR of a Gaussian matrix with the sign fix), seeded."""
    rng = np.random.default_rng(seed)
    Q, Rr = np.linalg.qr(rng.normal(size=(H, H)))
    return Q * np.sign(np.diag(Rr))


def derangement(k: int, seed=0) -> np.ndarray:
    """A random permutation of ``range(k)`` with no fixed point (k >= 2), seeded."""
    k = check_int("k", k, low=2)
    rng = np.random.default_rng(seed)
    while True:
        p = rng.permutation(k)
        if not np.any(p == np.arange(k)):
            return p


def image_partition(image_ids: np.ndarray, strata: np.ndarray | None = None, test_fraction: float = 0.3,
                    seed: int = 0) -> np.ndarray:
    """Held-out image ids: one :func:`~wmnb.analysis.decoding.split_images` partition of every image in
    ``image_ids`` (any shape, e.g. (B, T)), stratified by ``strata`` (same shape, constant per image)."""
    ids = np.asarray(image_ids).ravel()
    st = None if strata is None else np.asarray(strata).ravel()
    _, test = split_images(ids, st, test_fraction, seed)
    return np.unique(ids[test])


def position_split(protocol: str, *, image_ids=None, strata=None, seq_id=None, seq_strata=None,
                   test_fraction: float = 0.3, seed: int = 0):
    """Per-position train/test masks: a function ``masks(i) -> (train (B,), test (B,))``.

    ``protocol="image"``: rows whose image at position i is held out (:func:`image_partition`) are test rows
    of every decoder/map of stimulus i. ``protocol="sequence"``: one sequence split for every position.
    """
    if protocol == "image":
        if image_ids is None:
            raise ConfigError("protocol='image' needs image_ids (B, T): the image shown at each step")
        image_ids = np.asarray(image_ids)
        held = image_partition(image_ids, strata, test_fraction, seed)

        def masks(i):
            te = np.isin(image_ids[:, i], held)
            return ~te, te
        return masks
    tr, te = holdout_split(protocol, seq_id=seq_id, seq_strata=seq_strata, test_fraction=test_fraction, seed=seed)
    return lambda i: (tr, te)


def reconstruct_heldout_rows(W_source: np.ndarray, W_target: np.ndarray, fit_rows: np.ndarray,
                             pred_rows: np.ndarray, *, mode="rotation", seed: int = 0,
                             random_R: np.ndarray | None = None):
    """Predictive decoder-level Procrustes: fit R, s on ``fit_rows`` only and reconstruct ``pred_rows``.

    Both stacks are standardised with the statistics (mean row, Frobenius norm) of the fitting rows; the
    prediction is ``s * ((W_source[pred] - m_s) / n_s) @ R * n_t + m_t``. ``mode``: ``"rotation"`` (the fit),
    ``"permuted"`` (fitted with the target rows of ``fit_rows`` deranged: wrong class correspondence),
    ``"random"`` (a random orthogonal R -- ``random_R`` or drawn from ``seed`` -- with the fitted scale), or a
    tuple of them (then a dict mode -> rows; the rotation fit is shared). Returns (len(pred_rows), H).
    """
    modes = (mode,) if isinstance(mode, str) else tuple(mode)
    for m in modes:
        check_choice("mode", m, ("rotation", "permuted", "random"))
    Ws, Wt = np.asarray(W_source, float), np.asarray(W_target, float)
    fit_rows, pred_rows = np.asarray(fit_rows), np.asarray(pred_rows)
    A, ms, ns = standardise_stack(Ws[fit_rows])
    Bm, mt, nt = standardise_stack(Wt[fit_rows])
    src = (Ws[pred_rows] - ms) / ns
    out = {}
    if "rotation" in modes or "random" in modes:
        R0, scale = procrustes_rotation(A, Bm)
        if "rotation" in modes:
            out["rotation"] = scale * src @ R0 * nt + mt
        if "random" in modes:
            R = random_orthogonal(Ws.shape[1], seed) if random_R is None else np.asarray(random_R)
            out["random"] = scale * src @ R * nt + mt
    if "permuted" in modes:
        Rp, sp = procrustes_rotation(A, Bm[derangement(len(fit_rows), seed)])
        out["permuted"] = sp * src @ Rp * nt + mt
    return out[mode] if isinstance(mode, str) else out


@dataclass
class StateMap:
    """A map between hidden states ``h_j -> h_{j+1}`` (:func:`fit_state_map`).

    ``predict(X) = mean_target + scale * (X - mean_source) @ M``; ``M`` is (H, H) (orthogonal for the rotation
    kinds), ``scale`` a float (1 for ridge, whose M carries the scale).
    """

    kind: str
    M: np.ndarray
    scale: float
    mean_source: np.ndarray
    mean_target: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "none":
            return np.asarray(X, dtype=np.float64)
        return self.mean_target + self.scale * (np.asarray(X, dtype=np.float64) - self.mean_source) @ self.M


RIDGE_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def fit_state_map(X: np.ndarray, Y: np.ndarray, kind: str = "rotation", *, ridge="gcv",
                  seed: int = 0) -> StateMap:
    """Fit a map from states ``X`` (n, H) at step j to ``Y`` (n, H) at step j+1 (paired rows, training data).

    kind
        ``"rotation"``: orthogonal Procrustes on the centred states plus the least-squares common scale
        ``s = trace(S) / ||X_c||^2``; ``"ridge"``: unconstrained linear map with penalty
        ``alpha = ridge * trace(X_c^T X_c) / H``, where ``ridge="gcv"`` (default) picks the relative penalty in
        :data:`RIDGE_GRID` by generalised cross-validation on the training pairs; ``"random"``: a random
        orthogonal M with the rotation's scale; ``"none"``: the identity on raw states (predict ``X`` itself).
    """
    check_choice("kind", kind, ("rotation", "ridge", "random", "none"))
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.shape != Y.shape or X.ndim != 2:
        raise ConfigError(f"X and Y must be paired (n, H) arrays; got {X.shape} and {Y.shape}")
    n, H = X.shape
    mx, my = X.mean(0), Y.mean(0)
    Xc, Yc = X - mx, Y - my
    if kind == "none":
        return StateMap("none", np.eye(H), 1.0, np.zeros(H), np.zeros(H))
    if kind == "ridge":
        U, sv, Vt = np.linalg.svd(Xc, full_matrices=False)
        s2 = sv ** 2
        base = max(float(s2.sum()) / H, 1e-12)
        UtY = U.T @ Yc
        if ridge == "gcv":
            best = None
            for r in RIDGE_GRID:
                f = s2 / (s2 + r * base)
                resid = float(((Yc - U @ (f[:, None] * UtY)) ** 2).sum())
                gcv = resid / max(n - float(f.sum()), 1.0) ** 2
                if best is None or gcv < best[0]:
                    best = (gcv, r)
            r = best[1]
        else:
            r = float(ridge)
        M = Vt.T @ ((sv / (s2 + r * base))[:, None] * UtY)
        m = StateMap("ridge", M, 1.0, mx, my)
        m.ridge = r
        return m
    U, S, Vt = np.linalg.svd(Xc.T @ Yc)
    ss = float((Xc ** 2).sum())
    scale = float(S.sum()) / ss if ss > 0 else 0.0
    M = U @ Vt if kind == "rotation" else random_orthogonal(H, seed)
    return StateMap(kind, M, scale, mx, my)


def _r2(Y_hat, Y, mean_train):
    den = float(((Y - mean_train) ** 2).sum())
    return 1.0 - float(((Y_hat - Y) ** 2).sum()) / den if den > 0 else np.nan


def state_map_test(hidden: np.ndarray, labels: dict, n: np.ndarray, seq_id: np.ndarray, *,
                   image_ids: np.ndarray | None = None, strata: np.ndarray | None = None,
                   protocol: str = "image", feature: np.ndarray | None = None,
                   properties: Sequence[str] = FEATURES, by_feature: bool = True, max_age: int | None = None,
                   test_fraction: float = 0.3, ridge="gcv", seed: int = 0, C: float = 1.0,
                   ci: str = "auto", n_boot: int = 500, decoder_cache: dict | None = None) -> pd.DataFrame:
    """State-level predictive Procrustes test (F6): does a rotation + scale carry ``h_j`` to ``h_{j+1}``?

    For every transition ``(i, j) -> (i, j+1)`` (stimulus i, ``i <= j``, target age ``j + 1 - i <= max_age``,
    default N of the cell), on the training rows of stimulus i: fit the decoder ``D`` of stimulus i's value
    from ``h_{j+1}`` and the maps of :data:`STATE_MAPS` from ``h_j`` to ``h_{j+1}``; on the held-out rows, map
    ``h_j`` and score ``D`` on the mapped state (labels: stimulus i's raw value, the remembered stimulus).

    Maps: ``fitted`` (D on the true ``h_{j+1}``, the ceiling), ``rotation`` (the reconstruction), ``ridge``
    (unconstrained linear map), ``none`` (``h_j`` itself), nulls ``rotation_permuted`` (rotation fitted on
    pairs whose target is the state of another training sequence carrying a permuted (deranged) value of
    stimulus i) and ``rotation_random`` (random orthogonal, same scale).

    Parameters
    ----------
    hidden : (B, T, H); labels : property -> (B, T) raw labels of the shown stimuli; n, seq_id : (B,)
    image_ids : (B, T) image shown at each step (required for ``protocol="image"``)
    strata : (B, T) labels stratifying the image partition (default: the first property's labels)
    ridge : relative ridge penalty of the linear map, or "gcv" (:func:`fit_state_map`).
    decoder_cache : optional dict shared with :func:`swap_test` called on the *same* data and split parameters
        (key ``(property, task_feature, n, i, j)``): decoders fitted by one are reused by the other.

    Returns
    -------
    DataFrame, one row per (property, task_feature, n, stim, step_from, map): ``property, task_feature, n,
    stim, step_from, step_to, age, transition`` ("encoding->memory" | "memory->memory"), ``map``,
    ``accuracy, ci_low, ci_high`` (held-out, Wilson/bootstrap), ``r2`` (held-out R^2 of ``h_{j+1}``; NaN for
    ``fitted``), ``scale``, ``chance`` (1 / number of values), ``n_train, n_test``, ``protocol``.
    """
    from .decoding import PROTOCOL_LABELS

    h = check_hidden(hidden)
    B, T, H = h.shape
    labs = check_labels(labels, B, T, properties)
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    feature = check_b(feature, B, "feature", allow_none=True)
    check_choice("protocol", protocol, ("image", "sequence"))
    strata = labs[properties[0]] if strata is None else np.asarray(strata)
    strat = n.astype(np.int64) + (0 if feature is None else feature.astype(np.int64) * 100)
    masks = position_split(protocol, image_ids=image_ids, strata=strata, seq_id=seq_id, seq_strata=strat,
                           test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng([seed, 7])
    out = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=True):
        amax = nval if max_age is None else max_age
        trans = [(i, j) for i in range(T) for j in range(i, T - 1) if j + 1 - i <= amax]
        for i, j in trans:
            tr_i, te_i = masks(i)
            tr, te = mask & tr_i, mask & te_i
            if tr.sum() < 4 or te.sum() < 2:
                continue
            Xtr, Ytr, Xte, Yte = h[tr, j], h[tr, j + 1], h[te, j], h[te, j + 1]
            for p in properties:
                ytr, yte = labs[p][tr, i], labs[p][te, i]
                vals = np.unique(ytr)
                if vals.size < 2:
                    continue
                key = (p, fname, nval, i, j + 1)
                dec = None if decoder_cache is None else decoder_cache.get(key)
                if dec is None:
                    dec = fit_decoder(Ytr, ytr, C=C, seed=seed)
                    if decoder_cache is not None:
                        decoder_cache[key] = dec
                base = dict(property=p, task_feature=fname, n=nval, stim=i, step_from=j, step_to=j + 1,
                            age=j + 1 - i, transition="encoding->memory" if j == i else "memory->memory",
                            chance=1.0 / np.union1d(vals, np.unique(yte)).size, n_train=int(tr.sum()),
                            n_test=int(te.sum()), protocol=PROTOCOL_LABELS[protocol])
                # permuted-correspondence partners: each training row paired with a random row of value pi(y)
                perm = vals[derangement(vals.size, rng.integers(1 << 31))]
                to = dict(zip(vals, perm))
                partner = np.empty(ytr.size, dtype=np.int64)
                for v in vals:
                    rows_v = np.flatnonzero(ytr == to[v])
                    sel = np.flatnonzero(ytr == v)
                    partner[sel] = rng.choice(rows_v, size=sel.size)
                maps = {"rotation": fit_state_map(Xtr, Ytr, "rotation"),
                        "ridge": fit_state_map(Xtr, Ytr, "ridge", ridge=ridge),
                        "none": fit_state_map(Xtr, Ytr, "none")}
                maps["rotation_permuted"] = fit_state_map(Xtr, Ytr[partner], "rotation")
                rnd = fit_state_map(Xtr, Ytr, "random", seed=int(rng.integers(1 << 31)))
                rnd.scale = maps["rotation"].scale
                maps["rotation_random"] = rnd
                preds = {"fitted": Yte, **{k: m.predict(Xte) for k, m in maps.items()}}
                for k in STATE_MAPS:
                    Yh = preds[k]
                    acc = accuracy_with_ci(dec.predict(Yh) == yte, None, ci=ci, n_boot=n_boot, seed=seed)
                    out.append(dict(base, map=k, accuracy=acc["accuracy"], ci_low=acc["ci_low"],
                                    ci_high=acc["ci_high"],
                                    r2=np.nan if k == "fitted" else _r2(Yh, Yte, Ytr.mean(0)),
                                    scale=maps[k].scale if k in maps else np.nan))
    return pd.DataFrame(out, columns=STATE_COLUMNS)


def state_map_summary(table: pd.DataFrame, by: Sequence[str] = ("property", "task_feature", "n")) -> pd.DataFrame:
    """Mean accuracy and R^2 per map (columns ``<map>`` and ``<map>_r2``), ``chance``, per group of ``by``."""
    by = list(by)
    acc = table.pivot_table(index=by, columns="map", values="accuracy", aggfunc="mean")
    r2 = table[table["map"] != "fitted"].pivot_table(index=by, columns="map", values="r2", aggfunc="mean")
    acc = acc[[k for k in STATE_MAPS if k in acc.columns]]
    r2 = r2[[k for k in STATE_MAPS if k in r2.columns]].add_suffix("_r2")
    out = acc.join(r2)
    out["chance"] = table.groupby(by)["chance"].mean()
    out.columns.name = None
    return out.reset_index()


def decoder_stacks(hidden: np.ndarray, y_by_stim: np.ndarray, rows: np.ndarray, pairs, *, kind: str = "logreg",
                   C: float = 1.0, seed: int = 0) -> dict:
    """Fit decoders ``W(i, j)``: stimulus i's label ``y_by_stim[:, i]`` read from ``hidden[:, j]``.

    Parameters
    ----------
    hidden : (B, T, H); y_by_stim : (B, T) raw labels of the shown stimuli; rows : (B,) bool (training rows);
    pairs : iterable of (i, j).

    Returns
    -------
    dict (i, j) -> LinearDecoder (weights in the standardised coordinates of step j).
    """
    return {(i, j): fit_decoder(hidden[rows, j], y_by_stim[rows, i], kind=kind, C=C, seed=seed)
            for (i, j) in pairs}


def _accuracy(dec_target: LinearDecoder, classes: np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray,
              groups, ci, n_boot, seed):
    Z = dec_target.standardise(X)
    pred = np.asarray(classes)[np.argmax(Z @ W.T, axis=1)]
    return accuracy_with_ci(pred == y, groups, ci=ci, n_boot=n_boot, seed=seed)


def swap_test(hidden: np.ndarray, labels: dict, n: np.ndarray, seq_id: np.ndarray, *,
              feature: np.ndarray | None = None, properties: Sequence[str] = FEATURES, by_feature: bool = True,
              max_age: int | None = None, intervals: Sequence[int] = (-1, 1), shifts: Sequence[int] | None = None,
              image_ids: np.ndarray | None = None, strata: np.ndarray | None = None, protocol: str = "image",
              n_class_splits: int = 2, test_fraction: float = 0.3, seed: int = 0, kind: str = "logreg",
              C: float = 1.0, ci: str = "auto", n_boot: int = 1000, decoder_cache: dict | None = None
              ) -> pd.DataFrame:
    """Fitted, reconstructed, swapped and null decoders for every transition ``(i, j) -> (i, j+1)``.

    Parameters
    ----------
    hidden : (B, T, H) float array
    labels : dict property -> (B, T) raw labels of the shown stimulus.
    n : (B,) int N per sequence (always kept separate); seq_id : (B,) sequence ids.
    feature : (B,) task-feature codes or None; by_feature : separate (default) or pool task features.
    max_age : int or None
        Transitions are used while the target age ``j + 1 - i <= max_age``; default: N of the task cell
        (through the executive step, after which the item is no longer needed).
    intervals : offsets d of the other-interval swap ``R(i, j + d)`` (d != 0).
    shifts : offsets k of the same-age swap ``R(i + k, j + k)``; default all available k != 0.
    image_ids : (B, T) image shown at each step (needed by ``protocol="image"``, the default).
    strata : (B, T) labels stratifying the image partition (default: the first property's labels).
    protocol : ``"image"`` (decoded images never fitted on) or ``"sequence"`` (paper-style).
    n_class_splits : random halvings of the class values for the ``heldout_classes*`` rows (0: none).
    test_fraction : fraction of images (or sequences) held out for scoring.
    kind, C, seed, ci, n_boot : decoder and CI parameters.
    decoder_cache : see :func:`state_map_test` (used with ``kind="logreg"`` only).

    Returns
    -------
    DataFrame
        Long table, one row per (property, task_feature, n, stim, step_from, swap, source): ``property``,
        ``task_feature``, ``n``, ``stim`` (i), ``step_from`` (j), ``step_to`` (j + 1), ``age`` (j + 1 - i),
        ``kind_to`` (step kind of j + 1), ``swap`` (:data:`SWAP_KINDS`, see the module docstring),
        ``source_stim``/``source_step`` (the transition whose rotation was used), ``accuracy``, ``ci_low``,
        ``ci_high``, ``chance`` (1 / number of class values scored among), ``n_test``, ``disparity`` and
        ``scale`` of the rotation used.
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    labs = check_labels(labels, B, T, properties)
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    feature = check_b(feature, B, "feature", allow_none=True)
    check_choice("protocol", protocol, ("image", "sequence"))
    n_class_splits = check_int("n_class_splits", n_class_splits, low=0)
    if max_age is not None:
        max_age = check_int("max_age", max_age, low=1)
    strat = n.astype(np.int64) + (0 if feature is None else feature.astype(np.int64) * 100)
    masks = position_split(protocol, image_ids=image_ids,
                           strata=labs[properties[0]] if strata is None else strata, seq_id=seq_id,
                           seq_strata=strat, test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng([seed, 11])
    out = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=True):
        amax = nval if max_age is None else max_age
        trans = [(i, j) for i in range(T) for j in range(i, T - 1) if j + 1 - i <= amax]
        pairs = sorted({(i, j) for i, j in trans} | {(i, j + 1) for i, j in trans})
        for p in properties:
            y = labs[p]
            decs = {}
            cache = decoder_cache if kind == "logreg" else None
            for (i, j) in pairs:
                tr = mask & masks(i)[0]
                if tr.sum() >= 2:
                    key = (p, fname, nval, i, j)
                    if cache is not None and key in cache:
                        decs[(i, j)] = cache[key]
                        continue
                    decs[(i, j)] = fit_decoder(h[tr, j], y[tr, i], kind=kind, C=C, seed=seed)
                    if cache is not None:
                        cache[key] = decs[(i, j)]
            rots, perms = {}, {}
            for (i, j) in trans:
                ds, dt = decs.get((i, j)), decs.get((i, j + 1))
                if ds is not None and dt is not None and ds.n_classes >= 2 and dt.n_classes >= 2:
                    rots[(i, j)] = fit_rotation(ds.coef, dt.coef, ds.classes, dt.classes)
                    common, Ws, Wt = _common(ds.classes, ds.coef, dt.classes, dt.coef)
                    if common.size >= 2:
                        d = derangement(common.size, int(rng.integers(1 << 31)))
                        perms[(i, j)] = fit_rotation(Ws, Wt[d])
            for (i, j) in trans:
                if (i, j) not in rots:
                    continue
                ds, dt = decs[(i, j)], decs[(i, j + 1)]
                te = mask & masks(i)[1]
                if te.sum() == 0:
                    continue
                X, yt, g = h[te, j + 1], y[te, i], seq_id[te]
                n_vals = np.union1d(np.union1d(ds.classes, dt.classes), np.unique(yt)).size
                _, t_mean, t_norm = standardise_stack(dt.coef)
                base = dict(property=p, task_feature=fname, n=nval, stim=i, step_from=j, step_to=j + 1,
                            age=j + 1 - i, kind_to=step_kind(i, j + 1, nval), chance=1.0 / n_vals)

                def emit(swap, src, classes, W, rot, Xs=X, ys=yt, gs=g, chance=None):
                    s = _accuracy(dt, classes, W, Xs, ys, gs, ci, n_boot, seed)
                    row = dict(base, swap=swap, source_stim=src[0], source_step=src[1],
                               accuracy=s["accuracy"], ci_low=s["ci_low"], ci_high=s["ci_high"],
                               n_test=s["n_test"], disparity=np.nan if rot is None else rot.disparity,
                               scale=np.nan if rot is None else rot.scale)
                    if chance is not None:
                        row["chance"] = chance
                    out.append(row)

                def rotated(r):
                    return apply_rotation(ds.coef, r, t_mean, t_norm)

                emit("fitted", (i, j + 1), dt.classes, dt.coef, None)
                emit("correct", (i, j), ds.classes, rotated(rots[(i, j)]), rots[(i, j)])
                H = ds.coef.shape[1]
                ident = Rotation(np.eye(H), 1.0, np.nan, ds.classes)
                emit("none", (i, j), ds.classes, rotated(ident), None)
                if (i, j) in perms:
                    emit("correct_permuted", (i, j), ds.classes, rotated(perms[(i, j)]), perms[(i, j)])
                rr = rots[(i, j)]
                R_rand = random_orthogonal(H, int(rng.integers(1 << 31)))
                rnd = Rotation(R_rand, rr.scale, np.nan, rr.classes)
                emit("correct_random", (i, j), ds.classes, rotated(rnd), rnd)
                for d in intervals:
                    if d != 0 and (i, j + d) in rots:
                        emit("same_stimulus_other_interval", (i, j + d), ds.classes, rotated(rots[(i, j + d)]),
                             rots[(i, j + d)])
                        if (i, j + d) in perms:
                            emit("same_stimulus_other_interval_permuted", (i, j + d), ds.classes,
                                 rotated(perms[(i, j + d)]), perms[(i, j + d)])
                ks = range(-T, T + 1) if shifts is None else shifts
                for k in ks:
                    if k != 0 and (i + k, j + k) in rots:
                        emit("other_stimulus_same_age", (i + k, j + k), ds.classes, rotated(rots[(i + k, j + k)]),
                             rots[(i + k, j + k)])
                        if (i + k, j + k) in perms:
                            emit("other_stimulus_same_age_permuted", (i + k, j + k), ds.classes,
                                 rotated(perms[(i + k, j + k)]), perms[(i + k, j + k)])
                # predictive decoder-level test: fit on half of the values, reconstruct the other half
                common, Ws, Wt = _common(ds.classes, ds.coef, dt.classes, dt.coef)
                if n_class_splits and common.size >= 4:
                    for _ in range(n_class_splits):
                        order = rng.permutation(common.size)
                        a, b = np.sort(order[: common.size // 2]), np.sort(order[common.size // 2:])
                        sel = np.isin(yt, common[b])
                        if sel.sum() == 0:
                            continue
                        ch = 1.0 / b.size
                        emit("heldout_classes_fitted", (i, j + 1), common[b], Wt[b], None, X[sel], yt[sel],
                             g[sel], ch)
                        rec = reconstruct_heldout_rows(Ws, Wt, a, b, mode=("rotation", "permuted", "random"),
                                                       seed=int(rng.integers(1 << 31)), random_R=R_rand)
                        for mode, name in (("rotation", "heldout_classes"), ("permuted", "heldout_classes_permuted"),
                                           ("random", "heldout_classes_random")):
                            emit(name, (i, j), common[b], rec[mode], None, X[sel], yt[sel], g[sel], ch)
    return pd.DataFrame(out, columns=SWAP_COLUMNS)


def procrustes_reconstruction(swap_table: pd.DataFrame) -> pd.DataFrame:
    """Fitted vs reconstructed decoder accuracy per transition (paper Fig. 4f), from :func:`swap_test`.

    Returns
    -------
    DataFrame
        One row per (property, task_feature, n, stim, step_from, step_to): ``age``, ``kind_to``,
        ``transition`` ("encoding->memory" when step_from == stim, else "memory->memory"),
        ``fitted_accuracy``, ``reconstructed_accuracy`` (swap "correct"), ``no_rotation_accuracy`` (swap
        "none"), ``permuted_accuracy`` / ``random_accuracy`` (the two nulls), ``gap`` (fitted - reconstructed),
        ``disparity``, ``scale``, ``chance``, ``n_test``.
    """
    keys = ["property", "task_feature", "n", "stim", "step_from", "step_to"]
    rows = []
    for key, g in swap_table.groupby(keys, sort=True):
        by = g.set_index("swap")
        if "correct" not in by.index or "fitted" not in by.index:
            continue
        c = by.loc[["correct"]].iloc[0]
        f = by.loc[["fitted"]].iloc[0]
        nr = by.loc[["none"]].iloc[0] if "none" in by.index else None

        def acc_of(k):
            return float(by.loc[[k], "accuracy"].mean()) if k in by.index else np.nan
        row = dict(zip(keys, key))
        row.update(age=int(c["age"]), kind_to=c["kind_to"],
                   transition="encoding->memory" if key[4] == key[3] else "memory->memory",
                   fitted_accuracy=f["accuracy"], reconstructed_accuracy=c["accuracy"],
                   no_rotation_accuracy=np.nan if nr is None else nr["accuracy"],
                   permuted_accuracy=acc_of("correct_permuted"), random_accuracy=acc_of("correct_random"),
                   gap=f["accuracy"] - c["accuracy"], disparity=c["disparity"], scale=c["scale"],
                   chance=c["chance"], n_test=int(c["n_test"]))
        rows.append(row)
    return pd.DataFrame(rows)


def swap_summary(swap_table: pd.DataFrame, by: Sequence[str] = ("property",)) -> pd.DataFrame:
    """Mean accuracy per swap kind (paper Fig. 4g), one row per group of ``by``.

    Returns ``*by`` plus one column per swap kind present (``fitted``, ``correct``, ``none``,
    ``same_stimulus_other_interval``, ``other_stimulus_same_age``), ``chance``, and
    ``same_age_minus_other_interval``.
    """
    by = list(by)
    piv = swap_table.pivot_table(index=by, columns="swap", values="accuracy", aggfunc="mean")
    piv = piv[[k for k in SWAP_KINDS if k in piv.columns]]
    main = swap_table[~swap_table["swap"].astype(str).str.startswith("heldout_classes")]
    piv["chance"] = (main if len(main) else swap_table).groupby(by)["chance"].mean()
    if (swap_table["swap"].astype(str) == "heldout_classes").any():
        piv["heldout_classes_chance"] = swap_table[swap_table["swap"] == "heldout_classes"].groupby(by)["chance"].mean()
    if {"other_stimulus_same_age", "same_stimulus_other_interval"} <= set(piv.columns):
        piv["same_age_minus_other_interval"] = piv["other_stimulus_same_age"] - piv["same_stimulus_other_interval"]
    piv.columns.name = None
    return piv.reset_index()
