"""Tests of wmnb.perception (frozen backbones, FeatureBank cache) and wmnb.analysis.probes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch

from wmnb import perception as P
from wmnb.analysis import probes
from wmnb.errors import AssetError, ConfigError


@dataclass
class TinySet:
    """A stand-in for StimulusSet: a coloured square in one of four quadrants."""

    images: np.ndarray
    hash: str


def tiny_set(n: int = 6, size: int = 64, seed: int = 0, tag: str = "tiny") -> TinySet:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size, 3), dtype=np.uint8)
    half = size // 2
    for i in range(n):
        q = i % 4
        r, c = (q // 2) * half, (q % 2) * half
        images[i, r + 4:r + half - 4, c + 4:c + half - 4] = rng.integers(30, 255, 3)
    return TinySet(images, f"{tag}-{seed}-{n}-{size}")


@pytest.fixture(scope="module")
def effnet():
    return P.load_backbone("efficientnet_lite0", device="cpu")


# ------------------------------------------------------------------------------------------- backbones
def test_efficientnet_loads_offline_frozen(effnet):
    assert "efficientnet_lite0" in P.available_backbones()
    assert not effnet.training and not effnet.net.training
    assert all(not p.requires_grad for p in effnet.parameters())
    effnet.train()  # frozen: stays in eval mode
    assert not effnet.training and not any(m.training for m in effnet.modules())
    out = effnet(tiny_set(2).images)
    assert out.shape == (2, 1280, 7, 7) and out.dtype == torch.float32
    assert not out.requires_grad
    assert torch.isfinite(out).all() and out.abs().sum() > 0


def test_efficientnet_input_normalisation_matches_its_weights(effnet):
    # The stem BatchNorm's running mean is (stem weight sums) x (mean normalised training input), so it
    # reveals the input scaling the weights were trained with. With torchvision's ImageNet mean/std the
    # mean input would be ~0; with the TF-Lite (x-127)/128 it is (ImageNet RGB mean*255-127)/128 < 0.
    stem = effnet.net.net
    a = stem._conv_stem.weight.sum(dim=(2, 3)).numpy()
    implied, *_ = np.linalg.lstsq(a, stem._bn0.running_mean.numpy(), rcond=None)
    expected = (np.array([0.485, 0.456, 0.406]) * 255 - 127) / 128
    assert np.abs(implied - expected).max() < 0.08
    assert (implied < -0.03).all()
    assert effnet.spec.mean == (127 / 255,) * 3 and effnet.spec.std == (128 / 255,) * 3


def test_feature_bank_shapes_determinism_and_cache(tmp_path, effnet):
    stim = tiny_set(6)
    bank = P.compute_feature_bank(stim, cache_dir=tmp_path, device="cpu", batch_size=4, progress=False)
    assert bank.maps.shape == (6, 1280, 7, 7) and bank.maps.dtype == np.float16
    assert bank.pooled.shape == (6, 1280) and bank.pooled.dtype == np.float32
    np.testing.assert_allclose(bank.pooled, bank.maps.astype(np.float32).mean(axis=(2, 3)), atol=2e-3)
    assert bank.backbone == "efficientnet_lite0" and bank.stimulus_hash == stim.hash
    assert bank.grid_means(2).shape == (6, 1280 * 4)
    # determinism, independent of batch size, no cache
    again = P.compute_feature_bank(stim, device="cpu", batch_size=3, progress=False, use_cache=False)
    np.testing.assert_allclose(bank.pooled, again.pooled, rtol=1e-5, atol=1e-5)
    direct = effnet(stim.images[:2]).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(direct, bank.pooled[:2], rtol=1e-5, atol=1e-5)
    # the cache returns identical arrays
    cached = P.compute_feature_bank(stim, cache_dir=tmp_path, device="cpu", progress=False)
    assert cached.key == bank.key
    np.testing.assert_array_equal(cached.maps, bank.maps)
    np.testing.assert_array_equal(cached.pooled, bank.pooled)
    # a corrupted file is detected and the entry is rebuilt with the right values
    from wmnb.cache import CacheEntry
    entry = CacheEntry(tmp_path, "features", bank.key)
    assert entry.complete()
    raw = bytearray(entry.path("pooled.npy").read_bytes())
    raw[-5] ^= 0xFF
    entry.path("pooled.npy").write_bytes(bytes(raw))
    assert not entry.complete()
    rebuilt = P.compute_feature_bank(stim, cache_dir=tmp_path, device="cpu", progress=False)
    np.testing.assert_array_equal(rebuilt.pooled, bank.pooled)
    assert entry.complete()


def test_duplicate_images_computed_once(tmp_path):
    base = tiny_set(3)
    stim = TinySet(np.concatenate([base.images, base.images[:2]]), "dups")
    bank = P.compute_feature_bank(stim, cache_dir=tmp_path, device="cpu", progress=False)
    assert bank.meta["n_unique"] == 3
    np.testing.assert_array_equal(bank.maps[3], bank.maps[0])


def test_cache_key_depends_on_backbone_and_stimuli():
    a, b = tiny_set(4, tag="a"), tiny_set(4, tag="b")
    specs = P._REGISTRY
    assert P._feature_key(a, specs["efficientnet_lite0"], 0) != P._feature_key(b, specs["efficientnet_lite0"], 0)
    assert P._feature_key(a, specs["efficientnet_lite0"], 0) != P._feature_key(a, specs["random"], 0)
    assert P._feature_key(a, specs["random"], 0) != P._feature_key(a, specs["random"], 1)
    assert P._feature_key(a, specs["efficientnet_lite0"], 0) == P._feature_key(a, specs["efficientnet_lite0"], 1)


def _no_network(*a, **k):
    raise AssertionError("a backbone was loaded before the parameters were checked")


def test_unknown_backbone_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "load_backbone", _no_network)
    with pytest.raises(ConfigError) as e:
        P.compute_feature_bank(tiny_set(2), backbone="vgg16", cache_dir=tmp_path)
    msg = str(e.value)
    assert "backbone" in msg and "vgg16" in msg
    for name in ("efficientnet_lite0", "resnet50", "random"):
        assert name in msg
    assert not (tmp_path / "features").exists()


def test_bad_inputs_fail_fast(tmp_path):
    with pytest.raises(ConfigError):
        P.compute_feature_bank(TinySet(np.zeros((2, 8, 8, 3), np.float32), "x"), cache_dir=tmp_path)
    with pytest.raises(ConfigError):
        P.compute_feature_bank(tiny_set(2), batch_size=0, cache_dir=tmp_path)


def test_resnet50_missing_weights_raise_asset_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    assert P.resnet50_weight_path() == expected
    assert "resnet50" not in P.available_backbones()
    with monkeypatch.context() as m, pytest.raises(AssetError) as e:
        m.setattr(P, "load_backbone", _no_network)
        P.compute_feature_bank(tiny_set(2), backbone="resnet50", cache_dir=tmp_path)
    assert not (tmp_path / "features").exists()
    msg = str(e.value)
    assert str(expected) in msg and "efficientnet_lite0" in msg
    with pytest.raises(AssetError):
        P.load_backbone("resnet50")


def test_random_backbone_seeded_and_calibrated(tmp_path):
    stim = tiny_set(4, size=32)
    a = P.compute_feature_bank(stim, backbone="random", cache_dir=tmp_path, progress=False, seed=1)
    b = P.compute_feature_bank(stim, backbone="random", progress=False, seed=1, use_cache=False)
    np.testing.assert_allclose(a.pooled, b.pooled, rtol=1e-4, atol=1e-5)
    assert a.maps.shape == (4, 2048, 7, 7)
    # recalibrated BN: image-to-image variation is a sizeable fraction of the feature scale
    rel = a.pooled.std(axis=0).mean() / np.abs(a.pooled).mean()
    assert rel > 0.1
    c = P.compute_feature_bank(stim, backbone="random", progress=False, seed=2, use_cache=False)
    assert not np.allclose(a.pooled, c.pooled)


def test_register_backbone_rejects_duplicates():
    with pytest.raises(ConfigError):
        P.register_backbone(P._REGISTRY["random"])


# ----------------------------------------------------------------------------------------------- probes
def synthetic_meta(n_id_per_cat: int = 3, n_angles: int = 3, seed: int = 0) -> pd.DataFrame:
    rows = []
    for cat in range(4):
        for k in range(n_id_per_cat):
            ident = cat * n_id_per_cat + k
            for ang in range(n_angles):
                for loc in range(4):
                    novel_id = k == n_id_per_cat - 1
                    novel_ang = ang == n_angles - 1
                    split = {(False, False): "train", (False, True): "novel_angle",
                             (True, False): "novel_identity", (True, True): "novel_both"}[(novel_id, novel_ang)]
                    rows.append(dict(category=cat, identity=ident, angle=ang, location=loc, split=split))
    return pd.DataFrame(rows)


def test_probes_recover_planted_signal_and_chance_on_noise():
    meta = synthetic_meta()
    rng = np.random.default_rng(0)
    n, d = len(meta), 40
    means = {f: rng.normal(size=(meta[f].max() + 1, d)) for f in ("location", "category", "identity")}
    scale = {"location": 1.0, "category": 1.0, "identity": 0.7}  # identities vary around their category
    x = sum(scale[f] * means[f][meta[f].to_numpy()] for f in means) + 0.3 * rng.normal(size=(n, d))
    splits = probes.held_out_splits(meta)
    names = {(s.feature, s.test_split) for s in splits}
    assert ("identity", "novel angle") in names and ("category", "novel identity") in names
    assert ("identity", "held-out location") in names and ("identity", "novel identity") not in names
    table = probes.run_probes(x, meta, splits, representation="planted")
    assert list(table.columns) == probes.PROBE_COLUMNS
    assert (table.accuracy > 0.9).all(), table
    assert ((table.ci_low <= table.accuracy) & (table.accuracy <= table.ci_high)).all()
    loc_row = table[(table.feature == "location") & (table.test_split == "novel angle")].iloc[0]
    assert loc_row.chance == pytest.approx(0.25) and loc_row.n_test == (meta.split == "novel_angle").sum()

    noise = rng.normal(size=(n, d))
    null = probes.run_probes(noise, meta, splits)
    # every accuracy within a generous band around its chance level
    assert (np.abs(null.accuracy - null.chance) < 0.2).all(), null
    assert null.accuracy.mean() < null.chance.mean() + 0.08


def test_probe_guards_and_wilson():
    lo, hi = probes.wilson_interval(50, 100)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(0.19, abs=0.01)
    assert probes.wilson_interval(0, 10)[0] == 0.0
    x = np.zeros((4, 2))
    with pytest.raises(ConfigError):
        probes.probe_accuracy(x, np.arange(4), probes.ProbeSplit.single("f", "a", "b", [0, 1], [1, 2]))
    with pytest.raises(ConfigError):
        probes.run_probes(x, {"g": np.arange(4)}, [probes.ProbeSplit.single("f", "a", "b", [0, 1], [2, 3])])


def test_variance_explained():
    rng = np.random.default_rng(1)
    y_sig = np.repeat(np.arange(4), 50)
    y_null = rng.permutation(y_sig)
    x = np.eye(4)[y_sig] @ rng.normal(size=(4, 30)) * 3 + rng.normal(size=(200, 30))
    ve = probes.variance_explained(x, {"signal": y_sig, "null": y_null}).set_index("property")
    assert ve.loc["signal", "fraction"] > 0.7
    assert ve.loc["null", "fraction"] < 0.05
    pure = probes.variance_explained(np.eye(4)[y_sig], y_sig)
    assert pure.fraction.iloc[0] == pytest.approx(1.0)


def test_probe_span_shortcut_matches_direct_fit():
    # more features than training images: the fit in the span of the training rows is the same probe
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(3)
    x = rng.normal(size=(90, 200))
    y = rng.integers(0, 3, 90)
    x[:, :5] += 1.5 * y[:, None]
    train, test = np.arange(60), np.arange(60, 90)
    pred = probes._fit_predict(x, y, train, test, C=1.0, max_iter=5000)
    sc = StandardScaler().fit(x[train])
    direct = LogisticRegression(C=1.0, max_iter=5000, tol=1e-8).fit(sc.transform(x[train]), y[train])
    np.testing.assert_array_equal(pred, direct.predict(sc.transform(x[test])))
