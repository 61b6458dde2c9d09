"""Task-relevant and task-irrelevant information at the encoding step (finding F1, paper Fig. 2b).

For every task context (task feature F, and N unless pooled) and every object property P (location,
identity, category) a linear decoder reads P of the stimulus shown at ``step`` (t = 0 by default, the first
stimulus's encoding step) from the hidden state at that step. P is *task-relevant* when P == F.

Differences from the public re-implementation (reference section 5.2 / 7.3): one sequence-level split shared
by all cells (stratified by task cell, seeded), multinomial logistic decoders on train-only standardisation,
classes keyed by raw value, N kept separate by default, chance and a CI next to every accuracy.

Expected (paper, F1): multi-task (MTMF) models decode irrelevant properties well (> 85 %); single-task
models much less so.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ._checks import check_b, check_hidden, check_labels, check_step
from .decoding import FEATURES, fit_decoder, score, split_sequences, task_groups

__all__ = ["task_relevance", "relevance_summary"]

COLUMNS = ["task_feature", "n", "property", "relevant", "step", "accuracy", "ci_low", "ci_high", "chance",
           "chance_majority", "n_classes", "n_train", "n_test", "n_unseen", "train_accuracy"]


def task_relevance(hidden: np.ndarray, labels: dict, feature: np.ndarray, n: np.ndarray, seq_id: np.ndarray,
                   *, step: int = 0, properties: Sequence[str] = FEATURES, by_n: bool = True,
                   test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg", C: float = 1.0,
                   ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """Decode every property from every task context at one step, on held-out sequences.

    Parameters
    ----------
    hidden : (B, T, H) float array
        Hidden states (or any representation with the same layout, e.g. ``Recording.embedding``).
    labels : dict property -> (B, T) int array
        Raw labels of the stimulus **shown** at each step (``Recording.labels``).
    feature : (B,) int array
        Task feature code per sequence (index into ``FEATURES``).
    n : (B,) int array
        N of the N-back task per sequence.
    seq_id : (B,) array
        Sequence ids; the train/test split is by sequence, stratified by task cell.
    step : int
        Time step decoded (0 = encoding step of the first stimulus). The label is the property of the
        stimulus shown at that step.
    properties : sequence of str
        Properties to decode (subset of ``FEATURES``).
    by_n : bool
        Keep N separate (default) or pool N within each task feature (then ``n == 0`` in the table).
    test_fraction, seed : split parameters (see :func:`~wmnb.analysis.decoding.split_sequences`).
    kind, C : decoder parameters (see :func:`~wmnb.analysis.decoding.fit_decoder`).
    ci, n_boot : confidence-interval method (see :func:`~wmnb.analysis.decoding.score`).

    Returns
    -------
    DataFrame
        One row per (task_feature, n, property), columns ``task_feature`` (str), ``n`` (int, 0 = pooled),
        ``property`` (str), ``relevant`` (bool, property == task_feature), ``step``, ``accuracy``,
        ``ci_low``, ``ci_high``, ``chance`` (1 / n_classes), ``chance_majority``, ``n_classes``,
        ``n_train``, ``n_test`` (held-out sequences), ``n_unseen`` (test labels never seen in training,
        scored wrong), ``train_accuracy`` (diagnostic only).
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    step = check_step(step, T)
    labs = check_labels(labels, B, T, properties)
    feature = check_b(feature, B, "feature")
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    cell = feature.astype(np.int64) * 100 + n.astype(np.int64)
    train, test = split_sequences(seq_id, test_fraction, seed, stratify=cell)
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=True, by_n=by_n):
        tr, te = mask & train, mask & test
        if tr.sum() == 0 or te.sum() == 0:
            continue
        X_tr, X_te = h[tr, step], h[te, step]
        for p in properties:
            y = labs[p][:, step]
            dec = fit_decoder(X_tr, y[tr], kind=kind, C=C, seed=seed)
            s = score(dec, X_te, y[te], groups=seq_id[te], ci=ci, n_boot=n_boot, seed=seed)
            rows.append(dict(task_feature=fname, n=nval, property=p, relevant=(p == fname), step=step,
                             accuracy=s["accuracy"], ci_low=s["ci_low"], ci_high=s["ci_high"],
                             chance=s["chance"], chance_majority=s["chance_majority"],
                             n_classes=s["n_classes"], n_train=int(tr.sum()), n_test=s["n_test"],
                             n_unseen=s["n_unseen"], train_accuracy=dec.train_accuracy))
    return pd.DataFrame(rows, columns=COLUMNS)


def relevance_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Relevant vs irrelevant decoding per task cell.

    Parameters
    ----------
    table : DataFrame from :func:`task_relevance`.

    Returns
    -------
    DataFrame
        One row per (task_feature, n): ``relevant_accuracy``, ``irrelevant_mean`` and ``irrelevant_min``
        (over the task-irrelevant properties), ``irrelevant_above_chance_mean`` (mean of accuracy - chance).
    """
    rows = []
    for (f, nv), g in table.groupby(["task_feature", "n"], sort=True):
        rel = g[g["relevant"]]
        irr = g[~g["relevant"]]
        rows.append(dict(task_feature=f, n=nv,
                         relevant_accuracy=float(rel["accuracy"].mean()) if len(rel) else np.nan,
                         irrelevant_mean=float(irr["accuracy"].mean()) if len(irr) else np.nan,
                         irrelevant_min=float(irr["accuracy"].min()) if len(irr) else np.nan,
                         irrelevant_above_chance_mean=float((irr["accuracy"] - irr["chance"]).mean())
                         if len(irr) else np.nan))
    return pd.DataFrame(rows, columns=["task_feature", "n", "relevant_accuracy", "irrelevant_mean",
                                       "irrelevant_min", "irrelevant_above_chance_mean"])
