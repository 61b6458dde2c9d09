"""Figures of the orthogonalization chapter (F3, issue 8): per-model null-corrected differences and the
paper-style vs equal-dimension comparison. Shared styles come from :mod:`wmnb.plots_analysis`."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .plots_analysis import CORE_COLORS, CORE_NAMES, OKABE_ITO, SPACE_COLORS, style

__all__ = ["model_deltas", "paper_vs_equal_k"]


def model_deltas(per_model: pd.DataFrame, spaces: Sequence[str] = ("backbone", "projection"),
                 value: str = "delta", level: float = 0.95, title: Optional[str] = None):
    """One point per trained model: mean over its kept cells of (O - O_null)(encoding) - (O - O_null)(space),
    one panel per perceptual space; black bar = mean and t interval across models. Below 0 = the RNN's code
    is less orthogonalized (the paper's direction). ``per_model`` is ``extra["per_model"]``."""
    import matplotlib.pyplot as plt

    from .analysis.stats import mean_t_interval

    spaces = [s for s in spaces if s in set(per_model["space"])]
    with style():
        fig, axes = plt.subplots(1, len(spaces), figsize=(3.6 * len(spaces), 3.4), sharey=True, squeeze=False)
        for ax, sp in zip(axes[0], spaces):
            t = per_model[per_model["space"] == sp]
            cores = list(dict.fromkeys(t["core"]))
            for i, c in enumerate(cores):
                v = t.loc[t["core"] == c, value].to_numpy(float)
                jit = np.linspace(-0.12, 0.12, max(len(v), 1))[:len(v)]
                ax.scatter(i + jit, v, color=CORE_COLORS.get(c, "0.4"), s=36, edgecolor="black", linewidth=0.4,
                           zorder=3)
            m, lo, hi = mean_t_interval(t[value].to_numpy(float), level)
            x = len(cores)
            if np.isfinite(m):
                ax.plot([x], [m], "o", color="black")
                if np.isfinite(lo):
                    ax.plot([x, x], [lo, hi], color="black", lw=2)
            ax.axhline(0, color=OKABE_ITO["grey"], ls=":", lw=1)
            ax.set_xticks(range(len(cores) + 1), [CORE_NAMES.get(c, c) for c in cores] + ["all models"])
            ax.set_title(f"encoding vs {sp}", color=SPACE_COLORS.get(sp, "black"))
        axes[0][0].set_ylabel("Δ (O − O_null), normalised O\n(< 0: less orthogonal in the RNN)")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def paper_vs_equal_k(summary: pd.DataFrame, paper_style: pd.DataFrame,
                     spaces: Sequence[str] = ("backbone", "projection", "encoding")):
    """Normalised O per space and property: the paper's procedure (own dimension, LinearSVC) beside the
    equal-dimension closed-form index and its shuffled-label null (means over cores, seeds and cells)."""
    import matplotlib.pyplot as plt

    props = [p for p in ("location", "identity", "category") if p in set(summary["property"])]
    spaces = [s for s in spaces if s in set(summary["space"])]
    w = 0.8 / len(spaces)
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharey=True)
        for ax, (name, tab, col) in zip(axes, (("paper-style: own dimension, LinearSVC", paper_style,
                                                  "O_normalised"),
                                                 ("equal dimension k, closed form", summary, "O_normalised"))):
            for i, p in enumerate(props):
                for j, s in enumerate(spaces):
                    sel = tab[(tab["property"] == p) & (tab["space"] == s)] if len(tab) else tab
                    v = float(sel[col].mean()) if len(sel) else np.nan
                    x = i + (j - (len(spaces) - 1) / 2) * w
                    ax.bar(x, v, w * 0.95, color=SPACE_COLORS[s], label=s if i == 0 else None)
                    if tab is summary and len(sel):
                        nul = float(sel["O_null_normalised"].mean())
                        ax.plot([x - w * 0.45, x + w * 0.45], [nul, nul], color="black", lw=2,
                                label="null" if i == 0 and j == 0 else None)
            ax.set_xticks(range(len(props)), props)
            ax.axhline(1.0, color=OKABE_ITO["grey"], ls=":", lw=1)
            ax.set_title(name, fontsize=10)
        axes[0].set_ylabel("normalised O")
        axes[1].legend(loc="lower right", frameon=False, fontsize=8)
        fig.tight_layout()
    return fig
