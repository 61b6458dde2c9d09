"""Planted-answer tests for the Procrustes procedure and the swap test, and for the non-circular F6 (predictive
Procrustes with nulls) and F7's permuted null (issue 9): each test plants the answer and checks the analysis
finds it -- and that it fails where it should."""
import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial import procrustes as scipy_procrustes

from test_analysis_synth import memory_recording, random_rotation
from wmnb.analysis.dynamics import cross_time_decoding, hypothesis_verdicts
from wmnb.analysis.procrustes import (apply_rotation, fit_rotation, fit_state_map, procrustes_reconstruction,
                                      random_orthogonal, reconstruct_heldout_rows, standardise_stack, state_map_summary,
                                      state_map_test, swap_summary, swap_test)


def test_rotation_recovered_and_matches_scipy():
    rng = np.random.default_rng(0)
    C, H = 6, 12
    Ws = rng.normal(size=(C, H))
    Q = random_rotation(rng, H)
    Wt = 0.7 * Ws @ Q + rng.normal(size=H)  # rotation + common scale + offset row
    rot = fit_rotation(Ws, Wt)
    assert rot.disparity == pytest.approx(0.0, abs=1e-10)
    A, _, _ = standardise_stack(Ws)
    B, t_mean, t_norm = standardise_stack(Wt)
    R_scipy, s_scipy = orthogonal_procrustes(A, B)
    # same solution as scipy on the span of the rows (the completion outside it is the identity, not LAPACK's)
    assert np.allclose(A @ rot.R, A @ R_scipy) and rot.scale == pytest.approx(s_scipy)
    assert np.allclose(rot.R @ rot.R.T, np.eye(H))
    assert np.allclose(A @ rot.R, A @ Q)  # the rotation is identified on the span of the rows
    assert np.allclose(apply_rotation(Ws, rot, t_mean, t_norm), Wt)
    # with noise, our disparity is scipy.spatial.procrustes's
    Wn = Wt + rng.normal(size=Wt.shape) * 0.3
    rot_n = fit_rotation(Ws, Wn)
    assert rot_n.disparity == pytest.approx(scipy_procrustes(Wn, Ws)[2], rel=1e-9)


def test_classes_aligned_by_raw_value():
    rng = np.random.default_rng(1)
    Ws = rng.normal(size=(4, 8))
    Wt = Ws @ random_rotation(rng, 8)
    perm = np.array([2, 0, 3, 1])
    # target rows stored for values [30, 10, 40, 20] after sorting: same geometry if aligned by value
    rot = fit_rotation(Ws, Wt, classes_source=np.array([10, 20, 30, 40]), classes_target=np.array([10, 20, 30, 40]))
    rot_bad = fit_rotation(Ws, Wt[perm])  # misaligned rows (the first-seen bug) fit worse
    assert rot.disparity < 1e-10 < rot_bad.disparity


def test_swap_test_h2_structure():
    r = memory_recording(seed=3, B=900, T=4, H=40, n=3)
    sw = swap_test(r["hidden"], r["labels"], r["n"], r["seq_id"], properties=("location",), n_boot=200,
                   protocol="sequence", n_class_splits=0)
    assert {"fitted", "correct", "none", "same_stimulus_other_interval",
            "other_stimulus_same_age"} <= set(sw["swap"])
    summ = swap_summary(sw).iloc[0]
    assert summ["fitted"] > 0.8
    assert summ["correct"] > summ["fitted"] - 0.1                 # F6: reconstruction ~ fitted
    assert summ["other_stimulus_same_age"] > summ["fitted"] - 0.15  # F7: same age, other stimulus works
    assert summ["same_stimulus_other_interval"] < 0.5             # other interval fails
    assert summ["none"] < 0.5                                     # the code really rotates
    rec = procrustes_reconstruction(sw)
    assert set(rec["transition"]) == {"encoding->memory", "memory->memory"}
    assert (rec["disparity"] >= 0).all() and (rec["disparity"] < 1).all()
    ct = cross_time_decoding(r["hidden"], r["labels"], r["n"], r["seq_id"], properties=("location",))
    v = hypothesis_verdicts(ct, swap=sw).set_index("test")
    assert v.loc["H2 vs H3 swap", "verdict"] == "H2 supported"


def test_swap_test_h3_structure():
    r = memory_recording(seed=4, B=900, T=4, H=40, n=3, per_stimulus=True)
    img = r["labels"]["location"] * 1000 + np.random.default_rng(0).integers(0, 30, size=(900, 4))
    sw = swap_test(r["hidden"], r["labels"], r["n"], r["seq_id"], properties=("location",), n_boot=200,
                   image_ids=img)
    summ = swap_summary(sw).iloc[0]
    assert summ["correct"] > 0.75
    assert summ["other_stimulus_same_age"] < 0.5  # stimulus-specific transformations do not transfer


def planted_steps(map_kind="rotation", B=1500, H=24, C=4, n_images=80, noise=0.3, seed=0):
    """Two steps: h0 = code[y] + noise; h1 = A h0 + input of the new stimulus + noise.

    ``map_kind="rotation"``: A = 0.8 Q, Q orthogonal. ``"linear"``: A a random, strongly anisotropic,
    non-orthogonal matrix (singular values from 3 down to 0.03) that is not a rotation and scale.
    Images: ``n_images`` ids, value = id % C; one image per step and sequence.
    """
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(C, H)) * 1.5
    if map_kind == "rotation":
        A = 0.8 * random_orthogonal(H, seed + 1)
    else:
        U, V = random_orthogonal(H, seed + 2), random_orthogonal(H, seed + 3)
        A = U @ np.diag(np.geomspace(3.0, 0.03, H)) @ V.T
    img = rng.integers(0, n_images, size=(B, 2))
    y = img % C
    # the state at step 0 varies in every direction (the remembered code plus other content)
    h0 = codes[y[:, 0]] + rng.normal(size=(B, H)) * 1.0
    h1 = h0 @ A.T + 0.3 * codes[y[:, 1]] @ random_orthogonal(H, seed + 4).T + rng.normal(size=(B, H)) * noise
    hidden = np.stack([h0, h1], 1)
    return dict(hidden=hidden, labels={"location": y * 10 + 5}, n=np.ones(B, int), seq_id=np.arange(B),
                image_ids=img, A=A)


def test_state_map_recovers_a_true_rotation():
    d = planted_steps("rotation")
    X, Y = d["hidden"][:, 0], d["hidden"][:, 1]
    m = fit_state_map(X, Y, "rotation")
    assert m.scale == pytest.approx(0.8, abs=0.05)
    assert np.abs(m.M - d["A"].T / 0.8).max() < 0.15       # the planted rotation (applied on the right)
    t = state_map_test(d["hidden"], d["labels"], d["n"], d["seq_id"], image_ids=d["image_ids"],
                       properties=("location",))
    assert set(t["map"]) == {"fitted", "rotation", "ridge", "none", "rotation_permuted", "rotation_random"}
    assert (t["protocol"] == "image-disjoint").all()
    r = t[t.stim == 0].set_index("map")
    assert r.loc["rotation", "accuracy"] > 0.9
    for null in ("rotation_permuted", "rotation_random"):   # beats both nulls, intervals clear
        assert r.loc["rotation", "ci_low"] > r.loc[null, "ci_high"]
    assert r.loc["rotation", "r2"] > r.loc["ridge", "r2"] - 0.05   # as good as any linear map
    s = state_map_summary(t)
    assert {"rotation", "ridge", "rotation_r2", "chance"} <= set(s.columns)


def test_state_map_rejects_a_non_rotation_linear_map():
    d = planted_steps("linear")
    t = state_map_test(d["hidden"], d["labels"], d["n"], d["seq_id"], image_ids=d["image_ids"],
                       properties=("location",))
    r = t[t.stim == 0].set_index("map")
    # an unconstrained linear map predicts the held-out states far better than any rotation + scale
    assert r.loc["ridge", "r2"] > r.loc["rotation", "r2"] + 0.3


def test_heldout_class_reconstruction_and_nulls():
    rng = np.random.default_rng(0)
    C, H, k = 12, 30, 4                       # 12 values in a 4-d code: half the values span the code
    basis = rng.normal(size=(k, H))
    Ws = rng.normal(size=(C, k)) @ basis
    Wt = 0.7 * Ws @ random_orthogonal(H, 1) + rng.normal(size=H)
    a, b = np.arange(6), np.arange(6, 12)
    rec = reconstruct_heldout_rows(Ws, Wt, a, b)
    assert np.allclose(rec, Wt[b], atol=1e-8)
    for mode in ("permuted", "random"):
        bad = reconstruct_heldout_rows(Ws, Wt, a, b, mode=mode, seed=3)
        assert np.linalg.norm(bad - Wt[b]) > 0.3 * np.linalg.norm(Wt[b] - Wt[b].mean(0))


def fake_images(y, per_value=30, seed=0):
    """(B, T) image ids carrying the raw labels ``y``: ``per_value`` distinct images per value."""
    rng = np.random.default_rng(seed)
    return np.asarray(y) * 1000 + rng.integers(0, per_value, size=np.shape(y))


def test_swap_test_has_permuted_and_random_nulls():
    from test_analysis_synth import memory_recording

    r = memory_recording(seed=3, B=900, T=4, H=40, n=3)
    img = fake_images(r["labels"]["location"])
    sw = swap_test(r["hidden"], r["labels"], r["n"], r["seq_id"], properties=("location",), n_boot=100,
                   image_ids=img)
    kinds = set(sw["swap"])
    assert {"correct_permuted", "correct_random", "other_stimulus_same_age_permuted",
            "same_stimulus_other_interval_permuted"} <= kinds
    s = swap_summary(sw).iloc[0]
    assert s["correct"] > s["correct_permuted"] + 0.3
    assert s["correct"] > s["correct_random"] + 0.3
    assert s["other_stimulus_same_age"] > s["other_stimulus_same_age_permuted"] + 0.3
    assert s["other_stimulus_same_age"] > s["same_stimulus_other_interval"] + 0.3   # H2 planted


def test_low_rank_procrustes_matches_scipy_on_the_span():
    from scipy.linalg import orthogonal_procrustes

    from wmnb.analysis.procrustes import procrustes_rotation

    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(4, 60)), rng.normal(size=(4, 60))
    R, s = procrustes_rotation(A, B)
    R_ref, s_ref = orthogonal_procrustes(A, B)
    assert s == pytest.approx(s_ref)
    assert np.allclose(A @ R, A @ R_ref)
    assert np.allclose(R @ R.T, np.eye(60))
    z = rng.normal(size=60)
    z -= np.linalg.lstsq(np.vstack([A, B]).T, z, rcond=None)[0] @ np.vstack([A, B])   # orthogonal to both spans
    assert np.allclose(z @ R, z)                                                      # identity off the span
