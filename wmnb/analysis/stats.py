"""Small statistics helpers shared by the analyses: confidence intervals, paired tests, seed aggregation.

Everything here works on plain numpy arrays / pandas tables; nothing touches models or files.

Conventions
-----------
* ``level`` is the two-sided confidence level (0.95 by default).
* Bootstrap resampling is always over *groups* (sequences) when groups are given, because the samples of
  one sequence (e.g. its time steps) are not independent.
* Seeds: every random helper takes ``seed`` and uses :func:`numpy.random.default_rng`.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..errors import ConfigError, check_float, check_int

__all__ = [
    "wilson_ci",
    "seed_ci",
    "mean_t_interval",
    "bootstrap_ci",
    "accuracy_with_ci",
    "paired_test",
    "aggregate_seeds",
]


def _t_stats(x: np.ndarray, level: float) -> tuple[float, float, float]:
    """``(mean, sd, half-width)`` of the t interval of the finite 1-d array ``x`` (already filtered).

    ``sd`` and ``half`` are NaN with fewer than two values; everything is NaN with none. The one place the
    t interval is computed (:func:`seed_ci` and :func:`aggregate_seeds` both use it).
    """
    m = float(x.mean()) if x.size else np.nan
    if x.size < 2:
        return (m, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, x.size - 1)) * sd / np.sqrt(x.size)
    return (m, sd, half)


def seed_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t confidence interval of the finite ``values`` (e.g. one value per seed or per model).

    The one seed-interval helper of the package (``mean_t_interval`` is the same function).

    Parameters
    ----------
    values : sequence of float, shape (k,)
        One value per seed; NaN / inf entries are dropped before anything is computed.
    level : float
        Two-sided confidence level.

    Returns
    -------
    (mean, low, high) : tuple of float
        ``mean +- t_{k-1} * sd / sqrt(k)`` over the k finite values.

    Edge cases
    ----------
    * no finite value (k = 0): ``(nan, nan, nan)``;
    * a single seed (k = 1): ``(value, nan, nan)`` -- the mean, but no interval (the verdict rules read a
      NaN interval as "inconclusive", never as a narrow one);
    * identical values: a zero-width interval ``(m, m, m)``.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    m, _, half = _t_stats(x, level)
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    if x.size < 2:
        return (m, np.nan, np.nan)
    return (m, m - half, m + half)


#: the historical name of :func:`seed_ci` (same function; kept for existing callers)
mean_t_interval = seed_ci


def wilson_ci(k, n, level: float = 0.95, *, z: float | None = None):
    """Wilson score interval for a binomial proportion ``k / n``: the one Wilson interval of the package.

    Parameters
    ----------
    k, n : int or array
        Number of successes and of trials (``0 <= k <= n``); scalars or broadcastable arrays.
    level : float
        Two-sided confidence level (used when ``z`` is None).
    z : float or None
        The normal quantile to use instead of ``level`` (``wmnb.analysis.probes`` uses its historical
        ``z = 1.959964``).

    Returns
    -------
    (low, high)
        Floats for scalar input, arrays (shape of ``k / n``) for array input; clipped to [0, 1].

    Edge cases
    ----------
    * ``n == 0`` (no trials): ``(nan, nan)``;
    * ``k == 0``: low is 0.0 (the interval is ``[0, z^2 / (n + z^2)]``);
    * ``k == n``: high is 1 up to rounding (it can come out as 0.9999999999999999; kept so that no cached
      number changes), low is ``n / (n + z^2)``.
    """
    if z is None:
        level = check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
        z = float(_st.norm.ppf(0.5 + level / 2))
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if low.ndim == 0:
        return (float(low), float(high))
    return (low, high)


def bootstrap_ci(values: np.ndarray, groups: np.ndarray | None = None, *,
                 statistic: Callable[[np.ndarray], float] = np.mean, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic(values)``, resampling whole groups (sequences).

    Parameters
    ----------
    values : (n,) array
        Per-sample values (e.g. 0/1 correctness).
    groups : (n,) array or None
        Group id per sample (e.g. sequence id). Groups are resampled with replacement; ``None`` treats
        every sample as its own group.
    statistic : callable
        Maps a 1-d array of (resampled) values to a float. Default: mean.
    n_boot : int
        Number of bootstrap resamples.
    level : float
        Two-sided confidence level.
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    (low, high) : tuple of float
    """
    n_boot = check_int("n_boot", n_boot, low=1)
    level = check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        return (float("nan"), float("nan"))
    if groups is None:
        groups = np.arange(values.size)
    groups = np.asarray(groups).ravel()
    if groups.shape != values.shape:
        raise ConfigError(f"groups has shape {groups.shape}; expected {values.shape} like values")
    _, inv = np.unique(groups, return_inverse=True)
    n_groups = int(inv.max()) + 1
    rng = np.random.default_rng(seed)
    if statistic is np.mean:
        # fast path: resample group sums and counts
        sums = np.bincount(inv, weights=values, minlength=n_groups)
        counts = np.bincount(inv, minlength=n_groups).astype(float)
        draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
        boot = sums[draws].sum(1) / counts[draws].sum(1)
    else:
        members = [np.flatnonzero(inv == g) for g in range(n_groups)]
        boot = np.empty(n_boot)
        for b in range(n_boot):
            pick = rng.integers(0, n_groups, size=n_groups)
            boot[b] = statistic(values[np.concatenate([members[g] for g in pick])])
    alpha = (1 - level) / 2
    return (float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha)))


def accuracy_with_ci(correct: np.ndarray, groups: np.ndarray | None = None, *, ci: str = "auto",
                     level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> dict:
    """Accuracy of a 0/1 vector with a confidence interval.

    Parameters
    ----------
    correct : (n,) bool array
    groups : (n,) array or None
        Sequence id per sample. Used by the bootstrap.
    ci : {"auto", "wilson", "bootstrap"}
        ``"auto"``: Wilson when every sample is its own sequence (independent samples), otherwise a
        bootstrap over sequences.

    Returns
    -------
    dict with keys ``accuracy, n_correct, n_test, ci_low, ci_high, ci_method``.
    """
    if ci not in ("auto", "wilson", "bootstrap"):
        raise ConfigError(f"ci={ci!r} is not allowed; choose one of ['auto', 'wilson', 'bootstrap']")
    correct = np.asarray(correct, dtype=bool).ravel()
    n = int(correct.size)
    k = int(correct.sum())
    if ci == "auto":
        independent = groups is None or np.unique(np.asarray(groups)).size == n
        ci = "wilson" if independent else "bootstrap"
    if ci == "wilson":
        lo, hi = wilson_ci(k, n, level)
    else:
        lo, hi = bootstrap_ci(correct.astype(float), groups, n_boot=n_boot, level=level, seed=seed)
    return dict(accuracy=(k / n if n else float("nan")), n_correct=k, n_test=n,
                ci_low=lo, ci_high=hi, ci_method=ci)


def paired_test(a: Sequence[float], b: Sequence[float], *, level: float = 0.95) -> dict:
    """Paired comparison of two matched samples (``b - a``): paired t-test and Wilcoxon signed-rank.

    Also runs Welch's two-sample t-test (the paper reports two-sample t-tests) for reference.

    Parameters
    ----------
    a, b : (k,) arrays
        Matched values (pair ``m`` is ``(a[m], b[m])``), e.g. O(perceptual) and O(encoding) for the same
        (model, task, property). NaN pairs are dropped.

    Returns
    -------
    dict with keys ``n_pairs, mean_a, mean_b, mean_diff, diff_ci_low, diff_ci_high, frac_b_below_a,
    t_stat, t_pvalue, wilcoxon_stat, wilcoxon_pvalue, welch_t, welch_pvalue`` (diff = b - a; the CI is the
    t interval of the mean difference).
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ConfigError(f"a and b must be paired (same length); got {a.shape} and {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    d = b - a
    k = int(d.size)
    out = dict(n_pairs=k, mean_a=float(np.mean(a)) if k else np.nan, mean_b=float(np.mean(b)) if k else np.nan,
               mean_diff=float(np.mean(d)) if k else np.nan, diff_ci_low=np.nan, diff_ci_high=np.nan,
               frac_b_below_a=float(np.mean(d < 0)) if k else np.nan, t_stat=np.nan, t_pvalue=np.nan,
               wilcoxon_stat=np.nan, wilcoxon_pvalue=np.nan, welch_t=np.nan, welch_pvalue=np.nan)
    if k >= 2:
        sd = float(np.std(d, ddof=1))
        half = float(_st.t.ppf(0.5 + level / 2, k - 1)) * sd / np.sqrt(k)
        out["diff_ci_low"], out["diff_ci_high"] = out["mean_diff"] - half, out["mean_diff"] + half
        if sd > 0:
            t = _st.ttest_rel(b, a)
            out["t_stat"], out["t_pvalue"] = float(t.statistic), float(t.pvalue)
        if np.any(d != 0):
            w = _st.wilcoxon(b, a)
            out["wilcoxon_stat"], out["wilcoxon_pvalue"] = float(w.statistic), float(w.pvalue)
        if np.std(a) > 0 or np.std(b) > 0:
            w2 = _st.ttest_ind(b, a, equal_var=False)
            out["welch_t"], out["welch_pvalue"] = float(w2.statistic), float(w2.pvalue)
    return out


def aggregate_seeds(tables: Iterable[pd.DataFrame], keys: Sequence[str], values: Sequence[str] | None = None,
                    *, level: float = 0.95) -> pd.DataFrame:
    """Mean and t confidence interval across seeds, from one result table per seed.

    Parameters
    ----------
    tables : iterable of DataFrame
        One table per seed (same layout, e.g. the output of :func:`wmnb.analysis.task_relevance` for
        seeds 0, 1, 2).
    keys : sequence of str
        Columns identifying a row across seeds (e.g. ``["task_feature", "n", "property"]``).
    values : sequence of str or None
        Numeric columns to aggregate; default: every numeric column not in ``keys``.

    Returns
    -------
    DataFrame
        One row per key combination; for every value column ``v``: ``v_mean, v_sd, v_ci_low, v_ci_high``
        plus ``n_seeds``. With one seed the sd and CI are NaN.
    """
    tables = list(tables)
    if not tables:
        raise ConfigError("tables is empty; pass one result table per seed")
    keys = list(keys)
    frames = []
    for s, t in enumerate(tables):
        missing = [k for k in keys if k not in t.columns]
        if missing:
            raise ConfigError(f"keys {missing} not in table {s} columns {list(t.columns)}")
        frames.append(t.assign(_seed=s))
    df = pd.concat(frames, ignore_index=True)
    if values is None:
        values = [c for c in df.columns if c not in keys and c != "_seed"
                  and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    values = list(values)
    rows = []
    for key, g in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        row["n_seeds"] = int(g["_seed"].nunique())
        for v in values:
            x = g[v].to_numpy(dtype=float)
            m, sd, half = _t_stats(x[np.isfinite(x)], level)
            row[f"{v}_mean"], row[f"{v}_sd"] = m, sd
            row[f"{v}_ci_low"], row[f"{v}_ci_high"] = m - half, m + half
        rows.append(row)
    return pd.DataFrame(rows)
