"""Causal test: shift hidden states along a decoder's hyperplane normal, run one recurrent step (F8, Fig. A7).

Procedure (paper, appendix "Causal test"; reference section 5.8)
-----------------------------------------------------------------
1. Select trials/steps (the caller does this, typically match trials at an executive step t): the states
   ``h_{t-1}`` *before* the step and the inputs ``x_t`` of the step (the paired stimulus + task vector).
2. Shift ``h'_{t-1} = h_{t-1} + d * u`` for several magnitudes d (always including d = 0), where u is a unit
   normal of a decoder hyperplane **in raw hidden coordinates** (``LinearDecoder.normals("raw")``; a normal
   taken in z-scored coordinates must be divided by the scaler's ``scale`` before use).
3. Run the recurrent step ``h_t, p_t = step(h'_{t-1}, x_t)`` and read the response probabilities
   (no_action, non_match, match) -- not the readout alone, which cannot change P(no_action) in the way the
   recurrent pass can.
4. Report the mean probabilities per magnitude and their change relative to d = 0 (not between the two
   extremes).

Paper expectation (F8): P(match) falls and P(no_action) rises as the state crosses the hyperplane;
P(non_match) barely changes.

A test that can fail (issue 9)
------------------------------
A shift that never reaches a size the network reacts to says nothing. So (:func:`perturbation_sweep`,
:func:`substitution_control`):

* **directions** are taken in raw hidden coordinates: the normal ``w_target - w_own`` of a multinomial logistic
  fitted on *raw* (centred, not z-scored) states (:func:`raw_decoder`; a z-scored normal mapped back to raw
  units loads on low-variance units), and the class-mean difference ``mu_target - mu_own`` toward the
  centroid of another value of the remembered property (:func:`class_means`); a random unit direction of the
  same length is the control;
* **magnitudes** are absolute, reported as ``shift norm / ||h - mean||`` and swept to at least 1;
* a **positive control** substitutes the whole state with that of another trial whose remembered value differs
  (same step, same task): if even that does not move P(match), the network's response at this step does not
  depend on the state in a way the test can see, and the cell is inconclusive.

``step_fn(h, c, rows) -> probs`` is the generic "run the network from this state" callable: ``h`` (M, H)
states, ``c`` (M, H) LSTM cell states or None, ``rows`` (M,) the trial each state belongs to (its inputs);
it may run one recurrent step or several (:func:`propagate`-style, encoding-time variant).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_choice

__all__ = ["RESPONSES", "perturb_along_normal", "class_means", "raw_decoder", "direction_vectors",
           "perturbation_sweep", "substitution_control", "paired_delta"]

#: Response order of the model's output (index = class id).
RESPONSES = ("no_action", "non_match", "match")


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def perturb_along_normal(step: Callable, h_prev: np.ndarray, x_next, normal: np.ndarray,
                         magnitudes: Sequence[float] = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0), *,
                         units: str = "raw", level: float = 0.95) -> pd.DataFrame:
    """Response probabilities after shifting ``h_prev`` along ``normal`` and running one recurrent step.

    Parameters
    ----------
    step : callable ``step(h_prev, x_next) -> (h_next, probs)``
        The model's one-step function. It receives ``h_prev`` as a float32 numpy array (B, H) and
        ``x_next`` unchanged; it may return numpy arrays or torch tensors. ``probs`` is (B, 3) in
        ``RESPONSES`` order (no_action, non_match, match). For an LSTM, wrap the cell state in the callable.
    h_prev : (B, H) float array
        Hidden states before the perturbed step (raw hidden coordinates).
    x_next : anything ``step`` accepts, batch-first (B, ...)
        Inputs of the step (stimulus features and task vector).
    normal : (H,) or (B, H) float array
        Direction(s) in raw hidden coordinates; normalised to unit length per row.
    magnitudes : sequence of float
        Shifts d; 0 is added if missing.
    units : {"raw", "sd"}
        ``"raw"``: d is a Euclidean length in hidden units. ``"sd"``: d is in standard deviations of the
        projections ``h_prev @ u`` across the batch (comparable across models).
    level : float
        Confidence level of the per-magnitude mean probabilities (t interval across trials).

    Returns
    -------
    DataFrame
        One row per magnitude (sorted): ``magnitude``, ``shift_norm`` (Euclidean length of the shift),
        ``n``, for each response r in RESPONSES: ``p_<r>`` (mean), ``p_<r>_sd``, ``p_<r>_ci_low``,
        ``p_<r>_ci_high``, ``delta_<r>`` (mean change vs d = 0, paired per trial), plus
        ``frac_argmax_<r>`` (fraction of trials whose most likely response is r).
    """
    from scipy import stats as st

    check_choice("units", units, ("raw", "sd"))
    h = np.asarray(h_prev, dtype=np.float64)
    if h.ndim != 2:
        raise ConfigError(f"h_prev must be (B, H); got shape {h.shape}")
    B, H = h.shape
    u = np.asarray(normal, dtype=np.float64)
    if u.shape not in ((H,), (B, H)):
        raise ConfigError(f"normal must have shape ({H},) or ({B}, {H}); got {u.shape}")
    u = np.broadcast_to(u, (B, H))
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ConfigError("normal has a zero row; cannot define a direction")
    u = u / norms
    mags = sorted(set(float(m) for m in magnitudes) | {0.0})
    unit = 1.0
    if units == "sd":
        unit = float(np.std(np.sum(h * u, axis=1)))
        if unit == 0:
            raise ConfigError("projections of h_prev on the normal have zero spread; use units='raw'")
    probs = {}
    for d in mags:
        _, p = step((h + d * unit * u).astype(np.float32), x_next)
        p = _to_numpy(p)
        if p.shape != (B, len(RESPONSES)):
            raise ConfigError(f"step returned probs of shape {p.shape}; expected ({B}, {len(RESPONSES)})")
        probs[d] = p
    p0 = probs[0.0]
    z = float(st.t.ppf(0.5 + level / 2, max(B - 1, 1)))
    rows = []
    for d in mags:
        p = probs[d]
        row = dict(magnitude=d, shift_norm=abs(d) * unit, n=B)
        arg = np.argmax(p, axis=1)
        for k, r in enumerate(RESPONSES):
            m = float(p[:, k].mean())
            sd = float(p[:, k].std(ddof=1)) if B > 1 else np.nan
            half = z * sd / np.sqrt(B) if B > 1 else np.nan
            row[f"p_{r}"], row[f"p_{r}_sd"] = m, sd
            row[f"p_{r}_ci_low"], row[f"p_{r}_ci_high"] = m - half, m + half
            row[f"delta_{r}"] = float((p[:, k] - p0[:, k]).mean())
            row[f"frac_argmax_{r}"] = float(np.mean(arg == k))
        rows.append(row)
    return pd.DataFrame(rows)


def class_means(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes (C,), means (C, H))``: centroid of the states ``X`` (n, H) of each raw value of ``y``."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    classes = np.unique(y)
    return classes, np.stack([X[y == v].mean(0) for v in classes])


def raw_decoder(X: np.ndarray, y: np.ndarray, *, C: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression on **raw** centred states (no z-scoring).

    Returns ``(classes (C,), W (C, H))`` in raw hidden coordinates: the boundary between values a and b has
    normal ``W[b] - W[a]`` in the space the network's states live in.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    classes = np.unique(y)
    if classes.size < 2:
        raise ConfigError("raw_decoder needs at least two values")
    Xc = X - X.mean(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = LogisticRegression(C=C, max_iter=500, tol=1e-3, random_state=seed).fit(Xc, y)
    W = m.coef_.astype(np.float64)
    if classes.size == 2:
        W = np.vstack([-W[0], W[0]]) / 2
    return classes, W


def direction_vectors(kind: str, own: np.ndarray, target: np.ndarray, *, classes: np.ndarray | None = None,
                      vectors: np.ndarray | None = None, H: int | None = None, seed: int = 0) -> np.ndarray:
    """Unit directions (B, H), one per trial, from its remembered value ``own`` toward ``target`` (B,).

    kind
        ``"decoder"``: ``vectors`` are raw decoder weights (:func:`raw_decoder`), direction
        ``W[target] - W[own]``; ``"class_mean"``: ``vectors`` are class centroids (:func:`class_means`),
        direction ``mu[target] - mu[own]``; ``"random"``: isotropic random unit vectors (``H`` needed).
    """
    check_choice("kind", kind, ("decoder", "class_mean", "random"))
    own, target = np.asarray(own).ravel(), np.asarray(target).ravel()
    if kind == "random":
        if H is None:
            raise ConfigError("kind='random' needs H")
        d = np.random.default_rng(seed).normal(size=(own.size, int(H)))
    else:
        if classes is None or vectors is None:
            raise ConfigError(f"kind={kind!r} needs classes and vectors")
        classes = np.asarray(classes)
        if not (np.isin(own, classes).all() and np.isin(target, classes).all()):
            raise ConfigError("own/target values must be among classes")
        V = np.asarray(vectors, dtype=np.float64)
        d = V[np.searchsorted(classes, target)] - V[np.searchsorted(classes, own)]
    norm = np.linalg.norm(d, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ConfigError("a direction has zero length (own == target, or identical class vectors)")
    return d / norm


def paired_delta(p: np.ndarray, p0: np.ndarray, level: float = 0.95) -> dict:
    """Mean per-trial change ``p - p0`` (B, 3) per response with a paired t interval.

    Returns ``{f"delta_{r}": mean, f"delta_{r}_ci_low": ..., f"delta_{r}_ci_high": ...}`` for r in RESPONSES.
    """
    from scipy import stats as st

    d = np.asarray(p, float) - np.asarray(p0, float)
    B = d.shape[0]
    out = {}
    for k, r in enumerate(RESPONSES):
        m = float(d[:, k].mean())
        half = (float(st.t.ppf(0.5 + level / 2, B - 1)) * float(d[:, k].std(ddof=1)) / np.sqrt(B)
                if B > 1 else np.nan)
        out[f"delta_{r}"], out[f"delta_{r}_ci_low"], out[f"delta_{r}_ci_high"] = m, m - half, m + half
    return out


def _probs(step_fn, h, c, rows):
    p = _to_numpy(step_fn(np.asarray(h, np.float32), None if c is None else np.asarray(c, np.float32), rows))
    if p.shape != (len(rows), len(RESPONSES)):
        raise ConfigError(f"step_fn returned probs of shape {p.shape}; expected ({len(rows)}, {len(RESPONSES)})")
    return p


def perturbation_sweep(step_fn: Callable, h: np.ndarray, directions: dict, rel_magnitudes: Sequence[float], *,
                       center: np.ndarray, c: np.ndarray | None = None, level: float = 0.95) -> pd.DataFrame:
    """Shift each trial's state along each direction by ``rel * ||h_b - center||`` and run the network once,
    all shifts batched into one ``step_fn`` call.

    Parameters
    ----------
    step_fn : ``step_fn(h (M, H), c (M, H) or None, rows (M,)) -> probs (M, 3)`` (module docstring).
    h : (B, H) states of the trials; c : (B, H) LSTM cell states or None (kept unperturbed).
    directions : name -> (B, H) directions (normalised inside).
    rel_magnitudes : shift lengths relative to the state's distance from ``center`` (0 is added).
    center : (H,) reference state (the mean training state).

    Returns
    -------
    DataFrame, one row per (direction, rel): ``direction, rel, shift_norm`` (mean absolute length),
    ``n_trials``, ``p_<r>`` and :func:`paired_delta` columns vs rel = 0 for r in RESPONSES.
    """
    h = np.asarray(h, dtype=np.float64)
    B, H = h.shape
    rels = sorted(set(float(r) for r in rel_magnitudes) | {0.0})
    dist = np.linalg.norm(h - np.asarray(center, float), axis=1)
    blocks, rows, meta = [], [], []
    for name, d in directions.items():
        d = np.asarray(d, dtype=np.float64)
        if d.shape != (B, H):
            raise ConfigError(f"direction {name!r} has shape {d.shape}; expected ({B}, {H})")
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        for r in rels:
            blocks.append(h + (r * dist)[:, None] * d)
            rows.append(np.arange(B))
            meta.append((name, r))
    rows_all = np.concatenate(rows)
    P = _probs(step_fn, np.concatenate(blocks), None if c is None else np.asarray(c)[rows_all], rows_all)
    P = P.reshape(len(meta), B, len(RESPONSES))
    out = []
    base = {name: P[k] for k, (name, r) in enumerate(meta) if r == 0.0}
    for k, (name, r) in enumerate(meta):
        row = dict(direction=name, rel=r, shift_norm=float(r * dist.mean()), n_trials=B)
        for q, resp in enumerate(RESPONSES):
            row[f"p_{resp}"] = float(P[k][:, q].mean())
        row.update(paired_delta(P[k], base[name], level))
        out.append(row)
    return pd.DataFrame(out)


def substitution_control(step_fn: Callable, h: np.ndarray, h_donor: np.ndarray, *, c: np.ndarray | None = None,
                         c_donor: np.ndarray | None = None, level: float = 0.95) -> dict:
    """Positive control: replace each trial's whole state by a donor's (another trial, same step and task,
    different remembered value) and run the network with the trial's own inputs.

    Returns ``{"p0": (B, 3), "p": (B, 3), **paired_delta(p, p0)}`` plus ``rel`` (mean ``||donor - h|| /
    ||h - mean(h)||``, how far the substitution moves the state).
    """
    h = np.asarray(h, dtype=np.float64)
    hd = np.asarray(h_donor, dtype=np.float64)
    if hd.shape != h.shape:
        raise ConfigError(f"h_donor has shape {hd.shape}; expected {h.shape}")
    B = h.shape[0]
    rows = np.r_[np.arange(B), np.arange(B)]
    cc = None if c is None else np.r_[np.asarray(c), np.asarray(c if c_donor is None else c_donor)]
    P = _probs(step_fn, np.r_[h, hd], cc, rows)
    p0, p = P[:B], P[B:]
    rel = float(np.mean(np.linalg.norm(hd - h, axis=1)) / max(np.mean(np.linalg.norm(h - h.mean(0), axis=1)),
                                                                 1e-12))
    return dict(p0=p0, p=p, rel=rel, **paired_delta(p, p0, level))
