"""Planted-answer tests for the orthogonalization index."""
import numpy as np
import pandas as pd
import pytest

from wmnb.analysis.orthogonality import (compare_spaces, normalised_orthogonality, orthogonality,
                                         orthogonality_index)


def test_index_on_given_normals():
    assert orthogonality_index(np.eye(5)) == pytest.approx(1.0)
    v = np.random.default_rng(0).normal(size=7)
    assert orthogonality_index(np.vstack([v, -2 * v, 0.5 * v])) == pytest.approx(0.0, abs=1e-12)
    assert normalised_orthogonality(2 / 3, 4) == pytest.approx(1.0)
    assert np.isnan(normalised_orthogonality(0.0, 2))


def _space(rng, B, T, H, C, mode):
    y = rng.integers(0, C, (B, T))
    if mode == "orthogonal":
        codes = np.eye(H)[:C] * 4
    else:  # collinear: class values ordered along one axis
        codes = np.outer(np.linspace(-3, 3, C), np.eye(H)[0]) * 2
    X = codes[y] + rng.normal(size=(B, T, H)) * 0.5
    return X, y


def test_orthogonal_vs_collinear_and_null():
    rng = np.random.default_rng(1)
    B, T, H, C = 600, 2, 30, 8
    Xo, y = _space(rng, B, T, H, C, "orthogonal")
    Xc, _ = _space(np.random.default_rng(1), B, T, H, C, "collinear")
    tab = orthogonality({"orth": Xo, "coll": Xc}, {"location": y}, None, None, np.arange(B),
                        properties=("location",), n_null=5, protocol="sequence")
    o = tab.set_index("space")
    # orthogonal class directions: normals along centred simplex -> O = 1 - 1/(C-1), normalised ~ 1
    assert o.loc["orth", "O"] == pytest.approx(1 - 1 / (C - 1), abs=0.03)
    assert o.loc["orth", "O_normalised"] == pytest.approx(1.0, abs=0.04)
    assert o.loc["orth", "accuracy"] > 0.95
    # collinear code (values ordered along one axis): the end classes' normals are antiparallel and the
    # middle classes are not linearly separable, so O is far below the orthogonal code (exactly 0 only
    # for perfectly parallel normals, tested above)
    assert o.loc["coll", "O"] < 0.45 and o.loc["coll", "O_normalised"] < 0.5
    # the null baseline is computed and sits near the simplex value, far from the collinear code
    assert np.isfinite(o["O_null"]).all() and (o["O_null_sd"] > 0).all()
    assert o.loc["coll", "O_minus_null"] < -0.3
    assert o.loc["coll", "p_null"] <= 1 / 6 + 1e-12


def test_noise_space_matches_null():
    rng = np.random.default_rng(2)
    B, H = 500, 40
    y = rng.integers(0, 4, (B, 1))
    X = rng.normal(size=(B, 1, H))
    t = orthogonality({"noise": X}, {"category": y}, None, None, np.arange(B), properties=("category",),
                      n_null=8, image_id=np.arange(B)).iloc[0]          # image-disjoint (each row its image)
    assert abs(t["O_minus_null"]) < 4 * t["O_null_sd"] + 0.02
    assert t["accuracy"] < 0.45


def test_compare_spaces_paired():
    rows = []
    rng = np.random.default_rng(3)
    for model in ("a", "b", "c"):
        for task in ("location", "identity", "category"):
            for nn in (1, 2, 3):
                base = rng.uniform(0.8, 1.0)
                for space, val in (("perceptual", base), ("encoding", base - 0.1 + rng.normal(0, 0.01))):
                    rows.append(dict(model=model, space=space, task_feature=task, n=nn, property="identity",
                                     step=0, O_normalised=val))
    res = compare_spaces(pd.DataFrame(rows))
    allrow = res[res["property"] == "all"].iloc[0]
    assert allrow["n_pairs"] == 27 and allrow["mean_diff"] < -0.05
    assert allrow["t_pvalue"] < 1e-6 and allrow["wilcoxon_pvalue"] < 1e-3 and allrow["frac_b_below_a"] == 1.0
