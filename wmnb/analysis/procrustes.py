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
   ``A^T B = U S V^T``; identical to :func:`scipy.linalg.orthogonal_procrustes`), with the common scale
   ``s = trace(S)`` (optimal for unit-norm A).
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
Paper (F7): other-stimulus/same-age swaps stay high, same-stimulus/other-interval swaps fall.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_int
from ._checks import check_b, check_hidden, check_labels
from .decoding import FEATURES, LinearDecoder, fit_decoder, split_sequences, task_groups
from .dynamics import step_kind
from .stats import accuracy_with_ci

__all__ = ["standardise_stack", "Rotation", "fit_rotation", "apply_rotation", "decoder_stacks", "swap_test",
           "procrustes_reconstruction", "swap_summary"]

SWAP_KINDS = ("fitted", "correct", "none", "same_stimulus_other_interval", "other_stimulus_same_age")
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


@dataclass
class Rotation:
    """Result of :func:`fit_rotation`.

    Attributes
    ----------
    R : (H, H) orthogonal matrix, applied on the right (``A @ R``).
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
    U, S, Vt = np.linalg.svd(A.T @ B)
    R = U @ Vt
    s = float(S.sum())
    return Rotation(R=R, scale=s, disparity=float(max(0.0, 1.0 - s * s)), classes=common)


def apply_rotation(W_source: np.ndarray, rotation: Rotation, target_mean: np.ndarray,
                   target_norm: float) -> np.ndarray:
    """Paper procedure step 3: ``W_hat = s * standardise(W_source) @ R * target_norm + target_mean``.

    ``W_source`` (C, H) is standardised with its own mean row and norm; the result has the same rows.
    """
    A, _, _ = standardise_stack(W_source)
    return rotation.scale * (A @ rotation.R) * float(target_norm) + np.asarray(target_mean, dtype=np.float64)


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
              test_fraction: float = 0.3, seed: int = 0, kind: str = "logreg", C: float = 1.0, ci: str = "auto",
              n_boot: int = 1000) -> pd.DataFrame:
    """Fitted, reconstructed and swapped decoders for every transition ``(i, j) -> (i, j+1)``.

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
    test_fraction : fraction of sequences held out for scoring (decoders and rotations use the rest).
    kind, C, seed, ci, n_boot : decoder and CI parameters.

    Returns
    -------
    DataFrame
        Long table, one row per (property, task_feature, n, stim, step_from, swap, source): ``property``,
        ``task_feature``, ``n``, ``stim`` (i), ``step_from`` (j), ``step_to`` (j + 1), ``age`` (j + 1 - i),
        ``kind_to`` (step kind of j + 1), ``swap`` (see module docstring), ``source_stim``/``source_step``
        (the transition whose rotation was used), ``accuracy``, ``ci_low``, ``ci_high``, ``chance``
        (1 / number of class values), ``n_test``, ``disparity`` and ``scale`` of the rotation used.
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    labs = check_labels(labels, B, T, properties)
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    feature = check_b(feature, B, "feature", allow_none=True)
    if max_age is not None:
        max_age = check_int("max_age", max_age, low=1)
    strat = n.astype(np.int64) + (0 if feature is None else feature.astype(np.int64) * 100)
    train, test = split_sequences(seq_id, test_fraction, seed, stratify=strat)
    out = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=True):
        tr, te = mask & train, mask & test
        if tr.sum() == 0 or te.sum() == 0:
            continue
        amax = nval if max_age is None else max_age
        trans = [(i, j) for i in range(T) for j in range(i, T - 1) if j + 1 - i <= amax]
        pairs = sorted({(i, j) for i, j in trans} | {(i, j + 1) for i, j in trans})
        for p in properties:
            y = labs[p]
            decs = decoder_stacks(h, y, tr, pairs, kind=kind, C=C, seed=seed)
            rots = {}
            for (i, j) in trans:
                ds, dt = decs[(i, j)], decs[(i, j + 1)]
                if ds.n_classes >= 2 and dt.n_classes >= 2:
                    rots[(i, j)] = fit_rotation(ds.coef, dt.coef, ds.classes, dt.classes)
            for (i, j) in trans:
                ds, dt = decs[(i, j)], decs[(i, j + 1)]
                if (i, j) not in rots:
                    continue
                X, yt, g = h[te, j + 1], y[te, i], seq_id[te]
                n_vals = np.union1d(np.union1d(ds.classes, dt.classes), np.unique(yt)).size
                _, t_mean, t_norm = standardise_stack(dt.coef)
                base = dict(property=p, task_feature=fname, n=nval, stim=i, step_from=j, step_to=j + 1,
                            age=j + 1 - i, kind_to=step_kind(i, j + 1, nval), chance=1.0 / n_vals)

                def emit(swap, src, classes, W, rot):
                    s = _accuracy(dt, classes, W, X, yt, g, ci, n_boot, seed)
                    out.append(dict(base, swap=swap, source_stim=src[0], source_step=src[1],
                                    accuracy=s["accuracy"], ci_low=s["ci_low"], ci_high=s["ci_high"],
                                    n_test=s["n_test"], disparity=np.nan if rot is None else rot.disparity,
                                    scale=np.nan if rot is None else rot.scale))

                emit("fitted", (i, j + 1), dt.classes, dt.coef, None)
                emit("correct", (i, j), ds.classes, apply_rotation(ds.coef, rots[(i, j)], t_mean, t_norm),
                     rots[(i, j)])
                H = ds.coef.shape[1]
                ident = Rotation(np.eye(H), 1.0, np.nan, ds.classes)
                emit("none", (i, j), ds.classes, apply_rotation(ds.coef, ident, t_mean, t_norm), None)
                for d in intervals:
                    if d != 0 and (i, j + d) in rots:
                        r = rots[(i, j + d)]
                        emit("same_stimulus_other_interval", (i, j + d), ds.classes,
                             apply_rotation(ds.coef, r, t_mean, t_norm), r)
                ks = range(-T, T + 1) if shifts is None else shifts
                for k in ks:
                    if k != 0 and (i + k, j + k) in rots:
                        r = rots[(i + k, j + k)]
                        emit("other_stimulus_same_age", (i + k, j + k), ds.classes,
                             apply_rotation(ds.coef, r, t_mean, t_norm), r)
    return pd.DataFrame(out, columns=SWAP_COLUMNS)


def procrustes_reconstruction(swap_table: pd.DataFrame) -> pd.DataFrame:
    """Fitted vs reconstructed decoder accuracy per transition (paper Fig. 4f), from :func:`swap_test`.

    Returns
    -------
    DataFrame
        One row per (property, task_feature, n, stim, step_from, step_to): ``age``, ``kind_to``,
        ``transition`` ("encoding->memory" when step_from == stim, else "memory->memory"),
        ``fitted_accuracy``, ``reconstructed_accuracy`` (swap "correct"), ``no_rotation_accuracy`` (swap
        "none"), ``gap`` (fitted - reconstructed), ``disparity``, ``scale``, ``chance``, ``n_test``.
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
        row = dict(zip(keys, key))
        row.update(age=int(c["age"]), kind_to=c["kind_to"],
                   transition="encoding->memory" if key[4] == key[3] else "memory->memory",
                   fitted_accuracy=f["accuracy"], reconstructed_accuracy=c["accuracy"],
                   no_rotation_accuracy=np.nan if nr is None else nr["accuracy"],
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
    piv["chance"] = swap_table.groupby(by)["chance"].mean()
    if {"other_stimulus_same_age", "same_stimulus_other_interval"} <= set(piv.columns):
        piv["same_age_minus_other_interval"] = piv["other_stimulus_same_age"] - piv["same_stimulus_other_interval"]
    piv.columns.name = None
    return piv.reset_index()
