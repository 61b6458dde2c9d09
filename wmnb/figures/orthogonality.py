"""Figures of orthogonalization (F3, chapter 7): O per space, perceptual vs encoding per cell, one value per
model, and the paper-style vs equal-dimension comparison. Every function takes the tidy tables of
:mod:`wmnb.experiments.orthogonality` and returns the Figure."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import CORES, FEATURES
from .style import CORE_COLORS, CORE_NAMES, FEATURE_COLORS, OKABE_ITO, SPACE_COLORS, seed_bar, style

__all__ = ["orthogonality_scatter", "orthogonality_bars", "model_deltas", "paper_vs_equal_k"]


def orthogonality_scatter(per_seed: pd.DataFrame, perceptual: Sequence[str] = ("backbone", "projection"),
                          value: str = "O_normalised", title: Optional[str] = None):
    """O(perceptual) vs O(encoding) per cell, one panel per perceptual space, with the diagonal (paper Fig. 3b).

    Points below the diagonal are cells where the RNN's code is *less* orthogonal than the perceptual one.
    ``per_seed`` is ``orthogonality(...).per_seed``. Colour = property, marker = core.
    """
    import matplotlib.pyplot as plt

    keys = ["model", "seed", "task_feature", "n", "property"]
    enc = per_seed[per_seed["space"] == "encoding"].set_index(keys)[[value, "O_null_normalised"]]
    spaces = [s for s in perceptual if s in set(per_seed["space"])]
    markers = {"rnn": "o", "gru": "s", "lstm": "^"}
    with style():
        fig, axes = plt.subplots(1, len(spaces), figsize=(4.2 * len(spaces), 4.0), squeeze=False)
        for ax, sp in zip(axes[0], spaces):
            a = per_seed[per_seed["space"] == sp].set_index(keys)[[value]]
            j = a.join(enc, lsuffix="_a", rsuffix="_b", how="inner").dropna(subset=[f"{value}_a", f"{value}_b"])
            j = j.reset_index()
            for (p, m), g in j.groupby(["property", "model"], sort=True):
                ax.scatter(g[f"{value}_a"], g[f"{value}_b"], color=FEATURE_COLORS.get(p, "0.5"),
                           marker=markers.get(m, "o"), s=30, alpha=0.85, edgecolor="black", linewidth=0.4)
            lo = float(np.nanmin(j[[f"{value}_a", f"{value}_b"]].to_numpy())) if len(j) else 0.0
            hi = float(np.nanmax(j[[f"{value}_a", f"{value}_b"]].to_numpy())) if len(j) else 1.0
            pad = 0.05 * max(hi - lo, 0.05)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=1.0)
            null = float(per_seed.loc[per_seed["space"] == sp, "O_null_normalised"].mean())
            if np.isfinite(null):
                ax.axvline(null, color=OKABE_ITO["grey"], ls=":", lw=1.0)
                ax.axhline(float(j["O_null_normalised"].mean()), color=OKABE_ITO["grey"], ls=":", lw=1.0)
            below = float((j[f"{value}_b"] < j[f"{value}_a"]).mean()) if len(j) else np.nan
            ax.set_title(f"{sp}: {below:.0%} of {len(j)} cells below", fontsize=11)
            ax.set_xlabel(f"normalised O, {sp} space")
            ax.set_ylabel("normalised O, RNN encoding space")
        handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=p) for p, c in FEATURE_COLORS.items()
                   if p in set(per_seed["property"])]
        handles += [plt.Line2D([], [], color="black", marker=markers.get(m, "o"), ls="", mfc="white",
                               label=CORE_NAMES.get(m, m)) for m in dict.fromkeys(per_seed["model"])]
        handles += [plt.Line2D([], [], color=OKABE_ITO["grey"], ls=":", label="shuffled-label null")]
        axes[0][-1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def orthogonality_bars(summary: pd.DataFrame, cores: Optional[Sequence[str]] = None,
                       spaces: Sequence[str] = ("backbone", "projection", "encoding"), title: Optional[str] = None):
    """Normalised O per space, core and property (mean over task cells; CI across seeds); black ticks = the
    shuffled-label null of each bar. ``summary`` is ``orthogonality(...).summary``."""
    import matplotlib.pyplot as plt

    cores = [c for c in (cores or CORES) if c in set(summary["core"])]
    props = [p for p in FEATURES if p in set(summary["property"])]
    spaces = [s for s in spaces if s in set(summary["space"])]
    w = 0.8 / len(spaces)
    with style():
        fig, axes = plt.subplots(1, len(props), figsize=(3.8 * len(props), 3.4), sharey=True, squeeze=False)
        for ax, p in zip(axes[0], props):
            sp = summary[summary["property"] == p]
            for i, c in enumerate(cores):
                for j, s in enumerate(spaces):
                    sel = sp[(sp["core"] == c) & (sp["space"] == s)]
                    x = i + (j - (len(spaces) - 1) / 2) * w
                    seed_bar(ax, x, sel["O_normalised"], SPACE_COLORS[s], w * 0.95,
                         label=s if i == 0 and p == props[0] else None)
                    nul = float(sel["O_null_normalised"].mean()) if len(sel) else np.nan
                    if np.isfinite(nul):
                        ax.plot([x - w * 0.45, x + w * 0.45], [nul, nul], color="black", lw=2,
                                label="null" if i == 0 and j == 0 and p == props[0] else None)
            ax.axhline(1.0, color=OKABE_ITO["grey"], ls=":", lw=1.0)
            ax.set_xticks(range(len(cores)), [CORE_NAMES.get(c, c) for c in cores])
            ax.set_title(p)
        vals = summary[["O_normalised", "O_null_normalised"]].to_numpy(float)
        if np.isfinite(vals).any():
            axes[0][0].set_ylim(max(0.0, float(np.nanmin(vals)) - 0.15), float(np.nanmax(vals)) + 0.08)
        axes[0][0].set_ylabel("normalised O (1 = orthogonal classes)")
        axes[0][0].legend(loc="lower left", frameon=False, fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def model_deltas(per_model: pd.DataFrame, spaces: Sequence[str] = ("backbone", "projection"),
                 value: str = "delta", level: float = 0.95, title: Optional[str] = None):
    """One point per trained model: mean over its kept cells of (O - O_null)(encoding) - (O - O_null)(space),
    one panel per perceptual space; black bar = mean and t interval across models. Below 0 = the RNN's code
    is less orthogonalized (the paper's direction). ``per_model`` is ``extra["per_model"]``."""
    import matplotlib.pyplot as plt

    from ..analysis.stats import seed_ci

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
            m, lo, hi = seed_ci(t[value].to_numpy(float), level)
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

    props = [p for p in FEATURES if p in set(summary["property"])]
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
