"""Tests of wmnb.stimuli: procedural meshes, stimulus sets, splits, labels, validation, cache, figures.

Golden images: ``tests/golden/stimuli_procedural_k2_s64.png`` holds every object crop of a small procedural
set. Regenerate it (after an intended renderer change, and look at it!) with
``WMNB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_stimuli.py -k golden``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from wmnb.errors import AssetError, ConfigError
from wmnb.config import SPLITS
from wmnb.stimuli import (CATEGORIES, StimulusConfig, build_stimulus_set, procedural_mesh,
                          quadrant_centres)

GOLDEN = Path(__file__).parent / "golden" / "stimuli_procedural_k2_s64.png"


def small(**kw) -> StimulusConfig:
    base = dict(source="procedural", identities_per_category=2, image_size=64, supersample=2)
    base.update(kw)
    return StimulusConfig(**base)


@pytest.fixture(scope="module")
def stimset(tmp_path_factory):
    return build_stimulus_set(small(identities_per_category=4), cache_dir=tmp_path_factory.mktemp("c"),
                              progress=False)


# ------------------------------------------------------------------------------------------ procedural
@pytest.mark.parametrize("category", CATEGORIES)
def test_procedural_meshes_deterministic_normalised_and_bright(category):
    a = procedural_mesh(category, 5, seed=3)
    b = procedural_mesh(category, 5, seed=3)
    assert a.vertices.tobytes() == b.vertices.tobytes()
    assert a.faces.tobytes() == b.faces.tobytes() and a.face_colors.tobytes() == b.face_colors.tobytes()
    lo, hi = a.bounds()
    assert np.allclose((lo + hi) / 2, 0, atol=1e-12) and np.isclose(np.linalg.norm(hi - lo), 1.0)
    assert a.face_colors.min() >= 0 and a.face_colors.max() <= 1
    assert a.face_colors.max(1).min() >= 0.3 - 1e-12  # never near-black
    assert len(np.unique(a.face_colors.round(3), axis=0)) >= 2  # several part colours
    # other identities / seeds differ; any k works
    for other in (procedural_mesh(category, 6, seed=3), procedural_mesh(category, 5, seed=4),
                  procedural_mesh(category, 250, seed=3)):
        assert other.vertices.shape != a.vertices.shape or not np.array_equal(other.vertices, a.vertices)


def test_procedural_identities_look_different():
    from wmnb.stimuli.render import render_object

    for cat in CATEGORIES:
        imgs = [render_object(procedural_mesh(cat, k), 30, 15, 32, supersample=1).astype(int) for k in range(6)]
        for i in range(6):
            for j in range(i + 1, 6):
                assert np.abs(imgs[i] - imgs[j]).mean() > 2.0, (cat, i, j)


def test_procedural_bad_arguments():
    with pytest.raises(ConfigError, match="category"):
        procedural_mesh("sofa", 0)
    with pytest.raises(ConfigError, match="k"):
        procedural_mesh("chair", -1)


# ------------------------------------------------------------------------------------------ golden
def _sheet(s) -> np.ndarray:
    """All crops as one image: rows = category x identity, columns = angles."""
    K, A = s.config.identities_per_category, len(s.config.angles)
    c = s.crops.reshape(len(CATEGORIES) * K, A, *s.crops.shape[1:])
    return np.concatenate(np.concatenate(c, axis=1), axis=1)


def test_golden_images(tmp_path):
    from PIL import Image

    s = build_stimulus_set(small(), cache_dir=tmp_path, progress=False)
    sheet = _sheet(s)
    if os.environ.get("WMNB_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        Image.fromarray(sheet).save(GOLDEN, optimize=True)
    golden = np.asarray(Image.open(GOLDEN).convert("RGB"))
    assert golden.shape == sheet.shape
    diff = np.abs(golden.astype(int) - sheet.astype(int))
    assert diff.mean() < 1.0, f"mean abs diff {diff.mean():.3f} (golden {GOLDEN})"
    assert (diff > 40).mean() < 0.002, f"{(diff > 40).mean():.4f} of pixels differ by > 40"


# ------------------------------------------------------------------------------------------ layout
def test_layout_images_are_crops_pasted_exactly_centred(stimset):
    s = stimset
    S, c = s.config.image_size, s.config.crop_size
    assert s.images.shape == (len(CATEGORIES) * 4 * 4 * 4, S, S, 3) and s.images.dtype == np.uint8
    assert np.allclose(quadrant_centres(S), [[16, 16], [48, 16], [16, 48], [48, 48]])
    for i in (0, 1, 2, 3, 77, len(s) - 1):
        r = s.meta.iloc[i]
        x0, y0 = int(r["center_x"] - c / 2), int(r["center_y"] - c / 2)
        crop = s.crops[r["crop"]]
        assert np.array_equal(s.images[i, y0:y0 + c, x0:x0 + c], crop)
        rest = s.images[i].copy()
        rest[y0:y0 + c, x0:x0 + c] = 0
        assert rest.max() == 0  # background everywhere else
        assert crop.any()  # the object is visible
    # the same crop at all four locations (identical appearance)
    m = s.meta
    assert (m.groupby("crop")["location"].apply(sorted).map(tuple) == (0, 1, 2, 3)).all()


def test_position_jitter_moves_objects_within_bounds(tmp_path):
    s = build_stimulus_set(small(position_jitter_px=4, image_size=64), cache_dir=tmp_path, progress=False)
    dx = s.meta["center_x"] - quadrant_centres(64)[s.meta["location"], 0]
    dy = s.meta["center_y"] - quadrant_centres(64)[s.meta["location"], 1]
    assert dx.abs().max() <= 4 and dy.abs().max() <= 4 and (dx != 0).any()


def test_determinism_same_config_same_checksums(tmp_path, stimset):
    again = build_stimulus_set(stimset.config, cache_dir=tmp_path / "other", progress=False)
    assert again.checksums == stimset.checksums and again.hash == stimset.hash
    assert np.array_equal(again.images, stimset.images)
    other = build_stimulus_set(stimset.config.replace(seed=1), cache_dir=tmp_path / "other", progress=False)
    assert other.hash != stimset.hash


# ------------------------------------------------------------------------------------------ splits
def test_splits_disjoint_complete_and_counted(stimset):
    s = stimset
    pools = {sp: s.pool(sp) for sp in SPLITS}
    allidx = np.concatenate(list(pools.values()))
    assert len(allidx) == len(set(allidx.tolist())) == len(s)
    for p in pools.values():
        assert p.dtype == np.int64 and np.all(np.diff(p) > 0)
    # K=4, fraction 0.25 -> 3 training + 1 novel identity per category; 3 training angles + 1 held out
    counts = {sp: len(p) for sp, p in pools.items()}
    assert counts == {"train": 4 * 3 * 3 * 4, "novel_angle": 4 * 3 * 1 * 4, "novel_identity": 4 * 1 * 3 * 4,
                      "novel_both": 4 * 1 * 1 * 4}
    m = s.meta
    assert set(m.loc[pools["novel_angle"], "angle"]) == {3}
    assert 3 not in set(m.loc[pools["train"], "angle"]) | set(m.loc[pools["novel_identity"], "angle"])
    assert set(m.loc[pools["novel_identity"], "k"]) == {3}  # the LAST identity of each category
    assert not set(m.loc[pools["train"], "identity"]) & set(m.loc[pools["novel_identity"], "identity"])
    summ = s.summary()
    assert summ.loc["train", "images"] == 144 and summ.loc["novel_both", "identities"] == 4


def test_novel_identity_can_include_heldout_angle(tmp_path):
    s = build_stimulus_set(small(identities_per_category=4, novel_identity_includes_heldout_angle=True),
                           cache_dir=tmp_path, progress=False)
    assert len(s.pool("novel_both")) == 0 and len(s.pool("novel_identity")) == 4 * 1 * 4 * 4
    assert set(s.meta.loc[s.pool("novel_identity"), "angle"]) == {0, 1, 2, 3}


def test_novel_fraction_rounds_up():
    c = small(identities_per_category=10, novel_identity_fraction=0.25)
    assert (c.n_train_identities, c.n_novel_identities) == (7, 3)


# ------------------------------------------------------------------------------------------ labels
def test_labels_keyed_by_raw_value(stimset):
    s = stimset
    K = s.config.identities_per_category
    m = s.meta
    cat, ident, loc, ang = (s.labels(f) for f in ("category", "identity", "location", "angle"))
    for arr in (cat, ident, loc, ang):
        assert arr.dtype == np.int64 and arr.shape == (len(s),)
    assert np.array_equal(ident, cat * K + m["k"].to_numpy())
    assert [CATEGORIES[c] for c in cat] == list(m["category_name"])
    assert set(cat) == {0, 1, 2, 3}
    assert np.array_equal(loc, np.tile(np.arange(4), len(s) // 4))
    assert [s.identity_names[i] for i in ident] == list(m["identity_name"])
    assert len(s.angle_names) == 4 and "held out" in s.angle_names[3]
    with pytest.raises(ConfigError, match="feature"):
        s.labels("colour")
    with pytest.raises(ConfigError, match="split"):
        s.pool("test")


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("kw, param", [
    (dict(source="blender"), "source"),
    (dict(identities_per_category=1), "identities_per_category"),
    (dict(identities_per_category=2.5), "identities_per_category"),
    (dict(image_size=33), "image_size"),
    (dict(image_size=16), "image_size"),
    (dict(image_size=2048), "image_size"),
    (dict(heldout_angle=4), "heldout_angle"),
    (dict(heldout_angle=-1), "heldout_angle"),
    (dict(angles=((30, 15),)), "angles"),
    (dict(angles=((30, 15), (60, 95))), "elevation"),
    (dict(angles=((30, 15), (30, 15))), "angles"),
    (dict(novel_identity_fraction=0.0), "novel_identity_fraction"),
    (dict(novel_identity_fraction=1.0), "novel_identity_fraction"),
    (dict(novel_identity_fraction=0.9), "novel_identity_fraction"),
    (dict(background=(300, 0, 0)), "background"),
    (dict(background=(0, 0)), "background"),
    (dict(seed=-1), "seed"),
    (dict(supersample=0), "supersample"),
    (dict(position_jitter_px=20), "position_jitter_px"),
    (dict(source="shapenet"), "shapenet_root"),
    (dict(novel_identity_includes_heldout_angle="yes"), "novel_identity_includes_heldout_angle"),
])
def test_bad_parameters_fail_fast_with_clear_message(kw, param):
    with pytest.raises(ConfigError) as err:
        small(**kw)
    assert param in str(err.value)
    bad = next(iter(kw.values()))
    if not isinstance(bad, tuple):
        assert repr(bad) in str(err.value) or str(bad) in str(err.value)


def test_build_rejects_non_config():
    with pytest.raises(ConfigError, match="StimulusConfig"):
        build_stimulus_set({"source": "procedural"})


def test_missing_shapenet_folder_is_an_asset_error(tmp_path):
    cfg = small(source="shapenet", shapenet_root=str(tmp_path / "nowhere"))
    with pytest.raises(AssetError, match="shapenet_root"):
        build_stimulus_set(cfg, cache_dir=tmp_path, progress=False)


def test_shapenet_folder_source(tmp_path):
    """A tiny fake ShapeNetCore.v2 tree (procedural meshes written as OBJ) builds through the same path."""
    from wmnb.stimuli import shapenet

    root = tmp_path / "ShapeNetCore.v2"
    for cat in CATEGORIES:
        for k in range(3):
            m = procedural_mesh(cat, k)
            d = root / shapenet.SYNSETS[cat] / f"{k:04x}abcd" / "models"
            d.mkdir(parents=True)
            lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in m.vertices]
            lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in m.faces]
            (d / "model_normalized.obj").write_text("\n".join(lines) + "\n")
    cfg = small(source="shapenet", shapenet_root=str(root))
    s = build_stimulus_set(cfg, cache_dir=tmp_path / "cache", progress=False)
    assert len(s) == 4 * 2 * 4 * 4 and s.identity_names[:2] == ["0000abcd", "0001abcd"]
    assert all(s.crops[i].any() for i in range(len(s.crops)))
    with pytest.raises(AssetError):  # asks for more models than the folder has
        build_stimulus_set(small(source="shapenet", shapenet_root=str(root), identities_per_category=5),
                           cache_dir=tmp_path / "cache", progress=False)


def test_debian_too_many_identities_says_how_many_exist():
    from wmnb.stimuli import debian

    n = min(len(debian.list_identities(c)) for c in CATEGORIES)
    with pytest.raises(ConfigError, match=r"identities_per_category.*exist"):
        StimulusConfig(source="debian", identities_per_category=n + 1000)


def test_debian_missing_assets_fail_before_rendering(tmp_path, monkeypatch):
    import wmnb.stimuli.render as render

    def no_render(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("rendered before checking assets")

    monkeypatch.setattr(render, "render_object", no_render)
    with pytest.raises(AssetError, match="wmnb assets"):
        build_stimulus_set(StimulusConfig(source="debian", identities_per_category=2, image_size=64),
                           cache_dir=tmp_path, progress=False)


# ------------------------------------------------------------------------------------------ cache
def test_cache_hit_and_corruption_detected_and_rebuilt(tmp_path):
    cfg = small()
    first = build_stimulus_set(cfg, cache_dir=tmp_path, progress=False)
    crops_file = next(tmp_path.glob("stimuli/*/crops.npy"))
    stamp = crops_file.stat().st_mtime_ns
    again = build_stimulus_set(cfg, cache_dir=tmp_path, progress=False)
    assert again.hash == first.hash and crops_file.stat().st_mtime_ns == stamp  # loaded, not rebuilt

    # flip bytes inside the image data: detected, rebuilt, the corrupted data never used
    raw = bytearray(crops_file.read_bytes())
    for off in range(len(raw) - 4000, len(raw) - 3000, 7):
        raw[off] ^= 0x5A
    crops_file.write_bytes(bytes(raw))
    with pytest.warns(RuntimeWarning, match="corrupted"):
        rebuilt = build_stimulus_set(cfg, cache_dir=tmp_path, progress=False)
    assert rebuilt.checksums == first.checksums and np.array_equal(rebuilt.images, first.images)
    assert build_stimulus_set(cfg, cache_dir=tmp_path, progress=False).hash == first.hash

    # a missing file (e.g. interrupted write) is also rebuilt
    next(tmp_path.glob("stimuli/*/meta.csv")).unlink()
    with pytest.warns(RuntimeWarning):
        assert build_stimulus_set(cfg, cache_dir=tmp_path, progress=False).hash == first.hash


# ------------------------------------------------------------------------------------------ figures
def test_figures_render(stimset):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wmnb.figures import stimuli as figures

    for fig in (figures.contact_sheet(stimset), figures.angles_and_locations(stimset, 5),
                figures.split_design(stimset), figures.static_browser(stimset, n=8)):
        assert fig.axes
        plt.close(fig)
    with pytest.raises(ConfigError, match="identity"):
        figures.angles_and_locations(stimset, 999)
    widget = figures.browser(stimset)
    assert len(widget.children) == 3
    fg = figures.foreground_table(stimset)
    assert len(fg) == 4 * 4 and (fg["min_coverage"] > 0.01).all() and (fg["luminance"] > 40).all()


def _debian_assets_dir():
    from wmnb.stimuli import debian

    return debian.default_assets_dir() if debian.assets_present() else None


@pytest.mark.assets
@pytest.mark.skipif(_debian_assets_dir() is None, reason="Debian mesh assets not fetched (`wmnb assets`)")
def test_debian_small_set_builds_with_attribution(tmp_path):
    (tmp_path / "assets").mkdir()
    os.symlink(_debian_assets_dir().resolve(), tmp_path / "assets" / "debian")
    cfg = StimulusConfig(source="debian", identities_per_category=2, image_size=64, supersample=1)
    s = build_stimulus_set(cfg, cache_dir=tmp_path, progress=False)
    from wmnb.stimuli import debian

    assert s.identity_names[:2] == [e["id"] for e in debian.list_identities("airplane")[:2]]
    assert set(s.attribution["id"]) == set(s.identity_names)
    assert all(s.crops[i].any() for i in range(len(s.crops)))
