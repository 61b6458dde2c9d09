"""Figures of the rotation tests (F6, F7, chapter 9). Every function takes a seed-aggregated table of
:mod:`wmnb.experiments.procrustes` (columns ``<v>_mean, <v>_ci_low, <v>_ci_high, n_seeds``) and returns the
Figure; error bars are 95 % t intervals across seeds (none with one seed), nulls in grey shades."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .dynamics import ordered_cells
from .style import CHANCE_STYLE, PALETTE, aggregated_bounds, seed_note, style

__all__ = ["STATE_MAP_STYLE", "plot_state_maps", "plot_swap_nulls"]


STATE_MAP_STYLE = [("fitted", "fitted decoder on true h(j+1)", PALETTE[7]),
                   ("rotation", "rotation + scale map", PALETTE[0]),
                   ("ridge", "unconstrained linear map", PALETTE[2]),
                   ("none", "no map (h(j) as is)", PALETTE[1]),
                   ("rotation_permuted", "null: permuted classes", "0.55"),
                   ("rotation_random", "null: random rotation", "0.8")]


def plot_state_maps(aggregated: pd.DataFrame, title: str = ""):
    """F6, state level: held-out accuracy of stimulus i's value read from mapped states, per task cell and
    transition type, for every map of :data:`wmnb.analysis.procrustes.STATE_MAPS`."""
    import matplotlib.pyplot as plt

    df = ordered_cells(aggregated)
    kinds = [(k, lab, col) for k, lab, col in STATE_MAP_STYLE if f"{k}_mean" in df]
    x = np.arange(len(df))
    wd = 0.8 / len(kinds)
    with style():
        fig, ax = plt.subplots(figsize=(max(7, 1.5 * len(df) + 3), 3.9))
        for k, (v, lab, col) in enumerate(kinds):
            m, err = aggregated_bounds(df, v)
            ax.bar(x + (k - (len(kinds) - 1) / 2) * wd, m, wd, yerr=err, capsize=2, color=col, label=lab)
        for xi, c in zip(x, df["chance_mean"]):
            ax.plot([xi - 0.45, xi + 0.45], [c, c], **CHANCE_STYLE)
        ax.plot([], [], **CHANCE_STYLE, label="chance")
        ax.set_xticks(x, [f"{f[:3]} {n}-back\n{t}" for f, n, t in zip(df["task_feature"], df["n"], df["transition"])],
                      fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("held-out accuracy at step j+1")
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"{title}Mapping h(j) to h(j+1) on held-out sequences ({seed_note(df, False)})", fontsize=11)
        fig.tight_layout()
    return fig


def plot_swap_nulls(aggregated: pd.DataFrame, title: str = ""):
    """F7: the swap tests next to their permuted-class nulls (hatched), per task cell."""
    import matplotlib.pyplot as plt

    df = ordered_cells(aggregated)
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
    with style():
        fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(df) + 3), 3.9))
        for k, (v, lab, col) in enumerate(kinds):
            m, err = aggregated_bounds(df, v)
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
        ax.set_title(f"{title}Swap tests with permuted-class nulls ({seed_note(df, False)})", fontsize=11)
        fig.tight_layout()
    return fig
