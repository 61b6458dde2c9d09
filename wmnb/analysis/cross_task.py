"""Shared vs task-specific subspaces: cross-task decoder generalisation (finding F2, paper Fig. 2a, 2c).

A decoder ``D_{N,F}`` for property P is fit on the training sequences of task (N, F) at ``step`` (t = 0 by
default) and scored on the held-out sequences of every task (N', F'), including its own (the diagonal =
within-task validation). The same sequence split is used for every task, so no test sequence was ever seen
by any decoder. With N kept separate (default) each property gives a 9 x 9 matrix (3 x 3 with N pooled).

Paper finding (F2): vanilla RNNs generalise across tasks (shared subspaces), GRU/LSTM do not
(task-specific subspaces). Fig. 2c compares *validation* (same task) with *generalisation* (a task with a
different task-relevant feature), which :func:`cross_task_summary` reports.

Labels are raw values: a class unseen by a decoder is scored wrong (the public re-implementation dropped
them, which inflates generalisation).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ._checks import check_b, check_hidden, check_labels, check_step
from .decoding import FEATURES, fit_decoder, score, split_sequences, task_groups

__all__ = ["cross_task", "cross_task_matrix", "cross_task_summary", "task_label"]

COLUMNS = ["property", "train_feature", "train_n", "test_feature", "test_n", "same_task", "same_feature",
           "step", "accuracy", "ci_low", "ci_high", "chance", "n_classes", "n_train", "n_test", "n_unseen"]


def task_label(feature: str, n: int) -> str:
    """Readable task name: ``"2-back location"`` (or ``"location"`` when N is pooled, ``n == 0``)."""
    return f"{int(n)}-back {feature}" if int(n) > 0 else str(feature)


def cross_task(hidden: np.ndarray, labels: dict, feature: np.ndarray, n: np.ndarray, seq_id: np.ndarray, *,
               step: int = 0, properties: Sequence[str] = FEATURES, by_n: bool = True,
               test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg", C: float = 1.0,
               ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """Fit one decoder per (task, property) and score it on every task's held-out sequences.

    Parameters
    ----------
    hidden : (B, T, H) float array
    labels : dict property -> (B, T) raw labels of the shown stimulus
    feature : (B,) int task-feature codes; n : (B,) int N; seq_id : (B,) sequence ids
    step : int
        Step at which train and test states/labels are taken.
    properties : properties to decode.
    by_n : bool
        Tasks are (feature, N) pairs (default, the paper's ``D_{k,F}``) or features with N pooled.
    test_fraction, seed, kind, C, ci, n_boot : as in :func:`~wmnb.analysis.task_relevance.task_relevance`.

    Returns
    -------
    DataFrame
        One row per (property, train task, test task): ``property``, ``train_feature``, ``train_n``,
        ``test_feature``, ``test_n`` (0 = pooled), ``same_task``, ``same_feature``, ``step``, ``accuracy``,
        ``ci_low``, ``ci_high``, ``chance``, ``n_classes``, ``n_train``, ``n_test``, ``n_unseen``.
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    step = check_step(step, T)
    labs = check_labels(labels, B, T, properties)
    feature = check_b(feature, B, "feature")
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    train, test = split_sequences(seq_id, test_fraction, seed,
                                  stratify=feature.astype(np.int64) * 100 + n.astype(np.int64))
    tasks = list(task_groups(B, feature, n, by_feature=True, by_n=by_n))
    rows = []
    for p in properties:
        y = labs[p][:, step]
        for fa, na, ma in tasks:
            tr = ma & train
            if tr.sum() == 0:
                continue
            dec = fit_decoder(h[tr, step], y[tr], kind=kind, C=C, seed=seed)
            for fb, nb, mb in tasks:
                te = mb & test
                if te.sum() == 0:
                    continue
                s = score(dec, h[te, step], y[te], groups=seq_id[te], ci=ci, n_boot=n_boot, seed=seed)
                rows.append(dict(property=p, train_feature=fa, train_n=na, test_feature=fb, test_n=nb,
                                 same_task=(fa == fb and na == nb), same_feature=(fa == fb), step=step,
                                 accuracy=s["accuracy"], ci_low=s["ci_low"], ci_high=s["ci_high"],
                                 chance=s["chance"], n_classes=s["n_classes"], n_train=int(tr.sum()),
                                 n_test=s["n_test"], n_unseen=s["n_unseen"]))
    return pd.DataFrame(rows, columns=COLUMNS)


def cross_task_matrix(table: pd.DataFrame, property: str, value: str = "accuracy") -> pd.DataFrame:
    """Train-task x test-task matrix of one property (rows = train task, columns = test task).

    Tasks are ordered by feature (``FEATURES`` order) then N and named by :func:`task_label`.
    """
    t = table[table["property"] == property]
    if t.empty:
        raise ValueError(f"no rows for property {property!r}; have {sorted(table['property'].unique())}")

    def order(f, nv):
        return (FEATURES.index(f) if f in FEATURES else len(FEATURES), int(nv))

    keys = sorted({(f, nv) for f, nv in zip(t["train_feature"], t["train_n"])}
                  | {(f, nv) for f, nv in zip(t["test_feature"], t["test_n"])}, key=lambda k: order(*k))
    names = [task_label(*k) for k in keys]
    m = pd.DataFrame(np.nan, index=pd.Index(names, name="train task"), columns=pd.Index(names, name="test task"))
    for r in t.itertuples(index=False):
        m.loc[task_label(r.train_feature, r.train_n), task_label(r.test_feature, r.test_n)] = getattr(r, value)
    return m


def cross_task_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Validation (within task) vs generalisation (across tasks) per property, as in paper Fig. 2c.

    Returns
    -------
    DataFrame
        One row per property: ``validation`` (mean of the diagonal), ``generalisation`` (mean over
        (train, test) pairs whose task features differ), ``same_feature_other_n`` (same feature, other N;
        NaN when N is pooled), ``chance`` (mean), ``generalisation_index`` =
        (generalisation - chance) / (validation - chance): 1 = fully shared subspace, 0 = no transfer.
    """
    rows = []
    for p, g in table.groupby("property", sort=False):
        val = g.loc[g["same_task"], "accuracy"].mean()
        gen = g.loc[~g["same_feature"], "accuracy"].mean()
        sf = g.loc[g["same_feature"] & ~g["same_task"], "accuracy"]
        ch = g["chance"].mean()
        denom = val - ch
        rows.append(dict(property=p, validation=float(val), generalisation=float(gen),
                         same_feature_other_n=float(sf.mean()) if len(sf) else np.nan, chance=float(ch),
                         generalisation_index=float((gen - ch) / denom) if denom > 0 else np.nan))
    return pd.DataFrame(rows, columns=["property", "validation", "generalisation", "same_feature_other_n",
                                       "chance", "generalisation_index"])
