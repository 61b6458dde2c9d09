"""Figures for the representation chapters (task relevance F1, cross-task generalisation F2, orthogonality F3).

One shared style: readable fonts (:data:`STYLE`, use ``with style(): ...``), the Okabe-Ito colour-blind-safe
palette, a dashed chance line wherever an accuracy is shown, and error bars that are 95 % t intervals across
seeds (drawn only with two or more seeds; individual seeds are the small dots). Every function takes the tidy
tables of :mod:`wmnb.experiments` and returns the Figure.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Optional, Sequence

import numpy as np
import pandas as pd

__all__ = ["OKABE_ITO", "PROPERTY_COLORS", "SCENARIO_COLORS", "CORE_COLORS", "SPACE_COLORS", "STYLE", "style",
           "mean_ci", "relevance_bars", "relevance_heatmaps", "cross_task_matrices", "validation_generalisation",
           "generalisation_index", "orthogonality_scatter", "orthogonality_bars", "fmt_ci", "claim_markdown"]

#: Okabe & Ito (2008) colour-blind-safe palette
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
PROPERTY_COLORS = {"location": OKABE_ITO["blue"], "identity": OKABE_ITO["orange"], "category": OKABE_ITO["green"]}
SCENARIO_COLORS = {"STSF": OKABE_ITO["purple"], "STMF": OKABE_ITO["sky"], "MTMF": OKABE_ITO["vermillion"]}
CORE_COLORS = {"rnn": OKABE_ITO["blue"], "gru": OKABE_ITO["vermillion"], "lstm": OKABE_ITO["green"]}
SPACE_COLORS = {"backbone": OKABE_ITO["grey"], "projection": OKABE_ITO["sky"], "encoding": OKABE_ITO["vermillion"]}
CORE_NAMES = {"rnn": "vanilla RNN", "gru": "GRU", "lstm": "LSTM"}
PROPERTIES = ("location", "identity", "category")

STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
         "ytick.labelsize": 10, "legend.fontsize": 9, "axes.spines.top": False, "axes.spines.right": False,
         "figure.dpi": 90}


@contextmanager
def style():
    """Context manager applying :data:`STYLE` to the figures made inside it."""
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        yield


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t interval of finite ``values`` (NaN interval with fewer than two)."""
    from .analysis.stats import mean_t_interval

    return mean_t_interval(values, level)


def _bar(ax, x, vals, color, width, label=None, hatch=None, seeds=True):
    """One bar at ``x``: mean of ``vals`` (one per seed), CI error bar, seed dots."""
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


def _chance_line(ax, x0, x1, level, label=None):
    ax.plot([x0, x1], [level, level], color="black", ls="--", lw=1.0, label=label)


# --------------------------------------------------------------------------------------------------- F1
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

    scen = [s for s in (scenarios or ("STSF", "STMF", "MTMF")) if s in set(summary["scenario"])]
    props = [p for p in PROPERTIES if p in set(summary["property"])]
    with style():
        fig, axes = plt.subplots(1, len(props), figsize=(3.6 * len(props), 3.4), sharey=True, squeeze=False)
        for ax, p in zip(axes[0], props):
            sp = summary[summary["property"] == p]
            for i, s in enumerate(scen):
                for j, rel in enumerate((True, False)):
                    v = sp[(sp["scenario"] == s) & (sp["relevant"].astype(bool) == rel)]["accuracy"]
                    _bar(ax, i + (j - 0.5) * 0.38, v, SCENARIO_COLORS.get(s, "0.5"), 0.36,
                         hatch=None if rel else "//")
            ch = float(sp["chance"].mean())
            _chance_line(ax, -0.5, len(scen) - 0.5, ch, label="chance" if p == props[0] else None)
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
            rows = list(PROPERTIES)                 # every task context, blank where the model has none
            cols = [p for p in PROPERTIES if p in acc.columns]
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


# --------------------------------------------------------------------------------------------------- F2
def _short_task(name: str) -> str:
    """``"2-back location"`` -> ``"L2"``; ``"location"`` (N pooled) -> ``"L"``."""
    parts = str(name).split()
    feat = parts[-1]
    n = parts[0].split("-")[0] if len(parts) > 1 else ""
    return f"{feat[:1].upper()}{n}"


def cross_task_matrices(cells: pd.DataFrame, core: str, properties: Sequence[str] = PROPERTIES,
                        title: Optional[str] = None):
    """Train-task x test-task accuracy per property for one core (mean across seeds; paper Fig. 2a).

    ``cells`` is ``cross_task(...).extra["cells"]``.
    """
    import matplotlib.pyplot as plt

    from .analysis.cross_task import cross_task_matrix

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

    cores = [c for c in (cores or ("rnn", "gru", "lstm")) if c in set(summary["core"])]
    props = [p for p in PROPERTIES if p in set(summary["property"])]
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
                    _bar(ax, i + (j - (len(kinds) - 1) / 2) * w, sc[col], CORE_COLORS.get(c, "0.5"), w * 0.95,
                         label=lab if i == 0 and p == props[0] else None, hatch=hatch)
            ch = float(sp["chance"].mean())
            _chance_line(ax, -0.5, len(cores) - 0.5, ch, label="chance" if p == props[0] else None)
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

    cores = [c for c in (cores or ("rnn", "gru", "lstm")) if c in set(summary["core"])]
    props = [p for p in PROPERTIES if p in set(summary["property"])]
    w = 0.8 / (len(props) + 1)
    with style():
        fig, ax = plt.subplots(figsize=(1.8 + 1.8 * len(cores), 3.4))
        for i, c in enumerate(cores):
            sc = summary[summary["core"] == c]
            for j, p in enumerate(props):
                _bar(ax, i + (j - len(props) / 2) * w, sc.loc[sc["property"] == p, "generalisation_index"],
                     PROPERTY_COLORS[p], w * 0.95, label=p if i == 0 else None)
            mean_per_seed = sc.groupby("seed")["generalisation_index"].mean()
            _bar(ax, i + (len(props) / 2) * w, mean_per_seed, "white", w * 0.95,
                 label="mean" if i == 0 else None)
        ax.axhline(0, color="black", ls="--", lw=1.0, label="no transfer")
        ax.axhline(1, color=OKABE_ITO["grey"], ls=":", lw=1.0, label="fully shared")
        ax.set_xticks(range(len(cores)), [CORE_NAMES.get(c, c) for c in cores])
        ax.set_ylabel("generalisation index")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.set_title(title or "Cross-task generalisation index (1 = shared, 0 = task-specific)")
        fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------- F3
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
                ax.scatter(g[f"{value}_a"], g[f"{value}_b"], color=PROPERTY_COLORS.get(p, "0.5"),
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
        handles = [plt.Line2D([], [], color=c, marker="o", ls="", label=p) for p, c in PROPERTY_COLORS.items()
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

    cores = [c for c in (cores or ("rnn", "gru", "lstm")) if c in set(summary["core"])]
    props = [p for p in PROPERTIES if p in set(summary["property"])]
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
                    _bar(ax, x, sel["O_normalised"], SPACE_COLORS[s], w * 0.95,
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


# --------------------------------------------------------------------------------------------------- text
def fmt_ci(value: float, low: float, high: float, pct: bool = True) -> str:
    """``"0.87 [0.83, 0.91]"`` (or percentages); the interval is omitted when it is NaN (one seed)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    f = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:.3f}")
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return f(value)
    return f"{f(value)} [95 % CI {f(low)} to {f(high)}]"


def claim_markdown(claim: dict, pct: bool = True) -> str:
    """A short Markdown block for a claim record: statement, paper, our value, verdict and rule."""
    verdict = {"holds": "**holds**", "does not hold": "**does not hold**", "mixed": "**mixed**"}.get(
        claim["verdict"], claim["verdict"])
    name = claim["details"].get("value_name", "value")
    return (f"**{claim['claim']}.** {claim['statement']}\n\n"
            f"* Paper: {claim['paper']}.\n"
            f"* Here ({name}): {fmt_ci(claim['value'], claim['ci_low'], claim['ci_high'], pct)}.\n"
            f"* Verdict: {verdict} (rule: {claim['details'].get('rule', 'see the docstring')}).")
