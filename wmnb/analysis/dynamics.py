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

Held-out protocol
-----------------
Every decoder goes through :func:`wmnb.analysis.decoding.holdout_split`. ``protocol="image"`` (primary): the
decoder fit at stimulus i's encoding step is fit only on sequences whose stimulus i is a *training image* and
scored only on sequences whose stimulus i (the remembered one, at every later step) is an image never used
in fitting; the image partition is stratified by the decoded property. ``protocol="sequence"`` is the
paper-style split by sequence id (images may repeat), kept as a labelled secondary number. Without image ids
(``stimuli=None``, planted data) every (sequence, step) counts as its own image.

Two confounds the tests below are built to remove
-------------------------------------------------
* **Decay vs realignment (F4).** Executive steps of stimulus i in an N-back task sit at memory age N, the
  oldest age a memory reaches before use; "executive > non-executive" mixes ages. :func:`equal_age_summary`
  compares at **equal age** a: the executive step of an N = a task against the memory step at age a of an
  N > a task (a = 1: N = 1 vs N = 2, 3; a = 2: N = 2 vs N = 3).
* **Match trials (F4).** At an executive step the shown stimulus has the *same* task-relevant value as the
  remembered one on match trials (half of them): a decoder that only reads the *shown* stimulus scores well
  there. ``accuracy_excl_shown`` scores only rows whose shown stimulus at step j differs from the remembered one
  in the decoded property, with the shown value's class excluded from the decision, at every kind of step
  alike; a decoder that reads only the shown stimulus is at chance (1 / (C - 1)) there.
* **Position offsets (F5).** The network must count time (it answers ``no_action`` before step N), so states
  at different steps can sit at different offsets while sharing one coding subspace; a decoder fit at step i
  then misses at step j although the code is the same. :func:`encoding_transfer` also scores a **per-step
  centred** variant (each step's mean state, computed on that step's training rows, label-free, is
  subtracted) and the **principal angles** between the step-wise decoder subspaces, with a split-half
  ceiling (two decoders of the same step fit on halves of its training rows) and the random-subspace null.

Analyses
--------
:func:`cross_time_decoding`
    Decoder fit on E(i,i) and scored on M(i,j), j >= i (Fig. 4b/c).
:func:`executive_summary`
    Paper-style contrast: validation vs executive vs non-executive (all ages mixed).
:func:`equal_age_summary`
    Executive vs memory steps at equal memory age (the F4 test).
:func:`encoding_transfer`
    Decoder fit on E(i,i) scored on E(j,j) for every stimulus position j, raw and step-centred, with principal
    angles (Fig. 4d; F5). Always per N unless asked otherwise.
:func:`transfer_summary`
    Validation vs generalisation per N, step 0 apart (h before step 0 is zero, so E(0,0) is special).
:func:`subspace_overlap`
    Mean squared cosine of the principal angles between two decoders' class subspaces.
:func:`hypothesis_verdicts`
    One table of verdicts on H1, F4, F5 and the Procrustes swap test (per property, quick look).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from ..errors import check_choice, check_float
from ._checks import check_b, check_bt, check_hidden, check_labels
from .decoding import PROTOCOL_LABELS, PROTOCOLS, fit_decoder, holdout_split, score, task_groups

__all__ = ["step_kind", "cross_time_decoding", "executive_summary", "equal_age_summary", "encoding_transfer",
           "transfer_summary", "decoder_subspace", "subspace_overlap", "hypothesis_verdicts"]

CROSS_TIME_COLUMNS = ["property", "task_feature", "n", "stim", "step", "age", "kind", "executive", "accuracy",
                      "ci_low", "ci_high", "chance", "n_classes", "n_train", "n_test", "n_unseen",
                      "accuracy_distinct", "accuracy_excl_shown", "chance_excl_shown", "n_distinct", "protocol"]
TRANSFER_COLUMNS = ["property", "task_feature", "n", "train_stim", "test_stim", "same", "accuracy", "ci_low",
                    "ci_high", "chance", "n_classes", "n_train", "n_test", "n_unseen", "accuracy_centred",
                    "overlap", "overlap_null", "subspace_dim", "mean_angle_deg", "protocol"]


def _one_thread(func):
    """Run ``func`` with BLAS limited to one thread: many small fits on a shared machine are several times
    faster without thread oversubscription (measured: 1.5 s -> 0.03 s per fit under load)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return func(*args, **kwargs)

    return wrapper


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


def _setup(hidden, labels, n, seq_id, feature, properties, stimuli, protocol):
    check_choice("protocol", protocol, PROTOCOLS)
    h = check_hidden(hidden)
    B, T, _ = h.shape
    labs = check_labels(labels, B, T, properties)
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    feature = check_b(feature, B, "feature", allow_none=True)
    if stimuli is None:
        # planted data without an image pool: every (sequence, step) is its own image
        img = np.arange(B * T, dtype=np.int64).reshape(B, T)
    else:
        img = check_bt(stimuli, B, T, "stimuli").astype(np.int64)
    return h, labs, n, seq_id, feature, img


def _split(protocol, img_col, strata_col, seq_id, seq_strata, test_fraction, seed):
    """(train, test) masks of one group's rows for the decoder of one position (image or sequence rule)."""
    if protocol == "image":
        return holdout_split("image", image_id=img_col, strata=strata_col, test_fraction=test_fraction, seed=seed)
    return holdout_split("sequence", seq_id=seq_id, seq_strata=seq_strata, test_fraction=test_fraction, seed=seed)


def _distinct_scores(dec, X, y, shown) -> tuple[float, float]:
    """On rows whose shown value differs from the remembered one: plain accuracy, and accuracy with the
    shown value's class excluded from the argmax (a decoder reading only the shown stimulus is at chance
    ``1 / (C - 1)`` there instead of at 0)."""
    scores = dec.decision_function(X)
    plain = dec.classes[np.argmax(scores, axis=1)]
    col = np.searchsorted(dec.classes, shown)
    seen = (col < dec.classes.size) & (dec.classes[np.minimum(col, dec.classes.size - 1)] == shown)
    rows = np.flatnonzero(seen)
    scores[rows, col[seen]] = -np.inf
    excl = dec.classes[np.argmax(scores, axis=1)]
    return float(np.mean(plain == y)), float(np.mean(excl == y))


def _decorrelate(train: np.ndarray, lab: np.ndarray, i: int, n: np.ndarray, seed: int) -> np.ndarray:
    """Training mask for the decoder of position i with the match correlation removed.

    In an N-back task stimulus i shares its value with stimulus i - N on half of the steps (match trials),
    far more often than chance, so a decoder fit at step i can learn to read the *memory* of stimulus i - N,
    held in the age-N code, and later score on stimulus i when *it* reaches age N (an executive step): a
    realignment made by the decoder's training data, not by the network. Rows with that match are
    subsampled so that "same value as N back" is as frequent as for independent draws (sum of squared class
    frequencies); the other rows are kept.

    train : (b,) bool mask; lab : (b, T) raw labels of the decoded property; n : (b,) N per row.
    """
    back = i - np.asarray(n, dtype=np.int64)
    valid = train & (back >= 0)
    if not valid.any():
        return train
    prev = np.take_along_axis(lab, np.clip(back, 0, None)[:, None], axis=1)[:, 0]
    same = valid & (lab[:, i] == prev)
    _, counts = np.unique(lab[valid, i], return_counts=True)
    q = float(np.sum((counts / counts.sum()) ** 2))          # P(same) for independent draws
    n_diff = int((valid & ~same).sum())
    keep_same = int(round(q / (1 - q) * n_diff)) if q < 1 else int(same.sum())
    if same.sum() <= keep_same:
        return train
    rng = np.random.default_rng(seed + 7919 * (i + 1))
    drop = rng.permutation(np.flatnonzero(same))[keep_same:]
    out = train.copy()
    out[drop] = False
    return out


def _strata(n, feature):
    return n.astype(np.int64) + (0 if feature is None else feature.astype(np.int64) * 100)


@_one_thread
def cross_time_decoding(hidden: np.ndarray, labels: dict, n: np.ndarray, seq_id: np.ndarray, *,
                        stimuli: np.ndarray | None = None, feature: np.ndarray | None = None,
                        properties: Sequence[str] = FEATURES, positions: Sequence[int] | None = None,
                        by_feature: bool = True, protocol: str = "image", decorrelate: bool = True,
                        test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg", C: float = 1.0,
                        ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """E(i,i) -> M(i,j) decoding with remembered-stimulus labels, scored on held-out images (or sequences).

    Parameters
    ----------
    hidden : (B, T, H) float array
    labels : dict property -> (B, T) raw labels of the shown stimulus (stimulus i's label = ``labels[p][:, i]``).
    n : (B,) int
        N per sequence; results are always per N (the executive step depends on it).
    seq_id : (B,) sequence ids (used by ``protocol="sequence"`` and for the CI).
    stimuli : (B, T) int image ids or None
        ``stimuli[:, i]`` is the image whose property the decoder of position i reads, at every step j >= i
        (the remembered image). None: every (sequence, step) is its own image (planted data).
    feature : (B,) int task-feature codes or None.
    properties : properties decoded.
    positions : stimulus positions i (default all 0..T-1).
    by_feature : bool
        Separate task features (default) or pool them (``task_feature == "all"``).
    protocol : {"image", "sequence"}
        ``"image"`` (primary): fit on rows whose stimulus i is a training image, score on rows whose stimulus i
        is a held-out image (partition stratified by the decoded property). ``"sequence"``: paper-style split
        by sequence, stratified by task cell.
    decorrelate : bool
        Remove the match correlation between stimulus i and stimulus i - N from the training rows
        (:func:`_decorrelate`; default True). Without it the decoder of position i partly reads the memory of
        stimulus i - N and fakes a realignment at executive steps.
    test_fraction, seed, kind, C, ci, n_boot : see :mod:`wmnb.analysis.decoding`.

    Returns
    -------
    DataFrame
        One row per (property, task_feature, n, stim i, step j >= i): ``property``, ``task_feature``, ``n``,
        ``stim`` (i), ``step`` (j), ``age`` (j - i), ``kind`` (see module docstring), ``executive``
        (j == i + N), ``accuracy``, ``ci_low``, ``ci_high``, ``chance``, ``n_classes``, ``n_train``,
        ``n_test``, ``n_unseen``, ``accuracy_distinct`` / ``n_distinct`` (accuracy on the held-out rows whose
        stimulus shown at j has another value of the property than stimulus i; NaN at j == i),
        ``accuracy_excl_shown`` (the same rows with the shown value's class excluded from the argmax) and its
        chance ``chance_excl_shown`` = 1 / (n_classes - 1),
        ``protocol`` (:data:`~wmnb.analysis.decoding.PROTOCOL_LABELS`).
    """
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    h, labs, n, seq_id, feature, img = _setup(hidden, labels, n, seq_id, feature, properties, stimuli, protocol)
    B, T, _ = h.shape
    positions = range(T) if positions is None else [int(i) for i in positions]
    strata = _strata(n, feature)
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=True):
        idx = np.flatnonzero(mask)
        for p in properties:
            for i in positions:
                y = labs[p][idx, i]
                tr, te = _split(protocol, img[idx, i], y, seq_id[idx], strata[idx], test_fraction, seed)
                if decorrelate:
                    tr = _decorrelate(tr, labs[p][idx], i, n[idx], seed)
                if tr.sum() == 0 or te.sum() == 0:
                    continue
                dec = fit_decoder(h[idx[tr], i], y[tr], kind=kind, C=C, seed=seed)
                for j in range(i, T):
                    rte = idx[te]
                    s = score(dec, h[rte, j], y[te], groups=seq_id[rte], ci=ci, n_boot=n_boot, seed=seed)
                    acc_d = acc_x = chance_x = float("nan")
                    n_d = 0
                    if j > i:
                        shown = labs[p][rte, j]
                        dist = shown != y[te]
                        n_d = int(dist.sum())
                        if n_d:
                            acc_d, acc_x = _distinct_scores(dec, h[rte[dist], j], y[te][dist], shown[dist])
                            chance_x = 1.0 / max(s["n_classes"] - 1, 1)
                    k = step_kind(i, j, nval)
                    rows.append(dict(property=p, task_feature=fname, n=nval, stim=i, step=j, age=j - i, kind=k,
                                     executive=(k == "executive"), accuracy=s["accuracy"], ci_low=s["ci_low"],
                                     ci_high=s["ci_high"], chance=s["chance"], n_classes=s["n_classes"],
                                     n_train=int(tr.sum()), n_test=s["n_test"], n_unseen=s["n_unseen"],
                                     accuracy_distinct=acc_d, accuracy_excl_shown=acc_x,
                                     chance_excl_shown=chance_x, n_distinct=n_d,
                                     protocol=PROTOCOL_LABELS[protocol]))
    return pd.DataFrame(rows, columns=CROSS_TIME_COLUMNS)


def executive_summary(table: pd.DataFrame, by: Sequence[str] = ("property", "task_feature", "n"), *,
                      column: str = "accuracy") -> pd.DataFrame:
    """Validation vs executive vs non-executive accuracy (paper Fig. 4c), from :func:`cross_time_decoding`.

    This is the paper's contrast: executive steps (age N) against non-executive ones (all other ages mixed);
    :func:`equal_age_summary` is the one that separates realignment from decay. ``column`` picks the accuracy
    (``"accuracy"`` or ``"accuracy_distinct"``; validation always uses ``"accuracy"``).

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
        m = {k: g.loc[g["kind"] == k, column].mean() for k in ("executive", "memory", "after")}
        m["encoding"] = g.loc[g["kind"] == "encoding", "accuracy"].mean()
        ne = g.loc[g["kind"].isin(["memory", "after"]), column].mean()
        row = dict(zip(by, key))
        row.update(validation=m["encoding"], executive=m["executive"], non_executive=ne, memory=m["memory"],
                   after=m["after"], executive_minus_non_executive=m["executive"] - ne,
                   chance=g["chance"].mean(), n_cells=len(g))
        rows.append(row)
    return pd.DataFrame(rows)


EQUAL_AGE_COLUMNS = ["property", "task_feature", "age", "n_executive", "n_memory", "executive", "memory",
                     "difference", "chance", "executive_all", "memory_all", "difference_all", "chance_all",
                     "validation_executive", "validation_memory", "n_cells_executive", "n_cells_memory"]


def equal_age_summary(table: pd.DataFrame, by: Sequence[str] = ("property", "task_feature"), *,
                      column: str = "accuracy_excl_shown") -> pd.DataFrame:
    """Executive vs memory steps at **equal memory age** (the F4 test), from :func:`cross_time_decoding`.

    For each group of ``by`` and each age a with both sides present: ``executive`` = mean ``column`` over the
    executive cells (age a) of the N = a task; ``memory`` = mean over the memory cells at age a of the N > a
    tasks (each N weighted equally). Plain decay with age gives ``difference`` ~ 0; realignment at retrieval
    gives ``difference`` > 0.

    Parameters
    ----------
    table : cross_time_decoding rows (several N).
    column : ``"accuracy_excl_shown"`` (default: rows whose shown stimulus differs from the remembered one in
        the property, the shown value's class excluded from the decision; a decoder reading only the shown
        stimulus is at chance ``1 / (C - 1)`` on both sides, so match trials cannot help the executive side),
        ``"accuracy_distinct"`` (same rows, plain argmax) or ``"accuracy"`` (all rows, as the paper).

    Returns
    -------
    DataFrame
        One row per (group, age): ``*by, age, n_executive`` (= a), ``n_memory`` (the N > a, e.g. "2,3"),
        ``executive, memory, difference, chance`` (from ``column`` and its chance level),
        ``executive_all, memory_all, difference_all, chance_all`` (all rows, plain accuracy),
        ``validation_executive`` / ``validation_memory`` (held-out encoding accuracy of the same decoders,
        N = a and N > a), ``n_cells_executive``, ``n_cells_memory``.
    """
    by = list(by)
    chance_col = {"accuracy_excl_shown": "chance_excl_shown"}.get(column, "chance")
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for a in sorted(int(x) for x in g["age"].unique() if x > 0):
            ex = g[(g["n"] == a) & (g["age"] == a) & (g["kind"] == "executive")]
            mem = g[(g["n"] > a) & (g["age"] == a) & (g["kind"] == "memory")]
            if ex.empty or mem.empty:
                continue
            mem_n = sorted(int(x) for x in mem["n"].unique())

            def per_n(df, col):  # mean per N, then over N (each N weighted equally)
                return float(df.groupby("n")[col].mean().mean())

            enc = g[g["kind"] == "encoding"]
            both = pd.concat([ex, mem])
            row = dict(zip(by, key))
            e, m = per_n(ex, column), per_n(mem, column)
            ea, ma = per_n(ex, "accuracy"), per_n(mem, "accuracy")
            row.update(age=a, n_executive=a, n_memory=",".join(map(str, mem_n)), executive=e, memory=m,
                       difference=e - m, chance=float(both[chance_col].mean()), executive_all=ea,
                       memory_all=ma, difference_all=ea - ma, chance_all=float(both["chance"].mean()),
                       validation_executive=float(enc.loc[enc["n"] == a, "accuracy"].mean()),
                       validation_memory=per_n(enc[enc["n"].isin(mem_n)], "accuracy"),
                       n_cells_executive=len(ex), n_cells_memory=len(mem))
            rows.append(row)
    return pd.DataFrame(rows, columns=by + EQUAL_AGE_COLUMNS[2:])


def decoder_subspace(decoder, tol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis ``(H, k)`` of a linear decoder's class subspace in raw hidden coordinates.

    The rows of :meth:`~wmnb.analysis.decoding.LinearDecoder.raw_coef` are centred across classes (a
    common component does not separate classes) and their row space kept: ``k = rank <= C - 1``.
    """
    W = np.asarray(decoder.raw_coef(), dtype=np.float64)
    W = W - W.mean(0, keepdims=True)
    if not np.any(W):
        return np.zeros((W.shape[1], 0))
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    k = int(np.sum(s > tol * s[0]))
    return vt[:k].T


def subspace_overlap(A: np.ndarray, B: np.ndarray) -> tuple[float, float]:
    """Mean squared cosine of the principal angles between the column spaces of ``A`` ``(H, k1)`` and ``B``
    ``(H, k2)`` (orthonormal or not), and the mean angle in degrees.

    1 = the same subspace, 0 = orthogonal. Two random subspaces in H dimensions give about
    ``max(k1, k2) / H`` (the null reported next to it).
    """
    from scipy.linalg import subspace_angles

    if A.shape[1] == 0 or B.shape[1] == 0:
        return float("nan"), float("nan")
    ang = subspace_angles(A, B)
    return float(np.mean(np.cos(ang) ** 2)), float(np.degrees(ang).mean())


@_one_thread
def encoding_transfer(hidden: np.ndarray, labels: dict, n: np.ndarray, seq_id: np.ndarray, *,
                      stimuli: np.ndarray | None = None, feature: np.ndarray | None = None,
                      properties: Sequence[str] = FEATURES, by_feature: bool = True, by_n: bool = True,
                      protocol: str = "image", angles: bool = True, decorrelate: bool = True,
                      test_fraction: float = 0.2, seed: int = 0,
                      kind: str = "logreg", C: float = 1.0, ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """E(i,i) -> E(j,j): a decoder fit at stimulus i's encoding step, scored at stimulus j's encoding step.

    Train: ``hidden[train_i, i]`` with ``labels[p][train_i, i]``; test: ``hidden[test_j, j]`` with
    ``labels[p][test_j, j]`` (stimulus j's own property). ``i == j`` is within-position validation.

    Held-out rule: with ``protocol="image"`` one partition of the group's images (all positions pooled,
    stratified by the property) serves every position, so no decoder is ever scored on an image any decoder
    of the group was fit on; ``train_i`` = rows whose stimulus i is a training image, ``test_j`` = rows whose
    stimulus j is held out. ``"sequence"``: paper-style split by sequence.

    Besides the raw accuracy: ``accuracy_centred`` scores the same decoder on per-step centred states,
    ``h_j - mu_j + mu_i``, where ``mu_t`` is the mean state at step t over that step's training rows
    (label-free; it removes a per-step offset only). With ``angles``: ``overlap`` = mean cos^2 of the
    principal angles between the class subspaces (:func:`decoder_subspace`) of the decoders of i and j; on the
    diagonal (i == j) it is the **split-half ceiling**: two decoders of step i fit on the two halves of its
    training rows (how close two estimates of one subspace come at this sample size). ``overlap_null`` =
    ``subspace_dim / H`` (two random subspaces).

    Parameters as :func:`cross_time_decoding` (``decorrelate`` included: it also keeps a decoder of position i
    from reading stimulus i - N, which shares stimulus i's value on match trials); ``by_n=True`` (default):
    per N, never pooled (``n == 0`` when pooled on request).

    Returns
    -------
    DataFrame
        One row per (property, task_feature, n, train_stim, test_stim): ``same`` (i == j), ``accuracy``,
        ``ci_low``, ``ci_high``, ``chance``, ``n_classes``, ``n_train``, ``n_test``, ``n_unseen``,
        ``accuracy_centred``, ``overlap``, ``overlap_null``, ``subspace_dim``, ``mean_angle_deg``,
        ``protocol``.
    """
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    h, labs, n, seq_id, feature, img = _setup(hidden, labels, n, seq_id, feature, properties, stimuli, protocol)
    B, T, H = h.shape
    strata = _strata(n, feature)
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=by_feature, by_n=by_n):
        idx = np.flatnonzero(mask)
        Bg = idx.size
        for p in properties:
            y = labs[p][idx]                                   # (Bg, T)
            if protocol == "image":
                tr, te = holdout_split("image", image_id=img[idx].ravel(), strata=y.ravel(),
                                       test_fraction=test_fraction, seed=seed)
                tr, te = tr.reshape(Bg, T), te.reshape(Bg, T)
            else:
                tr1, te1 = holdout_split("sequence", seq_id=seq_id[idx], seq_strata=strata[idx],
                                         test_fraction=test_fraction, seed=seed)
                tr, te = np.repeat(tr1[:, None], T, 1), np.repeat(te1[:, None], T, 1)
            if not tr.any() or not te.any():
                continue
            mu = np.stack([h[idx[tr[:, t]], t].mean(0) if tr[:, t].any() else np.zeros(H) for t in range(T)])
            decs, subs, ceil, n_fit = {}, {}, {}, {}
            rng = np.random.default_rng(seed)
            for i in range(T):
                tri = _decorrelate(tr[:, i], y, i, n[idx], seed) if decorrelate else tr[:, i]
                if tri.sum() < 2:
                    continue
                Xi, yi = h[idx[tri], i], y[tri, i]
                decs[i] = fit_decoder(Xi, yi, kind=kind, C=C, seed=seed)
                n_fit[i] = yi.size
                if angles:
                    subs[i] = decoder_subspace(decs[i])
                    half = rng.permutation(yi.size) < yi.size // 2
                    if half.sum() >= 2 and (~half).sum() >= 2:
                        d1 = fit_decoder(Xi[half], yi[half], kind=kind, C=C, seed=seed)
                        d2 = fit_decoder(Xi[~half], yi[~half], kind=kind, C=C, seed=seed)
                        ceil[i] = subspace_overlap(decoder_subspace(d1), decoder_subspace(d2))
            for i, dec in decs.items():
                for j in range(T):
                    rte = idx[te[:, j]]
                    if rte.size == 0:
                        continue
                    yt = y[te[:, j], j]
                    s = score(dec, h[rte, j], yt, groups=seq_id[rte], ci=ci, n_boot=n_boot, seed=seed)
                    acc_c = float(np.mean(dec.predict(h[rte, j] - mu[j] + mu[i]) == yt))
                    ov, ang, dim = np.nan, np.nan, np.nan
                    if angles and j in subs:
                        ov, ang = ceil.get(i, (np.nan, np.nan)) if i == j else subspace_overlap(subs[i], subs[j])
                        dim = max(subs[i].shape[1], subs[j].shape[1])
                    rows.append(dict(property=p, task_feature=fname, n=nval, train_stim=i, test_stim=j,
                                     same=(i == j), accuracy=s["accuracy"], ci_low=s["ci_low"],
                                     ci_high=s["ci_high"], chance=s["chance"], n_classes=s["n_classes"],
                                     n_train=int(n_fit[i]), n_test=s["n_test"], n_unseen=s["n_unseen"],
                                     accuracy_centred=acc_c, overlap=ov, overlap_null=dim / H,
                                     subspace_dim=dim, mean_angle_deg=ang, protocol=PROTOCOL_LABELS[protocol]))
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def transfer_summary(table: pd.DataFrame, by: Sequence[str] = ("property", "task_feature", "n")) -> pd.DataFrame:
    """Validation (i == j) vs generalisation (i != j) from :func:`encoding_transfer` (paper Fig. 4d), step 0
    apart.

    Step 0 is reported apart because the state before it is zero: E(0,0) is a function of (image, task) only.
    ``validation`` / ``generalisation`` use positions >= 1 only; ``step0_validation`` is the (0, 0) cell and
    ``step0_generalisation`` the mean of the (0, j) and (j, 0) cells, j >= 1.

    Returns
    -------
    DataFrame
        ``*by, validation, generalisation, gap`` (validation - generalisation, raw states),
        ``validation_centred, generalisation_centred, gap_centred`` (per-step centred states),
        ``step0_validation, step0_generalisation``, ``overlap`` (mean over i != j >= 1 of the principal-angle
        overlap), ``overlap_ceiling`` (split-half overlap, mean over i >= 1), ``overlap_null``,
        ``overlap_relative`` ((overlap - null) / (ceiling - null)), ``mean_angle_deg``, ``chance``,
        ``n_positions``.
    """
    by = list(by)
    rows = []
    cent = "accuracy_centred" in table.columns
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        late = g[(g["train_stim"] >= 1) & (g["test_stim"] >= 1)]
        d, o = late[late["same"]], late[~late["same"]]
        s0 = g[(g["train_stim"] == 0) & (g["test_stim"] == 0)]
        s0x = g[(g["train_stim"] == 0) != (g["test_stim"] == 0)]
        row = dict(zip(by, key))
        val, gen = d["accuracy"].mean(), o["accuracy"].mean()
        row.update(validation=val, generalisation=gen, gap=val - gen)
        if cent:
            vc, gc = d["accuracy_centred"].mean(), o["accuracy_centred"].mean()
            row.update(validation_centred=vc, generalisation_centred=gc, gap_centred=vc - gc)
        row.update(step0_validation=s0["accuracy"].mean(), step0_generalisation=s0x["accuracy"].mean())
        if "overlap" in g.columns:
            ov, ce, nu = o["overlap"].mean(), d["overlap"].mean(), o["overlap_null"].mean()
            row.update(overlap=ov, overlap_ceiling=ce, overlap_null=nu,
                       overlap_relative=(ov - nu) / (ce - nu) if np.isfinite(ce - nu) and ce - nu > 0 else np.nan,
                       mean_angle_deg=o["mean_angle_deg"].mean())
        row.update(chance=g["chance"].mean(), n_positions=int(g["train_stim"].nunique()))
        rows.append(row)
    return pd.DataFrame(rows)


def hypothesis_verdicts(cross_time: pd.DataFrame, transfer: pd.DataFrame | None = None,
                        swap: pd.DataFrame | None = None, *, margin: float = 0.1) -> pd.DataFrame:
    """Verdicts on H1 (slot), H2 (relative-chronological) and H3 (stimulus-specific), per property.

    A quick per-property reading for one model; the claims F4 / F5 are decided by the interval rules in
    :mod:`wmnb.experiments.dynamics` (``claim_F4``, ``claim_F5``).

    Parameters
    ----------
    cross_time : DataFrame from :func:`cross_time_decoding`.
    transfer : DataFrame from :func:`encoding_transfer` or None.
    swap : DataFrame from :func:`wmnb.analysis.procrustes.swap_test` or None.
    margin : float
        Accuracy difference (absolute) below which two accuracies count as "about equal".

    Tests (means over task cells and (i, j) cells)
    ---------------------------------------------
    ``H1 slot``            memory-step accuracy >= validation - margin -> "supported", else "rejected".
    ``F4 executive realignment`` at equal age (:func:`equal_age_summary`, ``accuracy_excl_shown``) executive -
                           memory > margin/2 -> "present", else "absent"; without several N, the paper-style
                           executive - non-executive contrast.
    ``F5 shared encoding`` E(i,i)->E(j,j) generalisation (per-step centred when available, positions >= 1)
                           >= validation - margin -> "shared (H2 or H1)", else "position-specific (H3)".
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

    if len(cross_time):
        es = executive_summary(cross_time, by=["property"])
        ea = equal_age_summary(cross_time, by=["property"]) if cross_time["n"].nunique() > 1 else pd.DataFrame()
        for r in es.itertuples(index=False):
            mem = r.memory if np.isfinite(r.memory) else r.non_executive
            add("H1 slot", "H1", r.property, mem, r.validation,
                "supported" if mem >= r.validation - margin else "rejected",
                "memory-step accuracy", "encoding validation")
            sub = ea[ea["property"] == r.property] if len(ea) else ea
            if len(sub):
                e, m = sub["executive"].mean(), sub["memory"].mean()
                names = ("executive accuracy (equal age, shown != remembered)",
                         "memory-step accuracy (equal age, shown != remembered)")
            else:
                e, m = r.executive, r.non_executive
                names = ("executive accuracy", "non-executive accuracy")
            add("F4 executive realignment", "H1", r.property, e, m,
                "present" if e - m > margin / 2 else "absent", *names)
    if transfer is not None:
        ts = transfer_summary(transfer, by=["property"])
        for r in ts.itertuples(index=False):
            gen = getattr(r, "generalisation_centred", r.generalisation)
            val = getattr(r, "validation_centred", r.validation)
            add("F5 shared encoding", "H2/H3", r.property, gen, val,
                "shared (H2 or H1)" if gen >= val - margin else "position-specific (H3)",
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
