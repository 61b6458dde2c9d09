"""Linear decoders scored on held-out sequences, with classes keyed by raw label value.

This is the shared machinery of every decoding analysis in :mod:`wmnb.analysis`.

Rules it enforces (see ``reference-system.md`` section 7.3 for the bugs they prevent)
-----------------------------------------------------------------------------------
* **Held-out images (the primary rule).** :func:`split_images` partitions the *images* whose property is
  decoded (the shown image at an encoding step, the remembered one at a memory step), stratified so every
  class value is on both sides, and a row is scored only when its decoded image was never used in fitting.
  Analysis sequences reuse a pool of a few hundred images and at the encoding step the state is a fixed
  function of (image, task), so a split by sequence scores mostly exact copies of training states: a
  network with a random code per image decodes at ~100 % that way (``tests/test_analysis_decoding.py``
  plants it). :func:`holdout_split` is the one entry point; ``protocol="image"`` is the default everywhere.
* **Paper-style split, by name only.** :func:`split_sequences` splits by sequence id (all steps of one
  sequence on one side) and images may repeat across sides. It is kept as the labelled secondary number
  (``protocol="sequence"``) where the paper's figure is compared. Scores always come from :func:`score` on
  data the decoder was not fit on; there is no in-sample scorer here.
* **Raw values.** Classes are the sorted raw label values seen in training (``decoder.classes``); the
  decoder predicts raw values. A test value never seen in training can never be predicted, so it counts as
  wrong (``n_unseen`` reports how many); nothing is re-mapped.
* **Standardisation** (z-scoring) is fit on the training data only and stored in the decoder.
* **Chance** is reported next to every accuracy: ``chance = 1 / n_classes`` with ``n_classes`` = number of
  distinct values in the union of training and test labels, and ``chance_majority`` = accuracy of always
  predicting the most frequent training class.

Decoder kinds
-------------
``"logreg"`` (default)
    Multinomial (softmax) logistic regression, L2 penalty ``C``, lbfgs (tol 1e-3).
``"ovr_svm"``
    One binary ``LinearSVC`` (squared hinge, L2, ``class_weight="balanced"``) per class, class vs rest;
    prediction = argmax of the decision values. Its rows are the one-vs-rest hyperplanes the paper uses
    for the orthogonalization index.
``"ovr_logreg"``
    Same as ``ovr_svm`` with binary logistic regressions.

Shapes: ``X`` is ``(n_samples, n_dims)``, ``y`` is ``(n_samples,)`` of raw (integer) values; ``C`` below is
the number of classes.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..config import FEATURES
from ..errors import ConfigError, check_choice, check_float, check_int
from .stats import accuracy_with_ci

__all__ = [
    "FEATURES",
    "LinearDecoder",
    "PROTOCOLS",
    "PROTOCOL_LABELS",
    "split_images",
    "split_sequences",
    "holdout_split",
    "fit_decoder",
    "score",
    "fit_and_score",
    "decoder_normals",
    "feature_name",
    "task_groups",
]

#: Object properties, in the task-vector order of :mod:`wmnb.tasks` (index = ``feature`` code).

DECODER_KINDS = ("logreg", "ovr_svm", "ovr_logreg")

#: held-out protocols: "image" (primary: decoded images never used in fitting) and "sequence" (paper-style)
PROTOCOLS = ("image", "sequence")
#: how a number's protocol is named in tables, figures and the claims page
PROTOCOL_LABELS = {"image": "image-disjoint", "sequence": "paper-style (images may repeat)"}


@dataclass
class LinearDecoder:
    """A fitted linear decoder in standardised coordinates.

    Attributes
    ----------
    classes : (C,) array
        Sorted raw label values seen in training; row ``c`` of ``coef`` belongs to ``classes[c]``.
    coef : (C, H) float array
        Weights in *standardised* coordinates ``z = (x - mean) / scale``.
    intercept : (C,) float array
    mean, scale : (H,) float arrays
        Standardisation statistics of the training data (``scale`` has zeros replaced by 1).
    kind : str
        One of ``"logreg"``, ``"ovr_svm"``, ``"ovr_logreg"``, or ``"constant"`` (one training class).
    class_counts : (C,) int array
        Training samples per class.
    train_accuracy : float
        Accuracy on the training data (for over-fitting diagnostics only; never a result).
    """

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    kind: str
    class_counts: np.ndarray
    train_accuracy: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return int(self.classes.size)

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """``(X - mean) / scale`` with the training statistics; ``X`` is ``(n, H)``."""
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Class scores ``(n, C)`` for raw inputs ``X`` ``(n, H)``."""
        return self.standardise(X) @ self.coef.T + self.intercept

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted raw label values ``(n,)``."""
        return self.classes[np.argmax(self.decision_function(X), axis=1)]

    def raw_coef(self) -> np.ndarray:
        """Weights ``(C, H)`` in *raw* hidden coordinates: ``coef / scale`` (same decision boundaries)."""
        return self.coef / self.scale

    def normals(self, space: str = "standardised") -> np.ndarray:
        """Unit normals ``(C, H)`` of the class hyperplanes, in ``"standardised"`` or ``"raw"`` coordinates.

        For one-vs-rest kinds row ``c`` is the normal of the hyperplane separating ``classes[c]`` from the
        rest. In raw space the normal of ``w . (x - m) / s + b = 0`` is ``w / s`` (not ``w``): use
        ``space="raw"`` for anything that moves raw hidden states (e.g. perturbations).
        """
        check_choice("space", space, ("standardised", "raw"))
        W = self.coef if space == "standardised" else self.raw_coef()
        norm = np.linalg.norm(W, axis=1, keepdims=True)
        return W / np.where(norm > 0, norm, 1.0)


def split_sequences(seq_id: np.ndarray, test_fraction: float = 0.2, seed: int = 0,
                    stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into train/test **by sequence id** (all rows of one sequence go to the same side).

    Parameters
    ----------
    seq_id : (B,) array
        Sequence id per row (for a :class:`~wmnb.recording.Recording`, one row per sequence).
    test_fraction : float in (0, 1)
        Fraction of *sequences* put in the test set (rounded, at least one each side when possible).
    seed : int
        Seed for :func:`numpy.random.default_rng`; the split depends only on the sorted unique ids and the
        seed, never on row order or on Python's salted ``hash``.
    stratify : (B,) array or None
        Optional per-row group (e.g. a task code): the split is done separately inside each group so every
        group gets the same test fraction. Rows of one sequence must share the group.

    Returns
    -------
    train, test : (B,) bool arrays
        Disjoint masks covering all rows.
    """
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    seq_id = np.asarray(seq_id).ravel()
    rng = np.random.default_rng(seed)
    test = np.zeros(seq_id.size, dtype=bool)
    strata = np.zeros(seq_id.size, dtype=np.int64) if stratify is None else np.asarray(stratify).ravel()
    if strata.shape != seq_id.shape:
        raise ConfigError(f"stratify has shape {strata.shape}; expected {seq_id.shape} like seq_id")
    for s in np.unique(strata):
        rows = strata == s
        ids = np.unique(seq_id[rows])
        n_test = int(round(test_fraction * ids.size))
        if ids.size >= 2:
            n_test = min(max(n_test, 1), ids.size - 1)
        test_ids = rng.permutation(ids)[:n_test]
        test |= rows & np.isin(seq_id, test_ids)
    if stratify is not None:
        both = np.intersect1d(seq_id[test], seq_id[~test])
        if both.size:
            raise ConfigError("stratify must be constant within a sequence; "
                              f"{both.size} sequences fall in two strata")
    return ~test, test


def split_images(image_id: np.ndarray, strata: np.ndarray | None = None, test_fraction: float = 0.2,
                 seed: int = 0, *, context: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into train/test **by decoded image**: no image decoded in a test row is decoded in training.

    The unique image ids are partitioned (seeded, independent of row order); a row goes to the side of its
    image, so every state of a test image is scored and none is fitted on.

    Parameters
    ----------
    image_id : (n,) int array
        Id of the image whose property the row's state is decoded for: the image shown at an encoding step,
        the *remembered* image (``Recording.memory``) at a memory step.
    strata : (n,) array or None
        The decoded property's raw value per row (constant per image). The partition is done inside each
        value, so every value with at least two images is on both sides (a value with a single image stays in
        training; its rows are never scored). Pass the finest property (identity) to share one split across
        location, identity and category decoders.
    test_fraction : float in (0, 1)
        Fraction of each stratum's images held out (rounded; at least one each side when possible).
    seed : int
        Seed for :func:`numpy.random.default_rng`.
    context : (n, k) int array or None
        Optional other images each row's state may still carry (e.g. the whole sequence up to that step).
        Training rows whose context holds a test image are dropped (the strict form: a test image then never
        enters fitting in any role). Test rows are unaffected.

    Returns
    -------
    train, test : (n,) bool arrays
        Disjoint masks; every row is in ``test`` exactly when its image is held out. With ``context`` some
        rows may be in neither.
    """
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    image_id = np.asarray(image_id).ravel()
    strata = np.zeros(image_id.size, np.int64) if strata is None else np.asarray(strata).ravel()
    if strata.shape != image_id.shape:
        raise ConfigError(f"strata has shape {strata.shape}; expected {image_id.shape} like image_id")
    images, first = np.unique(image_id, return_index=True)
    img_stratum = strata[first]
    # an image must carry one value of the stratifying property; two would mean mislabelled rows
    pairs = np.unique(np.stack([image_id, np.unique(strata, return_inverse=True)[1].ravel()]), axis=1)
    if pairs.shape[1] != images.size:
        dup = pairs[0][np.flatnonzero(np.diff(pairs[0]) == 0)[0]]
        raise ConfigError(f"strata must be constant per image; image {dup} carries two values")
    rng = np.random.default_rng(seed)
    held = []
    for s in np.unique(img_stratum):
        ids = images[img_stratum == s]
        n_test = int(round(test_fraction * ids.size))
        n_test = min(max(n_test, 1), ids.size - 1) if ids.size >= 2 else 0
        held.append(rng.permutation(ids)[:n_test])
    held = np.concatenate(held) if held else np.empty(0, image_id.dtype)
    test = np.isin(image_id, held)
    train = ~test
    if context is not None:
        context = np.asarray(context)
        if context.ndim == 1:
            context = context[:, None]
        if context.shape[0] != image_id.size:
            raise ConfigError(f"context has {context.shape[0]} rows; expected {image_id.size} like image_id")
        train &= ~np.isin(context, held).any(axis=1)
    return train, test


def holdout_split(protocol: str, *, image_id: np.ndarray | None = None, strata: np.ndarray | None = None,
                  seq_id: np.ndarray | None = None, seq_strata: np.ndarray | None = None,
                  test_fraction: float = 0.2, seed: int = 0,
                  context: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train/test masks under a named protocol: the one entry point every decoder in the package uses.

    ``protocol="image"`` (primary): :func:`split_images` on ``image_id`` / ``strata`` / ``context``.
    ``protocol="sequence"`` (paper-style, images may repeat): :func:`split_sequences` on ``seq_id``, stratified
    by ``seq_strata`` (e.g. the task cell).
    """
    check_choice("protocol", protocol, PROTOCOLS)
    if protocol == "image":
        if image_id is None:
            raise ConfigError("protocol='image' needs image_id (the decoded image of each row)")
        return split_images(image_id, strata, test_fraction, seed, context=context)
    if seq_id is None:
        raise ConfigError("protocol='sequence' needs seq_id")
    return split_sequences(seq_id, test_fraction, seed, stratify=seq_strata)


def _check_xy(X, y, name="X"):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    if X.ndim != 2:
        raise ConfigError(f"{name} must be 2-d (n_samples, n_dims); got shape {X.shape}")
    if X.shape[0] != y.shape[0]:
        raise ConfigError(f"{name} has {X.shape[0]} rows but y has {y.shape[0]}")
    if not np.all(np.isfinite(X)):
        raise ConfigError(f"{name} contains NaN or inf")
    return X, y


def fit_decoder(X: np.ndarray, y: np.ndarray, *, kind: str = "logreg", C: float = 1.0,
                max_iter: int = 1000, seed: int = 0) -> LinearDecoder:
    """Fit a linear decoder on standardised features (statistics from this training data only).

    Parameters
    ----------
    X : (n, H) float array
        Training inputs (e.g. hidden states of the *training* sequences at one step).
    y : (n,) int array
        Raw label values (e.g. identity ids). Classes = ``np.unique(y)``.
    kind : {"logreg", "ovr_svm", "ovr_logreg"}
        See the module docstring.
    C : float > 0
        Inverse L2 regularisation strength (scikit-learn convention).
    max_iter : int
        Solver iterations. Convergence warnings are silenced (decoders on standardised data converge in
        practice; a non-converged fit only lowers held-out accuracy).
    seed : int
        ``random_state`` for the solvers that use one.

    Returns
    -------
    LinearDecoder
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    check_choice("kind", kind, DECODER_KINDS)
    C = check_float("C", C, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    X, y = _check_xy(X, y)
    if X.shape[0] == 0:
        raise ConfigError("cannot fit a decoder on 0 samples")
    mean = X.mean(0)
    scale = X.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    Z = (X - mean) / scale
    classes, counts = np.unique(y, return_counts=True)
    H = X.shape[1]
    if classes.size == 1:
        dec = LinearDecoder(classes, np.zeros((1, H)), np.zeros(1), mean, scale, "constant", counts)
        dec.train_accuracy = 1.0
        return dec
    from threadpoolctl import threadpool_limits

    # one BLAS thread: these fits are small, and threads fighting over 2 cores made them ~9x slower
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "logreg":
            m = LogisticRegression(C=C, max_iter=max_iter, tol=1e-3, random_state=seed).fit(Z, y)
            coef, icpt = m.coef_.astype(np.float64), m.intercept_.astype(np.float64)
            if classes.size == 2:  # sklearn stores one row for binary problems: make it two symmetric rows
                coef = np.vstack([-coef[0], coef[0]]) / 2
                icpt = np.array([-icpt[0], icpt[0]]) / 2
        else:
            coef = np.empty((classes.size, H))
            icpt = np.empty(classes.size)
            for c, v in enumerate(classes):
                target = (y == v).astype(int)
                if kind == "ovr_svm":
                    m = LinearSVC(C=C, class_weight="balanced", max_iter=max_iter, random_state=seed,
                                  dual=True)  # dual: converges fast here; the primal often hits max_iter
                else:
                    m = LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter, random_state=seed)
                m.fit(Z, target)
                coef[c], icpt[c] = m.coef_[0], m.intercept_[0]
    dec = LinearDecoder(classes, coef, icpt, mean, scale, kind, counts)
    dec.train_accuracy = float(np.mean(dec.predict(X) == y))
    return dec


def score(decoder: LinearDecoder, X: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None,
          ci: str = "auto", level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> dict:
    """Held-out accuracy of ``decoder`` on ``(X, y)`` with chance level, n and a confidence interval.

    Parameters
    ----------
    decoder : LinearDecoder
    X : (n, H) float array
        Test inputs the decoder was **not** fit on (the caller guarantees this; every analysis in this
        package splits with :func:`holdout_split`).
    y : (n,) int array
        Raw test labels. Values unseen in training count as wrong.
    groups : (n,) array or None
        Sequence id per test sample; when samples share sequences the CI is a bootstrap over sequences.
    ci : {"auto", "wilson", "bootstrap"}
        ``"auto"`` = Wilson for independent samples, bootstrap over ``groups`` otherwise.

    Returns
    -------
    dict
        ``accuracy, ci_low, ci_high, ci_method, n_correct, n_test, n_classes, chance, chance_majority,
        n_unseen``.
    """
    X, y = _check_xy(X, y)
    pred = decoder.predict(X) if X.shape[0] else np.empty(0, dtype=decoder.classes.dtype)
    correct = pred == y
    out = accuracy_with_ci(correct, groups, ci=ci, level=level, n_boot=n_boot, seed=seed)
    union = np.union1d(decoder.classes, np.unique(y))
    out["n_classes"] = int(union.size)
    out["chance"] = 1.0 / union.size if union.size else float("nan")
    majority = decoder.classes[np.argmax(decoder.class_counts)]
    out["chance_majority"] = float(np.mean(y == majority)) if y.size else float("nan")
    out["n_unseen"] = int(np.sum(~np.isin(y, decoder.classes)))
    return out


def fit_and_score(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *,
                  groups_test: np.ndarray | None = None, kind: str = "logreg", C: float = 1.0,
                  seed: int = 0, ci: str = "auto", n_boot: int = 1000) -> dict:
    """Fit on the training set, score on the held-out set; :func:`score`'s dict plus ``n_train`` and
    ``train_accuracy``."""
    dec = fit_decoder(X_train, y_train, kind=kind, C=C, seed=seed)
    out = score(dec, X_test, y_test, groups=groups_test, ci=ci, n_boot=n_boot, seed=seed)
    out["n_train"] = int(np.asarray(y_train).size)
    out["train_accuracy"] = dec.train_accuracy
    return out


def decoder_normals(X: np.ndarray, y: np.ndarray, *, space: str = "standardised", kind: str = "ovr_svm",
                    C: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest hyperplane normals, one unit vector per class.

    Parameters
    ----------
    X : (n, H) float array
    y : (n,) raw labels
    space : {"standardised", "raw"}
        Coordinates of the normals: z-scored features (what the paper's orthogonality index uses) or raw
        hidden units (what a perturbation of raw states must use).
    kind : {"ovr_svm", "ovr_logreg"}

    Returns
    -------
    classes : (C,) raw values
    normals : (C, H) unit rows; row ``c`` is the normal of the hyperplane ``classes[c]`` vs rest, pointing
        into class ``c``.
    """
    check_choice("kind", kind, ("ovr_svm", "ovr_logreg"))
    dec = fit_decoder(X, y, kind=kind, C=C, seed=seed)
    return dec.classes, dec.normals(space)


def feature_name(code) -> str:
    """Name of a task feature code (0, 1, 2 -> ``FEATURES``); strings are checked and returned."""
    if isinstance(code, str):
        return check_choice("feature", code, FEATURES)
    return FEATURES[check_int("feature", int(code), low=0, high=len(FEATURES) - 1)]


def task_groups(B: int, feature: np.ndarray | None = None, n: np.ndarray | None = None, *,
                by_feature: bool = True, by_n: bool = True):
    """Iterate over task cells of a recording.

    Parameters
    ----------
    B : int
        Number of sequences (rows).
    feature : (B,) int codes (index into ``FEATURES``) or names, or None (one task / unknown)
    n : (B,) int or None
    by_feature, by_n : bool
        Split by task feature / by N; when False (or the array is None) that factor is pooled.

    Yields
    ------
    (task_feature, n_value, mask)
        ``task_feature`` is a feature name or ``"all"``; ``n_value`` is N or ``0`` meaning "all N pooled";
        ``mask`` is a (B,) bool array.
    """
    fcodes = None if feature is None else np.asarray(feature).ravel()
    ncodes = None if n is None else np.asarray(n).ravel()
    for arr, name in ((fcodes, "feature"), (ncodes, "n")):
        if arr is not None and arr.shape != (B,):
            raise ConfigError(f"{name} has shape {arr.shape}; expected ({B},)")
    fvals = [None] if (fcodes is None or not by_feature) else list(np.unique(fcodes))
    nvals = [None] if (ncodes is None or not by_n) else list(np.unique(ncodes))
    for fv in fvals:
        for nv in nvals:
            mask = np.ones(B, dtype=bool)
            if fv is not None:
                mask &= fcodes == fv
            if nv is not None:
                mask &= ncodes == nv
            if mask.any():
                yield ("all" if fv is None else feature_name(fv)), (0 if nv is None else int(nv)), mask
