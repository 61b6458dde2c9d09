"""Linear probes of object properties from (frozen) features, always scored on held-out images.

A probe is a multinomial logistic regression on standardised features (the scaler is fitted on the
training images only) that is trained on one set of images and scored on another: e.g. trained on the
training view angles and tested on the held-out angle, or trained on three screen locations and tested on
the fourth. Results come back as a tidy :class:`pandas.DataFrame`, one row per probe, with the chance level
and a 95% Wilson confidence interval next to every accuracy.

Labels are raw values (never re-indexed in first-seen order), so a class means the same thing in the
training and the test images.

Held-out images by construction: each feature row is one rendered image (a row of the stimulus set), and
every fold's test images are disjoint from its training images (:func:`probe_accuracy` raises otherwise;
:func:`held_out_splits` draws them from different pools -- a new viewing angle, new identities, a new
location). So these probes already meet the image-disjoint rule that the hidden-state decoders of
:mod:`wmnb.analysis.decoding` enforce with ``holdout_split(protocol="image")``; there is no sequence split here
and no paper-style secondary number to report.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from ..errors import ConfigError

__all__ = ["ProbeSplit", "wilson_interval", "probe_accuracy", "run_probes", "held_out_splits",
           "variance_explained", "as_matrix", "PROBE_COLUMNS"]

PROBE_COLUMNS = ["representation", "feature", "train_split", "test_split", "accuracy", "chance",
                 "n_test", "ci_low", "ci_high", "n_train", "n_classes"]


@dataclass(frozen=True)
class ProbeSplit:
    """One held-out comparison: decode ``feature`` training on ``train`` and scoring on ``test``.

    ``folds`` is a tuple of (train_indices, test_indices); predictions of all folds are pooled before
    scoring (e.g. leave-one-location-out has four folds). Test indices must not overlap training indices
    within a fold.
    """

    feature: str
    train_split: str
    test_split: str
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]

    @classmethod
    def single(cls, feature: str, train_split: str, test_split: str, train: Sequence[int],
               test: Sequence[int]) -> "ProbeSplit":
        return cls(feature, train_split, test_split,
                   ((np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)),))


def wilson_interval(k: int | np.ndarray, n: int | np.ndarray, z: float = 1.959964) -> tuple:
    """Wilson score interval for a binomial proportion k/n (95% by default). Returns (low, high).

    :func:`wmnb.analysis.stats.wilson_ci` with this module's historical ``z`` (same edge cases: ``n == 0``
    gives NaN, ``k == 0`` a low of 0, ``k == n`` a high of 1).
    """
    from .stats import wilson_ci

    return wilson_ci(k, n, z=z)


def as_matrix(features) -> np.ndarray:
    """Features as a float64 (n, D) matrix: a FeatureBank gives its pooled vectors; arrays are flattened."""
    if hasattr(features, "pooled") and hasattr(features, "maps"):
        features = features.pooled
    x = np.asarray(features)
    if x.ndim < 2:
        raise ConfigError(f"features must have shape (n, ...) with at least 2 dims; got {x.shape}")
    return x.reshape(len(x), -1).astype(np.float64, copy=False)


def _fit_predict(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, C: float,
                 max_iter: int) -> np.ndarray:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    classes = np.unique(y[train])
    if len(classes) == 1:
        return np.full(len(test), classes[0])
    scaler = StandardScaler().fit(x[train])
    z_train, z_test = scaler.transform(x[train]), scaler.transform(x[test])
    if z_train.shape[1] > len(train):
        # Exact shortcut when there are more features than training images: the L2-penalised optimum lies
        # in the span of the (centred) training rows (the loss gradient is a combination of them, the
        # penalty's gradient is w itself), so fitting in an orthonormal basis of that span gives the same
        # probe, much faster.
        with threadpool_limits(1):
            _, sv, vt = np.linalg.svd(z_train, full_matrices=False)
        basis = vt[sv > sv[0] * 1e-10].T
        z_train, z_test = z_train @ basis, z_test @ basis
    clf = LogisticRegression(C=C, max_iter=max_iter, tol=1e-4)
    # one BLAS/OpenMP thread: these fits are small, and on a shared machine multi-threaded BLAS spends its
    # time waiting for cores (measured: 4-10x slower with 2 threads on 2 busy cores)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(z_train, y[train])
    return clf.predict(z_test)


def probe_accuracy(features, labels: np.ndarray, split: ProbeSplit, *, C: float = 1.0,
                   max_iter: int = 1000) -> dict:
    """Fit and score one probe. Returns a dict with the PROBE_COLUMNS fields (except representation).

    ``chance`` is the accuracy expected from guessing with the training label frequencies,
    ``sum_k p_train(k) * p_test(k)`` (1/K for balanced classes); ``ci_low``/``ci_high`` is the 95% Wilson
    interval of the accuracy over the ``n_test`` pooled test images.
    """
    x = as_matrix(features)
    y = np.asarray(labels)
    if len(y) != len(x):
        raise ConfigError(f"labels has {len(y)} entries but features has {len(x)} rows")
    correct, n_test, n_train, chance_num = 0, 0, 0, 0.0
    classes: set = set()
    for train, test in split.folds:
        train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
        if len(train) == 0 or len(test) == 0:
            raise ConfigError(f"probe {split.feature} {split.train_split}->{split.test_split}: empty fold")
        if np.intersect1d(train, test).size:
            raise ConfigError(f"probe {split.feature} {split.train_split}->{split.test_split}: "
                              "test images overlap training images")
        pred = _fit_predict(x, y, train, test, C, max_iter)
        correct += int((pred == y[test]).sum())
        n_test += len(test)
        n_train += len(train)
        classes.update(np.unique(y[train]).tolist())
        tr_vals, tr_counts = np.unique(y[train], return_counts=True)
        p_train = dict(zip(tr_vals.tolist(), tr_counts / tr_counts.sum()))
        chance_num += sum(p_train.get(v, 0.0) for v in y[test].tolist())
    lo, hi = wilson_interval(correct, n_test)
    return {"feature": split.feature, "train_split": split.train_split, "test_split": split.test_split,
            "accuracy": correct / n_test, "chance": chance_num / n_test, "n_test": n_test,
            "ci_low": lo, "ci_high": hi, "n_train": n_train // len(split.folds), "n_classes": len(classes)}


def run_probes(features, labels: Mapping[str, np.ndarray] | pd.DataFrame, splits: Iterable[ProbeSplit], *,
               representation: str = "pooled", C: float = 1.0, max_iter: int = 1000) -> pd.DataFrame:
    """Run every probe in ``splits`` on ``features``; one tidy row per probe (columns PROBE_COLUMNS).

    Parameters
    ----------
    features : FeatureBank (its pooled (n, C) vectors are used) or an array (n, ...) (flattened).
    labels : mapping or DataFrame: property name -> (n,) raw labels.
    splits : ProbeSplit objects, e.g. from :func:`held_out_splits`.
    representation : value of the ``representation`` column (e.g. "efficientnet_lite0 pooled").
    C : inverse L2 regularisation strength of the logistic regression (standardised features).
    """
    x = as_matrix(features)
    rows = []
    for split in splits:
        if split.feature not in labels:
            raise ConfigError(f"no labels for feature {split.feature!r}; have {list(labels)}")
        row = probe_accuracy(x, np.asarray(labels[split.feature]), split, C=C, max_iter=max_iter)
        rows.append({"representation": representation, **row})
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def held_out_splits(meta: pd.DataFrame, features: Sequence[str] = FEATURES,
                    ) -> list[ProbeSplit]:
    """The standard held-out comparisons for a stimulus set's metadata table.

    ``meta`` needs the columns location, identity, category, angle and split (values "train",
    "novel_angle", "novel_identity", "novel_both"), as in ``StimulusSet.meta``. Comparisons whose images are
    missing (e.g. no novel identities) are skipped.

    - every feature: train on ``train`` images, test on ``novel_angle`` (same objects, held-out view);
    - location and category: train on ``train``, test on ``novel_identity`` (objects never seen);
    - identity and category: leave one location out within ``train`` (four folds, pooled): does the code
      of *what* generalise to a new *where*?
    """
    for col in ("split", "location", *features):
        if col not in meta.columns:
            raise ConfigError(f"meta lacks column {col!r}; has {list(meta.columns)}")
    idx = np.arange(len(meta))
    split = meta["split"].to_numpy()
    train = idx[split == "train"]
    out: list[ProbeSplit] = []
    for feat in features:
        test = idx[split == "novel_angle"]
        if len(train) and len(test):
            out.append(ProbeSplit.single(feat, "train", "novel angle", train, test))
    for feat in features:
        if feat == "identity":
            continue  # novel identities are new classes: identity cannot transfer
        test = idx[split == "novel_identity"]
        if len(train) and len(test):
            out.append(ProbeSplit.single(feat, "train", "novel identity", train, test))
    loc = meta["location"].to_numpy()
    locs = np.unique(loc[train]) if len(train) else []
    if len(locs) > 1:
        folds = tuple((train[loc[train] != v], train[loc[train] == v]) for v in locs)
        for feat in features:
            if feat == "location":
                continue  # a held-out location is a new class
            out.append(ProbeSplit(feat, "other locations", "held-out location", folds))
    return out


def variance_explained(features, labels: Mapping[str, np.ndarray] | pd.DataFrame | np.ndarray,
                       properties: Sequence[str] | None = None) -> pd.DataFrame:
    """Fraction of the standardised feature variance explained by each property's class means.

    Each feature column is z-scored (constant columns dropped), so every column weighs the same; the
    fraction for a property is the between-class sum of squares over the total sum of squares, summed
    over columns: ``sum_d sum_k n_k (mean_kd - mean_d)^2 / (n * D)`` (an R^2 of the class-mean model;
    1 = features are a function of the property, ~ (K-1)/n for unrelated labels).

    Parameters
    ----------
    features : FeatureBank (pooled) or (n, ...) array.
    labels : mapping/DataFrame property -> (n,) labels, or a single (n,) array (property "label").
    properties : which properties (default: all keys of ``labels``).

    Returns
    -------
    DataFrame with columns property, fraction, n_classes and chance_fraction = (n_classes - 1) / (n - 1),
    the expected fraction for labels unrelated to the features (same class count).
    """
    x = as_matrix(features)
    if isinstance(labels, np.ndarray):
        labels = {"label": labels}
    props = list(properties) if properties is not None else list(labels.keys())
    sd = x.std(axis=0)
    keep = sd > 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0)))
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    total = float((z ** 2).sum())
    rows = []
    for prop in props:
        y = np.asarray(labels[prop])
        if len(y) != len(x):
            raise ConfigError(f"labels[{prop!r}] has {len(y)} entries but features has {len(x)} rows")
        values, inv = np.unique(y, return_inverse=True)
        sums = np.zeros((len(values), z.shape[1]))
        np.add.at(sums, inv, z)
        counts = np.bincount(inv, minlength=len(values)).astype(float)
        between = float(((sums ** 2).sum(axis=1) / counts).sum())
        rows.append({"property": prop, "fraction": between / total if total > 0 else float("nan"),
                     "n_classes": int(len(values)),
                     "chance_fraction": (len(values) - 1) / max(len(y) - 1, 1)})
    return pd.DataFrame(rows, columns=["property", "fraction", "n_classes", "chance_fraction"])


def pixel_features(images: np.ndarray, side: int = 28) -> np.ndarray:
    """Block-mean downsampling of uint8 (n, S, S, 3) images to (n, side*side*3) floats in [0, 1]: the
    "raw pixels" baseline of the probes (a readout with no network at all)."""
    n, s = len(images), images.shape[1]
    b = s // side
    x = images[:, :b * side, :b * side].astype(np.float32).reshape(n, side, b, side, b, 3)
    return x.mean(axis=(2, 4)).reshape(n, -1) / 255


def backbone_probe_table(banks: Mapping[str, object], images: np.ndarray, labels: Mapping[str, np.ndarray],
                         splits: Sequence[ProbeSplit], *, side: int = 28) -> pd.DataFrame:
    """Every probe of ``splits`` on the raw pixels (:func:`pixel_features`) and on each backbone's feature bank
    read out two ways, its ``pooled`` vector and its ``2×2 grid`` means: one tidy table (:func:`run_probes`'s
    columns plus ``backbone``, ``readout`` and ``probe`` = "feature → test split"), pixels first."""
    tables = [run_probes(pixel_features(images, side), labels, splits, representation=f"pixels {side}×{side}")
              .assign(backbone="pixels", readout="pixels")]
    for name, bank in banks.items():
        for readout, x in (("pooled", bank.pooled), ("2×2 grid", bank.grid_means(2))):
            tables.append(run_probes(x, labels, splits, representation=f"{name} {readout}")
                          .assign(backbone=name, readout=readout))
    results = pd.concat(tables, ignore_index=True)
    results["probe"] = results["feature"] + " → " + results["test_split"]
    return results
