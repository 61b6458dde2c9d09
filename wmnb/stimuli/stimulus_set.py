"""Stimulus sets: every (category, identity, angle, location) image, its labels and its split.

One object crop of ``image_size // 2`` pixels is rendered per (category, identity, angle) and pasted into
each of the four quadrants of a background canvas, exactly centred on the quadrant centre (S/4, S/4),
(3S/4, S/4), (S/4, 3S/4), (3S/4, 3S/4): the object looks the same at every location and nothing is clipped
asymmetrically (the reference re-implementation shifted left/top objects by 11 px). An optional position
jitter moves each image's object by a few seeded pixels inside its quadrant.

Splits (disjoint by construction; novel identities = the last ``ceil(fraction * K)`` of each category):

=================  ===================  ====================
split              identities           angles
=================  ===================  ====================
``train``          training             training angles
``novel_angle``    training             held-out angle
``novel_identity`` novel                training angles
``novel_both``     novel                held-out angle
=================  ===================  ====================

With ``novel_identity_includes_heldout_angle=True`` the ``novel_both`` images are labelled
``novel_identity`` instead (the reference's design, which mixes both kinds of novelty) and the
``novel_both`` pool is empty.

Sets are cached (content-addressed by the config and, for Debian meshes, the catalogue's file hashes),
written atomically and verified on load: a corrupted cache is detected and rebuilt, never used.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from wmnb.cache import CacheEntry, atomic_write_bytes, atomic_write_json, config_hash, default_cache_dir
from wmnb.config import FEATURES, SPLITS
from wmnb import params
from wmnb.errors import AssetError, ConfigError, check_choice, check_float, check_int
from wmnb.progress import progress_bar
from wmnb.stimuli.mesh import Mesh

#: object categories, in label order (label = index)
CATEGORIES = ("airplane", "car", "chair", "table")
#: quadrant names, in label order
LOCATIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
SOURCES = ("debian", "procedural", "shapenet")
#: default views (azimuth_deg, elevation_deg): three training views and a held-out one that changes both
DEFAULT_ANGLES = ((30.0, 15.0), (90.0, 15.0), (150.0, 15.0), (60.0, 35.0))

_KIND = "stimuli"
_FORMAT = "1"  # bump when the on-disk layout of a cached stimulus set changes


# --------------------------------------------------------------------------------------------------------
# source settings
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceSettings:
    """Where the meshes come from: the source's name and, for ShapeNet, its local folder.

    The one object the CLI (``--source``, ``--shapenet-root``), :func:`wmnb.pipeline.world` and the chapters
    (``source``, ``shapenet_root`` parameters) all pass on, so a source works from every entry point.
    Validated on construction; :meth:`check_paths` also checks the folder on disk (cheap: directory
    listings only, no mesh is parsed).
    """

    source: str = "debian"
    shapenet_root: str | None = None

    def __post_init__(self) -> None:
        check_choice("source", self.source, SOURCES)
        root = self.shapenet_root
        if root is not None and not isinstance(root, (str, Path)):
            raise ConfigError(f"shapenet_root={root!r} must be a folder path (str) or None")
        root = None if root is None or str(root).strip() == "" else str(root)
        if self.source == "shapenet" and root is None:
            raise ConfigError("shapenet_root=None: source='shapenet' needs shapenet_root, the path of a "
                              "local ShapeNetCore.v2 folder (ShapeNet is gated: download it yourself), "
                              "or choose source='debian' or 'procedural'")
        if self.source != "shapenet" and root is not None:
            raise ConfigError(f"shapenet_root={root!r} is only used with source='shapenet' "
                              f"(got source={self.source!r}); allowed: None, or source='shapenet'")
        object.__setattr__(self, "shapenet_root", root)

    @classmethod
    def of(cls, source: "str | SourceSettings" = "debian", shapenet_root=None) -> "SourceSettings":
        """``source`` as settings: a SourceSettings is returned as is (then ``shapenet_root`` must be None)."""
        if isinstance(source, SourceSettings):
            if shapenet_root is not None and str(shapenet_root) != source.shapenet_root:
                raise ConfigError(f"shapenet_root={str(shapenet_root)!r} conflicts with the settings' "
                                  f"shapenet_root={source.shapenet_root!r}; give it once")
            return source
        return cls(source, shapenet_root)

    def check_paths(self, identities_per_category: int | None = None) -> "SourceSettings":
        """Check the source's folder: ConfigError if ``shapenet_root`` is not a folder, AssetError if it
        holds fewer than ``identities_per_category`` models of some category. Returns self."""
        if self.source != "shapenet":
            return self
        root = Path(self.shapenet_root).expanduser()
        if not root.is_dir():
            raise ConfigError(f"shapenet_root={self.shapenet_root!r} is not a folder; point it at a local "
                              f"ShapeNetCore.v2 folder (with <synset>/<model id>/models/model_normalized.obj), "
                              f"or choose source='debian' or 'procedural'")
        if identities_per_category is not None:
            from wmnb.stimuli import shapenet  # noqa: PLC0415

            for cat in CATEGORIES:
                shapenet.list_shapenet_identities(root, cat, identities_per_category)
        return self

    def stimulus_kwargs(self) -> dict:
        """The :class:`StimulusConfig` fields these settings fix."""
        return dict(source=self.source, shapenet_root=self.shapenet_root)


# --------------------------------------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------------------------------------
def _check_source(name: str, value: Any):
    """A source name (:data:`SOURCES`), or :class:`SourceSettings` as they are."""
    return value if isinstance(value, SourceSettings) else check_choice(name, value, SOURCES)


#: the parameters of a stimulus world an entry point may take (:mod:`wmnb.params` rules)
PARAMETERS = {
    "source": params.Custom(_check_source),
    "shapenet_root": params.Path(),
    "identities_per_category": params.Maybe(params.Int(low=2)),
    "image_size": params.Int(low=32, high=1024),
    "seed": params.Int(low=0),
}


@dataclass(frozen=True)
class StimulusConfig:
    """Everything that determines a stimulus set; validated on construction.

    Parameters
    ----------
    source : {"debian", "procedural", "shapenet"}
        Where the meshes come from: real meshes from Debian packages (fetched by ``wmnb assets``),
        parametric meshes built in numpy (no assets), or a local ShapeNetCore.v2 folder.
    identities_per_category : int >= 2
        K, the number of objects per category (for ``debian``, at most the catalogue's size).
    image_size : int
        S, width and height of each image in pixels; even, 32..1024. Object crops are S // 2.
    background : (r, g, b) ints in 0..255
    angles : tuple of (azimuth_deg, elevation_deg)
        The views. Azimuth 0 looks at the object's front; elevation > 0 looks down on it.
    heldout_angle : int
        Index into ``angles`` of the view held out from training.
    novel_identity_fraction : float in (0, 1)
        Fraction of each category's identities held out as novel (the last ``ceil(f * K)``).
    novel_identity_includes_heldout_angle : bool
        If True, novel identities at the held-out angle belong to ``novel_identity`` (no ``novel_both``).
    seed : int >= 0
        Seed of the procedural meshes and of the position jitter.
    shapenet_root : str or None
        Folder of ShapeNetCore.v2 (required when ``source == "shapenet"``).
    supersample : int in 1..8
        Anti-aliasing sub-pixels per pixel along each axis.
    position_jitter_px : int in 0..S//8
        Maximal random shift (pixels, each axis) of the object from its quadrant centre; 0 = exactly centred.
    """

    source: str = "debian"
    identities_per_category: int = 12
    image_size: int = 224
    background: tuple = (0, 0, 0)
    angles: tuple = DEFAULT_ANGLES
    heldout_angle: int = 3
    novel_identity_fraction: float = 0.25
    novel_identity_includes_heldout_angle: bool = False
    seed: int = 0
    shapenet_root: str | None = None
    supersample: int = 3
    position_jitter_px: int = 0

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen dataclass)
        check_choice("source", self.source, SOURCES)
        set_("identities_per_category", check_int("identities_per_category", self.identities_per_category, low=2))
        size = check_int("image_size", self.image_size, low=32, high=1024)
        if size % 2:
            raise ConfigError(f"image_size={size!r} must be even (a multiple of 2) so that the object crop "
                              f"(image_size // 2) is exactly centred in its quadrant; allowed: even 32..1024")
        set_("image_size", size)
        bg = self.background
        try:
            bg = tuple(bg)
        except TypeError:
            bg = None
        if bg is None or len(bg) != 3:
            raise ConfigError(f"background={self.background!r} must be an (r, g, b) triple of ints in 0..255")
        set_("background", tuple(check_int(f"background[{i}]", c, low=0, high=255) for i, c in enumerate(bg)))
        set_("angles", _check_angles(self.angles))
        set_("heldout_angle", check_int("heldout_angle", self.heldout_angle, low=0, high=len(self.angles) - 1))
        frac = check_float("novel_identity_fraction", self.novel_identity_fraction, low=0.0, high=1.0,
                           low_open=True, high_open=True)
        set_("novel_identity_fraction", frac)
        K = self.identities_per_category
        n_novel = math.ceil(frac * K - 1e-9)
        if n_novel > K - 1:
            raise ConfigError(
                f"novel_identity_fraction={frac!r} with identities_per_category={K} leaves no training "
                f"identity (ceil({frac} * {K}) = {n_novel} novel); allowed: a fraction <= {(K - 1) / K:.3f}, "
                f"or more identities")
        if not isinstance(self.novel_identity_includes_heldout_angle, (bool, np.bool_)):
            raise ConfigError(f"novel_identity_includes_heldout_angle={self.novel_identity_includes_heldout_angle!r}"
                              f" must be True or False")
        set_("novel_identity_includes_heldout_angle", bool(self.novel_identity_includes_heldout_angle))
        set_("seed", check_int("seed", self.seed, low=0))
        set_("supersample", check_int("supersample", self.supersample, low=1, high=8))
        set_("position_jitter_px", check_int("position_jitter_px", self.position_jitter_px, low=0,
                                             high=size // 8))
        if self.source == "shapenet":
            if self.shapenet_root is None or str(self.shapenet_root).strip() == "":
                raise ConfigError("shapenet_root=None: source='shapenet' needs shapenet_root, the path of a "
                                  "local ShapeNetCore.v2 folder (ShapeNet is gated: download it yourself), "
                                  "or choose source='debian' or 'procedural'")
            set_("shapenet_root", str(self.shapenet_root))
        elif self.shapenet_root is not None:
            set_("shapenet_root", str(self.shapenet_root))
        if self.source == "debian":
            _debian_catalog_check(K)

    # ---- derived quantities -------------------------------------------------------------------------
    @property
    def n_novel_identities(self) -> int:
        """Novel identities per category: ceil(fraction * K)."""
        return math.ceil(self.novel_identity_fraction * self.identities_per_category - 1e-9)

    @property
    def n_train_identities(self) -> int:
        return self.identities_per_category - self.n_novel_identities

    @property
    def crop_size(self) -> int:
        return self.image_size // 2

    @property
    def source_settings(self) -> SourceSettings:
        """The source and its folder, as one object."""
        return SourceSettings(self.source, self.shapenet_root if self.source == "shapenet" else None)

    def replace(self, **changes: Any) -> "StimulusConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _check_angles(angles) -> tuple:
    try:
        pairs = [tuple(a) for a in angles]
    except TypeError:
        raise ConfigError(f"angles={angles!r} must be a sequence of (azimuth_deg, elevation_deg) pairs") from None
    if len(pairs) < 2:
        raise ConfigError(f"angles={angles!r} needs at least 2 views (training views plus a held-out one)")
    out = []
    for i, p in enumerate(pairs):
        if len(p) != 2:
            raise ConfigError(f"angles[{i}]={p!r} must be a pair (azimuth_deg, elevation_deg)")
        az = check_float(f"angles[{i}] azimuth_deg", p[0], low=-360.0, high=360.0)
        el = check_float(f"angles[{i}] elevation_deg", p[1], low=-89.0, high=89.0)
        out.append((az, el))
    if len(set(out)) != len(out):
        raise ConfigError(f"angles={angles!r} contains the same view twice; every view must be distinct")
    return tuple(out)


def _debian_catalog_check(K: int) -> None:
    """Fail fast if the Debian catalogue lists fewer than K identities in some category."""
    from wmnb.stimuli import debian  # noqa: PLC0415 (optional module, imported on use)

    for cat in CATEGORIES:
        n = len(debian.list_identities(cat))
        if K > n:
            raise ConfigError(f"identities_per_category={K} is more than the Debian catalogue has: {n} "
                              f"{cat} identities exist; allowed: 2..{n} (or source='procedural', which makes "
                              f"any number)")


# --------------------------------------------------------------------------------------------------------
# mesh sources
# --------------------------------------------------------------------------------------------------------
@dataclass
class _Source:
    """Identity names, an up-front asset check, a mesh loader and a content key for one source."""

    names: dict  # category -> list of K identity names (stable order)
    load: Callable[[str, int], Mesh]
    content_key: Any = None  # extra cache-key material (e.g. the asset files' sha256)
    attribution: Any = None


def _entry_name(entry: Any, cat: str, k: int) -> str:
    for attr in ("name", "identity_name", "stable_id", "id"):
        v = getattr(entry, attr, None)
        if isinstance(v, str) and v:
            return v
    if isinstance(entry, dict):
        for key in ("name", "identity_name", "stable_id", "id"):
            if isinstance(entry.get(key), str):
                return entry[key]
    if isinstance(entry, str):
        return entry
    return f"{cat}_{k:03d}"


def _entry_key(entry: Any) -> Any:
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        from wmnb.cache import canonical  # noqa: PLC0415

        return canonical(entry)
    if isinstance(entry, dict):
        return {str(k): str(v) for k, v in sorted(entry.items())}
    return repr(entry)


def _make_source(config: StimulusConfig, cache_dir: Path) -> _Source:
    K = config.identities_per_category
    if config.source == "procedural":
        from wmnb.stimuli.procedural import procedural_mesh, procedural_name  # noqa: PLC0415

        names = {c: [procedural_name(c, k) for k in range(K)] for c in CATEGORIES}
        return _Source(names, lambda c, k: procedural_mesh(c, k, seed=config.seed))
    if config.source == "debian":
        from wmnb.stimuli import debian  # noqa: PLC0415

        assets = debian.default_assets_dir(cache_dir)
        if not debian.assets_present(assets):
            raise AssetError(f"Debian mesh assets not found in {assets}; {debian.FETCH_HINT} "
                             f"(or use source='procedural', which needs no assets)")
        entries = {c: list(debian.list_identities(c))[:K] for c in CATEGORIES}
        bad = [e["id"] for c in CATEGORIES for e in entries[c] if not debian.verify_entry(e, assets)]
        if bad:
            raise AssetError(f"Debian mesh files missing or not matching the catalogue's sha256 in {assets}: "
                             f"{bad}; delete that folder and {debian.FETCH_HINT}")
        names = {c: [str(e["id"]) for e in entries[c]] for c in CATEGORIES}
        key = {"parser": getattr(debian, "PARSER_VERSION", None),
               "identities": {c: [_entry_key(e) for e in entries[c]] for c in CATEGORIES}}
        used = {e["id"] for c in CATEGORIES for e in entries[c]}
        table = debian.attribution_table()
        table = table[table["id"].isin(used)].reset_index(drop=True)
        return _Source(names, lambda c, k: debian.load_debian_mesh(entries[c][k], assets_dir=assets),
                       content_key=key, attribution=table)
    # shapenet
    root = Path(config.shapenet_root).expanduser()
    if not root.is_dir():
        raise AssetError(f"shapenet_root={str(root)!r} is not a folder; point it at a local ShapeNetCore.v2 "
                         f"folder (with <synset>/<model id>/models/model_normalized.obj), or choose "
                         f"source='debian' or 'procedural'")
    from wmnb.stimuli import shapenet  # noqa: PLC0415

    from wmnb.cache import sha256_file  # noqa: PLC0415

    found = {c: list(shapenet.list_shapenet_identities(root, c, K)) for c in CATEGORIES}
    names = {c: [_entry_name(e, c, k) for k, e in enumerate(found[c])] for c in CATEGORIES}
    files = {c: [sha256_file(root / shapenet.SYNSETS[c] / str(i) / shapenet.MODEL_FILE) for i in found[c]]
             for c in CATEGORIES}
    return _Source(names, lambda c, k: shapenet.load_shapenet_mesh(root, c, k),
                   content_key={c: list(zip(names[c], files[c])) for c in CATEGORIES})


# --------------------------------------------------------------------------------------------------------
# the stimulus set
# --------------------------------------------------------------------------------------------------------
@dataclass
class StimulusSet:
    """Images, their metadata table and their splits.

    Attributes
    ----------
    images : (n_images, S, S, 3) uint8
    meta : pandas.DataFrame
        One row per image (index = image index) with columns ``image, category, category_name, identity,
        identity_name, angle, location, split`` (see the module docstring for the label conventions) plus
        ``k`` (index within its category), ``azimuth, elevation`` (degrees), ``center_x, center_y`` (pixel
        coordinates of the object's centre) and ``crop`` (row of :attr:`crops`).
    crops : (n_crops, S/2, S/2, 3) uint8
        The rendered object crops, one per (category, identity, angle).
    config : StimulusConfig
    checksums : list of str
        sha256 of every image's bytes.
    hash : str
        Content hash of the set (config + per-image checksums); the cache key used downstream.
    identity_names : list of str
        Name of every global identity id (``category * K + k``).
    """

    images: np.ndarray
    meta: pd.DataFrame
    crops: np.ndarray
    config: StimulusConfig
    checksums: list
    hash: str
    identity_names: list
    attribution: Any = field(default=None, repr=False)

    category_names = CATEGORIES
    location_names = LOCATIONS

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        c = self.config
        return (f"StimulusSet({len(self)} images of {c.image_size}x{c.image_size}, source={c.source!r}, "
                f"K={c.identities_per_category}, {len(c.angles)} angles, hash={self.hash})")

    @property
    def angle_names(self) -> list:
        """One label per angle, e.g. ``"az 30, el 15"``; the held-out angle is marked."""
        out = []
        for i, (az, el) in enumerate(self.config.angles):
            s = f"az {az:g}, el {el:g}"
            out.append(s + " (held out)" if i == self.config.heldout_angle else s)
        return out

    def labels(self, feature: str) -> np.ndarray:
        """Raw label values of every image, shape (n_images,) int64.

        ``feature`` in ``("location", "identity", "category", "angle")``: location 0..3 (top-left,
        top-right, bottom-left, bottom-right), identity = category * K + k, category 0..3 in
        :data:`CATEGORIES` order, angle = index into ``config.angles``.
        """
        check_choice("feature", feature, FEATURES + ("angle",))
        return self.meta[feature].to_numpy(dtype=np.int64)

    def pool(self, split: str) -> np.ndarray:
        """Sorted int64 indices of the images in ``split`` (one of :data:`SPLITS`; may be empty)."""
        check_choice("split", split, SPLITS)
        return np.sort(np.nonzero(self.meta["split"].to_numpy() == split)[0]).astype(np.int64)

    def summary(self) -> pd.DataFrame:
        """Counts per split: images, identities, angles, locations."""
        rows = []
        for s in SPLITS:
            m = self.meta[self.meta["split"] == s]
            rows.append({"split": s, "images": len(m), "identities": m["identity"].nunique(),
                         "identities per category": (m.groupby("category")["identity"].nunique().max()
                                                     if len(m) else 0),
                         "angles": m["angle"].nunique(), "locations": m["location"].nunique()})
        return pd.DataFrame(rows).set_index("split")

    def identity_crop(self, identity: int, angle: int) -> np.ndarray:
        """The rendered object crop of a global identity at an angle, (S/2, S/2, 3) uint8."""
        row = self.meta[(self.meta["identity"] == identity) & (self.meta["angle"] == angle)].iloc[0]
        return self.crops[int(row["crop"])]


# --------------------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------------------
def quadrant_centres(image_size: int) -> np.ndarray:
    """(4, 2) float pixel coordinates (x, y) of the quadrant centres, in location-label order."""
    s = image_size
    return np.array([[s / 4, s / 4], [3 * s / 4, s / 4], [s / 4, 3 * s / 4], [3 * s / 4, 3 * s / 4]])


def _layout(config: StimulusConfig, names: dict) -> pd.DataFrame:
    """The metadata table (without images): one row per (category, identity, angle, location)."""
    K = config.identities_per_category
    A = len(config.angles)
    n_novel = config.n_novel_identities
    centres = quadrant_centres(config.image_size)
    jit = config.position_jitter_px
    rows = []
    crop = 0
    for c, cat in enumerate(CATEGORIES):
        for k in range(K):
            novel = k >= K - n_novel
            for a in range(A):
                held = a == config.heldout_angle
                if novel and held:
                    split = "novel_identity" if config.novel_identity_includes_heldout_angle else "novel_both"
                elif novel:
                    split = "novel_identity"
                elif held:
                    split = "novel_angle"
                else:
                    split = "train"
                for loc in range(4):
                    rows.append({"image": len(rows), "category": c, "category_name": cat,
                                 "identity": c * K + k, "identity_name": names[cat][k], "angle": a,
                                 "location": loc, "split": split, "k": k,
                                 "azimuth": config.angles[a][0], "elevation": config.angles[a][1],
                                 "center_x": centres[loc, 0], "center_y": centres[loc, 1], "crop": crop})
                crop += 1
    meta = pd.DataFrame(rows)
    if jit:
        rng = np.random.default_rng([config.seed, 104729])
        off = rng.integers(-jit, jit + 1, size=(len(meta), 2))
        meta["center_x"] = meta["center_x"] + off[:, 0]
        meta["center_y"] = meta["center_y"] + off[:, 1]
    for col in ("image", "category", "identity", "angle", "location", "k", "crop"):
        meta[col] = meta[col].astype(np.int64)
    return meta


def _compose(crops: np.ndarray, meta: pd.DataFrame, config: StimulusConfig) -> np.ndarray:
    """Paste each image's crop centred on (center_x, center_y) of a background canvas."""
    S = config.image_size
    c = config.crop_size
    images = np.empty((len(meta), S, S, 3), dtype=np.uint8)
    images[...] = np.asarray(config.background, dtype=np.uint8)
    x0s = np.round(meta["center_x"].to_numpy() - c / 2).astype(np.int64)
    y0s = np.round(meta["center_y"].to_numpy() - c / 2).astype(np.int64)
    for i, (ci, x0, y0) in enumerate(zip(meta["crop"].to_numpy(), x0s, y0s)):
        xa, ya = max(x0, 0), max(y0, 0)
        xb, yb = min(x0 + c, S), min(y0 + c, S)
        images[i, ya:yb, xa:xb] = crops[ci, ya - y0:yb - y0, xa - x0:xb - x0]
    return images


def _checksums(images: np.ndarray) -> list:
    return [hashlib.sha256(np.ascontiguousarray(im).tobytes()).hexdigest() for im in images]


def _set_hash(key: str, checksums: list) -> str:
    h = hashlib.sha256(key.encode())
    for s in checksums:
        h.update(s.encode())
    return h.hexdigest()[:16]


def stimulus_key(config: StimulusConfig, content_key: Any = None) -> str:
    """Cache key of a config (plus the mesh source's content key, e.g. Debian asset hashes)."""
    return config_hash({"config": config, "content": content_key, "format": _FORMAT}, kind=_KIND)


def build_stimulus_set(config: StimulusConfig | None = None, cache_dir=None, progress: bool = True
                       ) -> StimulusSet:
    """Build (or load from the cache) the stimulus set of ``config``.

    Everything is validated and every asset located before the first render; a cached set is verified
    (file hashes and every image's sha256) and rebuilt if anything is wrong.

    Parameters
    ----------
    config : StimulusConfig, optional
        Defaults to ``StimulusConfig()`` (Debian meshes, K = 12, 224 px, 4 views).
    cache_dir : path, optional
        Cache root (default :func:`wmnb.cache.default_cache_dir`). Debian assets are looked up there too.
    progress : bool
        Show a progress bar while rendering.

    Returns
    -------
    StimulusSet

    Raises
    ------
    ConfigError
        A bad parameter (raised by ``StimulusConfig``).
    AssetError
        Mesh assets are missing (run ``wmnb assets`` for Debian meshes; check ``shapenet_root``).
    """
    if config is None:
        config = StimulusConfig()
    if not isinstance(config, StimulusConfig):
        raise ConfigError(f"config={config!r} must be a StimulusConfig")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    source = _make_source(config, cache_dir)  # locates/validates assets before any rendering
    for cat in CATEGORIES:
        if len(source.names[cat]) < config.identities_per_category:
            raise AssetError(f"only {len(source.names[cat])} {cat} meshes were found for source="
                             f"{config.source!r}; identities_per_category={config.identities_per_category}")
    key = stimulus_key(config, source.content_key)
    entry = CacheEntry(cache_dir, _KIND, key)
    if entry.dir.exists():
        loaded = _load(entry, config, key, source)
        if loaded is not None:
            return loaded
        warnings.warn(f"the cached stimulus set in {entry.dir} is incomplete or corrupted; rebuilding it",
                      RuntimeWarning, stacklevel=2)
    return _build(entry, config, key, source, progress)


def _identity_names(config: StimulusConfig, names: dict) -> list:
    return [names[cat][k] for cat in CATEGORIES for k in range(config.identities_per_category)]


def _build(entry: CacheEntry, config: StimulusConfig, key: str, source: _Source, progress: bool) -> StimulusSet:
    from wmnb.stimuli.render import render_object  # noqa: PLC0415

    meta = _layout(config, source.names)
    K, A, c = config.identities_per_category, len(config.angles), config.crop_size
    crops = np.empty((len(CATEGORIES) * K * A, c, c, 3), dtype=np.uint8)
    bar = progress_bar(total=len(crops), enabled=progress, desc=f"rendering {config.source} objects", unit="view")
    i = 0
    for cat in CATEGORIES:
        for k in range(K):
            mesh = source.load(cat, k)
            for az, el in config.angles:
                crops[i] = render_object(mesh, az, el, c, background=config.background,
                                         supersample=config.supersample)
                i += 1
                bar.update(1)
    bar.close()
    images = _compose(crops, meta, config)
    sums = _checksums(images)
    set_hash = _set_hash(key, sums)
    # write: drop the manifest first so a crash never leaves a set that looks complete
    entry.clear()
    entry.begin()

    def _npy(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, crops)

    from wmnb.cache import atomic_write_with  # noqa: PLC0415

    atomic_write_with(entry.path("crops.npy"), _npy)
    buf = io.StringIO()
    meta.to_csv(buf, index=False)
    atomic_write_bytes(entry.path("meta.csv"), buf.getvalue().encode())
    atomic_write_json(entry.path("checksums.json"), {"images": sums, "hash": set_hash})
    atomic_write_json(entry.path("config.json"), {"config": config, "content": source.content_key})
    entry.commit({"hash": set_hash, "n_images": len(images), "source": config.source})
    return StimulusSet(images, meta, crops, config, sums, set_hash, _identity_names(config, source.names),
                       source.attribution)


def _load(entry: CacheEntry, config: StimulusConfig, key: str, source: _Source) -> StimulusSet | None:
    """Load a cached set if every file and every image checksum is intact; else None (caller rebuilds)."""
    try:
        if not entry.complete(verify=True):
            return None
        crops = np.load(entry.path("crops.npy"), allow_pickle=False)
        meta = pd.read_csv(entry.path("meta.csv"), keep_default_na=False)
        sums_doc = json.loads(entry.path("checksums.json").read_text())
        expected = _layout(config, source.names)
        if list(meta.columns) != list(expected.columns) or len(meta) != len(expected):
            return None
        for col in ("image", "category", "identity", "angle", "location", "k", "crop"):
            if not np.array_equal(meta[col].to_numpy(np.int64), expected[col].to_numpy()):
                return None
        images = _compose(crops, expected, config)
        sums = _checksums(images)
        if sums != sums_doc["images"] or _set_hash(key, sums) != sums_doc["hash"]:
            return None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return StimulusSet(images, expected, crops, config, sums, sums_doc["hash"],
                       _identity_names(config, source.names), source.attribution)
