"""Planted-answer tests for the Procrustes procedure and the swap test."""
import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial import procrustes as scipy_procrustes

from test_analysis_synth import memory_recording, random_rotation
from wmnb.analysis.dynamics import hypothesis_verdicts, cross_time_decoding
from wmnb.analysis.procrustes import (apply_rotation, fit_rotation, procrustes_reconstruction,
                                      standardise_stack, swap_summary, swap_test)


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
