"""Figures of the procedural-tasks chapter (14): accuracy vs length, the state space, automata as graphs.

All functions take plain tables/arrays (no training) and return a matplotlib Figure.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import CHANCE_STYLE, CORE_COLORS, OKABE_ITO, styled

__all__ = ["MODEL_COLOURS", "plot_accuracy_vs_length", "plot_state_pca", "plot_machines", "plot_k_sweep"]

#: one colour per model: the book's architecture colours for the recurrent ones (wmnb.figures.style)
MODEL_COLOURS = {**CORE_COLORS, "transformer_sin": OKABE_ITO["orange"], "transformer_none": OKABE_ITO["purple"],
                 "transformer_alibi": OKABE_ITO["sky"]}


def _titles():
    from ..automata.models import MODEL_TITLES
    return MODEL_TITLES


@styled
def plot_accuracy_vs_length(table: pd.DataFrame, train_length: int, chance: Mapping[str, float], *,
                            level: float = 0.95) -> plt.Figure:
    """Accuracy at every test length, one panel per task, one line per model: the mean over seeds with its
    t interval (shaded; absent with one seed). Grey band: the training lengths 1..L; dashed line: chance.

    ``table``: columns ``task, model, seed, length, accuracy`` (:func:`wmnb.automata.training.length_table`).
    """
    from scipy import stats as st

    tasks = list(dict.fromkeys(table["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.4), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        sub = table[table["task"] == task]
        for model, g in sub.groupby("model", sort=False):
            agg = g.groupby("length")["accuracy"].agg(["mean", "std", "count"])
            x, m = agg.index.values, agg["mean"].values
            ax.plot(x, m, color=MODEL_COLOURS.get(model), lw=1.4, label=_titles().get(model, model))
            n = agg["count"].values
            if n.min() >= 2:
                half = st.t.ppf(0.5 + level / 2, n - 1) * agg["std"].values / np.sqrt(n)
                ax.fill_between(x, np.clip(m - half, 0, 1), np.clip(m + half, 0, 1), color=MODEL_COLOURS.get(model),
                                alpha=0.18, lw=0)
        ax.axvspan(0.5, train_length + 0.5, color="0.9", zorder=0)
        ax.axhline(chance.get(task, np.nan), **CHANCE_STYLE)
        ax.set_title(task)
        ax.set_xlabel("string length")
        ax.set_xlim(1, sub["length"].max())
        ax.set_ylim(0, 1.02)
    axes[0, 0].set_ylabel("accuracy (answer for the whole prefix)")
    axes[0, -1].legend(fontsize=8, loc="lower left", frameon=False)
    fig.tight_layout()
    return fig


@styled
def plot_state_pca(samples: Sequence[dict], *, max_points: int = 4000, seed: int = 0) -> plt.Figure:
    """The hidden-state space on its first two principal components, coloured by the *true* automaton state.

    ``samples``: dicts with ``title``, ``states`` (N, T + 1, H) and ``true_states`` (N, T + 1) (e.g.
    :func:`wmnb.automata.extraction.state_sample` plus a title), one panel each.
    """
    fig, axes = plt.subplots(1, len(samples), figsize=(3.6 * len(samples), 3.4), squeeze=False)
    rng = np.random.default_rng(seed)
    for ax, s in zip(axes[0], samples):
        h = np.asarray(s["states"]).reshape(-1, np.asarray(s["states"]).shape[-1])
        q = np.asarray(s["true_states"]).ravel()
        pick = rng.choice(len(h), size=min(max_points, len(h)), replace=False)
        h, q = h[pick], q[pick]
        hc = h - h.mean(0)
        _, sv, vt = np.linalg.svd(hc, full_matrices=False)
        z = hc @ vt[:2].T
        var = sv[:2] ** 2 / max(float((sv ** 2).sum()), 1e-12)
        for state in np.unique(q):
            sel = q == state
            ax.scatter(z[sel, 0], z[sel, 1], s=5, alpha=0.5, label=str(s.get("state_names", {}).get(state, state))
                       if isinstance(s.get("state_names"), dict) else str(state))
        ax.set_title(s.get("title", ""), fontsize=10)
        ax.set_xlabel(f"PC1 ({100 * var[0]:.0f} %)")
        ax.set_ylabel(f"PC2 ({100 * var[1]:.0f} %)")
        ax.legend(title="true state", fontsize=7, title_fontsize=7, markerscale=2, frameon=False)
    fig.tight_layout()
    return fig


def _draw_machine(ax, delta: np.ndarray, output: np.ndarray, start: int, symbols: Sequence[str], title: str):
    n = delta.shape[0]
    ang = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    pos = np.stack([np.cos(ang), np.sin(ang)], 1) * (0 if n == 1 else 1.0)
    cmap = plt.get_cmap("tab10")
    for q in range(n):
        ax.add_patch(plt.Circle(pos[q], 0.2, fc=cmap(int(output[q]) % 10), ec="k", lw=2 if q == start else 0.8,
                                alpha=0.85, zorder=3))
        ax.text(*pos[q], f"{q}\n→{int(output[q])}", ha="center", va="center", fontsize=7, zorder=4)
    edges: dict = {}
    for q in range(n):
        for a in range(delta.shape[1]):
            edges.setdefault((q, int(delta[q, a])), []).append(a)
    for (q, r), syms in edges.items():
        lbl = ", ".join(symbols[a] for a in syms)
        col = f"C{syms[0]}" if len(syms) == 1 else "0.2"  # one colour per symbol; dark grey: several symbols
        if r == q:
            off = pos[q] * 1.35 if n > 1 else np.array([0, 0.35])
            ax.annotate("", xy=pos[q] + 0.18 * (off - pos[q]) / max(np.linalg.norm(off - pos[q]), 1e-9),
                        xytext=off, arrowprops=dict(arrowstyle="->", lw=0.7, color=col))
            ax.text(*(off * 1.08 if n > 1 else off + 0.1), lbl, fontsize=6, color=col, ha="center", va="center")
            continue
        ax.annotate("", xy=pos[r], xytext=pos[q],
                    arrowprops=dict(arrowstyle="->", lw=0.8, color=col, shrinkA=11, shrinkB=11,
                                    connectionstyle="arc3,rad=0.18"))
        d = pos[r] - pos[q]  # the arc (arc3, rad 0.18) bulges towards (dy, -dx); its middle is at 0.09 of it
        ax.text(*((pos[q] + pos[r]) / 2 + np.array([d[1], -d[0]]) * 0.13), lbl, fontsize=6, color=col,
                ha="center", va="center")
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.7, 1.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)


@styled
def plot_machines(machines: Sequence[tuple], symbols: Sequence[str]) -> plt.Figure:
    """Moore machines as graphs, side by side: ``machines`` = [(title, Machine), ...]. Circles are states
    (label: state and its answer; colour: the answer; thick rim: start), arrows transitions coloured by
    input symbol."""
    fig, axes = plt.subplots(1, len(machines), figsize=(3.3 * len(machines), 3.3), squeeze=False)
    for ax, (title, m) in zip(axes[0], machines):
        _draw_machine(ax, np.asarray(m.delta), np.asarray(m.output), int(m.start), symbols, title)
    fig.tight_layout()
    return fig


@styled
def plot_k_sweep(sweeps: Mapping[str, pd.DataFrame], n_true: Optional[Mapping[str, int]] = None) -> plt.Figure:
    """Extraction sweep over k: held-out fidelity to the network's answers and the minimised machine's
    number of states, one line per (task, model) label. ``n_true``: the true automaton's size per label."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3))
    for i, (label, sw) in enumerate(sweeps.items()):
        a1.plot(sw["k"], sw["fidelity"], marker="o", ms=3, label=label, color=f"C{i}")
        a2.plot(sw["k"], sw["n_states"], marker="o", ms=3, color=f"C{i}")
        if n_true and label in n_true:
            a2.axhline(n_true[label], color=f"C{i}", ls=":", lw=0.8)
    a1.set_xlabel("k (clusters)")
    a1.set_ylabel("fidelity to the network")
    a2.set_xlabel("k (clusters)")
    a2.set_ylabel("states after minimisation")
    a1.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
