"""Figures of task relevance (F1, chapter 5): relevant vs irrelevant decoding per diet, per task context, and
by held-out protocol. Every function takes the tidy tables of :mod:`wmnb.experiments.relevance` and returns the
Figure; style, colours and seed intervals from :mod:`.style`."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES, SCENARIOS
from .style import CHANCE_STYLE, OKABE_ITO, SCENARIO_COLORS, chance_line, seed_bar, style

__all__ = ["PROTOCOL_SHORT", "relevance_bars", "relevance_heatmaps", "relevance_protocol_bars"]

#: short axis labels of the held-out protocols
PROTOCOL_SHORT = {"image": "image-disjoint\n(primary)", "transfer": "novel angles\n(fit on train pool)",
                  "sequence": "paper-style\n(images repeat)"}


def relevance_bars(summary: pd.DataFrame, scenarios: Optional[Sequence[str]] = None, paper_level: float = 0.85,
                   title: Optional[str] = None):
    """Relevant vs irrelevant decoding at the encoding step, per property and diet (paper Fig. 2b).

    Parameters
    ----------
    summary : ``relevance(...).summary`` (columns seed, scenario, property, relevant, accuracy, chance).
    scenarios : order of the diets on the x axis (default: STSF, STMF, MTMF as present).
    paper_level : the paper's "> 85 %" level, drawn dotted.
    """
    import matplotlib.pyplot as plt

    scen = [s for s in (scenarios or SCENARIOS) if s in set(summary["scenario"])]
    props = [p for p in FEATURES if p in set(summary["property"])]
    with style():
        fig, axes = plt.subplots(1, len(props), figsize=(3.6 * len(props), 3.4), sharey=True, squeeze=False)
        for ax, p in zip(axes[0], props):
            sp = summary[summary["property"] == p]
            for i, s in enumerate(scen):
                for j, rel in enumerate((True, False)):
                    v = sp[(sp["scenario"] == s) & (sp["relevant"].astype(bool) == rel)]["accuracy"]
                    seed_bar(ax, i + (j - 0.5) * 0.38, v, SCENARIO_COLORS.get(s, "0.5"), 0.36,
                         hatch=None if rel else "//")
            ch = float(sp["chance"].mean())
            chance_line(ax, -0.5, len(scen) - 0.5, ch, label="chance" if p == props[0] else None)
            ax.axhline(paper_level, color=OKABE_ITO["grey"], ls=":", lw=1.2,
                       label=f"paper: {paper_level:.0%}" if p == props[0] else None)
            ax.set_xticks(range(len(scen)), scen)
            ax.set_title(f"{p} (chance {ch:.2f})")
            ax.set_ylim(0, 1.02)
        from matplotlib.patches import Patch

        axes[0][0].set_ylabel("held-out decoding accuracy, t = 0")
        h, _ = axes[0][0].get_legend_handles_labels()
        h = [Patch(facecolor="white", edgecolor="black", label="relevant"),
             Patch(facecolor="white", edgecolor="black", hatch="//", label="irrelevant")] + h
        axes[0][-1].legend(handles=h, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def relevance_heatmaps(cells: pd.DataFrame, models: Optional[Sequence[str]] = None, title: Optional[str] = None):
    """Task context x property decoding accuracy per model (mean over N and seeds), relevant cells outlined.

    ``cells`` is ``relevance(...).extra["cells"]`` (columns model, task_feature, n, property, relevant,
    accuracy_mean, chance_mean).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    import matplotlib

    models = list(models or dict.fromkeys(cells["model"]))
    cmap = matplotlib.colormaps["viridis"].copy()
    cmap.set_bad("0.92")
    with style():
        fig, axes = plt.subplots(1, len(models), figsize=(3.4 * len(models) + 1.2, 3.6), squeeze=False,
                                 layout="constrained")
        im = None
        for k, (ax, m) in enumerate(zip(axes[0], models)):
            c = cells[cells["model"] == m]
            acc = c.groupby(["task_feature", "property"])["accuracy_mean"].mean().unstack("property")
            ch = c.groupby(["task_feature", "property"])["chance_mean"].mean().unstack("property")
            rows = list(FEATURES)                 # every task context, blank where the model has none
            cols = [p for p in FEATURES if p in acc.columns]
            A = acc.reindex(index=rows, columns=cols).to_numpy(float)
            CH = ch.reindex(index=rows, columns=cols).to_numpy(float)
            im = ax.imshow(np.ma.masked_invalid(A), vmin=0, vmax=1, cmap=cmap, aspect="auto")
            for i, r in enumerate(rows):
                for j, p in enumerate(cols):
                    a = A[i, j]
                    if not np.isfinite(a):
                        continue
                    ax.text(j, i, f"{a:.2f}\n({CH[i, j]:.2f})", ha="center", va="center", fontsize=9,
                            color="white" if a < 0.6 else "black")
                    if r == p:
                        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=OKABE_ITO["orange"], lw=2.5))
            ax.set_xticks(range(len(cols)), cols, rotation=30)
            ax.set_yticks(range(len(rows)), rows if k == 0 else [""] * len(rows))
            ax.set_xlabel("decoded property")
            ax.set_title(m, fontsize=11)
        axes[0][0].set_ylabel("task context")
        if im is not None:
            fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="accuracy (chance)")
        if title:
            fig.suptitle(title)
    return fig


def relevance_protocol_bars(summary: pd.DataFrame, scenarios: Optional[Sequence[str]] = None,
                            title: Optional[str] = None):
    """Task-irrelevant decoding, normalised above chance, per diet and held-out protocol (F1).

    ``summary`` is ``relevance(...).summary`` (columns seed, protocol, scenario, property, relevant,
    normalised). One bar per (protocol, diet): the per-seed mean over properties of the normalised accuracy
    ``(accuracy - chance) / (1 - chance)`` in the contexts where the property is irrelevant (0 = chance,
    1 = perfect); the gap between the paper-style and the image-disjoint bars is what the lookup of seen
    images adds.
    """
    import matplotlib.pyplot as plt

    s = summary[~summary["relevant"].astype(bool)]
    prots = [p for p in PROTOCOL_SHORT if p in set(s["protocol"])]
    scen = [x for x in (scenarios or SCENARIOS) if x in set(s["scenario"])]
    w = 0.8 / max(len(scen), 1)
    with style():
        fig, ax = plt.subplots(figsize=(1.6 + 2.2 * len(prots), 3.4))
        for i, pr in enumerate(prots):
            for j, sc in enumerate(scen):
                v = s[(s["protocol"] == pr) & (s["scenario"] == sc)].groupby("seed")["normalised"].mean()
                seed_bar(ax, i + (j - (len(scen) - 1) / 2) * w, v, SCENARIO_COLORS.get(sc, "0.5"), w * 0.95,
                     label=sc if i == 0 else None)
        ax.axhline(0, **CHANCE_STYLE, label="chance")
        ax.set_xticks(range(len(prots)), [PROTOCOL_SHORT[p] for p in prots])
        ax.set_ylabel("irrelevant properties,\n(acc - chance) / (1 - chance)")
        ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.02)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.set_title(title or "Task-irrelevant properties at t = 0, by held-out protocol")
        fig.tight_layout()
    return fig
