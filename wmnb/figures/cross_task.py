"""Figures of cross-task generalisation (F2, chapter 6): train-task x test-task matrices, validation vs
generalisation, the generalisation index per site and variant, and while a stimulus is maintained. Every
function takes the tidy tables of :mod:`wmnb.experiments.cross_task` and returns the Figure."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import CORES, FEATURES
from .style import (CHANCE_STYLE, CORE_COLORS, CORE_NAMES, FEATURE_COLORS, OKABE_ITO, chance_line, mean_ci, seed_bar, style)

__all__ = ["cross_task_matrices", "validation_generalisation", "generalisation_index", "gi_by_site", "memory_gi"]


def _short_task(name: str) -> str:
    """``"2-back location"`` -> ``"L2"``; ``"location"`` (N pooled) -> ``"L"``."""
    parts = str(name).split()
    feat = parts[-1]
    n = parts[0].split("-")[0] if len(parts) > 1 else ""
    return f"{feat[:1].upper()}{n}"


def cross_task_matrices(cells: pd.DataFrame, core: str, properties: Sequence[str] = FEATURES,
                        title: Optional[str] = None):
    """Train-task x test-task accuracy per property for one core (mean across seeds; paper Fig. 2a).

    ``cells`` is ``cross_task(...).extra["cells"]``.
    """
    import matplotlib.pyplot as plt

    from ..analysis.cross_task import cross_task_matrix

    c = cells[cells["core"] == core].rename(columns={"accuracy_mean": "accuracy", "chance_mean": "chance"})
    props = [p for p in properties if p in set(c["property"])]
    with style():
        fig, axes = plt.subplots(1, len(props), figsize=(4.4 * len(props), 4.3), squeeze=False)
        im = None
        for ax, p in zip(axes[0], props):
            M = cross_task_matrix(c, p)
            M.index = [_short_task(t) for t in M.index]
            M.columns = [_short_task(t) for t in M.columns]
            ch = float(c.loc[c["property"] == p, "chance"].mean())
            im = ax.imshow(M.to_numpy(float), vmin=0, vmax=1, cmap="viridis")
            k = M.shape[0]
            fs = 6.5 if k > 4 else 9
            for i in range(k):
                for j in range(k):
                    a = M.iat[i, j]
                    if np.isfinite(a):
                        txt = f"{a:.2f}"
                        txt = txt[1:] if txt.startswith("0") else txt      # ".93", "1.00"
                        ax.text(j, i, txt, ha="center", va="center",
                                fontsize=fs, color="white" if a < 0.6 else "black")
            ax.set_xticks(range(k), list(M.columns), fontsize=9)
            ax.set_yticks(range(k), list(M.index), fontsize=9)
            ax.set_xlabel("test task")
            ax.set_title(f"{p} decoder (chance {ch:.2f})")
        axes[0][0].set_ylabel("train task")
        if im is not None:
            fig.colorbar(im, ax=list(axes[0]), shrink=0.7, label="held-out accuracy")
        fig.suptitle(title or f"{CORE_NAMES.get(core, core)}: cross-task decoding at t = 0 "
                              f"(L/I/C = location/identity/category task, digit = N)")
    return fig


def validation_generalisation(summary: pd.DataFrame, cores: Optional[Sequence[str]] = None,
                              title: Optional[str] = None):
    """Validation (same task) vs generalisation (other task feature) per property and core (paper Fig. 2c).

    ``summary`` is ``cross_task(...).summary`` (columns seed, core, property, validation, generalisation,
    same_feature_other_n, chance).
    """
    import matplotlib.pyplot as plt

    cores = [c for c in (cores or CORES) if c in set(summary["core"])]
    props = [p for p in FEATURES if p in set(summary["property"])]
    kinds = [("validation", "validation (same task)", None), ("same_feature_other_n", "same feature, other N", ".."),
             ("generalisation", "generalisation (other feature)", "//")]
    kinds = [k for k in kinds if summary[k[0]].notna().any()]
    w = 0.8 / len(kinds)
    with style():
        fig, axes = plt.subplots(1, len(props), figsize=(3.8 * len(props), 3.4), sharey=True, squeeze=False)
        for ax, p in zip(axes[0], props):
            sp = summary[summary["property"] == p]
            for i, c in enumerate(cores):
                sc = sp[sp["core"] == c]
                for j, (col, lab, hatch) in enumerate(kinds):
                    seed_bar(ax, i + (j - (len(kinds) - 1) / 2) * w, sc[col], CORE_COLORS.get(c, "0.5"), w * 0.95,
                         label=lab if i == 0 and p == props[0] else None, hatch=hatch)
            ch = float(sp["chance"].mean())
            chance_line(ax, -0.5, len(cores) - 0.5, ch, label="chance" if p == props[0] else None)
            ax.set_xticks(range(len(cores)), [CORE_NAMES.get(c, c) for c in cores])
            ax.set_title(f"{p} (chance {ch:.2f})")
            ax.set_ylim(0, 1.02)
        axes[0][0].set_ylabel("held-out decoding accuracy, t = 0")
        axes[0][0].legend(loc="lower left", frameon=False, fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def generalisation_index(summary: pd.DataFrame, cores: Optional[Sequence[str]] = None,
                         title: Optional[str] = None):
    """Generalisation index (generalisation - chance) / (validation - chance) per core and property."""
    import matplotlib.pyplot as plt

    cores = [c for c in (cores or CORES) if c in set(summary["core"])]
    props = [p for p in FEATURES if p in set(summary["property"])]
    w = 0.8 / (len(props) + 1)
    with style():
        fig, ax = plt.subplots(figsize=(1.8 + 1.8 * len(cores), 3.4))
        for i, c in enumerate(cores):
            sc = summary[summary["core"] == c]
            for j, p in enumerate(props):
                seed_bar(ax, i + (j - len(props) / 2) * w, sc.loc[sc["property"] == p, "generalisation_index"],
                     FEATURE_COLORS[p], w * 0.95, label=p if i == 0 else None)
            mean_per_seed = sc.groupby("seed")["generalisation_index"].mean()
            seed_bar(ax, i + (len(props) / 2) * w, mean_per_seed, "white", w * 0.95,
                 label="mean" if i == 0 else None)
        ax.axhline(0, **CHANCE_STYLE, label="no transfer")
        ax.axhline(1, color=OKABE_ITO["grey"], ls=":", lw=1.0, label="fully shared")
        ax.set_xticks(range(len(cores)), [CORE_NAMES.get(c, c) for c in cores])
        ax.set_ylabel("generalisation index")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.set_title(title or "Cross-task generalisation index (1 = shared, 0 = task-specific)")
        fig.tight_layout()
    return fig


def gi_by_site(summary: pd.DataFrame, cores: Optional[Sequence[str]] = None, title: Optional[str] = None):
    """Generalisation index per core for each (site, protocol, variant) combination present (F2).

    ``summary`` is ``cross_task(...).summary``. Each bar is the per-seed mean over properties, N and ages of
    the per-N generalisation index of decodable cells; 1 = shared subspace, 0 = no transfer.
    """
    import matplotlib.pyplot as plt

    cores = [c for c in (cores or CORES) if c in set(summary["core"])]
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
                seed_bar(ax, i + (j - (len(cores) - 1) / 2) * w, vals, CORE_COLORS.get(c, "0.5"), w * 0.95,
                     label=CORE_NAMES.get(c, c) if i == 0 else None)
        ax.axhline(0, **CHANCE_STYLE, label="no transfer")
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
    cores = [c for c in (cores or CORES) if c in set(s["core"])]
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
            ax.axhline(0, **CHANCE_STYLE)
            ax.axhline(1, color=OKABE_ITO["grey"], ls=":", lw=1.0)
            ax.set_xticks(range(0, nv + 1))
            ax.set_xlabel("age (steps since shown)")
            ax.set_title(f"{nv}-back")
        axes[0][0].set_ylabel(f"generalisation index ({variant})")
        axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        fig.suptitle(title or "Cross-task generalisation while the stimulus is maintained (age 0 = encoding)")
        fig.tight_layout()
    return fig
