"""Figures of behaviour (chapter 4): learning curves and accuracy per task of trained runs, with the chance line.

Pure matplotlib on tidy pandas tables (the ``history`` and ``metrics`` of :class:`wmnb.training.Run`, or
several of them stacked with a ``seed`` / ``label`` column). Every function returns the Figure.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from .style import CHANCE_STYLE, FEATURE_COLORS, PALETTE, SPLIT_COLORS, styled

__all__ = ["learning_curves", "accuracy_by_task", "split_gap", "compare_readouts", "task_label"]


def task_label(feature: str, n: int) -> str:
    """'location 2-back' (or 'all' for the overall row)."""
    return "all tasks" if feature == "all" else f"{feature} {int(n)}-back"


def _new_axes(ncols: int, width: float = 4.2, height: float = 3.0, sharey: bool = True):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), sharey=sharey, squeeze=False)
    return fig, axes[0]


@styled
def learning_curves(history: pd.DataFrame, splits: Optional[Sequence[str]] = None, by: str = "seed",
                    feature: str = "all", chance: float = 0.5, title: Optional[str] = None):
    """Masked accuracy vs optimizer step, one panel per split, one line per value of ``by``.

    Parameters
    ----------
    history : DataFrame with columns step, split, feature, n, accuracy (and ``by`` if several runs)
    splits : splits to draw (default: every split in the table, ``train_batch`` last)
    by : column that separates runs (e.g. "seed"); ignored when absent
    feature : "all" (overall masked accuracy) or a feature name (mean over its N)
    chance : drawn as a dashed line
    """
    h = history[history.feature == feature]
    if splits is None:
        splits = [s for s in ("train", "novel_angle", "novel_identity", "novel_both", "train_batch")
                  if s in set(h.split)]
    fig, axes = _new_axes(len(splits))
    groups = sorted(h[by].unique()) if by in h.columns else [None]
    for ax, split in zip(axes, splits):
        hs = h[h.split == split]
        for i, g in enumerate(groups):
            hg = hs if g is None else hs[hs[by] == g]
            curve = hg.groupby("step").accuracy.mean()
            ax.plot(curve.index, curve.values, color=SPLIT_COLORS.get(split, "k"), alpha=0.45 + 0.55 / (1 + i),
                    lw=1.5, label=None if g is None else f"{by} {g}")
        ax.axhline(chance, **CHANCE_STYLE)
        ax.set_title(split.replace("_", " "))
        ax.set_xlabel("step")
        ax.set_ylim(0.4, 1.02)
    axes[0].set_ylabel("masked accuracy" if feature == "all" else f"masked accuracy ({feature})")
    if len(groups) > 1:
        axes[-1].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@styled
def accuracy_by_task(table: pd.DataFrame, chance: float = 0.5, splits: Optional[Sequence[str]] = None,
                     by: str = "seed", title: Optional[str] = None):
    """Masked accuracy per (feature, N), grouped bars per split, with the seed spread and the chance line.

    Parameters
    ----------
    table : DataFrame with columns split, feature, n, accuracy (and ``by`` for several runs; rows with
        feature "all" are drawn as the first group)
    chance : chance level (dashed line)
    splits : splits to draw (default: those present, in the usual order)
    by : column of repeated runs: bars are means, black ticks the individual runs, error bars min..max
    """
    import matplotlib.pyplot as plt
    t = table.copy()
    if splits is None:
        splits = [s for s in ("train", "novel_angle", "novel_identity", "novel_both") if s in set(t.split)]
    order = t[["feature", "n"]].drop_duplicates()
    order = order.assign(_f=order.feature.map(lambda f: -1 if f == "all" else
                                              FEATURES.index(f)
                                              if f in FEATURES else 9))
    order = order.sort_values(["_f", "n"])
    tasks = list(zip(order.feature, order.n))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(tasks) + 1.5), 3.4))
    width = 0.8 / max(len(splits), 1)
    for j, split in enumerate(splits):
        ts = t[t.split == split]
        for i, (f, n) in enumerate(tasks):
            vals = ts[(ts.feature == f) & (ts.n == n)].accuracy.to_numpy()
            if vals.size == 0:
                continue
            x = i + (j - (len(splits) - 1) / 2) * width
            ax.bar(x, vals.mean(), width, color=SPLIT_COLORS.get(split, "0.5"),
                   label=split.replace("_", " ") if i == 0 else None)
            if vals.size > 1:
                ax.errorbar(x, vals.mean(), yerr=[[vals.mean() - vals.min()], [vals.max() - vals.mean()]],
                            color="k", lw=0.8, capsize=2)
                ax.plot(np.full(vals.size, x), vals, "k.", ms=3)
    ax.axhline(chance, label=f"chance ({chance:g})", **CHANCE_STYLE)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([task_label(f, n).replace(" ", "\n", 1) for f, n in tasks], fontsize=8)
    ax.set_ylim(0.3, 1.03)
    ax.set_ylabel("masked accuracy")
    ax.legend(fontsize=8, ncol=len(splits) + 1, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    if title:
        ax.set_title(title, pad=24)
    fig.tight_layout()
    return fig


@styled
def split_gap(table: pd.DataFrame, a: str = "novel_angle", b: str = "novel_identity", by: str = "seed",
              chance: float = 0.5):
    """Per-feature accuracy on split ``a`` vs split ``b`` (one point per run and N), diagonal = no gap."""
    import matplotlib.pyplot as plt
    t = table[table.feature != "all"]
    idx = ["feature", "n"] + ([by] if by in t.columns else [])
    wide = t.pivot_table(index=idx, columns="split", values="accuracy").reset_index()
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    for f, g in wide.groupby("feature"):
        ax.plot(g[a], g[b], "o", color=FEATURE_COLORS.get(f, "0.4"), label=f, alpha=0.8)
    ax.plot([chance, 1], [chance, 1], "k-", lw=0.8)
    ax.axhline(chance, **CHANCE_STYLE)
    ax.axvline(chance, **CHANCE_STYLE)
    ax.set_xlim(chance - 0.1, 1.02)
    ax.set_ylim(chance - 0.1, 1.02)
    ax.set_xlabel(f"{a.replace('_', ' ')} accuracy")
    ax.set_ylabel(f"{b.replace('_', ' ')} accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@styled
def compare_readouts(table: pd.DataFrame, by: str = "readout", split: str = "novel_angle",
                     chance: float = 0.5, features: Sequence[str] = FEATURES):
    """Masked accuracy per (feature, N) on one split, one bar group per value of ``by`` (e.g. readout)."""
    import matplotlib.pyplot as plt
    t = table[(table.split == split) & table.feature.isin(features)]
    tasks = sorted(set(zip(t.feature, t.n)), key=lambda fn: (list(features).index(fn[0]), fn[1]))
    groups = list(dict.fromkeys(t[by]))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(tasks) + 1.5), 3.2))
    width = 0.8 / max(len(groups), 1)
    colors = PALETTE
    for j, g in enumerate(groups):
        tg = t[t[by] == g]
        for i, (f, n) in enumerate(tasks):
            vals = tg[(tg.feature == f) & (tg.n == n)].accuracy.to_numpy()
            if vals.size == 0:
                continue
            x = i + (j - (len(groups) - 1) / 2) * width
            ax.bar(x, vals.mean(), width, color=colors[j % len(colors)], label=str(g) if i == 0 else None)
            if vals.size > 1:
                ax.plot(np.full(vals.size, x), vals, "k.", ms=3)
    ax.axhline(chance, label=f"chance ({chance:g})", **CHANCE_STYLE)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([task_label(f, n).replace(" ", "\n", 1) for f, n in tasks], fontsize=8)
    ax.set_ylim(0.3, 1.03)
    ax.set_ylabel(f"masked accuracy ({split.replace('_', ' ')})")
    ax.legend(fontsize=8, ncol=len(groups) + 1, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig
