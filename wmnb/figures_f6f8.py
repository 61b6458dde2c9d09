"""Figures for chapters 9 and 10 (F6-F8 with their controls).

Every function takes seed-aggregated tables of :mod:`wmnb.experiments.procrustes` /
:mod:`wmnb.experiments.perturbation` (columns ``<v>_mean, <v>_ci_low, <v>_ci_high, n_seeds``) and returns a
matplotlib Figure. Error bars: 95 % t intervals across seeds (absent with one seed). Chance: dashed grey.
Colours: Okabe-Ito (colour-blind safe), nulls in grey shades.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .plots_dynamics import CHANCE_STYLE, FEATURE_ORDER, FONT, PALETTE, _bounds

__all__ = ["plot_state_maps", "plot_swap_nulls", "plot_f8_sweep", "core_table"]

STATE_MAP_STYLE = [("fitted", "fitted decoder on true h(j+1)", PALETTE[7]),
                   ("rotation", "rotation + scale map", PALETTE[0]),
                   ("ridge", "unconstrained linear map", PALETTE[2]),
                   ("none", "no map (h(j) as is)", PALETTE[1]),
                   ("rotation_permuted", "null: permuted classes", "0.55"),
                   ("rotation_random", "null: random rotation", "0.8")]


def _order(df):
    df = df.copy()
    df["_o"] = df["task_feature"].map({f: k for k, f in enumerate(FEATURE_ORDER)}).fillna(9)
    return df.sort_values([c for c in ("_o", "n", "transition") if c in df]).reset_index(drop=True)


def _note(df):
    n = int(df["n_seeds"].max()) if "n_seeds" in df and len(df) else 1
    return f"{n} seeds; bars: 95 % CI across seeds" if n > 1 else "one seed, no CI"


def plot_state_maps(aggregated: pd.DataFrame, title: str = ""):
    """F6, state level: held-out accuracy of stimulus i's value read from mapped states, per task cell and
    transition type, for every map of :data:`wmnb.analysis.procrustes.STATE_MAPS`."""
    import matplotlib.pyplot as plt

    df = _order(aggregated)
    kinds = [(k, lab, col) for k, lab, col in STATE_MAP_STYLE if f"{k}_mean" in df]
    x = np.arange(len(df))
    wd = 0.8 / len(kinds)
    with plt.rc_context(FONT):
        fig, ax = plt.subplots(figsize=(max(7, 1.5 * len(df) + 3), 3.9))
        for k, (v, lab, col) in enumerate(kinds):
            m, err = _bounds(df, v)
            ax.bar(x + (k - (len(kinds) - 1) / 2) * wd, m, wd, yerr=err, capsize=2, color=col, label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 0.45, xi + 0.45], [c, c], **CHANCE_STYLE)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.set_xticks(x, [f"{f[:3]} {n}-back\n{t}" for f, n, t in zip(df["task_feature"], df["n"], df["transition"])],
                      fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("held-out accuracy at step j+1")
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"{title}Mapping h(j) to h(j+1) on held-out sequences ({_note(df)})", fontsize=11)
        fig.tight_layout()
    return fig


def plot_swap_nulls(aggregated: pd.DataFrame, title: str = ""):
    """F7: the swap tests next to their permuted-class nulls (hatched), per task cell."""
    import matplotlib.pyplot as plt

    df = _order(aggregated)
    kinds = [("correct", "own rotation R(i, j)", PALETTE[0]),
             ("correct_permuted", "own rotation, permuted classes", PALETTE[0]),
             ("other_stimulus_same_age", "other stimulus, same age", PALETTE[2]),
             ("other_stimulus_same_age_permuted", "same age, permuted classes", PALETTE[2]),
             ("same_stimulus_other_interval", "same stimulus, other interval", PALETTE[3]),
             ("same_stimulus_other_interval_permuted", "other interval, permuted classes", PALETTE[3]),
             ("correct_random", "random rotation", "0.7")]
    kinds = [k for k in kinds if f"{k[0]}_mean" in df]
    x = np.arange(len(df))
    wd = 0.8 / len(kinds)
    with plt.rc_context(FONT):
        fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(df) + 3), 3.9))
        for k, (v, lab, col) in enumerate(kinds):
            m, err = _bounds(df, v)
            perm = v.endswith("_permuted")
            ax.bar(x + (k - (len(kinds) - 1) / 2) * wd, m, wd, yerr=err, capsize=2, color="white" if perm else col,
                   edgecolor=col, hatch="///" if perm else None, label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 0.45, xi + 0.45], [c, c], **CHANCE_STYLE)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.set_xticks(x, [f"{f} {n}-back" for f, n in zip(df["task_feature"], df["n"])])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("held-out accuracy")
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"{title}Swap tests with permuted-class nulls ({_note(df)})", fontsize=11)
        fig.tight_layout()
    return fig


def plot_f8_sweep(aggregated: pd.DataFrame, variant: str = "one_step", title: str = ""):
    """F8: P(match), P(non-match), P(no action) vs relative shift for each direction, pooled over cells; the
    substitution control drawn as a horizontal band at its value."""
    import matplotlib.pyplot as plt

    g = aggregated[(aggregated["task_feature"] == "all") & (aggregated["variant"] == variant)]
    styles = [("decoder", "decoder normal (raw)", PALETTE[0], "-"), ("class_mean", "class-mean difference", PALETTE[2], "-"),
              ("random", "random direction", "0.5", "--")]
    with plt.rc_context(FONT):
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
        for ax, r in zip(axes, ("match", "non_match", "no_action")):
            for dname, lab, col, ls in styles:
                d = g[g["direction"] == dname].sort_values("rel")
                if d.empty:
                    continue
                m, err = _bounds(d, f"p_{r}")
                ax.errorbar(d["rel"], m, yerr=err, color=col, ls=ls, marker="o", ms=4, capsize=2, label=lab)
            sub = g[g["direction"] == "substitution"]
            if len(sub):
                v = float(sub[f"p_{r}_mean"].iloc[0])
                ax.axhline(v, color=PALETTE[3], lw=1.5, ls=":", label="positive control: substituted state")
            ax.axvline(1.0, color="0.8", lw=1)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("shift / ||h - mean||")
            ax.set_title(f"P({r.replace('_', '-')})")
        axes[0].legend(frameon=False, fontsize=8, loc="lower left")
        label = "one recurrent step" if variant == "one_step" else "from the encoding step, N steps"
        fig.suptitle(f"{title}Perturbed held-out match trials, {label} ({_note(g)})", y=1.02, fontsize=11)
        fig.tight_layout()
    return fig


def core_table(claims: Sequence[dict]) -> pd.DataFrame:
    """One row per claim record (``details["core"]`` or the record's ``core``): claim, core, verdict, value, CI,
    controls."""
    rows = []
    for c in claims:
        rows.append(dict(claim=c["claim"], core=c.get("core", c.get("details", {}).get("core", "")),
                         verdict=c["verdict"], value=round(c["value"], 3),
                         ci=("—" if not np.isfinite(c["ci_low"]) else f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}]"),
                         controls=c.get("controls", "")))
    return pd.DataFrame(rows)
