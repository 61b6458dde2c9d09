"""Figures of chapter 11 (task-guided attention): accuracy per arm, attention maps, entropy, gate suppression,
and a trial explorer (ipywidgets, with a static fallback).

Every function takes the tidy tables of :mod:`wmnb.attention` and returns a matplotlib Figure (the explorer
returns a widget or a Figure).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.attention import QUADRANT_MASKS, UNIFORM_QUADRANT, quadrant_mass
from ..config import EVAL_SPLITS as SPLITS
from ..config import FEATURES
from ..experiments.attention import ARM_LABELS, ARMS
from .explorer import fallback_table
from .style import CHANCE_STYLE, FEATURE_COLORS, PALETTE, SPLIT_COLORS, seed_bar, styled

__all__ = ["accuracy_bars", "attention_map_grid", "entropy_bars", "quadrant_mass_bars", "suppression_bars",
           "trial_explorer", "static_trials", "trial_row", "TRIAL_FIELDS"]

QUADRANT_NAMES = ("top-left", "top-right", "bottom-left", "bottom-right")
_FEATURE_ORDER = {"location": 0, "identity": 1, "category": 2}


def _plt():
    import matplotlib.pyplot as plt

    return plt


@styled
def accuracy_bars(acc: pd.DataFrame, *, title: str = ""):
    """Overall masked accuracy per arm (bars: mean over seeds, 95 % t interval, dots: seeds), one panel per
    diet, one bar colour per split; chance 0.5 dashed. ``acc``: :func:`wmnb.attention.accuracy_per_seed`."""
    plt = _plt()
    a = acc[acc.feature == "all"]
    scen = [s for s in ("STMF", "MTMF") if s in set(a.scenario)]
    arms = [x for x in ARMS if x in set(a.arm)]
    fig, axes = plt.subplots(len(scen), 1, figsize=(1.5 + 1.2 * len(arms), 3.0 * len(scen)), sharey=True,
                             squeeze=False)
    width = 0.8 / len(SPLITS)
    for ax, s in zip(axes[:, 0], scen):
        for j, sp in enumerate(SPLITS):
            for i, arm in enumerate(arms):
                vals = a[(a.scenario == s) & (a.arm == arm) & (a.split == sp)]["accuracy"]
                seed_bar(ax, i + (j - 1) * width, vals, SPLIT_COLORS[sp], width,
                         label=sp.replace("_", " ") if i == 0 else None)
        ax.axhline(0.5, **CHANCE_STYLE)
        ax.set_xticks(range(len(arms)))
        ax.set_xticklabels([ARM_LABELS[x].replace(" ", "\n", 1) for x in arms], fontsize=8)
        ax.set_title(s)
        ax.set_ylim(0.4, 1.02)
        ax.set_ylabel("masked accuracy")
    axes[0][0].legend(fontsize=8, loc="lower right", ncol=3)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


@styled(images=True)
def attention_map_grid(maps: pd.DataFrame, scenario: str, arm: str, *, title: str = ""):
    """Mean attention weight over the 7x7 grid (mean over seeds), rows = task feature, columns = the quadrant of
    the shown object; the object's quadrant is framed and its summed weight printed (uniform = 9/49 = 0.18).
    ``maps``: :func:`wmnb.attention.attention_maps`."""
    plt = _plt()
    m = maps[(maps.scenario == scenario) & (maps.arm == arm)]
    feats = [f for f in FEATURES if f in set(m.task_feature)]
    mean = m.groupby(["task_feature", "quadrant", "position"])["weight"].mean()
    mass = quadrant_mass(m).groupby(["task_feature", "quadrant"])["mass"].mean()
    vmax = float(mean.max()) if len(mean) else 1.0
    fig, axes = plt.subplots(len(feats), 4, figsize=(8.4, 2.2 * len(feats) + 0.6), squeeze=False)
    im = None
    for r, f in enumerate(feats):
        for q in range(4):
            ax = axes[r][q]
            if (f, q) not in mass.index:
                ax.axis("off")
                continue
            grid = mean.loc[(f, q)].reindex(range(49)).to_numpy().reshape(7, 7)
            im = ax.imshow(grid, cmap="magma", vmin=0, vmax=vmax)
            r0, c0 = 4 * (q // 2), 4 * (q % 2)
            ax.add_patch(plt.Rectangle((c0 - 0.5, r0 - 0.5), 3, 3, fill=False, ec="cyan", lw=1.6))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"object {QUADRANT_NAMES[q]}\non it: {mass.loc[(f, q)]:.2f}", fontsize=8)
            if q == 0:
                ax.set_ylabel(f"{f} task", color=FEATURE_COLORS[f])
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.7, label="mean weight")
    fig.suptitle(title or f"{scenario}, {ARM_LABELS.get(arm, arm)}: where the attention goes")
    return fig


@styled
def quadrant_mass_bars(maps: pd.DataFrame, *, title: str = ""):
    """Weight on the shown object's quadrant per task feature (mean over quadrants; bars: seeds' mean, 95 % t
    interval, dots), one group per (diet, attention arm); dashed: uniform attention (9/49)."""
    plt = _plt()
    qm = quadrant_mass(maps).groupby(["scenario", "arm", "seed", "task_feature"])["mass"].mean().reset_index()
    groups = list(qm.groupby(["scenario", "arm"], sort=False).groups)
    feats = [f for f in FEATURES if f in set(qm.task_feature)]
    fig, ax = plt.subplots(figsize=(1.2 + 1.6 * len(groups), 3.4))
    width = 0.8 / max(len(feats), 1)
    for i, (s, a) in enumerate(groups):
        for j, f in enumerate(feats):
            vals = qm[(qm.scenario == s) & (qm.arm == a) & (qm.task_feature == f)]["mass"]
            seed_bar(ax, i + (j - (len(feats) - 1) / 2) * width, vals, FEATURE_COLORS[f], width,
                     label=f"{f} task" if i == 0 else None)
    ax.axhline(UNIFORM_QUADRANT, **CHANCE_STYLE, label="uniform (9/49)")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{s}\n{ARM_LABELS.get(a, a)}" for s, a in groups], fontsize=8)
    ax.set_ylabel("weight on the object's quadrant")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(title or "Attention on the shown object's quadrant")
    fig.tight_layout()
    return fig


@styled
def entropy_bars(ent: pd.DataFrame, *, title: str = ""):
    """Attention entropy (nats) per task (feature, N) and attention arm (bars: mean over seeds, 95 % t interval,
    dots: seeds), one panel per diet; dashed: uniform attention (log 49). ``ent``:
    :func:`wmnb.attention.attention_entropy`."""
    plt = _plt()
    scen = [s for s in ("STMF", "MTMF") if s in set(ent.scenario)]
    arms = [a for a in ARMS if a in set(ent.arm)]
    fig, axes = plt.subplots(1, len(scen), figsize=(2 + 4 * len(scen), 3.4), sharey=True, squeeze=False)
    width = 0.8 / max(len(arms), 1)
    for ax, s in zip(axes[0], scen):
        e = ent[ent.scenario == s]
        cells = sorted(map(tuple, e[["task_feature", "n"]].drop_duplicates().to_numpy().tolist()),
                       key=lambda c: (_FEATURE_ORDER.get(c[0], 9), int(c[1])))
        for j, a in enumerate(arms):
            for i, (f, n) in enumerate(cells):
                vals = e[(e.arm == a) & (e.task_feature == f) & (e.n == n)]["entropy"]
                seed_bar(ax, i + (j - (len(arms) - 1) / 2) * width, vals, PALETTE[j], width,
                         label=ARM_LABELS.get(a, a) if i == 0 else None)
        ax.axhline(float(np.log(49)), **CHANCE_STYLE, label="uniform (log 49)")
        ax.set_xticks(range(len(cells)))
        ax.set_xticklabels([f"{f[:3]} {n}" for f, n in cells], fontsize=8, rotation=45 if len(cells) > 4 else 0)
        ax.set_title(s)
    axes[0][0].set_ylabel("entropy (nats)")
    axes[0][0].legend(fontsize=8, loc="lower left", framealpha=0.9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@styled
def suppression_bars(table: pd.DataFrame, *, title: str = ""):
    """Gate suppression index per task cell and gate arm (bars: mean over seeds, 95 % t interval, dots: seeds;
    hollow markers: the shuffled-contrast null). Negative = the least task-relevant channels are gated down
    more than the most relevant ones. ``table``: :func:`wmnb.attention.gate_suppression`."""
    plt = _plt()
    groups = list(table.groupby(["scenario", "arm"], sort=False).groups)
    fig, axes = plt.subplots(1, len(groups), figsize=(1.5 + 2.6 * len(groups), 3.4), sharey=True, squeeze=False)
    for ax, (s, a) in zip(axes[0], groups):
        t = table[(table.scenario == s) & (table.arm == a)]
        cells = t[["task_feature", "n"]].drop_duplicates().to_numpy().tolist()
        for i, (f, n) in enumerate(cells):
            g = t[(t.task_feature == f) & (t.n == n)]
            seed_bar(ax, i, g["index"], FEATURE_COLORS[f], 0.7)
            ax.plot([i] * len(g), g["null_mean"], "o", mfc="none", mec="0.3", ms=4)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xticks(range(len(cells)))
        ax.set_xticklabels([f"{f[:3]} {n}" for f, n in cells], fontsize=8, rotation=45 if len(cells) > 4 else 0)
        ax.set_title(f"{s}, {ARM_LABELS.get(a, a)}", fontsize=10)
    axes[0][0].set_ylabel("suppression index")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _trial_axes(fig, axes, rec, stimuli, i: int):
    """Draw trial ``i``: each step's image (top) and attention map (bottom), target and object quadrant."""
    from ..tasks import RESPONSES

    T = rec.stimuli.shape[1]
    f, n = FEATURES[int(rec.feature[i])], int(rec.n[i])
    for t in range(T):
        top, bot = axes[0][t], axes[1][t]
        top.clear()
        bot.clear()
        img = stimuli.images[int(rec.stimuli[i, t])] if stimuli is not None else None
        if img is not None:
            top.imshow(img)
        top.set_title(f"t={t}: {RESPONSES[int(rec.targets[i, t])].replace('_', ' ')}", fontsize=8)
        bot.imshow(rec.attention[i, t].reshape(7, 7), cmap="magma", vmin=0, vmax=float(rec.attention[i].max()))
        q = int(rec.labels["location"][i, t])
        mass = float(rec.attention[i, t][QUADRANT_MASKS[q]].sum())
        r0, c0 = 4 * (q // 2), 4 * (q % 2)
        bot.add_patch(_plt().Rectangle((c0 - 0.5, r0 - 0.5), 3, 3, fill=False, ec="cyan", lw=1.4))
        bot.set_title(f"on object {mass:.2f}", fontsize=8)
        for ax in (top, bot):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"trial {i}: {f} {n}-back (cyan: the shown object's quadrant)", fontsize=10)


@styled(images=True)
def static_trials(rec, stimuli, *, trials=None, n: int = 3, seed: int = 0):
    """The static fallback of :func:`trial_explorer`: ``n`` trials (one per task feature when possible), each
    as a row pair of the shown images and the attention maps."""
    plt = _plt()
    if trials is None:
        rng = np.random.default_rng(seed)
        trials = [int(rng.choice(np.flatnonzero(rec.feature == fc))) for fc in np.unique(rec.feature)][:n]
    T = rec.stimuli.shape[1]
    figs = []
    for i in trials:
        fig, axes = plt.subplots(2, T, figsize=(1.5 * T, 3.4), squeeze=False)
        _trial_axes(fig, axes, rec, stimuli, int(i))
        fig.tight_layout()
        figs.append(fig)
    fallback_table("trial explorer", pd.DataFrame([trial_row(rec, int(i)) for i in trials]), TRIAL_FIELDS,
                   "What the live explorer shows for each trial below: its task, N, every step's target and "
                   "the attention weight on the shown object's quadrant.")
    return figs


#: what the live trial explorer shows for a trial (its controls pick task, N and trial); the static fallback
#: lists the same for every trial it draws
TRIAL_FIELDS = ("trial", "task", "N", "targets", "attention on the object")


def trial_row(rec, i: int) -> dict:
    """Trial ``i`` of a recording as the values :func:`_trial_axes` draws (:data:`TRIAL_FIELDS`)."""
    from ..tasks import FEATURES, RESPONSES

    T = rec.stimuli.shape[1]
    mass = [float(rec.attention[i, t][QUADRANT_MASKS[int(rec.labels["location"][i, t])]].sum()) for t in range(T)]
    return {"trial": i, "task": FEATURES[int(rec.feature[i])], "N": int(rec.n[i]),
            "targets": " ".join(RESPONSES[int(rec.targets[i, t])].replace("_", " ") for t in range(T)),
            "attention on the object": " ".join(f"{m:.2f}" for m in mass)}


def trial_explorer(rec, stimuli):
    """An ipywidgets explorer over the trials of an attention run's recording: pick the task feature, N and a
    trial; shows every step's image, target and attention map. Returns an ``ipywidgets.VBox`` (display it in a
    live notebook). Needs ipywidgets (use :func:`static_trials` in a static page)."""
    import ipywidgets as w  # noqa: PLC0415


    plt = _plt()
    feats = [(FEATURES[int(fc)], int(fc)) for fc in np.unique(rec.feature)]
    feat = w.Dropdown(options=feats, value=feats[0][1], description=TRIAL_FIELDS[1])
    nsel = w.Dropdown(options=sorted({int(x) for x in np.unique(rec.n)}), description=TRIAL_FIELDS[2])
    idx = w.IntSlider(min=0, max=0, description=TRIAL_FIELDS[0])
    out = w.Output()

    def rows():
        return np.flatnonzero((rec.feature == feat.value) & (rec.n == nsel.value))

    def show(*_):
        r = rows()
        idx.max = max(len(r) - 1, 0)
        out.clear_output(wait=True)
        if not len(r):
            return
        with out:
            T = rec.stimuli.shape[1]
            fig, axes = plt.subplots(2, T, figsize=(1.5 * T, 3.4), squeeze=False)
            _trial_axes(fig, axes, rec, stimuli, int(r[min(idx.value, len(r) - 1)]))
            fig.tight_layout()
            plt.show()
    for c in (feat, nsel, idx):
        c.observe(show, names="value")
    show()
    return w.VBox([w.HBox([feat, nsel, idx]), out])
