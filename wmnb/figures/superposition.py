"""Figures of chapter 13 (temporal superposition): angle histograms across S, measures vs S, the phase
diagram over (S, d / (n k)), recall loss per position, the sweep over the delay k, and the N-back networks next
to the toy regimes (:func:`plot_temporal_overlap`, the measure of claim T3).

Every function takes the cached tables of :mod:`wmnb.superposition` and returns a matplotlib Figure.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..superposition.measures import COS_BINS
from ..superposition.sweep import HIST_COLUMNS
from .style import CORE_COLORS, OKABE_ITO

__all__ = ["plot_angle_histograms", "plot_measures_vs_sparsity", "plot_phase_diagram", "plot_loss_per_position",
           "plot_k_sweep", "plot_nback_angles", "plot_temporal_overlap"]

#: the toy networks' kinds (the N-back cores keep the book's CORE_COLORS)
KIND_COLORS = {"linear": OKABE_ITO["black"], "tanh": OKABE_ITO["purple"], "relu": OKABE_ITO["sky"]}


def _hist(rows: pd.DataFrame) -> np.ndarray:
    h = rows[HIST_COLUMNS].to_numpy(float).sum(axis=0)
    return h / max(h.sum(), 1.0)


def plot_angle_histograms(table: pd.DataFrame, d: int, kinds=("linear",)):
    """One panel per S: the distribution of pairwise cosines between the memory-state directions of the
    recovered item-features (all seeds pooled), one line per model kind."""
    sub = table[table["d"] == d]
    spars = sorted(sub["sparsity"].unique())
    fig, axes = plt.subplots(1, len(spars), figsize=(2.1 * len(spars) + 0.6, 2.6), sharey=True, squeeze=False)
    centres = 0.5 * (COS_BINS[:-1] + COS_BINS[1:])
    for ax, s in zip(axes[0], spars):
        for kind in kinds:
            rows = sub[(sub["sparsity"] == s) & (sub["kind"] == kind)]
            if rows.empty:
                continue
            ax.step(centres, _hist(rows), where="mid", color=KIND_COLORS.get(kind, "k"), label=kind)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set_title(f"S = {s:g}", fontsize=9)
        ax.set_xlabel("cos (pair)")
    axes[0, 0].set_ylabel("fraction of pairs")
    axes[0, -1].legend(fontsize=8, frameon=False)
    fig.suptitle(f"Angles between the features held in the memory state (d = {d})", fontsize=10)
    fig.tight_layout()
    return fig


def _seed_line(ax, rows: pd.DataFrame, col: str, color, label):
    g = rows.groupby("sparsity")[col]
    m, sd, n = g.mean(), g.std(ddof=1).fillna(0), g.count()
    ax.errorbar(m.index, m.values, yerr=(1.96 * sd / np.sqrt(n)).values, color=color, marker="o", ms=3,
                capsize=2, label=label)


def plot_measures_vs_sparsity(table: pd.DataFrame, d: int, transition=None):
    """Four panels against S at hidden size ``d``: recall loss (relative to the items' variance), fraction of
    item-features recovered (dashed: d / (n k)), fraction of interference on the readout's silent side, and
    the spectral radius of W; one line per model kind, error bars 95 % over seeds. ``transition`` (S_lo,
    S_hi) shades T1's largest step."""
    sub = table[table["d"] == d]
    cols = [("loss", "recall loss (rel. to variance)"), ("frac_recovered", "features recovered"),
            ("frac_filtered", "interference removed by ReLU"), ("spectral_radius", "spectral radius of W")]
    fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
    for ax, (col, title) in zip(axes, cols):
        for kind, rows in sub.groupby("kind", sort=False):
            _seed_line(ax, rows, col, KIND_COLORS.get(kind, "k"), kind)
        if transition is not None:
            ax.axvspan(*transition, color="0.9", zorder=0)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("sparsity S")
    n, k = int(sub["n"].iloc[0]), int(sub["k"].iloc[0])
    axes[1].axhline(d / (n * k), ls="--", color="0.5", lw=0.8)
    axes[0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_phase_diagram(table: pd.DataFrame, cols=("frac_filtered", "frac_recovered")):
    """Heat maps over (S, d / (n k)) of seed means of ``cols`` for the linear networks."""
    lin = table[table["kind"] == "linear"]
    fig, axes = plt.subplots(1, len(cols), figsize=(5 * len(cols), 3.2), squeeze=False)
    for ax, col in zip(axes[0], cols):
        piv = lin.pivot_table(index="ratio", columns="sparsity", values=col).sort_index(ascending=False)
        im = ax.imshow(piv.values, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(piv.shape[1]), [f"{s:g}" for s in piv.columns], fontsize=8)
        ax.set_yticks(range(piv.shape[0]), [f"{r:.2f}" for r in piv.index], fontsize=8)
        for (i, j), v in np.ndenumerate(piv.values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.6 else "k")
        ax.set_xlabel("sparsity S")
        ax.set_ylabel("d / (n k)")
        ax.set_title({"frac_filtered": "interference removed by the ReLU",
                      "frac_recovered": "fraction of item-features recovered"}.get(col, col), fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_loss_per_position(table: pd.DataFrame, d: int, kind: str = "linear"):
    """Recall loss of each recall position r (item r, read k steps after it was shown) against S."""
    sub = table[(table["d"] == d) & (table["kind"] == kind)]
    cols = sorted(c for c in sub.columns if c.startswith("loss_r"))
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    for i, col in enumerate(cols):
        _seed_line(ax, sub, col, plt.cm.viridis(i / max(len(cols) - 1, 1)), f"item {col[6:]}")
    ax.set_xlabel("sparsity S")
    ax.set_ylabel("recall loss (rel. to variance)")
    ax.set_title(f"{kind} RNN, d = {d}: loss per recall position", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_k_sweep(table: pd.DataFrame, summary: pd.DataFrame):
    """The sweep over the delay k at a fixed d / (n k) (linear RNNs). Left and middle: the share of interference
    removed by the ReLU and the spectral radius of W against S, one line per k (error bars 95 % over seeds).
    Right: the S interval of the largest step of the seed-mean interference share (T1's transition) against
    k, coloured by T1's verdict at that k, and beside it the range over seeds of each seed's own step.

    ``table``: rows of :func:`wmnb.superposition.ksweep.with_main`; ``summary``: its
    :func:`~wmnb.superposition.ksweep.k_summary`."""
    from .style import VERDICT_COLORS

    ks = sorted(table["k"].unique())
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.0))
    for i, k in enumerate(ks):
        rows = table[table["k"] == k]
        color = plt.cm.viridis(i / max(len(ks) - 1, 1))
        d = int(rows["d"].iloc[0])
        _seed_line(axes[0], rows, "frac_filtered", color, f"k = {k} (d = {d})")
        _seed_line(axes[1], rows, "spectral_radius", color, f"k = {k}")
    axes[0].set_title("interference removed by the ReLU", fontsize=9)
    axes[1].set_title("spectral radius of W", fontsize=9)
    for ax in axes[:2]:
        ax.set_xlabel("sparsity S")
    axes[0].legend(fontsize=7, frameon=False)
    ax = axes[2]
    for _, r in summary.iterrows():
        ax.plot([r["k"], r["k"]], [r["transition_lo"], r["transition_hi"]], lw=5, solid_capstyle="butt",
                color=VERDICT_COLORS.get(r["t1_verdict"], "0.5"))
    for verdict in summary["t1_verdict"].unique():
        ax.plot([], [], lw=5, color=VERDICT_COLORS.get(verdict, "0.5"), label=f"T1 {verdict}")
    if "seed_mid_min" in summary:
        ax.errorbar(summary["k"] + 0.15, 0.5 * (summary["seed_mid_min"] + summary["seed_mid_max"]),
                    yerr=0.5 * (summary["seed_mid_max"] - summary["seed_mid_min"]), fmt="none", ecolor="0.3",
                    capsize=3, lw=1, label="seeds' own steps (range)")
    ax.set_xticks(ks)
    ax.set_xlabel("delay k (items held)")
    ax.set_ylabel("S interval of the largest step")
    ax.set_title("where the interference share jumps", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ratio = float(summary["ratio"].median()) if len(summary) else np.nan
    fig.suptitle(f"Linear RNNs at d / (n k) = {ratio:.2f}: the delay k", fontsize=10)
    fig.tight_layout()
    return fig


def plot_nback_angles(nback: pd.DataFrame, table: pd.DataFrame, d: int, threshold: float):
    """Left: cosine histograms of the N-back networks' property-by-age directions (per architecture) next
    to the toy's dense and sparse ends and its full-capacity control. Right: mean |cos| per network with the
    label-permutation null, the bridge's planted controls (same pipeline on states with codes planted
    superposed across ages, and orthogonal) when the table has them, and the near-orthogonality threshold."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.0))
    centres = 0.5 * (COS_BINS[:-1] + COS_BINS[1:])
    lin = table[table["kind"] == "linear"]
    main = lin[lin["d"] == d]
    smin, smax = main["sparsity"].min(), main["sparsity"].max()
    full = lin[(lin["d"] >= lin["n"] * lin["k"]) & (lin["sparsity"] == smin)]
    for rows, lab, st in ((main[main["sparsity"] == smin], f"toy d={d}, S={smin:g}", ":"),
                          (main[main["sparsity"] == smax], f"toy d={d}, S={smax:g}", "--"),
                          (full, "toy d = n k (control)", "-.")):
        if not rows.empty:
            a1.step(centres, _hist(rows), where="mid", color="0.4", ls=st, label=lab)
    for core, rows in nback.groupby("core", sort=False):
        a1.step(centres, _hist(rows), where="mid", color=CORE_COLORS.get(core, "k"), lw=1.8, label=f"N-back {core}")
    a1.set_xlabel("cos (pair)")
    a1.set_ylabel("fraction of pairs")
    a1.legend(fontsize=7, frameon=False)
    a1.set_title("pairwise angles: N-back networks vs the toy", fontsize=9)
    labels = [f"{c}\nseed {s}" for c, s in zip(nback["core"], nback["seed"])]
    x = np.arange(len(nback))
    a2.bar(x, nback["mean_abs_cos"], color=[CORE_COLORS.get(c, "k") for c in nback["core"]], label="networks")
    a2.scatter(x, nback["null_mean_abs_cos"], color="k", marker="_", s=200, zorder=3, label="labels permuted")
    if "pos_mean_abs_cos" in nback:
        a2.scatter(x, nback["pos_mean_abs_cos"], color="0.35", marker="^", s=18, zorder=3,
                   label="planted superposed (positive control)")
        a2.scatter(x, nback["orth_mean_abs_cos"], color="0.35", marker="v", s=18, zorder=3,
                   label="planted orthogonal")
    a2.axhline(threshold, ls="--", color="0.5", lw=0.8, label=f"near-orthogonal (< {threshold})")
    a2.set_xticks(x, labels, fontsize=7)
    cols = [c for c in ("mean_abs_cos", "null_mean_abs_cos", "pos_mean_abs_cos") if c in nback]
    top = np.nanmax(np.r_[nback[cols].to_numpy(float).ravel(), threshold])
    a2.set_ylim(0, 1.6 * top)                                     # room for the legend above the threshold
    a2.set_ylabel("mean |cos|")
    a2.legend(fontsize=7, frameon=False, ncol=2, loc="upper left")
    a2.set_title("mean |cos| of property-by-age directions", fontsize=9)
    fig.tight_layout()
    return fig


def plot_temporal_overlap(nback: pd.DataFrame, tolerance: float, planted_cos: float):
    """The temporal overlap of the N-back networks beside their two planted versions (claim T3).

    Left: per architecture, the signed mean cosine between the directions of one property value at two
    memory ages (:func:`wmnb.superposition.bridge.temporal_overlap`) for the networks (coloured) and for
    their plants with codes orthogonal across ages (c = 0, open ▼) and superposed at ``planted_cos`` (open ▲);
    dots: one per seed; bars: 95 % t intervals over seeds; shaded: the orthogonal plant's level plus
    ``tolerance`` (T3's "no temporal superposition" band). Right: the networks' cosine per age gap |a - b|
    (mean and 95 % interval over seeds), with the permutation null's mean as a grey dash per architecture.

    ``nback``: the bridge table (:func:`wmnb.superposition.bridge.nback_table`), one row per network."""
    from ..analysis.stats import seed_ci
    from .style import CHANCE_STYLE, OKABE_ITO as OI

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw=dict(width_ratios=[1.4, 1]))
    cores = list(dict.fromkeys(nback["core"]))
    offs = {"orth_temporal_cos": -0.25, "temporal_cos": 0.0, "pos_temporal_cos": 0.25}
    marks = {"orth_temporal_cos": "v", "temporal_cos": "o", "pos_temporal_cos": "^"}
    orth_level = float(nback["orth_temporal_cos"].mean())
    a1.axhspan(orth_level - tolerance, orth_level + tolerance, color="0.9", zorder=0)
    a1.axhline(planted_cos, color="0.6", lw=0.8, ls=":")
    a1.axhline(0, color="0.6", lw=0.8)
    for i, core in enumerate(cores):
        rows = nback[nback["core"] == core]
        color = CORE_COLORS.get(core, OI["black"])
        for col, dx in offs.items():
            y = rows[col].to_numpy(float)
            m, lo, hi = seed_ci(y)
            face = color if col == "temporal_cos" else "white"
            a1.scatter(np.full(y.size, i + dx), y, s=8, color=color, alpha=0.5, zorder=2)
            a1.errorbar(i + dx, m, yerr=[[m - lo], [hi - m]] if np.isfinite(lo) else None, fmt=marks[col], ms=7,
                        mfc=face, mec=color, ecolor=color, capsize=3, zorder=3)
    a1.errorbar([], [], fmt="v", mfc="white", mec="0.3", label="plant: ages orthogonal (c = 0)")
    a1.errorbar([], [], fmt="o", mfc="0.3", mec="0.3", label="network")
    a1.errorbar([], [], fmt="^", mfc="white", mec="0.3", label=f"plant: ages superposed (c = {planted_cos:g})")
    a1.fill_between([], [], color="0.9", label=f"orthogonal plant ± {tolerance:g}")
    a1.set_xticks(range(len(cores)), cores)
    a1.set_xlim(-0.6, len(cores) - 0.4)
    a1.set_ylim(-0.1, max(0.8, planted_cos + 0.2))
    a1.set_ylabel("cos, one value at two ages")
    a1.set_title("temporal overlap: networks between their plants", fontsize=9)
    a1.legend(fontsize=7, frameon=False, loc="upper left", ncol=2)
    gaps = [g for g in (1, 2, 3) if f"temporal_gap{g}" in nback]
    for core in cores:
        rows = nback[nback["core"] == core]
        color = CORE_COLORS.get(core, OI["black"])
        st = [seed_ci(rows[f"temporal_gap{g}"]) for g in gaps]
        m = np.array([x[0] for x in st])
        lo = np.array([x[1] for x in st])
        hi = np.array([x[2] for x in st])
        a2.errorbar(gaps, m, yerr=[m - lo, hi - m], color=color, marker="o", ms=4, capsize=3, label=core)
        if "temporal_null" in rows:
            a2.plot([gaps[0] - 0.2, gaps[-1] + 0.2], [rows["temporal_null"].mean()] * 2, color=color,
                    lw=0.8, ls="--")
    a2.axhline(0, color="0.6", lw=0.8)
    a2.plot([], [], label="labels permuted (dashed)", **CHANCE_STYLE)
    a2.set_xticks(gaps)
    a2.set_xlabel("age gap |a − b| (steps)")
    a2.set_ylabel("cos")
    a2.set_title("networks: overlap by age gap", fontsize=9)
    a2.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
