"""Memory dynamics: slots or chronological subspaces? (findings F4, F5; paper Fig. 4b-d).

Notation (paper): ``E(i,i)`` = representation of stimulus i at its own encoding step i; ``M(i,j)`` =
representation of the *same* stimulus i at a later step j > i. All labels here are the property of the
**remembered** stimulus i evaluated at step j, i.e. ``labels[:, i]`` paired with ``hidden[:, j]`` (the public
re-implementation paired ``hidden[:, j]`` with the stimulus *shown* at j, which tests something else).

Step kinds for stimulus i at step j (N = the task's N; N is always kept separate):

* ``"encoding"``  j == i            (held-out validation of the E(i,i) decoder)
* ``"memory"``    i < j < i + N     (stimulus held, not yet compared)
* ``"executive"`` j == i + N        (stimulus i is compared with the stimulus shown at j)
* ``"after"``     j > i + N         (stimulus no longer needed)

"Non-executive" below = ``memory`` and ``after`` steps.

Analyses
--------
:func:`cross_time_decoding`
    Decoder fit on E(i,i) (training sequences) and scored on M(i,j), j >= i (held-out sequences) (Fig. 4b/c).
    Paper: accuracy drops at non-executive steps and partly recovers at executive steps (H1, a stable slot,
    rejected).
:func:`encoding_transfer`
    Decoder fit on E(i,i) scored on E(j,j) for every stimulus position j (Fig. 4d). Paper: generalisation
    ~ validation, i.e. encoding subspaces are shared across positions.
:func:`hypothesis_verdicts`
    One table of verdicts on H1 (slot), H2 (relative-chronological, shared across stimuli) and H3
    (stimulus-specific), from the two tables above and optionally the Procrustes swap test.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import check_float
from ._checks import check_b, check_hidden, check_labels
from .decoding import FEATURES, fit_decoder, score, split_sequences, task_groups

__all__ = ["step_kind", "cross_time_decoding", "executive_summary", "encoding_transfer", "transfer_summary",
           "hypothesis_verdicts"]

CROSS_TIME_COLUMNS = ["property", "task_feature", "n", "stim", "step", "age", "kind", "executive", "accuracy",
                      "ci_low", "ci_high", "chance", "n_classes", "n_train", "n_test", "n_unseen"]
TRANSFER_COLUMNS = ["property", "task_feature", "n", "train_stim", "test_stim", "same", "accuracy", "ci_low",
                    "ci_high", "chance", "n_classes", "n_train", "n_test", "n_unseen"]


def step_kind(i: int, j: int, n: int) -> str:
    """Kind of step j for stimulus i in an N-back task: encoding / memory / executive / after."""
    if j == i:
        return "encoding"
    if j < i:
        return "before"
    if j < i + n:
        return "memory"
    if j == i + n:
        return "executive"
    return "after"


def _setup(hidden, labels, n, seq_id, feature, properties, test_fraction, seed):
    h = check_hidden(hidden)
    B, T, _ = h.shape
    labs = check_labels(labels, B, T, properties)
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    feature = check_b(feature, B, "feature", allow_none=True)
    strat = n.astype(np.int64) + (0 if feature is None else feature.astype(np.int64) * 100)
    train, test = split_sequences(seq_id, test_fraction, seed, stratify=strat)
    return h, labs, n, seq_id, feature, train, test


def cross_time_decoding(hidden: np.ndarray, labels: dict, n: np.ndarray, seq_id: np.ndarray, *,
                        feature: np.ndarray | None = None, properties: Sequence[str] = FEATURES,
                        positions: Sequence[int] | None = None, by_feature: bool = True,
                        test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg", C: float = 1.0,
                        ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """E(i,i) -> M(i,j) decoding with remembered-stimulus labels, on held-out sequences.

    Parameters
    ----------
    hidden : (B, T, H) float array
    labels : dict property -> (B, T) raw labels of the shown stimulus (stimulus i's label = ``labels[p][:, i]``).
    n : (B,) int
        N per sequence; results are always per N (the executive step depends on it).
    seq_id : (B,) sequence ids (split by sequence, stratified by task cell).
    feature : (B,) int task-feature codes or None.
    properties : properties decoded.
    positions : stimulus positions i (default all 0..T-1).
    by_feature : bool
        Separate task features (default) or pool them (``task_feature == "all"``).
    test_fraction, seed, kind, C, ci, n_boot : see :mod:`wmnb.analysis.decoding`.

    Returns
    -------
    DataFrame
        One row per (property, task_feature, n, stim i, step j >= i): ``property``, ``task_feature``, ``n``,
        ``stim`` (i), ``step`` (j), ``age`` (j - i), ``kind`` (see module docstring), ``executive``
        (j == i + N), ``accuracy``, ``ci_low``, ``ci_high``, ``chance``, ``n_classes``, ``n_train``,
        ``n_test``, ``n_unseen``.
    """
    h, labs, n, seq_id, feature, train, test = _setup(hidden, labels, n, seq_id, feature, properties,
                                                      test_fraction, seed)
    B, T, _ = h.shape
    positions = range(T) if positions is None else [int(i) for i in positions]
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=True):
        tr, te = mask & train, mask & test
        if tr.sum() == 0 or te.sum() == 0:
            continue
        for p in properties:
            for i in positions:
                y = labs[p][:, i]
                dec = fit_decoder(h[tr, i], y[tr], kind=kind, C=C, seed=seed)
                for j in range(i, T):
                    s = score(dec, h[te, j], y[te], groups=seq_id[te], ci=ci, n_boot=n_boot, seed=seed)
                    k = step_kind(i, j, nval)
                    rows.append(dict(property=p, task_feature=fname, n=nval, stim=i, step=j, age=j - i, kind=k,
                                     executive=(k == "executive"), accuracy=s["accuracy"], ci_low=s["ci_low"],
                                     ci_high=s["ci_high"], chance=s["chance"], n_classes=s["n_classes"],
                                     n_train=int(tr.sum()), n_test=s["n_test"], n_unseen=s["n_unseen"]))
    return pd.DataFrame(rows, columns=CROSS_TIME_COLUMNS)


def executive_summary(table: pd.DataFrame, by: Sequence[str] = ("property", "task_feature", "n")) -> pd.DataFrame:
    """Validation vs executive vs non-executive accuracy (paper Fig. 4c), from :func:`cross_time_decoding`.

    Returns
    -------
    DataFrame
        One row per group of ``by``: ``validation`` (kind "encoding"), ``executive``, ``non_executive``
        (memory + after), ``memory``, ``after`` (means over (i, j) cells; NaN where a kind has no cells),
        ``executive_minus_non_executive``, ``chance``, ``n_cells``.
    """
    by = list(by)
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        m = {k: g.loc[g["kind"] == k, "accuracy"].mean() for k in ("encoding", "executive", "memory", "after")}
        ne = g.loc[g["kind"].isin(["memory", "after"]), "accuracy"].mean()
        row = dict(zip(by, key))
        row.update(validation=m["encoding"], executive=m["executive"], non_executive=ne, memory=m["memory"],
                   after=m["after"], executive_minus_non_executive=m["executive"] - ne,
                   chance=g["chance"].mean(), n_cells=len(g))
        rows.append(row)
    return pd.DataFrame(rows)


def encoding_transfer(hidden: np.ndarray, labels: dict, n: np.ndarray, seq_id: np.ndarray, *,
                      feature: np.ndarray | None = None, properties: Sequence[str] = FEATURES,
                      by_feature: bool = True, by_n: bool = True, test_fraction: float = 0.2, seed: int = 0,
                      kind: str = "logreg", C: float = 1.0, ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """E(i,i) -> E(j,j): a decoder fit at stimulus i's encoding step, scored at stimulus j's encoding step.

    Train: ``hidden[train, i]`` with ``labels[p][train, i]``; test: ``hidden[test, j]`` with
    ``labels[p][test, j]`` (stimulus j's own property). ``i == j`` is within-position validation.

    Returns
    -------
    DataFrame
        One row per (property, task_feature, n, train_stim, test_stim): ``same`` (i == j), ``accuracy``,
        ``ci_low``, ``ci_high``, ``chance``, ``n_classes``, ``n_train``, ``n_test``, ``n_unseen``.
    """
    h, labs, n, seq_id, feature, train, test = _setup(hidden, labels, n, seq_id, feature, properties,
                                                      test_fraction, seed)
    B, T, _ = h.shape
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=by_n):
        tr, te = mask & train, mask & test
        if tr.sum() == 0 or te.sum() == 0:
            continue
        for p in properties:
            for i in range(T):
                dec = fit_decoder(h[tr, i], labs[p][tr, i], kind=kind, C=C, seed=seed)
                for j in range(T):
                    s = score(dec, h[te, j], labs[p][te, j], groups=seq_id[te], ci=ci, n_boot=n_boot, seed=seed)
                    rows.append(dict(property=p, task_feature=fname, n=nval, train_stim=i, test_stim=j,
                                     same=(i == j), accuracy=s["accuracy"], ci_low=s["ci_low"],
                                     ci_high=s["ci_high"], chance=s["chance"], n_classes=s["n_classes"],
                                     n_train=int(tr.sum()), n_test=s["n_test"], n_unseen=s["n_unseen"]))
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def transfer_summary(table: pd.DataFrame, by: Sequence[str] = ("property", "task_feature", "n")) -> pd.DataFrame:
    """Validation (i == j) vs generalisation (i != j) from :func:`encoding_transfer` (paper Fig. 4d).

    Returns ``*by, validation, generalisation, gap`` (validation - generalisation), ``chance``.
    """
    by = list(by)
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        val = g.loc[g["same"], "accuracy"].mean()
        gen = g.loc[~g["same"], "accuracy"].mean()
        row = dict(zip(by, key))
        row.update(validation=val, generalisation=gen, gap=val - gen, chance=g["chance"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def hypothesis_verdicts(cross_time: pd.DataFrame, transfer: pd.DataFrame | None = None,
                        swap: pd.DataFrame | None = None, *, margin: float = 0.1) -> pd.DataFrame:
    """Verdicts on H1 (slot), H2 (relative-chronological) and H3 (stimulus-specific), per property.

    Parameters
    ----------
    cross_time : DataFrame from :func:`cross_time_decoding`.
    transfer : DataFrame from :func:`encoding_transfer` or None.
    swap : DataFrame from :func:`wmnb.analysis.procrustes.swap_test` or None.
    margin : float
        Accuracy difference (absolute) below which two accuracies count as "about equal".

    Tests (means over task cells and (i, j) cells)
    ---------------------------------------------
    ``H1 slot``            non-executive memory accuracy >= validation - margin -> "supported", else "rejected".
    ``F4 executive realignment`` executive - non-executive > 0 and above margin/2 -> "present", else "absent".
    ``F5 shared encoding`` E(i,i)->E(j,j) generalisation >= validation - margin -> "shared (H2 or H1)",
                           else "position-specific (H3)".
    ``H2 vs H3 swap``      same-age swap (other stimulus) vs other-interval swap (same stimulus):
                           same_age - other_interval > margin and same_age >= correct - margin ->
                           "H2 supported"; same_age < correct - margin -> "H3 supported"; else "undecided".

    Returns
    -------
    DataFrame
        Columns ``test, hypothesis, property, value, reference, difference, margin, verdict, value_name,
        reference_name``.
    """
    margin = check_float("margin", margin, low=0.0)
    rows = []

    def add(test, hyp, prop, value, ref, verdict, vname, rname):
        rows.append(dict(test=test, hypothesis=hyp, property=prop, value=value, reference=ref,
                         difference=value - ref, margin=margin, verdict=verdict, value_name=vname,
                         reference_name=rname))

    es = executive_summary(cross_time, by=["property"])
    for r in es.itertuples(index=False):
        add("H1 slot", "H1", r.property, r.non_executive, r.validation,
            "supported" if r.non_executive >= r.validation - margin else "rejected",
            "non-executive accuracy", "encoding validation")
        d = r.executive - r.non_executive
        add("F4 executive realignment", "H1", r.property, r.executive, r.non_executive,
            "present" if d > margin / 2 else "absent", "executive accuracy", "non-executive accuracy")
    if transfer is not None:
        ts = transfer_summary(transfer, by=["property"])
        for r in ts.itertuples(index=False):
            add("F5 shared encoding", "H2/H3", r.property, r.generalisation, r.validation,
                "shared (H2 or H1)" if r.generalisation >= r.validation - margin else "position-specific (H3)",
                "E(i,i)->E(j,j) generalisation", "E(i,i) validation")
    if swap is not None:
        for p, g in swap.groupby("property", sort=True):
            acc = g.groupby("swap")["accuracy"].mean()
            corr = acc.get("correct", np.nan)
            same_age = acc.get("other_stimulus_same_age", np.nan)
            other_int = acc.get("same_stimulus_other_interval", np.nan)
            if same_age - other_int > margin and same_age >= corr - margin:
                v = "H2 supported"
            elif same_age < corr - margin:
                v = "H3 supported"
            else:
                v = "undecided"
            add("H2 vs H3 swap", "H2/H3", p, same_age, other_int, v,
                "same-age swap accuracy", "other-interval swap accuracy")
    return pd.DataFrame(rows, columns=["test", "hypothesis", "property", "value", "reference", "difference",
                                       "margin", "verdict", "value_name", "reference_name"])
