"""The book's one figure style: a colour-blind-safe palette, the rcParams, and the drawing helpers every figure
shares (a bar with its seed interval, error bars from a seed-aggregated table, the chance line).

Colours come from the Okabe & Ito (2008) palette, one meaning each: architectures (:data:`CORE_COLORS`), task
features / decoded properties (:data:`FEATURE_COLORS`), training diets (:data:`SCENARIO_COLORS`), representation
spaces (:data:`SPACE_COLORS`), stimulus splits (:data:`SPLIT_COLORS`), N-back responses
(:data:`RESPONSE_COLORS`) and verdicts (:data:`VERDICT_COLORS`). A chance level is always drawn with
:data:`CHANCE_STYLE`. Figure functions draw inside :func:`style` (or are decorated with :func:`styled`); a
chapter applies the same rcParams to its own figures with :func:`use`.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..config import CORE_LABELS, FEATURES

__all__ = ["OKABE_ITO", "PALETTE", "FEATURES", "FEATURE_COLORS", "CORE_COLORS", "CORE_NAMES", "SCENARIO_COLORS",
           "SPACE_COLORS", "SPLIT_COLORS", "RESPONSE_COLORS", "VERDICT_COLORS", "CHANCE_STYLE", "RC", "IMAGE_RC",
           "style", "styled", "use", "mean_ci", "seed_bar", "chance_line", "aggregated_bounds", "seed_note"]

#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
#: the same colours as a sequence, for series without a fixed meaning (stimulus positions, bar kinds)
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black"))

#: the three task features, which are also the three decoded object properties
FEATURE_COLORS = {"location": OKABE_ITO["blue"], "identity": OKABE_ITO["orange"], "category": OKABE_ITO["green"]}
#: architectures (recurrent cores) and their display names
CORE_COLORS = {"rnn": OKABE_ITO["blue"], "gru": OKABE_ITO["vermillion"], "lstm": OKABE_ITO["green"]}
CORE_NAMES = CORE_LABELS
#: training diets
SCENARIO_COLORS = {"STSF": OKABE_ITO["purple"], "STMF": OKABE_ITO["sky"], "MTMF": OKABE_ITO["vermillion"]}
#: representation spaces of the orthogonalization chapter
SPACE_COLORS = {"backbone": OKABE_ITO["grey"], "projection": OKABE_ITO["sky"], "encoding": OKABE_ITO["vermillion"]}
#: stimulus splits (and the training batches of a learning curve)
SPLIT_COLORS = {"train": OKABE_ITO["blue"], "train_batch": OKABE_ITO["grey"], "novel_angle": OKABE_ITO["orange"],
                "novel_identity": OKABE_ITO["green"], "novel_both": OKABE_ITO["vermillion"]}
#: N-back responses, by name (:data:`wmnb.tasks.RESPONSES`)
RESPONSE_COLORS = {"no_action": "0.45", "non_match": OKABE_ITO["vermillion"], "match": OKABE_ITO["green"]}
#: verdicts of :mod:`wmnb.verdicts` (backgrounds with white text in the claims dashboard)
VERDICT_COLORS = {"holds": OKABE_ITO["green"], "does not hold": OKABE_ITO["vermillion"],
                  "mixed": OKABE_ITO["purple"], "inconclusive": "#666666"}
#: how a chance level is drawn (``ax.axhline(chance, **CHANCE_STYLE)``)
CHANCE_STYLE = dict(color="0.3", ls="--", lw=1.1)

#: rcParams of every figure: readable fonts, no top/right frame, the book's resolution
RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10,
      "legend.fontsize": 9, "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 90}
#: the same for image grids, whose frames (all four spines) carry meaning (split, target)
IMAGE_RC = {**RC, "axes.spines.top": True, "axes.spines.right": True}


@contextmanager
def style(images: bool = False):
    """Apply :data:`RC` (``images=True``: :data:`IMAGE_RC`) to the figures made inside the block.

    Only the style is restored on exit: the backend is resolved before the block, and the interactive mode a
    backend switches on inside it (the notebook's inline backend does, with the first figure) is kept, or the
    figures of a later cell would no longer be shown."""
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.get_backend()                 # resolves the "auto" backend now, outside the block
    interactive = matplotlib.is_interactive()
    try:
        with plt.rc_context(IMAGE_RC if images else RC):
            try:
                yield
            finally:
                interactive = matplotlib.is_interactive()
    finally:
        matplotlib.interactive(interactive)


def styled(fn: Optional[Callable] = None, *, images: bool = False):
    """Decorator: run a figure function inside :func:`style` (``@styled`` or ``@styled(images=True)``)."""
    def wrap(f):
        @functools.wraps(f)
        def inner(*args, **kwargs):
            with style(images):
                return f(*args, **kwargs)
        return inner
    return wrap(fn) if fn is not None else wrap


def use() -> None:
    """Apply :data:`RC` globally (a chapter's own figures then look like the package's)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC)


# ------------------------------------------------------------------------------------------- drawing helpers
def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t interval of the finite ``values`` (one per seed); NaN interval with fewer than two."""
    from ..analysis.stats import seed_ci

    return seed_ci(values, level)


def seed_bar(ax, x, vals, color, width, label=None, hatch=None, seeds=True):
    """One bar at ``x``: the mean of ``vals`` (one value per seed), its 95 % t interval, the seeds as dots."""
    m, lo, hi = mean_ci(vals)
    if not np.isfinite(m):
        return
    ax.bar(x, m, width, color=color, edgecolor="black", linewidth=0.6, label=label, hatch=hatch, alpha=0.9)
    if np.isfinite(lo):
        ax.errorbar(x, m, yerr=[[m - lo], [hi - m]], color="black", capsize=3, lw=1.2)
    v = np.asarray(vals, dtype=float)
    v = v[np.isfinite(v)]
    if seeds and v.size > 1:
        ax.scatter(np.full(v.size, x) + np.linspace(-width / 4, width / 4, v.size), v, s=10, color="black",
                   zorder=3)


def chance_line(ax, x0, x1, level, label=None):
    """A chance level drawn from ``x0`` to ``x1`` (:data:`CHANCE_STYLE`)."""
    ax.plot([x0, x1], [level, level], label=label, **CHANCE_STYLE)


def aggregated_bounds(df: pd.DataFrame, v: str, fallback: Optional[tuple[str, str]] = None):
    """Mean and (2, rows) non-negative error bars of column ``v`` of a seed-aggregated table (columns
    ``<v>_mean, <v>_ci_low, <v>_ci_high``); ``fallback`` names interval columns used where the seed interval is
    missing (one seed). Error bars are None when there are none to draw."""
    m = df[f"{v}_mean"].to_numpy(float)
    lo = df[f"{v}_ci_low"].to_numpy(float) if f"{v}_ci_low" in df else np.full(len(df), np.nan)
    hi = df[f"{v}_ci_high"].to_numpy(float) if f"{v}_ci_high" in df else np.full(len(df), np.nan)
    if fallback is not None and fallback[0] in df and fallback[1] in df:
        bad = ~np.isfinite(lo)
        lo = np.where(bad, df[fallback[0]].to_numpy(float), lo)
        hi = np.where(bad, df[fallback[1]].to_numpy(float), hi)
    err = np.vstack([np.clip(m - lo, 0, None), np.clip(hi - m, 0, None)])
    err = np.where(np.isfinite(err), err, 0.0)
    return m, (err if np.any(err > 0) else None)


def seed_note(df: pd.DataFrame, fallback: bool = True) -> str:
    """What the error bars of a seed-aggregated table (column ``n_seeds``) are, for a figure title."""
    k = int(df["n_seeds"].max()) if "n_seeds" in df and len(df) else 1
    if k > 1:
        return f"{k} seeds, 95 % CI across seeds"
    return "1 seed, 95 % CI of the held-out test set" if fallback else "1 seed: no error bars"
