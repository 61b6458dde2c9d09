"""Figures for the held-out protocols of F1 (task relevance) and the sites / variants of F2 (cross-task).

Same style as :mod:`wmnb.plots_analysis` (Okabe-Ito colours, dashed chance lines, 95 % t intervals across seeds
drawn with two or more seeds, single seeds as dots). Every function takes the tidy tables of
:mod:`wmnb.experiments.relevance` / :mod:`wmnb.experiments.cross_task` and returns the Figure.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .plots_analysis import CORE_COLORS, CORE_NAMES, OKABE_ITO, SCENARIO_COLORS, _bar, mean_ci, style

__all__ = ["PROTOCOL_SHORT", "relevance_protocol_bars", "gi_by_site", "memory_gi"]

#: short axis labels of the held-out protocols
PROTOCOL_SHORT = {"image": "image-disjoint\n(primary)", "transfer": "novel angles\n(fit on train pool)",
                  "sequence": "paper-style\n(images repeat)"}


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
    scen = [x for x in (scenarios or ("STSF", "STMF", "MTMF")) if x in set(s["scenario"])]
    w = 0.8 / max(len(scen), 1)
    with style():
        fig, ax = plt.subplots(figsize=(1.6 + 2.2 * len(prots), 3.4))
        for i, pr in enumerate(prots):
            for j, sc in enumerate(scen):
                v = s[(s["protocol"] == pr) & (s["scenario"] == sc)].groupby("seed")["normalised"].mean()
                _bar(ax, i + (j - (len(scen) - 1) / 2) * w, v, SCENARIO_COLORS.get(sc, "0.5"), w * 0.95,
                     label=sc if i == 0 else None)
        ax.axhline(0, color="black", ls="--", lw=1.0, label="chance")
        ax.set_xticks(range(len(prots)), [PROTOCOL_SHORT[p] for p in prots])
        ax.set_ylabel("irrelevant properties,\n(acc - chance) / (1 - chance)")
        ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.02)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.set_title(title or "Task-irrelevant properties at t = 0, by held-out protocol")
        fig.tight_layout()
    return fig


def gi_by_site(summary: pd.DataFrame, cores: Optional[Sequence[str]] = None, title: Optional[str] = None):
    """Generalisation index per core for each (site, protocol, variant) combination present (F2).

    ``summary`` is ``cross_task(...).summary``. Each bar is the per-seed mean over properties, N and ages of
    the per-N generalisation index of decodable cells; 1 = shared subspace, 0 = no transfer.
    """
    import matplotlib.pyplot as plt

    cores = [c for c in (cores or ("rnn", "gru", "lstm")) if c in set(summary["core"])]
    combos = [(si, pr, v) for si, pr, v in (("encoding", "image", "raw"), ("encoding", "image", "centred"),
                                            ("memory", "image", "raw"), ("memory", "image", "centred"),
                                            ("encoding", "sequence", "raw"))
              if ((summary["site"] == si) & (summary["protocol"] == pr) & (summary["variant"] == v)).any()]
    labels = {("encoding", "image", "raw"): "encoding, raw", ("encoding", "image", "centred"): "encoding, centred",
              ("memory", "image", "raw"): "memory, raw", ("memory", "image", "centred"): "memory, centred",
              ("encoding", "sequence", "raw"): "encoding, raw,\npaper-style"}
    w = 0.8 / max(len(cores), 1)
    with style():
        fig, ax = plt.subplots(figsize=(1.6 + 1.7 * len(combos), 3.5))
        for i, key in enumerate(combos):
            si, pr, v = key
            sub = summary[(summary["site"] == si) & (summary["protocol"] == pr) & (summary["variant"] == v)]
            for j, c in enumerate(cores):
                vals = sub[sub["core"] == c].groupby("seed")["generalisation_index"].mean()
                _bar(ax, i + (j - (len(cores) - 1) / 2) * w, vals, CORE_COLORS.get(c, "0.5"), w * 0.95,
                     label=CORE_NAMES.get(c, c) if i == 0 else None)
        ax.axhline(0, color="black", ls="--", lw=1.0, label="no transfer")
        ax.axhline(1, color=OKABE_ITO["grey"], ls=":", lw=1.0, label="fully shared")
        ax.set_xticks(range(len(combos)), [labels[k] for k in combos], fontsize=9)
        ax.set_ylabel("generalisation index")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.set_title(title or "Cross-task generalisation by site and variant (image-disjoint unless marked)")
        fig.tight_layout()
    return fig


def memory_gi(summary: pd.DataFrame, cores: Optional[Sequence[str]] = None, variant: str = "centred",
              title: Optional[str] = None):
    """Generalisation index of the remembered stimulus against its age, one panel per N (never pooled).

    Points are means over seeds, error bars 95 % t intervals across seeds (two or more seeds).

    ``summary`` is ``cross_task(...).summary``; encoding rows (age 0, image protocol) are drawn at age 0.
    """
    import matplotlib.pyplot as plt

    s = summary[(summary["protocol"] == "image") & (summary["variant"] == variant)]
    cores = [c for c in (cores or ("rnn", "gru", "lstm")) if c in set(s["core"])]
    n_values = sorted(int(x) for x in set(s.loc[s["site"] == "memory", "n"])) or sorted(set(s["n"]))
    with style():
        fig, axes = plt.subplots(1, len(n_values), figsize=(3.3 * len(n_values) + 1.2, 3.2), sharey=True,
                                 squeeze=False)
        for ax, nv in zip(axes[0], n_values):
            sn = s[s["n"] == nv]
            for c in cores:
                per_seed = sn[sn["core"] == c].groupby(["age", "seed"])["generalisation_index"].mean()
                ages = sorted(set(per_seed.index.get_level_values(0)))
                if not ages:
                    continue
                ci = np.array([mean_ci(per_seed[a].to_numpy()) for a in ages])       # mean, low, high
                err = np.nan_to_num(np.abs(ci[:, 1:] - ci[:, :1]).T)
                ax.errorbar(ages, ci[:, 0], yerr=err, marker="o", color=CORE_COLORS.get(c, "0.5"),
                            label=CORE_NAMES.get(c, c), capsize=3)
            ax.axhline(0, color="black", ls="--", lw=1.0)
            ax.axhline(1, color=OKABE_ITO["grey"], ls=":", lw=1.0)
            ax.set_xticks(range(0, nv + 1))
            ax.set_xlabel("age (steps since shown)")
            ax.set_title(f"{nv}-back")
        axes[0][0].set_ylabel(f"generalisation index ({variant})")
        axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        fig.suptitle(title or "Cross-task generalisation while the stimulus is maintained (age 0 = encoding)")
        fig.tight_layout()
    return fig
