"""Figures for the memory-dynamics chapters (cross-time decoding, Procrustes swaps, causal perturbation).

All functions take the seed-aggregated tables of :mod:`wmnb.experiments` (columns ``<v>_mean``,
``<v>_ci_low``, ``<v>_ci_high``, ``n_seeds``) and return a matplotlib Figure. Error bars are 95 % t intervals
across seeds; with a single seed they fall back to the within-seed interval of the held-out test set where the
table has one (bootstrap / Wilson / paired t), and are omitted otherwise. Chance is drawn as a dashed grey line.
Colours: the Okabe-Ito colour-blind-safe palette.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["PALETTE", "FONT", "claim_markdown", "plot_cross_time", "plot_executive_bars", "plot_transfer",
           "plot_reconstruction", "plot_swaps", "plot_perturbation"]

#: Okabe-Ito palette (colour-blind safe)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
        "xtick.labelsize": 10, "ytick.labelsize": 10}
CHANCE_STYLE = dict(color="0.45", ls="--", lw=1.2)
FEATURE_ORDER = ("location", "identity", "category")
VERDICT_MARK = {"holds": "✅ holds", "does not hold": "❌ does not hold", "mixed": "⚠️ mixed"}


def _fmt(x, nd=3):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def claim_markdown(claim: dict, nd: int = 3) -> str:
    """One Markdown paragraph for a claim dict (``claim, statement, value, ci_low, ci_high, paper, verdict``)."""
    ci = (f" [95 % CI {_fmt(claim['ci_low'], nd)}, {_fmt(claim['ci_high'], nd)}]"
          if np.isfinite(claim["ci_low"]) else " (no CI: one seed)")
    name = claim.get("details", {}).get("value_name", "value")
    return (f"**{claim['claim']} — {VERDICT_MARK.get(claim['verdict'], claim['verdict'])}.** {claim['statement']} "
            f"Here: {name} = **{_fmt(claim['value'], nd)}**{ci}. Paper: {claim['paper']}.")


def _bounds(df: pd.DataFrame, v: str, fallback: Optional[tuple[str, str]] = None):
    """mean, lower error, upper error (non-negative) of column ``v`` of an aggregated table."""
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


def _style():
    import matplotlib.pyplot as plt

    return plt.rc_context(FONT)


def _features(df):
    present = list(dict.fromkeys(df["task_feature"]))
    return [f for f in FEATURE_ORDER if f in present] + [f for f in present if f not in FEATURE_ORDER]


def _seed_note(df, fallback: bool = True) -> str:
    k = int(df["n_seeds"].max()) if "n_seeds" in df and len(df) else 1
    if k > 1:
        return f"{k} seeds, 95 % CI across seeds"
    return "1 seed, 95 % CI of the held-out test set" if fallback else "1 seed: no error bars"


def plot_cross_time(curves: pd.DataFrame):
    """Fig. 4b: accuracy of the E(i,i) decoder on stimulus i's property at steps j >= i.

    ``curves``: ``ExperimentTables.extra["curves"]`` of :func:`wmnb.experiments.dynamics.cross_time`. One
    panel per (task feature, N); one line per stimulus position i; executive steps (j = i + N) drawn as large
    outlined markers.
    """
    import matplotlib.pyplot as plt

    feats = _features(curves)
    ns = sorted(curves["n"].unique())
    with _style():
        fig, axes = plt.subplots(len(feats), len(ns), figsize=(3.6 * len(ns), 2.9 * len(feats)), squeeze=False,
                                 sharex=True, sharey=True)
        for a, f in enumerate(feats):
            for b, nv in enumerate(ns):
                ax = axes[a, b]
                g = curves[(curves["task_feature"] == f) & (curves["n"] == nv)]
                if g.empty:
                    ax.set_axis_off()
                    continue
                for k, (i, gi) in enumerate(g.groupby("stim")):
                    gi = gi.sort_values("step")
                    m, err = _bounds(gi, "accuracy", ("ci_low_mean", "ci_high_mean"))
                    col = PALETTE[k % len(PALETTE)]
                    ax.errorbar(gi["step"], m, yerr=err, color=col, marker="o", ms=4, capsize=2, lw=1.5,
                                label=f"stimulus {i}")
                    ex = (gi["kind"] == "executive").to_numpy()
                    ax.plot(gi["step"].to_numpy()[ex], m[ex], "s", ms=11, mfc="none", mec=col, mew=2)
                ax.axhline(g["chance_mean"].mean(), **CHANCE_STYLE)
                ax.set_ylim(0, 1.02)
                ax.set_title(f"{f} {nv}-back" + (" (N pooled)" if nv == 0 else ""))
                if b == 0:
                    ax.set_ylabel(f"accuracy ({g['property'].iloc[0]})")
                if a == len(feats) - 1:
                    ax.set_xlabel("step j")
        h, lab = axes[0, 0].get_legend_handles_labels()
        from matplotlib.lines import Line2D
        h += [Line2D([], [], marker="s", ls="", mfc="none", mec="k", ms=10, mew=2), Line2D([], [], **CHANCE_STYLE)]
        lab += ["executive step j = i + N", "chance"]
        fig.legend(h, lab, loc="lower center", ncol=min(len(lab), 5), bbox_to_anchor=(0.5, -0.02), frameon=False)
        fig.suptitle(f"Decoder fit at stimulus i's encoding step, tested on its memory states ({_seed_note(curves)})",
                     y=1.0)
        fig.tight_layout(rect=(0, 0.05, 1, 0.98))
    return fig


def plot_executive_bars(aggregated: pd.DataFrame):
    """Fig. 4c: validation vs executive vs non-executive accuracy per task cell (cross_time's ``aggregated``)."""
    import matplotlib.pyplot as plt

    df = aggregated.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    df = df.sort_values(["_o", "n"]).reset_index(drop=True)
    kinds = [("validation", "encoding step (validation)"), ("executive", "executive steps"),
             ("non_executive", "non-executive steps")]
    x = np.arange(len(df))
    wd = 0.26
    with _style():
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(df) + 2), 3.8))
        for k, (v, lab) in enumerate(kinds):
            m, err = _bounds(df, v)
            ax.bar(x + (k - 1) * wd, m, wd, yerr=err, capsize=2, color=PALETTE[k], label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 1.5 * wd, xi + 1.5 * wd], [c, c], **CHANCE_STYLE)
        ax.set_xticks(x, [f"{f[:3]} {n}-back" for f, n in zip(df["task_feature"], df["n"])], rotation=30, ha="right")
        ax.set_ylabel("accuracy (remembered stimulus)")
        ax.set_ylim(0, 1.05)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.legend(ncol=2, loc="upper right", frameon=False)
        ax.set_title(f"Encoding decoder on memory states ({_seed_note(df, False)})")
        fig.tight_layout()
    return fig


def plot_transfer(matrix: pd.DataFrame, aggregated: pd.DataFrame):
    """Fig. 4d: E(i,i) -> E(j,j) accuracy matrices (one per task feature) and validation vs generalisation."""
    import matplotlib.pyplot as plt

    feats = _features(matrix)
    with _style():
        fig = plt.figure(figsize=(3.4 * len(feats) + 5.0, 3.9))
        gs = fig.add_gridspec(1, len(feats) + 3, width_ratios=[1] * len(feats) + [0.06, 0.25, 1.25], wspace=0.35)
        axes = [fig.add_subplot(gs[0, k]) for k in range(len(feats))] + [fig.add_subplot(gs[0, len(feats) + 2])]
        cax = fig.add_subplot(gs[0, len(feats)])
        im = None
        for k, (ax, f) in enumerate(zip(axes, feats)):
            g = matrix[matrix["task_feature"] == f]
            nv = g["n"].iloc[0]
            g = g[g["n"] == nv]
            T = int(max(g["train_stim"].max(), g["test_stim"].max())) + 1
            M = np.full((T, T), np.nan)
            M[g["train_stim"].astype(int), g["test_stim"].astype(int)] = g["accuracy_mean"]
            im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", origin="upper")
            for i in range(T):
                for j in range(T):
                    if np.isfinite(M[i, j]):
                        ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="w" if M[i, j] < 0.6 else "k")
            ax.set_xticks(range(T))
            ax.set_yticks(range(T))
            ax.set_xlabel("test stimulus j")
            if k == 0:
                ax.set_ylabel("train stimulus i")
            ax.set_title(f"{f} tasks\n(chance {g['chance_mean'].mean():.2f})", fontsize=10)
        fig.colorbar(im, cax=cax, label="held-out accuracy")
        ax = axes[-1]
        df = aggregated.copy()
        df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
        df = df.sort_values(["_o", "n"]).reset_index(drop=True)
        x = np.arange(len(df))
        pairs = [("validation", "validation (i = j)"), ("generalisation", "generalisation (i ≠ j)")]
        for k, (v, lab) in enumerate(pairs):
            m, err = _bounds(df, v)
            ax.bar(x + (k - 0.5) * 0.38, m, 0.38, yerr=err, capsize=2, color=PALETTE[k], label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 0.4, xi + 0.4], [c, c], **CHANCE_STYLE)
        ax.set_xticks(x, [f"{f}" + (f" {n}-back" if n else "") for f, n in zip(df["task_feature"], df["n"])],
                      rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy")
        ax.legend(frameon=False, loc="upper right", fontsize=9)
        ax.set_title(_seed_note(df, False), fontsize=10)
        fig.subplots_adjust(bottom=0.22)
    return fig


def plot_reconstruction(recon: pd.DataFrame):
    """Fig. 4f: fitted vs Procrustes-reconstructed vs unrotated decoders, per task cell and transition type.

    ``recon``: ``extra["reconstruction_aggregated"]`` of :func:`wmnb.experiments.procrustes.swap_tests`.
    """
    import matplotlib.pyplot as plt

    df = recon.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    df = df.sort_values(["_o", "n", "transition"]).reset_index(drop=True)
    kinds = [("fitted_accuracy", "fitted W(i, j+1)"), ("reconstructed_accuracy", "reconstructed R·W(i, j)"),
             ("no_rotation_accuracy", "no rotation (control)")]
    x = np.arange(len(df))
    wd = 0.26
    with _style():
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(df) + 2), 3.8))
        for k, (v, lab) in enumerate(kinds):
            m, err = _bounds(df, v)
            ax.bar(x + (k - 1) * wd, m, wd, yerr=err, capsize=2, color=PALETTE[k], label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 1.5 * wd, xi + 1.5 * wd], [c, c], **CHANCE_STYLE)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.set_xticks(x, [f"{f[:3]} {n}-back\n{t}" for f, n, t in zip(df["task_feature"], df["n"], df["transition"])],
                      fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("held-out accuracy at step j+1")
        ax.legend(ncol=2, frameon=False, loc="upper right")
        ax.set_title(f"Procrustes reconstruction of the next-step decoder ({_seed_note(df, False)})")
        fig.tight_layout()
    return fig


def plot_swaps(aggregated: pd.DataFrame):
    """Fig. 4g: swap tests per task cell (``aggregated`` of :func:`wmnb.experiments.procrustes.swap_tests`)."""
    import matplotlib.pyplot as plt

    df = aggregated.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    df = df.sort_values(["_o", "n"]).reset_index(drop=True)
    kinds = [("fitted", "fitted"), ("correct", "own rotation R(i, j)"),
             ("other_stimulus_same_age", "other stimulus, same age R(i+k, j+k)"),
             ("same_stimulus_other_interval", "same stimulus, other interval R(i, j±1)"),
             ("none", "no rotation")]
    kinds = [(v, lab) for v, lab in kinds if f"{v}_mean" in df]
    x = np.arange(len(df))
    wd = 0.8 / len(kinds)
    with _style():
        fig, ax = plt.subplots(figsize=(max(6.5, 1.6 * len(df) + 3), 3.9))
        for k, (v, lab) in enumerate(kinds):
            m, err = _bounds(df, v)
            ax.bar(x + (k - (len(kinds) - 1) / 2) * wd, m, wd, yerr=err, capsize=2, color=PALETTE[k], label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 0.45, xi + 0.45], [c, c], **CHANCE_STYLE)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.set_xticks(x, [f"{f} {n}-back ({p})" for f, n, p in zip(df["task_feature"], df["n"], df["property"])],
                      rotation=15, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("held-out accuracy")
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"Swap tests ({_seed_note(df, False)})")
        fig.tight_layout()
    return fig


def plot_perturbation(aggregated: pd.DataFrame, task_feature: str = "all", n: int = 0):
    """Fig. A7: response probabilities after the perturbed recurrent step vs shift magnitude.

    ``aggregated``: :func:`wmnb.experiments.perturbation.perturbation`'s ``aggregated`` table. Solid: along the
    decoder normal (d > 0 leaves the remembered value's side); dashed: random direction of the same length.
    Right panel: fraction of trials whose shifted state lies beyond its class hyperplane.
    """
    import matplotlib.pyplot as plt

    g = aggregated[(aggregated["task_feature"] == task_feature) & (aggregated["n"] == n)]
    resp = [("match", PALETTE[2]), ("non_match", PALETTE[3]), ("no_action", PALETTE[0])]
    with _style():
        fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
        for ax, (r, col) in zip(axes, resp):
            for dname, ls, mk in (("decoder", "-", "o"), ("random", "--", "^")):
                d = g[g["direction"] == dname].sort_values("magnitude")
                if d.empty:
                    continue
                m, err = _bounds(d, f"p_{r}", (f"p_{r}_ci_low_mean", f"p_{r}_ci_high_mean"))
                ax.errorbar(d["magnitude"], m, yerr=err, color=col, ls=ls, marker=mk, ms=4, capsize=2,
                            label="decoder normal" if dname == "decoder" else "random direction")
            ax.axvline(0, color="0.7", lw=1)
            ax.axvline(1, color="0.7", lw=1, ls=":")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("shift d (units: median distance to hyperplane)")
            ax.set_title(f"P({r.replace('_', '-')})")
        axes[0].legend(frameon=False, loc="lower left")
        ax = axes[3]
        for dname, ls in (("decoder", "-"), ("random", "--")):
            d = g[g["direction"] == dname].sort_values("magnitude")
            if len(d):
                ax.plot(d["magnitude"], d["frac_crossed_mean"], color=PALETTE[4], ls=ls, marker="o", ms=4,
                        label=dname)
        ax.axvline(1, color="0.7", lw=1, ls=":")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("shift d")
        ax.set_title("beyond the hyperplane")
        ax.legend(frameon=False)
        where = "all task cells pooled" if task_feature == "all" else f"{task_feature} {n}-back"
        fig.suptitle(f"Perturbing h(t-1) of correct match trials, {where} ({_seed_note(g)})", y=1.02)
        fig.tight_layout()
    return fig
