"""Task-relevant and task-irrelevant information at the encoding step (finding F1, paper Fig. 2b).

For every task context (task feature F, and N unless pooled) and every object property P (location,
identity, category) a linear decoder reads P of the stimulus shown at ``step`` (t = 0 by default, the first
stimulus's encoding step) from the hidden state at that step. P is *task-relevant* when P == F.

Held-out protocols (the ``protocol`` column of every table)
-----------------------------------------------------------
``"image"`` (primary, the default) -- form (a) of the image-disjoint rule: the images of the recording's pool
    are partitioned once (:func:`wmnb.analysis.decoding.holdout_split`, stratified by the **identity** of the
    decoded image so one split serves location, identity and category decoders and every identity is on both
    sides); a decoder is fit on the states whose decoded image (the image shown at ``step``) is a training
    image and scored only on states whose decoded image it never saw. At ``step > 0`` training rows whose
    sequence showed a held-out image at any step up to ``step`` are dropped (``strict``), so a test image
    never enters fitting in any role.
``"sequence"`` (paper-style, images may repeat; only when asked by name) -- the public re-implementation's
    80/20 split by sequence. At t = 0 the state is a fixed function of (image, task), so this mostly scores
    copies of training states; it is kept as the labelled secondary number the paper's figure is compared with.
``"transfer"`` -- form (b), :func:`task_relevance_transfer`: fit on the train-pool recording, score on a
    recording drawn from the novel-angle pool (new views of known identities).

Other differences from the public re-implementation (reference section 5.2 / 7.3): multinomial logistic
decoders on train-only standardisation, classes keyed by raw value, N kept separate by default, chance and a
CI next to every accuracy (under ``"image"`` a bootstrap over test *images*, since the rows of one image are
not independent).

Expected (paper, F1): multi-task (MTMF) models decode irrelevant properties well (> 85 %); single-task
models much less so.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from ..errors import ConfigError, check_choice
from ._checks import check_b, check_bt, check_hidden, check_labels, check_step
from .decoding import PROTOCOL_LABELS, PROTOCOLS, fit_decoder, holdout_split, score, task_groups

__all__ = ["task_relevance", "task_relevance_transfer", "relevance_summary", "normalised_accuracy",
           "decoded_split", "recording_split", "PROTOCOL_NAMES", "COLUMNS"]

#: protocol code -> label for tables and figures (``"transfer"`` is form (b): train pool -> novel angles)
PROTOCOL_NAMES = dict(PROTOCOL_LABELS, transfer="image-disjoint, novel angles (fit on the train pool)")

def one_blas_thread(func):
    """Run ``func`` with one BLAS/OpenMP thread. Decoder fits here are many and small; on a shared 2-core
    machine multi-threaded BLAS spends its time waiting (measured: 9x slower for the cross-task analysis at
    the smoke profile)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return func(*args, **kwargs)

    return wrapper


COLUMNS = ["protocol", "task_feature", "n", "property", "relevant", "step", "accuracy", "ci_low", "ci_high",
           "chance", "chance_majority", "n_classes", "n_train", "n_test", "n_test_images", "n_unseen",
           "train_accuracy"]


def normalised_accuracy(accuracy, chance):
    """Accuracy above chance on a 0-1 scale: ``(accuracy - chance) / (1 - chance)`` (0 = chance, 1 = perfect).

    Puts properties with different class counts (identity has 36 values at the quick profile, location 4) on
    one scale. Works on scalars and arrays; NaN where ``chance >= 1``.
    """
    a = np.asarray(accuracy, dtype=float)
    c = np.asarray(chance, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(c < 1, (a - c) / (1 - c), np.nan)
    return float(out) if out.ndim == 0 else out


def decoded_split(protocol: str, *, image_id: Optional[np.ndarray], strata: Optional[np.ndarray],
                  seq_id: np.ndarray, seq_strata: Optional[np.ndarray] = None,
                  context: Optional[np.ndarray] = None, test_fraction: float = 0.2,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train/test row masks for one decoded step under ``protocol`` (a thin, checked wrapper of
    :func:`~wmnb.analysis.decoding.holdout_split`).

    Parameters
    ----------
    protocol : "image" (primary) or "sequence" (paper-style)
    image_id : (B,) int ids of the decoded image per row (required for "image")
    strata : (B,) raw values the image split is stratified on (identity of the decoded image), or None
    seq_id : (B,) sequence ids (used by "sequence")
    seq_strata : (B,) task-cell code per row (the paper-style split is done per task cell)
    context : (B, k) other images each row's state may carry (training rows holding a test image are dropped)
    """
    check_choice("protocol", protocol, PROTOCOLS)
    if protocol == "image" and image_id is None:
        raise ConfigError("protocol='image' needs the image ids (pass stimuli=Recording.stimuli); use "
                          "protocol='sequence' by name for the paper-style split")
    return holdout_split(protocol, image_id=image_id, strata=strata, seq_id=seq_id, seq_strata=seq_strata,
                         test_fraction=test_fraction, seed=seed, context=context)


def recording_split(protocol: str, *, stimuli: Optional[np.ndarray], labels: dict, feature: np.ndarray,
                    n: np.ndarray, seq_id: np.ndarray, T: int, decoded: int, step: int, strict: bool = True,
                    test_fraction: float = 0.2, seed: int = 0):
    """:func:`decoded_split` for a recording whose state at ``step`` is decoded for the image shown at ``decoded``.

    The image split is stratified by that image's identity (one split serves every property); with ``strict``
    and ``step > 0``, training rows that showed a held-out image anywhere up to ``step`` are dropped. The
    paper-style split is done per task cell (feature, N).

    Returns ``(train, test, image_id)``: (B,) row masks and the (B,) decoded image ids (None without ``stimuli``).
    """
    B = seq_id.shape[0]
    image_id = strata = context = None
    if stimuli is not None:
        stim = check_bt(stimuli, B, T, "stimuli")
        image_id = stim[:, decoded]
        if strict and step > 0:
            context = stim[:, :step + 1]
    if isinstance(labels, dict) and "identity" in labels:
        strata = check_bt(labels["identity"], B, T, "labels['identity']")[:, decoded]
    cell = feature.astype(np.int64) * 100 + n.astype(np.int64)
    train, test = decoded_split(protocol, image_id=image_id, strata=strata, seq_id=seq_id, seq_strata=cell,
                                context=context, test_fraction=test_fraction, seed=seed)
    return train, test, image_id


def _row(protocol, fname, nval, p, step, s, n_train, n_images, dec):
    return dict(protocol=protocol, task_feature=fname, n=nval, property=p, relevant=(p == fname), step=step,
                accuracy=s["accuracy"], ci_low=s["ci_low"], ci_high=s["ci_high"], chance=s["chance"],
                chance_majority=s["chance_majority"], n_classes=s["n_classes"], n_train=int(n_train),
                n_test=s["n_test"], n_test_images=int(n_images), n_unseen=s["n_unseen"],
                train_accuracy=dec.train_accuracy)


@one_blas_thread
def task_relevance(hidden: np.ndarray, labels: dict, feature: np.ndarray, n: np.ndarray, seq_id: np.ndarray,
                   *, stimuli: Optional[np.ndarray] = None, step: int = 0,
                   properties: Sequence[str] = FEATURES, by_n: bool = True, protocol: str = "image",
                   strict: bool = True, test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg",
                   C: float = 1.0, ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """Decode every property from every task context at one step, on held-out images (form (a)).

    Parameters
    ----------
    hidden : (B, T, H) float array
        Hidden states (or any representation with the same layout, e.g. ``Recording.embedding``).
    labels : dict property -> (B, T) int array
        Raw labels of the stimulus **shown** at each step (``Recording.labels``). When it has
        ``"identity"`` the image split is stratified by identity (one split for all properties).
    feature : (B,) int array
        Task feature code per sequence (index into ``FEATURES``).
    n : (B,) int array
        N of the N-back task per sequence.
    seq_id : (B,) array
        Sequence ids (the paper-style split; one row per sequence).
    stimuli : (B, T) int array or None
        Image id shown at each step (``Recording.stimuli``); required by ``protocol="image"``.
    step : int
        Time step decoded (0 = encoding step of the first stimulus). The label and the held-out image are
        those of the stimulus shown at that step.
    properties : sequence of str
        Properties to decode (subset of ``FEATURES``).
    by_n : bool
        Keep N separate (default) or pool N within each task feature (then ``n == 0`` in the table).
    protocol : {"image", "sequence"}
        Held-out rule (module docstring); "sequence" is the paper-style secondary number.
    strict : bool
        Under "image" at ``step > 0``, drop training rows whose sequence showed a test image at steps
        ``0..step`` (default True).
    test_fraction, seed : split parameters (fraction of each identity's images held out).
    kind, C : decoder parameters (see :func:`~wmnb.analysis.decoding.fit_decoder`).
    ci, n_boot : confidence-interval method (see :func:`~wmnb.analysis.decoding.score`).

    Returns
    -------
    DataFrame
        One row per (task_feature, n, property), columns :data:`COLUMNS`: ``protocol``, ``task_feature``
        (str), ``n`` (int, 0 = pooled), ``property`` (str), ``relevant`` (bool, property == task_feature),
        ``step``, ``accuracy``, ``ci_low``, ``ci_high`` (bootstrap over test images under "image", Wilson
        over sequences under "sequence"), ``chance`` (1 / n_classes), ``chance_majority``, ``n_classes``,
        ``n_train``, ``n_test`` (held-out rows), ``n_test_images`` (distinct decoded test images),
        ``n_unseen`` (test labels never seen in training, scored wrong), ``train_accuracy`` (diagnostic only).
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    step = check_step(step, T)
    check_choice("protocol", protocol, PROTOCOLS)
    labs = check_labels(labels, B, T, properties)
    feature = check_b(feature, B, "feature")
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    train, test, image_id = recording_split(protocol, stimuli=stimuli, labels=labels, feature=feature, n=n,
                                            seq_id=seq_id, T=T, decoded=step, step=step, strict=strict,
                                            test_fraction=test_fraction, seed=seed)
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=True, by_n=by_n):
        tr, te = mask & train, mask & test
        if tr.sum() == 0 or te.sum() == 0:
            continue
        X_tr, X_te = h[tr, step], h[te, step]
        groups = image_id[te] if protocol == "image" else seq_id[te]
        for p in properties:
            y = labs[p][:, step]
            dec = fit_decoder(X_tr, y[tr], kind=kind, C=C, seed=seed)
            s = score(dec, X_te, y[te], groups=groups, ci=ci, n_boot=n_boot, seed=seed)
            rows.append(_row(protocol, fname, nval, p, step, s, tr.sum(),
                             np.unique(groups).size if protocol == "image" else 0, dec))
    return pd.DataFrame(rows, columns=COLUMNS)


@one_blas_thread
def task_relevance_transfer(hidden: np.ndarray, labels: dict, feature: np.ndarray, n: np.ndarray,
                            test_hidden: np.ndarray, test_labels: dict, test_feature: np.ndarray,
                            test_n: np.ndarray, *, stimuli: Optional[np.ndarray] = None,
                            test_stimuli: Optional[np.ndarray] = None, step: int = 0,
                            properties: Sequence[str] = FEATURES, by_n: bool = True, seed: int = 0,
                            kind: str = "logreg", C: float = 1.0, ci: str = "auto",
                            n_boot: int = 1000) -> pd.DataFrame:
    """Form (b) of the image-disjoint rule: fit on one recording (the train pool), score on another (the
    novel-angle pool: new views of known identities).

    Parameters
    ----------
    hidden, labels, feature, n : the *fitting* recording, as in :func:`task_relevance` (every row is used).
    test_hidden, test_labels, test_feature, test_n : the *scoring* recording (``(B', T, H)``, dict of
        ``(B', T)``, ``(B',)``, ``(B',)``); the same model, another image pool.
    stimuli, test_stimuli : (B, T) and (B', T) image ids or None. When given, scoring rows whose decoded image
        also occurs as a decoded image in fitting are dropped (none for disjoint pools), and the CI is a
        bootstrap over test images.
    step, properties, by_n, seed, kind, C, ci, n_boot : as in :func:`task_relevance`.

    Returns
    -------
    DataFrame with :data:`COLUMNS`, ``protocol == "transfer"``; one row per task cell present in both
    recordings and property. Identity values of the novel-angle pool were all seen in fitting (known
    identities); ``n_unseen`` reports any that were not.
    """
    h = check_hidden(hidden)
    ht = check_hidden(test_hidden, "test_hidden")
    B, T, H = h.shape
    Bt, Tt, Ht = ht.shape
    if (T, H) != (Tt, Ht):
        raise ConfigError(f"test_hidden has (T, H) = {(Tt, Ht)}; expected {(T, H)} like hidden")
    step = check_step(step, T)
    labs = check_labels(labels, B, T, properties)
    tlabs = check_labels(test_labels, Bt, T, properties)
    feature, n = check_b(feature, B, "feature"), check_b(n, B, "n")
    tfeature, tn = check_b(test_feature, Bt, "test_feature"), check_b(test_n, Bt, "test_n")
    keep = np.ones(Bt, dtype=bool)
    timg = None
    if stimuli is not None and test_stimuli is not None:
        img = check_bt(stimuli, B, T, "stimuli")[:, step]
        timg = check_bt(test_stimuli, Bt, T, "test_stimuli")[:, step]
        keep = ~np.isin(timg, img)
    test_cells = {(f, v): m for f, v, m in task_groups(Bt, tfeature, tn, by_feature=True, by_n=by_n)}
    rows = []
    for fname, nval, mask in task_groups(B, feature, n, by_feature=True, by_n=by_n):
        if (fname, nval) not in test_cells:
            continue
        te = test_cells[(fname, nval)] & keep
        if mask.sum() == 0 or te.sum() == 0:
            continue
        groups = timg[te] if timg is not None else None
        for p in properties:
            dec = fit_decoder(h[mask, step], labs[p][mask, step], kind=kind, C=C, seed=seed)
            s = score(dec, ht[te, step], tlabs[p][te, step], groups=groups, ci=ci, n_boot=n_boot, seed=seed)
            rows.append(_row("transfer", fname, nval, p, step, s, mask.sum(),
                             np.unique(groups).size if groups is not None else 0, dec))
    return pd.DataFrame(rows, columns=COLUMNS)


def relevance_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Relevant vs irrelevant decoding per task cell (and protocol, when the table has that column).

    Parameters
    ----------
    table : DataFrame from :func:`task_relevance` / :func:`task_relevance_transfer`.

    Returns
    -------
    DataFrame
        One row per (protocol, task_feature, n): ``relevant_accuracy``, ``irrelevant_mean`` and
        ``irrelevant_min`` (over the task-irrelevant properties), ``irrelevant_above_chance_mean`` (mean of
        accuracy - chance) and ``irrelevant_normalised_mean`` (mean of :func:`normalised_accuracy`).
    """
    t = table if "protocol" in table.columns else table.assign(protocol="image")
    rows = []
    for (pr, f, nv), g in t.groupby(["protocol", "task_feature", "n"], sort=True):
        rel = g[g["relevant"].astype(bool)]
        irr = g[~g["relevant"].astype(bool)]
        rows.append(dict(protocol=pr, task_feature=f, n=nv,
                         relevant_accuracy=float(rel["accuracy"].mean()) if len(rel) else np.nan,
                         irrelevant_mean=float(irr["accuracy"].mean()) if len(irr) else np.nan,
                         irrelevant_min=float(irr["accuracy"].min()) if len(irr) else np.nan,
                         irrelevant_above_chance_mean=float((irr["accuracy"] - irr["chance"]).mean())
                         if len(irr) else np.nan,
                         irrelevant_normalised_mean=float(np.mean(normalised_accuracy(irr["accuracy"],
                                                                                      irr["chance"])))
                         if len(irr) else np.nan))
    return pd.DataFrame(rows, columns=["protocol", "task_feature", "n", "relevant_accuracy", "irrelevant_mean",
                                       "irrelevant_min", "irrelevant_above_chance_mean",
                                       "irrelevant_normalised_mean"])
