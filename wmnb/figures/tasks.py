"""Figures of N-back trials (chapter 3): image strips with targets, and balance statistics.

Pure matplotlib; the functions take :class:`wmnb.tasks.NBackTrials` and, optionally, the stimulus
images (``(n_images, S, S, 3) uint8``). Without images each frame is a grey tile with its labels.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..config import FEATURES
from ..tasks import NO_ACTION, RESPONSES, NBackTrials
from .style import CHANCE_STYLE, OKABE_ITO, styled
from .style import RESPONSE_COLORS as _BY_NAME

__all__ = ["RESPONSE_COLORS", "DEFAULT_VALUE_NAMES", "plot_trial", "plot_trials", "plot_balance",
           "plot_chance_levels"]

#: colour of each response code (:data:`wmnb.tasks.RESPONSES`), from the book's palette
RESPONSE_COLORS = {k: _BY_NAME[r] for k, r in enumerate(RESPONSES)}
DEFAULT_VALUE_NAMES: dict[str, tuple[str, ...]] = {
    "location": ("top-left", "top-right", "bottom-left", "bottom-right"),
    "category": ("airplane", "car", "chair", "table"),
}
_SHORT = {"location": "loc", "identity": "id", "category": "cat"}


def _value_name(feature: str, value: int, value_names: Mapping[str, Sequence[str]] | None) -> str:
    names = (value_names or {}).get(feature, DEFAULT_VALUE_NAMES.get(feature))
    if names is not None and 0 <= value < len(names):
        return str(names[value])
    return str(value)


@styled(images=True)
def plot_trial(trials: NBackTrials, b: int, images: np.ndarray | None = None, axes=None,
               value_names: Mapping[str, Sequence[str]] | None = None, show_all_labels: bool = False):
    """Draw sequence ``b`` as a strip of frames with the target under each frame.

    Parameters
    ----------
    trials : NBackTrials
    b : int
        Row of the sequence in ``trials``.
    images : (n_images, S, S, 3) uint8, optional
        Stimulus images indexed by ``trials.stimuli``; grey tiles if omitted.
    axes : sequence of T matplotlib Axes, optional
        Where to draw (a new 1 x T figure if omitted).
    value_names : mapping feature -> names of raw label values, optional
        Defaults: location and category names from the label conventions; identity as its number.
    show_all_labels : bool
        Print the shown image's value of every feature, not only the task feature.

    Returns
    -------
    sequence of Axes
    """
    import matplotlib.pyplot as plt

    T = trials.seq_len
    if axes is None:
        _, axes = plt.subplots(1, T, figsize=(1.6 * T, 2.4))
    f = FEATURES[int(trials.feature[b])]
    n = int(trials.n[b])
    for t, ax in enumerate(axes):
        s = int(trials.stimuli[b, t])
        if images is not None:
            ax.imshow(images[s])
        else:
            ax.imshow(np.full((8, 8, 3), 0.85))
        ax.set_xticks([])
        ax.set_yticks([])
        tgt = int(trials.targets[b, t])
        for side in ax.spines.values():
            side.set_edgecolor(RESPONSE_COLORS[tgt])
            side.set_linewidth(2.5 if tgt != NO_ACTION else 1.0)
        ax.set_title(f"t={t}", fontsize=8)
        lines = []
        if trials.labels is not None:
            feats = FEATURES if show_all_labels else (f,)
            for g in feats:
                if g in trials.labels:
                    v = int(trials.labels[g][s])
                    lines.append(f"{_SHORT.get(g, g)}={_value_name(g, v, value_names)}")
        ax.set_xlabel("\n".join(lines), fontsize=7)
        ax.text(0.5, -0.04 - 0.13 * max(len(lines), 1), RESPONSES[tgt].replace("_", "-"),
                transform=ax.transAxes, ha="center", va="top", fontsize=8, fontweight="bold",
                color=RESPONSE_COLORS[tgt])
    axes[0].set_ylabel(f"{f}\n{n}-back", fontsize=9)
    return axes


@styled(images=True)
def plot_trials(trials: NBackTrials, indices: Sequence[int], images: np.ndarray | None = None,
                value_names: Mapping[str, Sequence[str]] | None = None, show_all_labels: bool = False,
                title: str | None = None):
    """Several sequences, one strip per row (see :func:`plot_trial`). Returns the Figure."""
    import matplotlib.pyplot as plt

    indices = list(indices)
    T = trials.seq_len
    extra = 0.35 * (len(FEATURES) if show_all_labels else 1)
    fig, axes = plt.subplots(len(indices), T, figsize=(1.55 * T, (1.9 + extra) * len(indices)),
                             squeeze=False)
    for row, b in zip(axes, indices):
        plot_trial(trials, b, images, axes=row, value_names=value_names, show_all_labels=show_all_labels)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@styled
def plot_balance(table, p_match: float | None = 0.5):
    """Two panels from :meth:`NBackTrials.balance_table`.

    Left: match rate on decision steps per condition, with a 95 % Wilson interval and the nominal
    ``p_match``. Right: how often the shown and the remembered image agree on each feature (the task
    feature = match rate; the others = accidental matches), plus identical-image repeats.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    from ..analysis.stats import wilson_ci

    conds = table["condition"].tolist()
    x = np.arange(len(conds))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8))
    k = table["match_rate"].to_numpy() * table["executive_steps"].to_numpy()
    n = table["executive_steps"].to_numpy()
    lo, hi = wilson_ci(k, n)
    mr = table["match_rate"].to_numpy()
    a1.bar(x, mr, color=OKABE_ITO["green"], alpha=0.7)
    a1.errorbar(x, mr, yerr=[mr - lo, hi - mr], fmt="none", color="k", capsize=3)
    if p_match is not None:
        a1.axhline(p_match, label=f"p_match = {p_match}", **CHANCE_STYLE)
        a1.legend(loc="lower right", fontsize=8)
    a1.set_xticks(x, conds, rotation=45, ha="right", fontsize=8)
    a1.set_ylabel("P(match) on decision steps")
    a1.set_ylim(0, 1)
    a1.set_title("Match rate per condition (95% CI)")

    cols = [c for c in (f"same_{f}" for f in FEATURES) if c in table] + ["identical_image"]
    w = 0.8 / len(cols)
    for i, c in enumerate(cols):
        a2.bar(x + (i - (len(cols) - 1) / 2) * w, table[c], w, label=c.replace("same_", "same "))
    a2.set_xticks(x, conds, rotation=45, ha="right", fontsize=8)
    a2.set_ylabel("fraction of decision steps")
    a2.set_ylim(0, 1)
    a2.set_title("Shown vs remembered image agree on ...")
    a2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


@styled
def plot_chance_levels(table):
    """Response base rates per condition (stacked) with the masked and unmasked chance levels."""
    import matplotlib.pyplot as plt

    conds = table["condition"].tolist()
    x = np.arange(len(conds))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bottom = np.zeros(len(conds))
    for k, r in enumerate(RESPONSES):
        v = table[f"p_{r}"].to_numpy()
        ax.bar(x, v, bottom=bottom, color=RESPONSE_COLORS[k], alpha=0.6, label=r)
        bottom += v
    ax.plot(x, table["chance_unmasked"], "ko-", label="chance, all steps")
    ax.plot(x, table["chance_masked"], "k^--", label="chance, decision steps")
    ax.set_xticks(x, conds, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("fraction of steps / accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Response base rates and chance levels")
    fig.tight_layout()
    return fig

