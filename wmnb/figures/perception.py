"""Figures and the summary text of the perceptual-space chapter (chapter 2): held-out probe accuracies per
backbone and readout, the first two principal components of a pooled feature bank, and the bullet list that
states the chapter's numbers. Each takes the tidy probe table of
:func:`wmnb.analysis.probes.backbone_probe_table` (or a feature bank) and computes nothing else.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..stimuli.stimulus_set import CATEGORIES, LOCATIONS


def _plt():
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def probe_figure(results: pd.DataFrame, readouts: Sequence[str] = ("pooled", "2×2 grid")):
    """Bars of held-out accuracy (with their Wilson intervals) per probe, one panel per readout, pixels and
    every backbone side by side; the black tick on each bar is chance."""
    plt = _plt()
    probes_order = list(dict.fromkeys(results["probe"]))
    names = [b for b in results["backbone"].unique() if b != "pixels"]
    fig, axes = plt.subplots(1, len(readouts), figsize=(6.2 * len(readouts), 3.8), sharey=True)
    width = 0.8 / (len(names) + 1)
    for ax, readout in zip(np.atleast_1d(axes), readouts):
        groups = [("pixels", results[results.backbone == "pixels"])] + \
                 [(b, results[(results.backbone == b) & (results.readout == readout)]) for b in names]
        for j, (label, df) in enumerate(groups):
            df = df.set_index("probe").reindex(probes_order)
            xs = np.arange(len(probes_order)) + (j - len(groups) / 2 + 0.5) * width
            err = np.vstack([df.accuracy - df.ci_low, df.ci_high - df.accuracy])
            ax.bar(xs, df.accuracy, width, yerr=err, capsize=2, label=label,
                   color="lightgrey" if label == "pixels" else None)
            ax.hlines(df.chance, xs - width / 2, xs + width / 2, color="black", lw=1.5)
        ax.set_xticks(np.arange(len(probes_order)), probes_order, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"readout: {readout}")
        ax.set_ylim(0, 1.05)
    np.atleast_1d(axes)[0].set_ylabel("held-out accuracy")
    handles, names_ = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, names_, loc="upper center", ncol=len(groups), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def pca_figure(pooled: np.ndarray, labels: Mapping[str, np.ndarray], title: str):
    """The first two principal components of standardised pooled features, coloured by category (left) and
    by location (right)."""
    from sklearn.decomposition import PCA  # noqa: PLC0415

    plt = _plt()
    z = PCA(n_components=2, random_state=0).fit_transform((pooled - pooled.mean(0)) / (pooled.std(0) + 1e-8))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharex=True, sharey=True)
    for ax, feat, names in ((axes[0], "category", CATEGORIES), (axes[1], "location", LOCATIONS)):
        for v, nm in enumerate(names):
            m = labels[feat] == v
            ax.scatter(z[m, 0], z[m, 1], s=8, alpha=0.7, label=nm)
        ax.set_title(f"{title}: coloured by {feat}", fontsize=10)
        ax.legend(fontsize=7, markerscale=2)
        ax.set_xlabel("PC 1")
    axes[0].set_ylabel("PC 2")
    fig.tight_layout()
    return fig


def probe_accuracy_of(results: pd.DataFrame, backbone: str, readout: str, feature: str, test: str) -> float:
    """The held-out accuracy of one probe of the table (NaN when it was not run)."""
    r = results[(results.backbone == backbone) & (results.readout == readout)
                & (results.feature == feature) & (results.test_split == test)]
    return float(r.accuracy.iloc[0]) if len(r) else float("nan")


def summary_markdown(results: pd.DataFrame, backbones: Iterable[str], n_train_identities: int) -> str:
    """The chapter's numbers as a markdown bullet list: per pretrained backbone (pooled readout) category,
    identity and location on the new view / new objects / new location, the 2×2-grid location accuracy, then
    the untrained control (when in ``results``) and the raw pixels."""
    def acc(*key):
        return probe_accuracy_of(results, *key)

    have = set(results["backbone"])
    lines = []
    for b in [b for b in backbones if b != "random"]:
        lines.append(
            f"- **{b}**, pooled: category {acc(b, 'pooled', 'category', 'novel angle'):.2f} on the new view and "
            f"{acc(b, 'pooled', 'category', 'novel identity'):.2f} on new objects; identity "
            f"{acc(b, 'pooled', 'identity', 'novel angle'):.2f} on the new view "
            f"(chance {1 / n_train_identities / 4:.3f}) and "
            f"{acc(b, 'pooled', 'identity', 'held-out location'):.2f} at a new location; location only "
            f"{acc(b, 'pooled', 'location', 'novel angle'):.2f} on the new view and "
            f"{acc(b, 'pooled', 'location', 'novel identity'):.2f} on new objects (chance 0.25). With the 2×2 grid "
            f"readout location is {acc(b, '2×2 grid', 'location', 'novel angle'):.2f} / "
            f"{acc(b, '2×2 grid', 'location', 'novel identity'):.2f}.")
    if "random" in have:
        lines.append(
            f"- **random** (untrained) control, pooled: category "
            f"{acc('random', 'pooled', 'category', 'novel angle'):.2f}, "
            f"identity {acc('random', 'pooled', 'identity', 'novel angle'):.2f}, location "
            f"{acc('random', 'pooled', 'location', 'novel angle'):.2f} on the new view.")
    lines.append(f"- raw **pixels** (28 × 28): category {acc('pixels', 'pixels', 'category', 'novel angle'):.2f}, "
                 f"identity {acc('pixels', 'pixels', 'identity', 'novel angle'):.2f}, location "
                 f"{acc('pixels', 'pixels', 'location', 'novel angle'):.2f} on the new view.")
    return "\n".join(lines)
