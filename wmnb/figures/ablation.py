"""Chapter 15's figures: the verdict of every claim in every arm, and what each arm learned."""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import PALETTE, VERDICT_COLORS, styled

__all__ = ["verdict_grid", "accuracy_bars"]


@styled
def verdict_grid(table: pd.DataFrame, arms: Optional[Sequence[str]] = None, claims: Optional[Sequence[str]] = None,
                 title: str = ""):
    """Rows = arms, columns = claims; each cell is coloured by its verdict and shows the claim's value. A black
    frame marks a verdict that differs from the reference arm's, ``≈`` one at the margin.

    ``table``: :func:`wmnb.experiments.ablation.verdict_table`. Returns the figure."""
    arms = list(arms or dict.fromkeys(table["arm"]))
    claims = list(claims or dict.fromkeys(table["claim"]))
    cell = table.set_index(["arm", "claim"])
    fig, ax = plt.subplots(figsize=(1.0 + 1.05 * len(claims), 0.9 + 0.55 * len(arms)))
    for i, arm in enumerate(arms):
        for j, claim in enumerate(claims):
            if (arm, claim) not in cell.index:
                ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor="white", edgecolor="0.85", hatch="//"))
                ax.text(j + 0.5, i + 0.5, "not run", ha="center", va="center", fontsize=7, color="0.5")
                continue
            r = cell.loc[(arm, claim)]
            changed = bool(r["changed"])
            ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=VERDICT_COLORS.get(r["verdict"], "0.6"),
                                       edgecolor="black" if changed else "white", lw=2.5 if changed else 1))
            v = r["value"]
            text = "—" if v is None or not np.isfinite(float(v)) else f"{float(v):.2f}"
            ax.text(j + 0.5, i + 0.5, text + (" ≈" if r["at_margin"] else ""), ha="center", va="center",
                    fontsize=8, color="white", fontweight="bold")
    ax.set_xlim(0, len(claims))
    ax.set_ylim(len(arms), 0)
    ax.set_xticks(np.arange(len(claims)) + 0.5, claims, rotation=30, ha="right")
    ax.set_yticks(np.arange(len(arms)) + 0.5, arms)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in VERDICT_COLORS.values()]
    ax.legend(handles, list(VERDICT_COLORS), ncol=len(VERDICT_COLORS), loc="upper center",
              bbox_to_anchor=(0.5, -0.25 if len(arms) > 3 else -0.4), frameon=False, fontsize=8)
    ax.set_title(title or "Verdict per arm (framed: differs from the default; ≈ at the margin)", fontsize=10)
    fig.tight_layout()
    return fig


@styled
def accuracy_bars(acc: pd.DataFrame, split_label: str = "novel angles"):
    """Masked accuracy per task feature (bars: mean over seeds, whiskers: t interval) for each arm, one panel per
    core; the dashed line is chance. ``acc``: :func:`wmnb.experiments.ablation.accuracy_table`."""
    cores = list(dict.fromkeys(acc["core"]))
    arms = list(dict.fromkeys(acc["arm"]))
    features = list(dict.fromkeys(acc["feature"]))
    colors = PALETTE
    fig, axes = plt.subplots(1, len(cores), figsize=(4.2 * len(cores), 3.2), sharey=True, squeeze=False)
    width = 0.8 / max(len(arms), 1)
    for ax, core in zip(axes[0], cores):
        for k, arm in enumerate(arms):
            g = acc[(acc.core == core) & (acc.arm == arm)].set_index("feature").reindex(features)
            x = np.arange(len(features)) + (k - (len(arms) - 1) / 2) * width
            err = np.vstack([g.accuracy - g.ci_low, g.ci_high - g.accuracy]).clip(min=0)
            ax.bar(x, g.accuracy, width, color=colors[k % len(colors)], label=arm,
                   yerr=None if np.isnan(err).all() else np.nan_to_num(err), capsize=2)
        ax.axhline(0.5, color="0.3", ls="--", lw=1)
        ax.set_xticks(np.arange(len(features)), features)
        ax.set_ylim(0.4, 1.0)
        ax.set_title(f"MTMF {core}")
    axes[0][0].set_ylabel(f"masked accuracy, {split_label}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, labels, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return fig
