"""Figure of the causal perturbation test (F8, chapter 10): response probabilities against the size of a
shift along the decoder, class-mean and random directions, with the substitution control. Takes the
seed-aggregated table of :mod:`wmnb.experiments.perturbation` and returns the Figure."""
from __future__ import annotations

import pandas as pd

from .style import PALETTE, aggregated_bounds, seed_note, style

__all__ = ["plot_f8_sweep"]


def plot_f8_sweep(aggregated: pd.DataFrame, variant: str = "one_step", title: str = ""):
    """F8: P(match), P(non-match), P(no action) vs relative shift for each direction, pooled over cells; the
    substitution control drawn as a horizontal band at its value."""
    import matplotlib.pyplot as plt

    g = aggregated[(aggregated["task_feature"] == "all") & (aggregated["variant"] == variant)]
    styles = [("decoder", "decoder normal (raw)", PALETTE[0], "-"), ("class_mean", "class-mean difference", PALETTE[2], "-"),
              ("random", "random direction", "0.5", "--")]
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
        for ax, r in zip(axes, ("match", "non_match", "no_action")):
            for dname, lab, col, ls in styles:
                d = g[g["direction"] == dname].sort_values("rel")
                if d.empty:
                    continue
                m, err = aggregated_bounds(d, f"p_{r}")
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
        fig.suptitle(f"{title}Perturbed held-out match trials, {label} ({seed_note(g, False)})", y=1.02, fontsize=11)
        fig.tight_layout()
    return fig
