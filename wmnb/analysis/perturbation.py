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
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_choice

__all__ = ["RESPONSES", "perturb_along_normal"]

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
