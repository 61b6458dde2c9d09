"""Figures of a stimulus set (chapter 1): contact sheet, angles x locations, split design, and an image browser.

Every function takes a :class:`~wmnb.stimuli.stimulus_set.StimulusSet` and returns a matplotlib Figure
(``browser`` returns an ipywidgets widget). Nothing here computes anything the package does not already
store in the set.
"""
from __future__ import annotations

import numpy as np

from ..errors import check_choice, check_int
from ..stimuli.stimulus_set import CATEGORIES, LOCATIONS, SPLITS, StimulusSet
from .explorer import fallback_table
from .style import SPLIT_COLORS, styled


def _plt():
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _short(name: str, width: int = 18) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


@styled(images=True)
def contact_sheet(stimset: StimulusSet, angle: int = 0, *, max_identities: int | None = None):
    """Every category (rows) x identity (columns) at one angle, labelled, novel identities marked.

    Parameters
    ----------
    stimset : StimulusSet
    angle : int
        Index into ``stimset.config.angles``.
    max_identities : int, optional
        Show at most this many identities per category.
    """
    cfg = stimset.config
    angle = check_int("angle", angle, low=0, high=len(cfg.angles) - 1)
    K = cfg.identities_per_category
    n = K if max_identities is None else min(K, check_int("max_identities", max_identities, low=1))
    plt = _plt()
    fig, axes = plt.subplots(len(CATEGORIES), n, figsize=(1.35 * n, 1.55 * len(CATEGORIES)), squeeze=False)
    novel_from = K - cfg.n_novel_identities
    for c, cat in enumerate(CATEGORIES):
        for k in range(n):
            ax = axes[c, k]
            gid = c * K + k
            ax.imshow(stimset.identity_crop(gid, angle))
            ax.set_xticks([])
            ax.set_yticks([])
            novel = k >= novel_from
            ax.set_title(_short(stimset.identity_names[gid], 16), fontsize=6,
                         color=SPLIT_COLORS["novel_identity"] if novel else "black")
            for sp in ax.spines.values():
                sp.set_color(SPLIT_COLORS["novel_identity"] if novel else "0.73")
                sp.set_linewidth(2 if novel else 0.5)
        axes[c, 0].set_ylabel(cat, fontsize=9)
    fig.suptitle(f"{cfg.source} objects, view {stimset.angle_names[angle]} "
                 f"(green frame = novel identity, held out from training)", fontsize=9)
    fig.tight_layout()
    return fig


@styled(images=True)
def angles_and_locations(stimset: StimulusSet, identity: int = 0):
    """One object (global ``identity`` id) at every angle (rows) x location (columns): full images."""
    identity = check_int("identity", identity, low=0, high=len(stimset.identity_names) - 1)
    A = len(stimset.config.angles)
    plt = _plt()
    fig, axes = plt.subplots(A, 4, figsize=(7.2, 1.85 * A), squeeze=False)
    m = stimset.meta
    for a in range(A):
        for loc in range(4):
            row = m[(m["identity"] == identity) & (m["angle"] == a) & (m["location"] == loc)].iloc[0]
            ax = axes[a, loc]
            ax.imshow(stimset.images[int(row["image"])])
            ax.set_xticks([])
            ax.set_yticks([])
            col = SPLIT_COLORS[row["split"]]
            for sp in ax.spines.values():
                sp.set_color(col)
                sp.set_linewidth(2)
            if a == 0:
                ax.set_title(f"location {loc}: {LOCATIONS[loc]}", fontsize=8)
            if loc == 0:
                ax.set_ylabel(stimset.angle_names[a], fontsize=7)
    fig.suptitle(f"{stimset.identity_names[identity]} at every angle x location "
                 f"(frame colour = split)", fontsize=9)
    fig.tight_layout()
    return fig


@styled(images=True)
def split_design(stimset: StimulusSet):
    """Identities (rows, grouped by category) x angles (columns), each cell coloured by its split."""
    from matplotlib.colors import ListedColormap  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415

    cfg = stimset.config
    K, A = cfg.identities_per_category, len(cfg.angles)
    n_id = len(CATEGORIES) * K
    grid = np.zeros((n_id, A), dtype=np.int64)
    first = stimset.meta[stimset.meta["location"] == 0]
    for ident, a, s in zip(first["identity"], first["angle"], first["split"]):
        grid[ident, a] = SPLITS.index(s)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(2.2 + 0.9 * A, 1.2 + 0.16 * n_id))
    ax.imshow(grid, cmap=ListedColormap([SPLIT_COLORS[s] for s in SPLITS]), vmin=-0.5,
              vmax=len(SPLITS) - 0.5, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(A))
    ax.set_xticklabels(stimset.angle_names, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(n_id))
    ax.set_yticklabels([_short(n, 22) for n in stimset.identity_names], fontsize=5)
    for c in range(1, len(CATEGORIES)):
        ax.axhline(c * K - 0.5, color="white", lw=2)
    ax.set_xticks(np.arange(-0.5, A), minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", axis="x", color="white", lw=1)
    sec = ax.secondary_yaxis("right")
    sec.set_yticks([c * K + (K - 1) / 2 for c in range(len(CATEGORIES))])
    sec.set_yticklabels(CATEGORIES, fontsize=8)
    counts = stimset.meta["split"].value_counts()
    ax.legend(handles=[Patch(color=SPLIT_COLORS[s], label=f"{s} ({counts.get(s, 0)} images)")
                       for s in SPLITS], loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=7,
              frameon=False)
    ax.set_title("split of every (identity, angle); each cell = 4 images (one per location)", fontsize=8)
    fig.tight_layout()
    return fig


def _caption(stimset: StimulusSet, i: int) -> str:
    r = stimset.meta.iloc[i]
    return (f"#{i} {r['category_name']} / {_short(r['identity_name'], 20)}\n"
            f"angle {r['angle']}, loc {r['location']}, {r['split']}")


@styled(images=True)
def static_browser(stimset: StimulusSet, n: int = 16, *, seed: int = 0, split: str | None = None):
    """A grid of ``n`` random images with their metadata (the HTML book's fallback for :func:`browser`)."""
    n = check_int("n", n, low=1, high=256)
    idx = np.arange(len(stimset)) if split is None else stimset.pool(check_choice("split", split, SPLITS))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
    cols = min(4, len(pick))
    rows = int(np.ceil(len(pick) / cols))
    plt = _plt()
    fig, axes = plt.subplots(rows, cols, figsize=(2.1 * cols, 2.35 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), pick):
        ax.imshow(stimset.images[i])
        ax.set_title(_caption(stimset, int(i)), fontsize=6)
    fig.tight_layout()
    meta = stimset.meta
    shown = meta.iloc[pick] if "image" in meta.columns else meta.iloc[pick].assign(image=pick)
    fallback_table("stimulus browser", shown, BROWSER_FIELDS,
                   "What the live browser shows with each picture, for the pictures below (by #).")
    return fig


#: the metadata the live browser shows with each picture; its static fallback lists the same for every image
BROWSER_FIELDS = ("image", "category_name", "identity", "identity_name", "angle", "azimuth", "elevation",
                  "location", "split")


def browser(stimset: StimulusSet):
    """An ipywidgets explorer: dropdowns for category, identity, angle and location -> image + metadata.

    Returns an ``ipywidgets.VBox``; display it in a live notebook. Needs ipywidgets (``pip install
    ipywidgets``); in a static page use :func:`static_browser`.
    """
    import ipywidgets as w  # noqa: PLC0415
    from IPython.display import display  # noqa: PLC0415

    cfg = stimset.config
    K = cfg.identities_per_category
    cat = w.Dropdown(options=[(c, i) for i, c in enumerate(CATEGORIES)], value=0, description="category")
    ident = w.Dropdown(description="identity")
    ang = w.Dropdown(options=[(n, i) for i, n in enumerate(stimset.angle_names)], value=0, description="angle")
    loc = w.Dropdown(options=[(f"{i}: {n}", i) for i, n in enumerate(LOCATIONS)], value=0,
                     description="location")
    out = w.Output()

    def _identities(*_):
        c = cat.value
        ident.options = [(stimset.identity_names[c * K + k], c * K + k) for k in range(K)]
        ident.value = c * K

    def _show(*_):
        if ident.value is None:
            return
        m = stimset.meta
        row = m[(m["identity"] == ident.value) & (m["angle"] == ang.value) & (m["location"] == loc.value)]
        if not len(row):
            return
        r = row.iloc[0]
        out.clear_output(wait=True)
        with out:
            plt = _plt()
            fig, ax = plt.subplots(figsize=(3.2, 3.2))
            ax.imshow(stimset.images[int(r["image"])])
            ax.axis("off")
            plt.show()
            display(row[list(BROWSER_FIELDS)].set_index("image"))

    _identities()
    cat.observe(_identities, "value")
    for wd in (ident, ang, loc):
        wd.observe(_show, "value")
    _show()
    return w.VBox([w.HBox([cat, ident]), w.HBox([ang, loc]), out])


def foreground_table(stimset: StimulusSet):
    """Per identity: how much of its crop the object covers and how bright it is (a visibility check).

    Returns a DataFrame indexed by global identity with columns ``category, identity_name, coverage`` (mean
    fraction of crop pixels that differ from the background, over angles), ``luminance`` (mean 0-255 luma
    of those pixels) and ``min_coverage`` (smallest coverage over angles). Near-black objects vanish on a
    black background; tiny ones carry little information.
    """
    import pandas as pd  # noqa: PLC0415

    bg = np.asarray(stimset.config.background, dtype=np.int16)
    m = stimset.meta[stimset.meta["location"] == 0]
    rows = []
    for ident, grp in m.groupby("identity"):
        cov, lum = [], []
        for ci in grp["crop"]:
            crop = stimset.crops[int(ci)].astype(np.int16)
            fg = np.abs(crop - bg).max(-1) > 8
            cov.append(fg.mean())
            luma = crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114
            lum.append(luma[fg].mean() if fg.any() else 0.0)
        rows.append({"identity": int(ident), "category": grp["category_name"].iloc[0],
                     "identity_name": grp["identity_name"].iloc[0], "coverage": float(np.mean(cov)),
                     "min_coverage": float(np.min(cov)), "luminance": float(np.mean(lum))})
    return pd.DataFrame(rows).set_index("identity")
