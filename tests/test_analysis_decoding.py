"""Planted-answer tests for wmnb.analysis.decoding and stats."""
import numpy as np
import pandas as pd
import pytest

from wmnb.analysis import stats
from wmnb.analysis.decoding import (decoder_normals, fit_and_score, fit_decoder, score, split_sequences,
                                    task_groups)
from wmnb.errors import ConfigError


def _blobs(rng, n=400, H=20, values=(3, 7, 11, 42), sep=3.0):
    values = np.asarray(values)
    centres = rng.normal(size=(values.size, H)) * sep
    k = rng.integers(0, values.size, n)
    return centres[k] + rng.normal(size=(n, H)), values[k]


def test_split_by_sequence_never_by_row():
    seq = np.repeat(np.arange(50), 3)  # three rows per sequence
    tr, te = split_sequences(seq, 0.2, seed=1)
    assert not np.intersect1d(seq[tr], seq[te]).size
    assert (tr ^ te).all()
    assert np.unique(seq[te]).size == 10
    # deterministic and independent of row order
    perm = np.random.default_rng(0).permutation(seq.size)
    tr2, te2 = split_sequences(seq[perm], 0.2, seed=1)
    assert set(seq[perm][te2]) == set(seq[te])


def test_split_stratified():
    seq = np.arange(300)
    strat = np.repeat([0, 1, 2], 100)
    tr, te = split_sequences(seq, 0.25, seed=0, stratify=strat)
    assert [int(te[strat == s].sum()) for s in range(3)] == [25, 25, 25]


def test_noise_decoder_scores_at_chance_held_out():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 100))
    y = rng.integers(0, 4, 300)
    tr, te = split_sequences(np.arange(300), 0.3, seed=0)
    dec = fit_decoder(X[tr], y[tr])
    assert dec.train_accuracy > 0.6  # an in-sample scorer would report this
    s = score(dec, X[te], y[te])
    assert s["chance"] == 0.25
    assert s["ci_low"] <= 0.25 + 0.05 and s["accuracy"] < 0.4
    assert s["n_test"] == te.sum()


def test_separable_blobs_decoded_with_raw_values():
    rng = np.random.default_rng(1)
    X, y = _blobs(rng)
    tr, te = split_sequences(np.arange(len(y)), 0.25, seed=0)
    for kind in ("logreg", "ovr_svm", "ovr_logreg"):
        dec = fit_decoder(X[tr], y[tr], kind=kind)
        assert list(dec.classes) == [3, 7, 11, 42]
        assert set(np.unique(dec.predict(X[te]))) <= {3, 7, 11, 42}
        s = score(dec, X[te], y[te])
        assert s["accuracy"] > 0.95 and s["ci_low"] <= s["accuracy"] <= s["ci_high"]


def test_unseen_test_value_is_wrong_not_remapped():
    rng = np.random.default_rng(2)
    X, y = _blobs(rng, values=(0, 1, 2, 3))
    train = y != 3
    dec = fit_decoder(X[train], y[train])
    s = score(dec, X[~train], y[~train])
    assert s["accuracy"] == 0.0 and s["n_unseen"] == (~train).sum()
    assert s["n_classes"] == 4 and s["chance"] == 0.25


def test_permuting_class_order_does_not_change_scores():
    rng = np.random.default_rng(3)
    X, y = _blobs(rng, n=300, H=5, sep=0.5)  # overlapping classes: accuracy well below 1
    tr, te = split_sequences(np.arange(len(y)), 0.3, seed=0)
    base = fit_and_score(X[tr], y[tr], X[te], y[te])["accuracy"]
    # first-seen order changes when rows are shuffled; a bijective relabelling keeps the partition
    perm = rng.permutation(tr.sum())
    relabel = {3: 42, 7: 3, 11: 7, 42: 11}
    y2 = np.array([relabel[v] for v in y])
    other = fit_and_score(X[tr][perm], y2[tr][perm], X[te], y2[te])["accuracy"]
    assert abs(base - other) < 0.02
    assert 0.3 < base < 0.95


def test_binary_and_constant_decoders():
    rng = np.random.default_rng(4)
    X, y = _blobs(rng, values=(5, 9))
    dec = fit_decoder(X, y)
    assert dec.coef.shape == (2, X.shape[1])
    assert dec.train_accuracy > 0.95
    const = fit_decoder(X, np.full(len(y), 5))
    assert (const.predict(X) == 5).all()


def test_raw_normals_account_for_scaling():
    rng = np.random.default_rng(5)
    H = 6
    X = rng.normal(size=(600, H)) * np.array([10, 1, 1, 1, 1, 1.0])
    y = (X[:, 0] / 10 + X[:, 1] > 0).astype(int)  # boundary normal in raw space ~ (0.1, 1, 0...)
    classes, raw = decoder_normals(X, y, space="raw")
    expected = np.array([0.1, 1, 0, 0, 0, 0]) / np.linalg.norm([0.1, 1])
    assert abs(abs(raw[1] @ expected) - 1) < 0.02
    _, std = decoder_normals(X, y, space="standardised")
    assert abs(np.linalg.norm(std[1]) - 1) < 1e-9


def test_bad_inputs_raise_config_error():
    with pytest.raises(ConfigError):
        fit_decoder(np.zeros((10, 3)), np.zeros(9))
    with pytest.raises(ConfigError):
        fit_decoder(np.zeros((10, 3)), np.zeros(10), kind="svc")
    with pytest.raises(ConfigError):
        split_sequences(np.arange(10), 1.5)


def test_task_groups():
    f = np.array([0, 0, 1, 2])
    n = np.array([1, 2, 1, 1])
    cells = [(a, b, int(m.sum())) for a, b, m in task_groups(4, f, n)]
    assert ("location", 1, 1) in cells and ("identity", 1, 1) in cells
    pooled = [(a, b) for a, b, _ in task_groups(4, f, n, by_n=False)]
    assert ("location", 0) in pooled


def test_stats_helpers():
    lo, hi = stats.wilson_ci(50, 100)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-9
    vals = np.r_[np.ones(50), np.zeros(50)]
    groups = np.repeat(np.arange(10), 10)
    blo, bhi = stats.bootstrap_ci(vals, groups, seed=0)
    ilo, ihi = stats.bootstrap_ci(vals, None, seed=0)
    assert bhi - blo > ihi - ilo  # correlated groups widen the interval
    a = np.linspace(0, 1, 12)
    t = stats.paired_test(a, a - 0.1 + np.random.default_rng(0).normal(0, 0.01, 12))
    assert t["mean_diff"] < 0 and t["t_pvalue"] < 1e-3 and t["frac_b_below_a"] == 1.0
    tabs = [pd.DataFrame({"k": ["x", "y"], "acc": [0.5 + s / 10, 0.2]}) for s in range(3)]
    agg = stats.aggregate_seeds(tabs, keys=["k"])
    row = agg.set_index("k").loc["x"]
    assert row["n_seeds"] == 3 and abs(row["acc_mean"] - 0.6) < 1e-12
    assert row["acc_ci_low"] < 0.6 < row["acc_ci_high"]


def test_mean_t_interval_matches_scipy_and_handles_small_samples():
    import numpy as np
    from scipy import stats as st

    from wmnb.analysis.stats import mean_t_interval

    v = [0.91, 0.95, 0.93, np.nan]
    m, lo, hi = mean_t_interval(v)
    ref = st.t.interval(0.95, 2, loc=np.mean(v[:3]), scale=st.sem(v[:3]))
    assert np.isclose(m, np.mean(v[:3])) and np.allclose((lo, hi), ref)
    one = mean_t_interval([0.5])
    assert one[0] == 0.5 and np.isnan(one[1]) and np.isnan(one[2])
    assert all(np.isnan(mean_t_interval([])))


# --- held-out images: the leakage a sequence split lets through --------------------------------------------

def _pool_recording(code, labels, n_seq=600, T=6, seed=0):
    """Sequences drawing images from a pool; the state at a step is ``code[image]`` (a fixed function of the
    image, as at the encoding step). Returns rows (seq, step) flattened."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, code.shape[0], size=(n_seq, T))
    seq = np.repeat(np.arange(n_seq), T)
    img = img.ravel()
    return code[img], labels[img], img, seq


@pytest.mark.parametrize("kind", ["random", "linear"])
def test_image_disjoint_rule_catches_lookup_codes(kind):
    """Random per-image codes with arbitrary labels: chance under the image rule, ~1 under the sequence split.
    A planted linear code of the label: ~1 under both."""
    rng = np.random.default_rng(0)
    n_img, H = 160, 256
    labels = np.arange(n_img) % 4
    if kind == "random":
        code = rng.normal(size=(n_img, H))
    else:
        centres = rng.normal(size=(4, H)) * 2
        code = centres[labels] + rng.normal(size=(n_img, H))
    X, y, img, seq = _pool_recording(code, labels)
    from wmnb.analysis.decoding import holdout_split
    acc = {}
    for protocol in ("image", "sequence"):
        tr, te = holdout_split(protocol, image_id=img, strata=y, seq_id=seq, test_fraction=0.25, seed=0)
        if protocol == "image":
            assert not np.intersect1d(img[tr], img[te]).size
        else:
            assert np.isin(img[te], img[tr]).mean() > 0.9  # the leak: test images were fitted on
        acc[protocol] = fit_and_score(X[tr], y[tr], X[te], y[te])["accuracy"]
    if kind == "random":
        assert acc["image"] < 0.40 and acc["sequence"] > 0.95
    else:
        assert acc["image"] > 0.95 and acc["sequence"] > 0.95


def test_split_images_stratified_and_deterministic():
    from wmnb.analysis.decoding import split_images
    img = np.repeat(np.arange(40), 5)
    lab = img % 4  # ten images per value
    tr, te = split_images(img, lab, 0.2, seed=3)
    assert (tr ^ te).all()
    held = np.unique(img[te])
    assert [int(np.sum(held % 4 == v)) for v in range(4)] == [2, 2, 2, 2]
    perm = np.random.default_rng(0).permutation(img.size)
    _, te2 = split_images(img[perm], lab[perm], 0.2, seed=3)
    assert set(img[perm][te2]) == set(held)
    # a value with a single image stays in training
    tr, te = split_images(np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1]), 0.5)
    assert not te[:2].any()
    with pytest.raises(ConfigError, match="constant per image"):
        split_images(np.array([0, 0, 1]), np.array([0, 1, 1]))


def test_split_images_context_drops_training_rows_holding_test_images():
    from wmnb.analysis.decoding import split_images
    img = np.arange(20)
    ctx = np.stack([img, (img + 1) % 20], axis=1)
    tr, te = split_images(img, None, 0.25, seed=0, context=ctx)
    held = set(img[te])
    assert not (tr & te).any()
    for i in np.flatnonzero(tr):
        assert not set(ctx[i]) & held
