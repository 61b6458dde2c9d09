"""The curated Debian mesh catalog: structure always; every mesh only when the assets are extracted."""
import numpy as np
import pytest

from wmnb.errors import AssetError, ConfigError
from wmnb.stimuli import debian
from wmnb.stimuli.render import render_object

ASSETS = debian.default_assets_dir()
needs_assets = pytest.mark.skipif(not debian.assets_present(ASSETS),
                                  reason=f"Debian mesh assets not in {ASSETS} (run `wmnb assets`)")


def test_catalog_structure():
    ids = [e["id"] for e in debian.catalog()]
    assert len(ids) == len(set(ids))
    for cat in debian.CATEGORIES:
        entries = debian.list_identities(cat)
        assert len(entries) >= 12
        assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
        for e in entries:
            assert e["category"] == cat and len(e["sha256"]) == 64 and e["licence"] and e["creator"]
            assert e["package"] in debian.PACKAGES
            if e["model_rotation"] is not None:
                r = np.reshape(e["model_rotation"], (3, 3))
                np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-3)
    table = debian.attribution_table()
    assert list(table.columns) == ["id", "category", "name", "creator", "licence", "package", "source"]
    assert len(table) == len(ids)
    with pytest.raises(ConfigError):
        debian.list_identities("sofa")
    with pytest.raises(ConfigError):
        debian.get_identity("no_such_id")


def test_missing_assets_error_names_the_command(tmp_path):
    with pytest.raises(AssetError, match="wmnb assets"):
        debian.load_debian_mesh("chair_oak", assets_dir=tmp_path / "nothing")


@pytest.mark.assets
@needs_assets
def test_every_catalog_mesh_verifies_and_loads():
    for e in debian.catalog():
        assert debian.verify_entry(e, ASSETS), f"{e['id']}: missing or sha256 mismatch"
        m = debian.load_debian_mesh(e, ASSETS)
        assert m.n_faces > 50, e["id"]
        lo, hi = m.bounds()
        assert np.isclose(np.linalg.norm(hi - lo), 1.0)
        img = render_object(m, 0, 15, 64)
        fg = img.max(axis=2) > 0
        assert fg.mean() > 0.02, f"{e['id']} is (almost) invisible"
        lum = img[fg].mean()
        assert lum > 25, f"{e['id']} is too dark on black (mean foreground {lum:.0f})"


@pytest.mark.assets
@needs_assets
def test_second_load_is_cached_and_identical():
    a = debian.load_debian_mesh("airplane_cub", ASSETS)
    b = debian.load_debian_mesh("airplane_cub", ASSETS)
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.face_colors, b.face_colors)
