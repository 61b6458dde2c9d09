"""Figures of memory dynamics (F4, F5, chapter 8): cross-time decoding, executive steps, equal memory age,
encoding transfer, and the architectures compared.

All functions take the seed-aggregated tables of :mod:`wmnb.experiments` (columns ``<v>_mean``,
``<v>_ci_low``, ``<v>_ci_high``, ``n_seeds``) and return a matplotlib Figure. Error bars are 95 % t intervals
across seeds; with a single seed they fall back to the within-seed interval of the held-out test set where the
table has one (bootstrap / Wilson / paired t), and are omitted otherwise. Chance is drawn as a dashed grey line.
Style and colours: :mod:`.style`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import FEATURES
from .style import CHANCE_STYLE, PALETTE, aggregated_bounds, seed_note, style

__all__ = ["ordered_cells", "plot_cross_time", "plot_executive_bars", "plot_equal_age", "plot_transfer_matrices",
           "plot_transfer_summary", "plot_core_comparison"]

FEATURE_ORDER = FEATURES


def ordered_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of a per-cell table in book order: task feature (location, identity, category), then N, then
    transition (where present)."""
    df = df.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    return df.sort_values([c for c in ("_o", "n", "transition") if c in df]).reset_index(drop=True)


def _features(df):
    present = list(dict.fromkeys(df["task_feature"]))
    return [f for f in FEATURE_ORDER if f in present] + [f for f in present if f not in FEATURE_ORDER]


def plot_cross_time(curves: pd.DataFrame):
    """Fig. 4b: accuracy of the E(i,i) decoder on stimulus i's property at steps j >= i.

    ``curves``: ``ExperimentTables.extra["curves"]`` of :func:`wmnb.experiments.dynamics.cross_time`. One
    panel per (task feature, N); one line per stimulus position i; executive steps (j = i + N) drawn as large
    outlined markers.
    """
    import matplotlib.pyplot as plt

    feats = _features(curves)
    ns = sorted(curves["n"].unique())
    with style():
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
                    m, err = aggregated_bounds(gi, "accuracy", ("ci_low_mean", "ci_high_mean"))
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
        fig.suptitle(f"Decoder fit at stimulus i's encoding step, tested on its memory states ({seed_note(curves)})",
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
    with style():
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(df) + 2), 3.8))
        for k, (v, lab) in enumerate(kinds):
            m, err = aggregated_bounds(df, v)
            ax.bar(x + (k - 1) * wd, m, wd, yerr=err, capsize=2, color=PALETTE[k], label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 1.5 * wd, xi + 1.5 * wd], [c, c], **CHANCE_STYLE)
        ax.set_xticks(x, [f"{f[:3]} {n}-back" for f, n in zip(df["task_feature"], df["n"])], rotation=30, ha="right")
        ax.set_ylabel("accuracy (remembered stimulus)")
        ax.set_ylim(0, 1.05)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.legend(ncol=2, loc="upper right", frameon=False)
        ax.set_title(f"Encoding decoder on memory states ({seed_note(df, False)})")
        fig.tight_layout()
    return fig


def plot_equal_age(equal_agg: pd.DataFrame):
    """F4 at equal memory age: executive step of the N = a task vs memory step at age a in N > a tasks.

    ``equal_agg``: ``extra["equal_age_aggregated"]`` of :func:`wmnb.experiments.dynamics.cross_time`. Left: the
    controlled measure (rows whose shown stimulus differs from the remembered one, shown class excluded;
    chance 1 / (C - 1)); right: all rows (the paper's accuracy; match trials included; chance 1 / C).
    """
    import matplotlib.pyplot as plt

    df = equal_agg.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    df = df.sort_values(["_o", "age"]).reset_index(drop=True)
    x = np.arange(len(df))
    wd = 0.38
    panels = [(("executive", "memory", "chance"), "shown ≠ remembered, shown class excluded"),
              (("executive_all", "memory_all", "chance_all"), "all rows (match trials included)")]
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(max(9, 1.5 * len(df) + 4), 3.9), sharey=True)
        for ax, ((e, m, c), title) in zip(axes, panels):
            for k, (v, lab) in enumerate(((e, "executive step, N = a"), (m, "memory step, N > a"))):
                mean, err = aggregated_bounds(df, v)
                ax.bar(x + (k - 0.5) * wd, mean, wd, yerr=err, capsize=2, color=PALETTE[k], label=lab)
            for xi, ch in zip(x, df[f"{c}_mean"]):
                ax.plot([xi - 0.45, xi + 0.45], [ch, ch], **CHANCE_STYLE)
            ax.set_xticks(x, [f"{f[:3]}, age {a}\n(N={a} vs {nm})" for f, a, nm in
                              zip(df["task_feature"], df["age"], df["n_memory"])], fontsize=9)
            ax.set_ylim(0, 1.05)
            ax.set_title(title, fontsize=11)
        axes[0].set_ylabel("accuracy on the remembered stimulus")
        axes[0].plot([], [], **CHANCE_STYLE, label="chance")
        axes[0].legend(frameon=False, loc="upper right", fontsize=9)
        fig.suptitle(f"Encoding decoder at equal memory age ({seed_note(df, False)})", y=1.0)
        fig.tight_layout()
    return fig


def plot_transfer_matrices(matrix: pd.DataFrame, column: str = "accuracy"):
    """The whole E(i,i) -> E(j,j) matrix per (task feature, N): rows train position i, columns test position j.

    ``matrix``: ``extra["matrix"]`` of :func:`wmnb.experiments.dynamics.encoding_transfer`; ``column``:
    ``"accuracy"`` (raw states), ``"accuracy_centred"`` (per-step centred) or ``"overlap"`` (principal-angle
    overlap; the diagonal is the split-half ceiling).
    """
    import matplotlib.pyplot as plt

    feats = _features(matrix)
    ns = sorted(matrix["n"].unique())
    label = {"accuracy": "held-out accuracy (raw)", "accuracy_centred": "held-out accuracy (step-centred)",
             "overlap": "subspace overlap (mean cos²)"}.get(column, column)
    with style():
        fig, axes = plt.subplots(len(feats), len(ns), figsize=(2.9 * len(ns) + 1.2, 3.0 * len(feats)),
                                 squeeze=False, gridspec_kw=dict(hspace=0.45))
        im = None
        for a, f in enumerate(feats):
            for b, nv in enumerate(ns):
                ax = axes[a, b]
                g = matrix[(matrix["task_feature"] == f) & (matrix["n"] == nv)]
                if g.empty or f"{column}_mean" not in g:
                    ax.set_axis_off()
                    continue
                T = int(max(g["train_stim"].max(), g["test_stim"].max())) + 1
                M = np.full((T, T), np.nan)
                M[g["train_stim"].astype(int), g["test_stim"].astype(int)] = g[f"{column}_mean"]
                im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", origin="upper")
                for i in range(T):
                    for j in range(T):
                        if np.isfinite(M[i, j]):
                            ax.text(j, i, f"{M[i, j]:.2f}"[1:] if M[i, j] < 1 else "1", ha="center", va="center",
                                    fontsize=7, color="w" if M[i, j] < 0.6 else "k")
                ax.axhline(0.5, color="w", lw=1)
                ax.axvline(0.5, color="w", lw=1)
                ax.set_xticks(range(T))
                ax.set_yticks(range(T))
                title = f"{f} {nv}-back" if nv else f"{f} (N pooled)"
                if column != "overlap":
                    title += f" (chance {g['chance_mean'].mean():.2f})"
                ax.set_title(title, fontsize=9)
                if b == 0:
                    ax.set_ylabel("train position i")
                if a == len(feats) - 1:
                    ax.set_xlabel("test position j")
        if im is not None:
            fig.colorbar(im, ax=axes, shrink=0.6, label=label)
        fig.suptitle(f"E(i,i) → E(j,j): {label}; lines set step 0 apart", y=1.0)
    return fig


def plot_transfer_summary(aggregated: pd.DataFrame):
    """F5 per (task feature, N): validation vs generalisation (positions >= 1), raw and step-centred, and the
    principal-angle overlap relative to its split-half ceiling.

    ``aggregated``: :func:`wmnb.experiments.dynamics.encoding_transfer`'s ``aggregated`` table.
    """
    import matplotlib.pyplot as plt

    df = aggregated.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    df = df.sort_values(["_o", "n"]).reset_index(drop=True)
    x = np.arange(len(df))
    kinds = [("validation", "validation (i = j)"), ("generalisation", "generalisation, raw"),
             ("generalisation_centred", "generalisation, step-centred")]
    kinds = [(v, lab) for v, lab in kinds if f"{v}_mean" in df]
    wd = 0.8 / len(kinds)
    has_ov = "overlap_relative_mean" in df and np.isfinite(df["overlap_relative_mean"]).any()
    with style():
        fig, axes = plt.subplots(1, 2 if has_ov else 1, figsize=(13 if has_ov else 8.5, 4.2), squeeze=False,
                                 gridspec_kw=dict(width_ratios=[1.6, 1] if has_ov else [1]))
        ax = axes[0, 0]
        for k, (v, lab) in enumerate(kinds):
            m, err = aggregated_bounds(df, v)
            ax.bar(x + (k - (len(kinds) - 1) / 2) * wd, m, wd, yerr=err, capsize=2, color=PALETTE[k], label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 0.45, xi + 0.45], [c, c], **CHANCE_STYLE)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ticks = [f"{f[:3]} {n}-back" if n else f"{f[:3]} (N pooled)" for f, n in zip(df["task_feature"], df["n"])]
        ax.set_xticks(x, ticks, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("held-out accuracy (positions ≥ 1)")
        ax.set_ylim(0, 1.3)
        ax.legend(frameon=False, fontsize=8, loc="upper center", ncol=2)
        ax.set_title(f"Encoding transfer ({seed_note(df, False)})", fontsize=11)
        if has_ov:
            ax = axes[0, 1]
            m, err = aggregated_bounds(df, "overlap_relative")
            ax.bar(x, m, 0.6, yerr=err, capsize=2, color=PALETTE[4])
            ax.axhline(1, color="0.3", lw=1, ls=":")
            ax.axhline(0, **CHANCE_STYLE)
            ax.set_xticks(x, ticks, rotation=30, ha="right")
            ax.set_ylim(min(-0.05, float(np.nanmin(m)) - 0.05), 1.1)
            ax.set_ylabel("(overlap − null) / (ceiling − null)")
            ax.set_title("decoder subspaces i ≠ j: 1 = as close as\ntwo halves of one step, 0 = random", fontsize=10)
        fig.tight_layout()
    return fig


def plot_core_comparison(rows: pd.DataFrame):
    """F4 and F5 per architecture: ``rows`` has ``claim, core, value, ci_low, ci_high, verdict`` (one row per
    (claim, core)), e.g. built from the claim records of each core. One panel per claim."""
    import matplotlib.pyplot as plt

    claims = list(dict.fromkeys(rows["claim"]))
    with style():
        fig, axes = plt.subplots(1, len(claims), figsize=(4.2 * len(claims), 3.5), squeeze=False)
        for ax, cl in zip(axes[0], claims):
            g = rows[rows["claim"] == cl].reset_index(drop=True)
            x = np.arange(len(g))
            m = g["value"].to_numpy(float)
            lo = np.where(np.isfinite(g["ci_low"]), m - g["ci_low"], 0)
            hi = np.where(np.isfinite(g["ci_high"]), g["ci_high"] - m, 0)
            ax.bar(x, m, 0.6, yerr=np.vstack([lo, hi]), capsize=3, color=[PALETTE[k] for k in range(len(g))])
            ax.axhline(0, color="0.4", lw=1)
            ax.set_xticks(x, [f"{c}\n{v}" for c, v in zip(g["core"], g["verdict"])], fontsize=9)
            ax.set_title(cl, fontsize=11)
            if "threshold" in g:
                ax.axhline(float(g["threshold"].iloc[0]), **{**CHANCE_STYLE, "ls": ":"})
            ax.set_ylabel(str(g["measure"].iloc[0]) if "measure" in g else "value")
        fig.tight_layout()
    return fig

