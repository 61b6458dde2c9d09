"""Planted-answer tests for the orthogonalization index (wmnb.analysis.orthogonality), and for F3's (issue 8)
equal-dimension index: closed-form normals and nulls, the decodability gate and the cap on k."""
import numpy as np
import pandas as pd
import pytest

from wmnb.analysis.decoding import fit_decoder
from wmnb.analysis.orthogonality import (batch_orthogonality_index, compare_spaces, equal_k_orthogonality, ls_normals,
                                         normalised_orthogonality, null_orthogonality_ls, orthogonality,
                                         orthogonality_index, pca_fit)
from wmnb.errors import ConfigError


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


GEOM = np.array([[-2.0, 0.0], [-0.7, 1.0], [0.7, -1.0], [2.0, 0.0]])    # 4 classes, far from a simplex


def _latent(n=360, r=24, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), n // 4)
    L = rng.normal(size=(n, r))
    L[:, :2] += GEOM[y]
    return L, y


def _embed(L, D, noise=0.05, seed=0):
    """The same latent code isometrically embedded in D dimensions (random orthonormal basis) + tiny noise."""
    r = L.shape[1]
    Q = np.linalg.qr(np.random.default_rng(100 + D).normal(size=(D, r)))[0]
    return L @ Q.T * np.sqrt(D / r) + np.random.default_rng(seed + 7).normal(size=(L.shape[0], D)) * noise


def _scores(X, k):
    """The equal-k pipeline: z-scored units, PCA scores (not whitened)."""
    Xs = (X - X.mean(0)) / X.std(0)
    m, comp, sc, _ = pca_fit(Xs, k)
    return (Xs - m) @ comp.T


def _O_k(X, y, k):
    S = _scores(X, k)
    return normalised_orthogonality(orthogonality_index(ls_normals(S, (y[:, None] == np.arange(4)) * 1.0,
                                                                   ridge=np.inf)), 4)


def _O_svm(X, y):
    return normalised_orthogonality(orthogonality_index(fit_decoder(X, y, kind="ovr_svm").normals()), 4)


def test_pca_and_closed_form_normals():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 30)) @ rng.normal(size=(30, 30))
    Xd = np.vstack([X, X[:50]])                                   # duplicates: same components, weighted
    m, comp, sc, ve = pca_fit(X, 10)
    assert comp.shape == (10, 30) and np.allclose(comp @ comp.T, np.eye(10), atol=1e-10) and 0 < ve < 1
    Z = ((X - m) @ comp.T) / sc
    assert np.allclose(Z.mean(0), 0, atol=1e-10) and np.allclose(Z.T @ Z / len(Z), np.eye(10), atol=1e-8)
    assert pca_fit(Xd, 10)[1].shape == (10, 30)
    # on white coordinates the LS normal is the centred class mean (LDA-style), whatever the ridge
    y = rng.integers(0, 4, 200)
    W = ls_normals(Z, (y[:, None] == np.arange(4)) * 1.0, ridge=0.5)
    mu = np.stack([Z[y == c].mean(0) for c in range(4)])
    cos = np.sum(W * mu, 1) / np.linalg.norm(W, axis=1) / np.linalg.norm(mu, axis=1)
    assert np.allclose(cos, 1.0, atol=1e-8)
    # batched index = one at a time
    Ws = rng.normal(size=(5, 4, 10))
    assert np.allclose(batch_orthogonality_index(Ws), [orthogonality_index(w) for w in Ws])


def test_null_groups_keep_one_label_per_image():
    rng = np.random.default_rng(1)
    img = np.repeat(np.arange(60), 5)                              # 5 identical copies of each image state
    y = rng.integers(0, 4, 60)[img]
    Z = rng.normal(size=(60, 8))[img]
    null = null_orthogonality_ls(Z, y, n_null=12, seed=0, groups=img)
    assert null.shape == (12,) and np.isfinite(null).all() and null.std() > 0
    # the null of pure noise sits near the simplex value 1 - 1/(C-1) (normalised ~1; below it with few
    # groups per class: 60 images here give ~0.9, which is why O is compared with its own null)
    assert normalised_orthogonality(null.mean(), 4) == pytest.approx(1.0, abs=0.2)


def test_dimension_bias_and_equal_k():
    """The paper's O (LinearSVC on z-scored features in the space's own dimension) depends on D at a few
    hundred rows; PCA to the same k does not (the same latent code embedded in 128 or 1280 dimensions)."""
    L, y = _latent()
    # paper-style in isotropic noise: O drifts with the dimension (1.13 at D = 128 -> 1.01 at D = 1280)
    rng = np.random.default_rng(0)
    iso = {}
    for D in (128, 1280):
        X = np.zeros((360, D))
        X[:, :2] = GEOM[y]
        iso[D] = _O_svm(X + rng.normal(size=(360, D)), y)
    assert iso[128] - iso[1280] > 0.08
    # equal k: the same code in 128 and 1280 dimensions gives the same O
    ok = {D: _O_k(_embed(L, D), y, 24) for D in (128, 256, 512, 1280)}   # k = the code's rank
    assert max(ok.values()) - min(ok.values()) < 0.04           # per-unit z-scoring is not rotation-invariant
    # and it is a real signal: far below its shuffled-label null (~1)
    assert max(ok.values()) < 0.92


def test_closed_form_vs_linearsvc_agreement():
    """Closed-form centroid normals vs LinearSVC normals (the paper's fit) on the same PCA scores of planted
    cells, 3 seeds x 2 geometries x isotropic / anisotropic noise.

    Measured (12 cells): |O_closed - O_svc| max 0.097, mean 0.031 (normalised O); matched normals' cosine
    min 0.988, mean 0.991; both order the non-simplex code below the simplex one."""
    diffs, coss, o = [], [], {}
    for gname, geom in (("line", GEOM), ("simplex", np.eye(4)[:, :3] * 3)):
        for aniso in (False, True):
            for s in range(3):
                rng = np.random.default_rng(s)
                y = np.repeat(np.arange(4), 90)
                X = rng.normal(size=(360, 40))
                if aniso:
                    X[:, :5] *= 3
                X[:, :geom.shape[1]] += geom[y]
                S = _scores(X, 16)
                W1 = ls_normals(S, (y[:, None] == np.arange(4)) * 1.0, ridge=np.inf)
                W2 = fit_decoder(S, y, kind="ovr_svm").coef
                u1 = W1 / np.linalg.norm(W1, axis=1, keepdims=True)
                u2 = W2 / np.linalg.norm(W2, axis=1, keepdims=True)
                coss.append(np.mean(np.sum(u1 * u2, 1)))
                a, b = (normalised_orthogonality(orthogonality_index(W), 4) for W in (W1, W2))
                diffs.append(abs(a - b))
                o.setdefault(gname, []).append((a, b))
    print(f"closed form vs LinearSVC: |dO| max {np.max(diffs):.3f} mean {np.mean(diffs):.3f}; "
          f"normal cosine min {np.min(coss):.3f} mean {np.mean(coss):.3f}")
    assert np.max(diffs) < 0.12 and np.mean(diffs) < 0.05 and np.min(coss) > 0.95
    line, simp = np.array(o["line"]).mean(0), np.array(o["simplex"]).mean(0)
    assert (line < simp - 0.1).all()


def _cells_data(rng, B=900, n_img=240, H=64, geom_enc=None, geom_bb=None):
    img = rng.integers(0, n_img, B)
    ident = np.arange(n_img) % 24
    loc = (np.arange(n_img) // 24) % 4
    cat = ident // 6
    lab = dict(location=loc[img], identity=ident[img], category=cat[img])
    def space(strength, Hd):
        codes = rng.normal(size=(n_img, Hd))
        codes[:, :4] += np.eye(4)[loc] * strength
        codes[:, 4:8] += np.eye(4)[cat] * strength
        codes[:, 8:32] += np.eye(24)[ident] * strength
        return codes[img]
    return img, lab, space


def test_equal_k_table_and_decodability_gate():
    rng = np.random.default_rng(3)
    img, lab, space = _cells_data(rng)
    feature = rng.integers(0, 3, img.size)
    n = rng.integers(1, 3, img.size)
    spaces = dict(backbone=space(4.0, 200), encoding=space(4.0, 64), noise=rng.normal(size=(img.size, 64)))
    tab = equal_k_orthogonality(spaces, lab, img, feature, n, k=32, n_null=10, seed=0, max_k_fraction=0.5)
    assert len(tab) == 3 * 6 * 3 and (tab["k"] == 32).all()
    good = tab[tab.space != "noise"]
    easy = good.property != "identity"                     # 24 identity classes, ~4 training images each
    assert good.loc[easy, "decodable"].mean() > 0.9 and good.loc[easy, "accuracy"].mean() > 0.6   # chance 0.25
    assert good.loc[~easy, "decodable"].mean() > 0.5
    noise = tab[tab.space == "noise"]
    assert not noise["decodable"].any()                    # gate: noise spaces are flagged, to be dropped
    assert (noise["O_minus_null"].abs() < 0.25).all()
    with pytest.raises(ConfigError, match="image_id"):
        equal_k_orthogonality(spaces, lab, img[:10], feature, n)


def test_k_near_distinct_images_erases_geometry_and_is_capped():
    """Whitening g distinct points in g - 1 components leaves no geometry: O equals its null whatever the code;
    equal_k_orthogonality caps k at a quarter of the distinct training images."""
    L, y = _latent(n=120, r=24)
    X = _embed(L, 200)
    m, comp, sc, _ = pca_fit(X, 119)
    Z = ((X - m) @ comp.T) / sc
    O = orthogonality_index(ls_normals(Z, (y[:, None] == np.arange(4)) * 1.0))
    assert O == pytest.approx(null_orthogonality_ls(Z, y, n_null=5).mean(), abs=1e-6)
    tab = equal_k_orthogonality({"x": X}, {"location": y}, np.arange(120), k=64, n_null=10,
                                properties=("location",))
    assert tab["k"].iloc[0] == int(tab["n_train_groups"].iloc[0] * 0.25)
    L, y = _latent(n=400, r=24)
    tab = equal_k_orthogonality({"x": _embed(L, 200)}, {"location": y}, np.arange(400), k=24, n_null=10,
                                properties=("location",))
    assert tab["k"].iloc[0] == 24
    assert tab["O_minus_null"].iloc[0] < -0.05                          # the planted non-simplex code is seen


def test_whitening_erases_a_strong_code_centroid_normals_keep_it():
    """A strongly coded, irregular 4-class geometry: on whitened components the class means become a regular
    simplex (O = its null), so the default does not whiten; centroid normals on the PCA scores keep it."""
    rng = np.random.default_rng(0)
    n = 800
    y = np.repeat(np.arange(4), n // 4)
    X = rng.normal(size=(n, 64))
    X[:, :3] += 10 * np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3], [2.5, 2.5, 0]])[y]
    kw = dict(k=16, n_null=10, properties=("location",), standardise_units=False)
    white = equal_k_orthogonality({"x": X}, {"location": y}, np.arange(n), whiten=True, **kw).iloc[0]
    plain = equal_k_orthogonality({"x": X}, {"location": y}, np.arange(n), **kw).iloc[0]
    assert white["accuracy"] == plain["accuracy"] == pytest.approx(1.0)
    assert white["O_normalised"] == pytest.approx(1.0, abs=0.01) and abs(white["O_minus_null"]) < 0.05
    # the geometry is kept (O below the simplex value) and tells apart from its null; here the null is even
    # lower (0.53: shuffled centroids crowd into the 3 high-variance directions), so O - O_null > 0
    assert plain["O_normalised"] < 0.85 and abs(plain["O_minus_null"]) > 0.1
