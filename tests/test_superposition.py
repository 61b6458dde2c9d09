"""Chapter 13 (temporal superposition): task, measures on hand-built matrices, planted training, rules."""
import numpy as np
import pandas as pd
import pytest
import torch

from wmnb.errors import ConfigError
from wmnb.superposition import claims as C
from wmnb.superposition import measures as M
from wmnb.superposition.bridge import age_directions, direction_table, whiten
from wmnb.superposition.model import StackConfig, StackedRNN, sample_items, train_stack
from wmnb.superposition.sweep import check_params, sweep_configs


# ------------------------------------------------------------------------------------------------ task
def test_sample_items_sparsity_and_range():
    g = torch.Generator().manual_seed(0)
    x = sample_items(torch.tensor([0.0, 0.9]), 4000, 2, 5, generator=g)
    assert x.shape == (2, 4000, 2, 5)
    active = (x > 0).float().mean(dim=(1, 2, 3))
    assert abs(active[0].item() - 1.0) < 1e-3 and abs(active[1].item() - 0.1) < 0.01
    assert x.min() >= 0 and x.max() <= 1
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(x, sample_items(torch.tensor([0.0, 0.9]), 4000, 2, 5, generator=g2))


def test_stack_masks_hidden_units_and_is_independent():
    g = torch.Generator().manual_seed(1)
    net = StackedRNN(2, 3, 5, "linear", generator=g, dims=[2, 5])
    x = torch.rand(2, 7, 2, 3)
    _, states = net(x, return_states=True)
    assert torch.all(states[0, :, :, 2:] == 0)            # network 0 has 2 units
    y0 = net(x)[1].clone()
    with torch.no_grad():
        net.W_in[0] += 1.0                                # changing net 0 leaves net 1 alone
    assert torch.equal(net(x)[1], y0)


def test_stack_config_validation():
    with pytest.raises(ConfigError):
        StackConfig(kind="gru")
    with pytest.raises(ConfigError):
        StackConfig(sparsities=(1.0,))
    with pytest.raises(ConfigError):
        check_params("quick", sparsities=(0.5,))
    with pytest.raises(ConfigError):
        check_params("bogus")
    p = check_params("smoke", n=3, k=2, d=2)
    cfgs = sweep_configs(p)
    assert 6 in cfgs[0].ds and cfgs[0].kind == "linear"   # the planted control d = n k is always there


# ------------------------------------------------------------------------------------------------ measures
def test_angles_on_hand_built_directions():
    D = np.array([[1.0, 0.0, -1.0, 1.0], [0.0, 2.0, 0.0, 1.0]])  # e1, 2 e2, -e1, e1+e2
    cos = M.pairwise_cosines(D)
    expect = [0, -1, 1 / np.sqrt(2), 0, 1 / np.sqrt(2), -1 / np.sqrt(2)]
    assert np.allclose(cos, expect)
    st = M.angle_stats(cos)
    assert st["n_pairs"] == 6 and st["frac_obtuse"] == pytest.approx(2 / 6)
    assert st["frac_orthogonal"] == pytest.approx(2 / 6) and st["frac_acute"] == pytest.approx(2 / 6)
    assert M.angle_stats(M.pairwise_cosines(np.eye(4)))["mean_angle"] == pytest.approx(90.0)
    keep = np.array([True, True, False, False])
    assert np.allclose(M.pairwise_cosines(D, keep), [0.0])
    assert np.isnan(M.angle_stats(np.array([]))["mean_cos"])


def test_spectral_radius_hand_built():
    assert M.spectral_radius(np.diag([0.5, -0.9, 0.2])) == pytest.approx(0.9)
    th = 0.3
    rot = 0.8 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    assert M.spectral_radius(rot) == pytest.approx(0.8)                  # complex pair
    assert M.spectral_radius(np.array([[0.0, 4.0], [0.0, 0.0]])) == pytest.approx(0.0)  # nilpotent: norm 4
    with pytest.raises(ConfigError):
        M.spectral_radius(np.ones((2, 3)))


def test_linear_lag_directions_and_fit_agree():
    rng = np.random.default_rng(0)
    W, W_in = 0.5 * rng.normal(size=(4, 4)), rng.normal(size=(4, 3))
    A = M.linear_lag_directions(W, W_in, [0, 1, 2])
    assert np.allclose(A[2], W @ W @ W_in) and np.allclose(A[0], W_in)
    items = rng.random((500, 3, 3))
    h = sum(items[:, s] @ A[2 - s].T for s in range(3))                # item s (0-based) at lag 2 - s
    assert np.allclose(M.fitted_lag_directions(h, items), A, atol=1e-8)


# ------------------------------------------------------------------------------------------------ planted training
@pytest.fixture(scope="module")
def planted():
    torch.manual_seed(0)
    cfg = StackConfig(kind="linear", n=3, k=2, ds=(6, 2), sparsities=(0.0,), seeds=(0,), steps=600, batch=256,
                      lr=0.02)
    trained = train_stack(cfg, device="cpu")
    return trained, *M.measure_stack(trained, batch=2048)


def test_planted_dense_full_capacity_recovers_all_orthogonal(planted):
    _, nets, hist = planted
    full = nets[nets["d"] == 6].iloc[0]
    assert full["frac_recovered"] == 1.0
    assert full["loss"] < 0.05                                  # relative to recalling nothing
    assert full["mean_abs_cos_all"] < C.PLANTED_MAX_ABS_COS     # near-orthogonal directions
    assert full["fit_error"] < 1e-3                             # fitted == W^j W_in for a linear net
    assert C.planted_control(nets)["passed"]
    # the control could fail: a net with d = 2 < n k = 6 cannot recover everything when dense
    small = nets[nets["d"] == 2].iloc[0]
    assert small["frac_recovered"] < 0.7 and small["loss"] > 0.3
    assert hist.groupby(["d"])["count"].sum().loc[6] == full["n_pairs"]


# ------------------------------------------------------------------------------------------------ bridge
def test_bridge_directions_planted():
    rng = np.random.default_rng(0)
    B, T, H = 400, 4, 16
    loc = rng.integers(0, 4, size=(B, T))
    cat = rng.integers(0, 4, size=(B, T))
    basis = np.linalg.qr(rng.normal(size=(H, H)))[0]
    hidden = np.zeros((B, T, H))
    for t in range(T):
        for a in range(min(t + 1, 2)):                           # ages 0 and 1, orthogonal codes
            hidden[:, t] += basis[:, a * 4 + loc[:, t - a]].T * 3 + basis[:, 8 + a * 4 + cat[:, t - a]].T * 3
    hidden += 0.1 * rng.normal(size=hidden.shape)
    dirs, names = age_directions(hidden, dict(location=loc, category=cat), ("location", "category"), (0, 1))
    assert dirs.shape == (H, 16) and len(names) == 16
    t = direction_table(hidden, dict(location=loc, category=cat), ages=(0, 1))
    assert t["reliability"] > 0.9 and t["mean_abs_cos"] < 0.15
    assert abs(t["temporal_mean_cos"]) < 0.15                    # ages held in orthogonal codes


def test_whitening_removes_anisotropy_from_the_null():
    rng = np.random.default_rng(1)
    B, T, H = 600, 4, 20
    scales = np.r_[10.0, 10.0, np.full(H - 2, 0.5)]                # two dominant dimensions
    hidden = rng.normal(size=(B, T, H)) * scales
    z = whiten(hidden)
    assert np.allclose(z.reshape(-1, z.shape[-1]).var(axis=0), 1.0, atol=1e-6)
    labels = dict(location=rng.integers(0, 4, (B, T)), category=rng.integers(0, 4, (B, T)))
    raw = direction_table(hidden, labels, ages=(0, 1), whitened=False)
    white = direction_table(hidden, labels, ages=(0, 1))
    assert raw["null_mean_abs_cos"] > 0.3                          # codeless directions look aligned raw
    assert white["null_mean_abs_cos"] < 0.25 and white["raw_null_mean_abs_cos"] == raw["null_mean_abs_cos"]


def _nback_like(rng, B=600, T=6, H=48, p_match=0.5, lag=2):
    """Labels like an N-back recording (4 locations, 4 categories; the category at t repeats the one at
    t - lag with probability p_match) and anisotropic noise states."""
    loc = rng.integers(0, 4, size=(B, T))
    cat = rng.integers(0, 4, size=(B, T))
    for t in range(lag, T):
        rep = rng.random(B) < p_match
        cat[rep, t] = cat[rep, t - lag]
    scales = np.linspace(3.0, 0.3, H)
    return rng.normal(size=(B, T, H)) * scales, dict(location=loc, category=cat)


def test_planted_hidden_plants_the_geometry_it_says():
    from wmnb.superposition.bridge import planted_hidden, property_design

    rng = np.random.default_rng(2)
    noise, labels = _nback_like(rng)
    # give the "network" a real linear code so that the labels explain part of its variance
    X, names = property_design(labels, 6, ("location", "category"), (0, 1, 2, 3))
    hidden = noise + 2.0 * X @ rng.normal(size=(X.shape[-1], 48)) / np.sqrt(48)
    for c in (0.0, 0.6):
        z, frac = planted_hidden(hidden, labels, c, seed=3)
        assert z.shape == hidden.shape and 0.05 < frac < 0.95
        t = direction_table(z, labels, whitened=False)             # raw space: the planted cosine itself
        assert t["temporal_mean_cos"] == pytest.approx(c, abs=0.2)
    with pytest.raises(ConfigError):
        planted_hidden(hidden, labels, 1.0)
    with pytest.raises(ConfigError):
        planted_hidden(hidden[..., :8], labels, 0.5)              # too few units for 40 orthogonal codes


def test_planted_controls_positive_reads_above_negative_below():
    """The bridge pipeline without whitening can see planted temporal superposition in its temporal pairs;
    whitening by the total covariance largely removes it (why T3's positive control exists)."""
    from wmnb.superposition.bridge import planted_controls

    rng = np.random.default_rng(4)
    noise, labels = _nback_like(rng, B=800)
    from wmnb.superposition.bridge import property_design
    X, _ = property_design(labels, 6, ("location", "category"), (0, 1, 2, 3))
    hidden = noise + 2.0 * X @ rng.normal(size=(X.shape[-1], 48)) / np.sqrt(48)
    raw = planted_controls(hidden, labels, seed=0, whitened=False)
    assert raw["pos_temporal_mean_cos"] > raw["orth_temporal_mean_cos"] + 0.3
    assert abs(raw["pos_temporal_mean_cos"] - raw["planted_cos"]) < 0.25
    assert raw["pos_mean_abs_cos"] > raw["orth_mean_abs_cos"]
    white = planted_controls(hidden, labels, seed=0)
    assert white["pos_temporal_mean_cos"] < raw["pos_temporal_mean_cos"]          # whitening shrinks it
    # low-noise limit: whitening by the total covariance maps linearly independent codes onto orthogonal
    # directions (Sigma^-1/2 U C^-1/2), so the planted superposition all but vanishes from the whitened reading
    clean = noise * 0.01 + 2.0 * X @ rng.normal(size=(X.shape[-1], 48)) / np.sqrt(48)
    lown = planted_controls(clean, labels, seed=0)
    assert lown["signal_fraction"] > 0.99 and lown["pos_temporal_mean_cos"] < 0.2
    assert planted_controls(clean, labels, seed=0, whitened=False)["pos_temporal_mean_cos"] > 0.5


def test_residual_whitener_hand_built():
    from wmnb.superposition.bridge import residual_whitener

    rng = np.random.default_rng(5)
    resid = rng.normal(size=(20000, 3)) * np.array([4.0, 1.0, 0.25])
    S = resid.T @ resid / len(resid)
    M = residual_whitener(S, ridge=0.0)
    assert np.allclose(M.T @ S @ M, np.eye(3), atol=1e-8)              # whitened noise is isotropic
    lam = np.linalg.eigvalsh(M.T @ S @ M)
    shrunk = np.linalg.eigvalsh(residual_whitener(S, ridge=0.1).T @ S @ residual_whitener(S, ridge=0.1))
    assert shrunk.max() < 1 and shrunk.min() < lam.min() - 0.1            # shrinkage damps the weak directions most
    d = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    U = residual_whitener(S, ridge=1e9).T @ d                         # ridge -> inf: the raw geometry
    assert abs(U[:, 0] @ U[:, 1]) < 1e-9
    with pytest.raises(ConfigError):
        residual_whitener(S, ridge=-1.0)


def test_partial_directions_match_lstsq_and_whiten_matches_svd():
    from wmnb.superposition.bridge import partial_directions, property_design

    rng = np.random.default_rng(8)
    noise, labels = _nback_like(rng, B=300)
    X, _ = property_design(labels, 6, ("location", "category"), (0, 1, 2, 3))
    hidden = noise + X @ rng.normal(size=(X.shape[-1], 48))
    dirs, cov, names = partial_directions(hidden, labels)
    h = (hidden - hidden.mean(axis=0, keepdims=True)).reshape(-1, 48)
    Xc = (X - X.mean(axis=0, keepdims=True)).reshape(-1, X.shape[-1])
    coef = np.linalg.lstsq(Xc, h, rcond=None)[0]                      # the slow reference: minimum norm
    resid = h - Xc @ coef
    assert np.allclose(dirs, coef.T, atol=1e-8) and np.allclose(cov, resid.T @ resid / len(h), atol=1e-8)
    assert dirs.shape == (48, len(names)) and partial_directions(hidden, labels, residual=False)[1] is None
    # whiten (eigen-decomposition of the second moments) = the SVD projection, up to each component's sign
    z = whiten(hidden)
    z = z.reshape(-1, z.shape[-1])
    _, sv, vt = np.linalg.svd(h, full_matrices=False)
    ref = h @ vt[: z.shape[1]].T / (sv[: z.shape[1]] / np.sqrt(len(h)))
    assert np.allclose(np.abs(z), np.abs(ref), atol=1e-6)


def test_temporal_overlap_reads_the_planted_cosine():
    """T3's measure reads what is planted (0 and 0.6), where class-mean directions read the N-back label
    correlations as overlap."""
    from wmnb.superposition.bridge import planted_hidden, property_design, temporal_overlap

    rng = np.random.default_rng(6)
    noise, labels = _nback_like(rng, B=800, p_match=0.5, lag=1)
    X, _ = property_design(labels, 6, ("location", "category"), (0, 1, 2, 3))
    hidden = noise + 2.0 * X @ rng.normal(size=(X.shape[-1], 48)) / np.sqrt(48)
    read = {}
    for c in (0.0, 0.6):
        z, _ = planted_hidden(hidden, labels, c, seed=7)
        o = temporal_overlap(z, labels, seed=0)
        assert o["temporal_cos"] == pytest.approx(c, abs=0.06)
        assert o["temporal_reliability"] > 0.8 and o["n_temporal_pairs"] == 48
        read[c] = (o, direction_table(z, labels, whitened=False))
    assert read[0.6][0]["temporal_cos"] - read[0.0][0]["temporal_cos"] > 0.5
    # control of the claim above: class-mean directions let the 1-back matches leak across ages (their
    # orthogonal plant reads above 0; total-covariance whitening: test_planted_controls_positive_reads_...)
    assert read[0.0][1]["temporal_mean_cos"] > read[0.0][0]["temporal_cos"] + 0.05
    # the permutation null is computed and is pure noise here (no code): near 0, far below the plant at 0.6
    assert abs(read[0.0][0]["temporal_null"]) < 0.2


# ------------------------------------------------------------------------------------------------ rules
def test_transition_point():
    i, jump, sharp = C.transition_point([0, .5, .9, .99], [0.0, 0.02, 0.5, 0.52])
    assert i == 1 and jump == pytest.approx(0.48) and sharp == pytest.approx(0.48 / 0.52)
    assert C.transition_point([0.9, 0.0], [1.0, 0.0])[1] == pytest.approx(1.0)   # sorted by S


def test_rule_t1_every_verdict():
    dense, sparse = [0.0, 0.02, 0.01], [0.5, 0.45, 0.55]
    assert C.rule_t1(dense, sparse, 0.9)[0] == "holds"
    assert C.rule_t1(sparse, dense, 0.9)[0] == "holds"                 # a drop is a change too
    assert C.rule_t1(dense, [0.01, 0.03, 0.02], 0.9)[0] == "does not hold"
    assert C.rule_t1(dense, [0.5, 0.0, 0.1], 0.9)[0] == "inconclusive"
    assert C.rule_t1(dense, sparse, 0.2)[0] == "mixed"                  # a change, but gradual
    assert C.rule_t1(dense, sparse, 0.9, controls_pass=False)[0] == "inconclusive"
    assert C.rule_t1([0.0], [0.5], 0.9)[0] == "inconclusive"            # one seed: no interval


def test_rule_t2_every_verdict():
    assert C.rule_t2([1.0, 0.98, 1.01], [0.7, 0.75, 0.72], t1_verdict="holds")[0] == "holds"
    assert C.rule_t2([0.7, 0.75, 0.72], [1.0, 0.98, 1.01], t1_verdict="holds")[0] == "does not hold"
    assert C.rule_t2([1.0, 0.7, 0.9], [0.8, 0.9, 0.85], t1_verdict="holds")[0] == "inconclusive"
    assert C.rule_t2([1.0, 0.98, 1.01], [0.7, 0.75, 0.72], t1_verdict="does not hold")[0] == "inconclusive"
    assert C.rule_t2([1.0, 0.98, 1.01], [0.7, 0.75, 0.72], t1_verdict="mixed")[0] == "holds"


def _t3_kw(n=6, seed=0, **kw):
    """Keyword arguments of rule_t3 for n networks whose controls pass (plants at 0 and 0.6, small spread)."""
    rng = np.random.default_rng(seed)
    out = dict(reliability=[0.9] * n, planted_passed=True, planted_cos=0.6,
               orthogonal=0.005 * rng.standard_normal(n), superposed=0.6 + 0.005 * rng.standard_normal(n))
    out.update(kw)
    return out


def test_rule_t3_every_verdict():
    rng = np.random.default_rng(1)
    near0 = 0.01 + 0.005 * rng.standard_normal(6)                        # network like its orthogonal plant
    far = 0.3 + 0.01 * rng.standard_normal(6)                            # clearly superposed
    kw = _t3_kw()
    v, (m, lo, hi), ctrl = C.rule_t3(near0, **kw)
    assert v == "holds" and hi < C.T3_TOLERANCE and ctrl["positive_recovered"] and ctrl["separated"]
    v, (m, lo, hi), ctrl = C.rule_t3(far, **kw)
    assert v == "does not hold" and lo > C.T3_TOLERANCE
    assert ctrl["position"][0] == pytest.approx(0.3, abs=0.02)            # reads like a plant at c = 0.3
    assert C.rule_t3(np.r_[near0[:3], far[:3]], **kw)[0] == "inconclusive"   # straddles, no cores given
    assert C.rule_t3(near0[:1], **_t3_kw(1))[0] == "inconclusive"           # one network: no interval
    # the architectures disagree: one core holds, another does not -> mixed
    cores = ["rnn"] * 3 + ["gru"] * 3
    v, _, ctrl = C.rule_t3(np.r_[near0[:3], far[:3]], cores=cores, **kw)
    assert v == "mixed" and ctrl["cores_disagree"]
    assert ctrl["per_core"]["rnn"]["verdict"] == "holds" and ctrl["per_core"]["gru"]["verdict"] == "does not hold"
    # signed mean near 0 but |cos| far above the orthogonal plant's: opposite-signed overlaps cancel -> mixed
    v, _, ctrl = C.rule_t3(near0, abs_values=far, orthogonal_abs=np.full(6, 0.02), **kw)
    assert v == "mixed" and ctrl["signs_disagree"]
    assert C.rule_t3(near0, abs_values=near0 + 0.01, orthogonal_abs=np.full(6, 0.02), **kw)[0] == "holds"


def test_rule_t3_controls_fail_to_inconclusive():
    near0 = np.full(6, 0.01) + np.linspace(-0.004, 0.004, 6)
    far = np.full(6, 0.3) + np.linspace(-0.01, 0.01, 6)
    assert C.rule_t3(near0, **_t3_kw())[0] == "holds" and C.rule_t3(far, **_t3_kw())[0] == "does not hold"
    for vals in (near0, far):
        assert C.rule_t3(vals, **_t3_kw(reliability=[0.2] * 6))[0] == "inconclusive"      # unreliable
        assert C.rule_t3(vals, **_t3_kw(planted_passed=False))[0] == "inconclusive"       # toy control
        # positive control blind (the total-covariance measure read 0.035 for c = 0.6)
        v, _, ctrl = C.rule_t3(vals, **_t3_kw(superposed=np.full(6, 0.035)))
        assert v == "inconclusive" and not ctrl["positive_recovered"] and not ctrl["separated"]
        # positive control inflated beyond its tolerance (e.g. label correlations leaking into it)
        v, _, ctrl = C.rule_t3(vals, **_t3_kw(superposed=np.full(6, 0.8) + np.linspace(0, 0.01, 6)))
        assert v == "inconclusive" and not ctrl["positive_recovered"] and ctrl["separated"]
        # right on average but the plants are not separated with their interval over networks
        v, _, ctrl = C.rule_t3(vals, **_t3_kw(n=6, superposed=np.array([0.0, 1.2, 0.0, 1.2, 0.0, 1.2])))
        assert v == "inconclusive" and ctrl["positive_recovered"] and not ctrl["separated"]
        # the plants scatter more than the tolerance can resolve (3 SD >= tolerance)
        v, _, ctrl = C.rule_t3(vals, **_t3_kw(orthogonal=np.linspace(-0.03, 0.03, 6)))
        assert v == "inconclusive" and not ctrl["resolved"] and ctrl["positive_recovered"] and ctrl["separated"]
        # a missing value is a failure, not a pass
        assert C.rule_t3(vals, **_t3_kw(superposed=np.r_[np.nan, np.full(5, 0.6)]))[0] == "inconclusive"
    with pytest.raises(ConfigError):
        C.rule_t3(near0, **_t3_kw(n=5))


def test_chance_abs_cos():
    assert C.chance_abs_cos(2) == pytest.approx(2 / np.pi)
    assert C.chance_abs_cos(100) == pytest.approx(np.sqrt(2 / (np.pi * 100)), rel=0.01)
    rng = np.random.default_rng(0)
    u = rng.normal(size=(4000, 30))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    emp = np.abs((u[:2000] * u[2000:]).sum(1)).mean()
    assert emp == pytest.approx(C.chance_abs_cos(30), abs=0.01)
    with pytest.raises(ConfigError):
        C.chance_abs_cos(1)


def test_claims_on_planted_sweep_table():
    rows = []
    for seed in (0, 1, 2):
        for s, stat, rho in ((0.0, 0.02, 1.0), (0.5, 0.03, 0.99), (0.9, 0.4, 0.8), (0.98, 0.42, 0.78)):
            rows.append(dict(kind="linear", n=3, k=2, d=3, sparsity=s, seed=seed, spectral_radius=rho + 0.01 * seed,
                             frac_recovered=0.5, mean_abs_cos_all=0.3, **{C.STATISTIC: stat + 0.01 * seed}))
        rows.append(dict(kind="linear", n=3, k=2, d=6, sparsity=0.0, seed=seed, spectral_radius=1.0,
                         frac_recovered=1.0, mean_abs_cos_all=0.05, **{C.STATISTIC: 0.0}))
    table = pd.DataFrame(rows)
    t1 = C.claim_t1(table, 3)
    assert t1["verdict"] == "holds" and t1["details"]["transition_between"] == (0.5, 0.9)
    t2 = C.claim_t2(table, 3, t1)
    assert t2["verdict"] == "holds" and t2["value"] == pytest.approx(0.2, abs=0.02)
    rng = np.random.default_rng(0)
    n6 = 6
    nb = pd.DataFrame(dict(core=["rnn", "gru", "lstm"] * 2, seed=[0, 0, 0, 1, 1, 1], planted_cos=[0.6] * n6,
                           temporal_cos=0.01 + 0.005 * rng.standard_normal(n6), temporal_abs_cos=[0.03] * n6,
                           orth_temporal_cos=0.004 * rng.standard_normal(n6), orth_temporal_abs_cos=[0.02] * n6,
                           pos_temporal_cos=0.6 + 0.004 * rng.standard_normal(n6),
                           temporal_reliability=[0.9] * n6, temporal_null=[0.05] * n6, n_temporal_pairs=[48] * n6,
                           temporal_gap1=[0.02] * n6, temporal_gap2=[0.01] * n6, temporal_gap3=[0.0] * n6,
                           mean_abs_cos=[0.1] * n6, pos_mean_abs_cos=[0.035] * n6, orth_mean_abs_cos=[0.02] * n6))
    t3 = C.claim_t3(table, nb)
    assert t3["verdict"] == "holds" and len(t3["details"]["per_seed"]) == n6
    assert set(t3["details"]["per_core"]) == {"rnn", "gru", "lstm"}
    assert "positive control" in t3["controls"] and "FAILED" not in t3["controls"]
    assert C.claim_t3(table, nb.assign(temporal_cos=nb["temporal_cos"] + 0.3))["verdict"] == "does not hold"
    blind = nb.assign(pos_temporal_cos=0.035)                          # the positive control fails
    t3b = C.claim_t3(table, blind)
    assert t3b["verdict"] == "inconclusive" and "FAILED" in t3b["controls"]
    broken = table.copy()
    broken.loc[broken["d"] == 6, "frac_recovered"] = 0.5                # planted control fails
    assert C.claim_t1(broken, 3)["verdict"] == "inconclusive"
    assert C.claim_t3(broken, nb)["verdict"] == "inconclusive"
