"""Perturbation along a decoder normal through a recurrent step: known linear and torch cases; and the planted
F8 tests (issue 9): the positive control moves a toy network whose readout is planted along a known direction,
a shift orthogonal to it does not."""
import numpy as np
import pytest
import torch

from wmnb.analysis.decoding import fit_decoder
from wmnb.analysis.perturbation import (class_means, direction_vectors, perturb_along_normal, perturbation_sweep,
                                        raw_decoder, substitution_control)
from wmnb.errors import ConfigError


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def test_linear_step_moves_as_predicted():
    rng = np.random.default_rng(0)
    B, H = 50, 6
    A = rng.normal(size=(H, H)) * 0.5
    Wout = rng.normal(size=(3, H))

    def step(h, x):
        hn = h @ A.T + x
        return hn, _softmax(hn @ Wout.T)

    h = rng.normal(size=(B, H))
    x = rng.normal(size=(B, H))
    # direction that lowers the match logit and raises the no_action logit through the recurrence
    target = np.array([1.0, 0.0, -1.0])
    u = np.linalg.lstsq(Wout @ A, target, rcond=None)[0]
    tab = perturb_along_normal(step, h, x, u, magnitudes=[-1, 1, 3])
    assert list(tab["magnitude"]) == [-1, 0, 1, 3]  # d = 0 added
    z = tab.set_index("magnitude")
    assert z.loc[0, "delta_match"] == 0 and z.loc[0, "delta_no_action"] == 0
    assert z.loc[3, "p_match"] < z.loc[1, "p_match"] < z.loc[0, "p_match"] < z.loc[-1, "p_match"]
    assert z.loc[3, "p_no_action"] > z.loc[0, "p_no_action"]
    uu = u / np.linalg.norm(u)
    expected = _softmax((h + 3 * uu) @ A.T @ Wout.T + x @ Wout.T)[:, 2].mean()
    assert z.loc[3, "p_match"] == pytest.approx(expected, rel=1e-5)
    assert z.loc[3, "shift_norm"] == pytest.approx(3.0)


def test_torch_rnncell_with_decoder_normal():
    torch.manual_seed(0)
    H, D, B = 16, 5, 40
    cell = torch.nn.RNNCell(D, H)
    readout = torch.nn.Linear(H, 3)

    @torch.no_grad()
    def step(h, x):
        hn = cell(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(h))
        return hn, torch.softmax(readout(hn), dim=-1)

    rng = np.random.default_rng(1)
    h = rng.normal(size=(B, H)).astype(np.float32)
    x = rng.normal(size=(B, D)).astype(np.float32)
    y = (h[:, 0] > 0).astype(int)
    normal = fit_decoder(h, y).normals("raw")[1]
    tab = perturb_along_normal(step, h, x, normal, magnitudes=np.linspace(-2, 2, 5), units="sd")
    base = step(h, x)[1].numpy().mean(0)
    z = tab.set_index("magnitude")
    assert np.allclose([z.loc[0, "p_no_action"], z.loc[0, "p_non_match"], z.loc[0, "p_match"]], base, atol=1e-6)
    assert np.allclose(tab[["p_no_action", "p_non_match", "p_match"]].sum(axis=1), 1, atol=1e-5)
    assert (tab.loc[tab.magnitude != 0, "shift_norm"] > 0).all()


def test_bad_shapes():
    with pytest.raises(ConfigError):
        perturb_along_normal(lambda h, x: (h, np.ones((2, 3)) / 3), np.zeros((2, 4)), None, np.zeros(4))
    with pytest.raises(ConfigError):
        perturb_along_normal(lambda h, x: (h, np.ones((2, 2))), np.zeros((2, 4)), None, np.ones(4))


def toy(H=16, B=200, seed=0):
    """States h = code[value] + noise; the network answers match iff h . u > 0 (u planted)."""
    rng = np.random.default_rng(seed)
    u = np.zeros(H)
    u[0] = 1.0
    codes = np.zeros((2, H))
    codes[0, 0], codes[1, 0] = 2.0, -2.0               # value 0: match side; value 1: the other side
    codes[:, 1:] = rng.normal(size=(2, H - 1))
    y = rng.integers(0, 2, size=B)
    h = codes[y] + rng.normal(size=(B, H)) * 0.3

    def step_fn(hh, cc, rows):
        z = 4.0 * np.asarray(hh, float) @ u
        logits = np.stack([np.zeros_like(z), -z, z], 1)   # no_action, non_match, match
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    return dict(h=h, y=y, u=u, step_fn=step_fn, rng=rng)


def test_positive_control_moves_the_planted_readout():
    d = toy()
    trials = np.flatnonzero(d["y"] == 0)
    donors = d["rng"].choice(np.flatnonzero(d["y"] == 1), size=trials.size)
    ctrl = substitution_control(d["step_fn"], d["h"][trials], d["h"][donors])
    assert ctrl["delta_match"] < -0.5 and ctrl["delta_match_ci_high"] < 0
    # a substitution by a trial with the same value does not move it
    same = d["rng"].choice(trials, size=trials.size)
    assert abs(substitution_control(d["step_fn"], d["h"][trials], d["h"][same])["delta_match"]) < 0.05


def test_planted_direction_moves_and_orthogonal_shift_does_not():
    d = toy()
    h, y = d["h"], d["y"]
    trials = np.flatnonzero(y == 0)
    target = np.ones(trials.size, int)
    cls, means = class_means(h, y)
    cls_d, W = raw_decoder(h, y)
    ortho = np.zeros((trials.size, h.shape[1]))
    ortho[:, 1] = 1.0                                   # orthogonal to the planted readout u
    dirs = {"class_mean": direction_vectors("class_mean", y[trials], target, classes=cls, vectors=means),
            "decoder": direction_vectors("decoder", y[trials], target, classes=cls_d, vectors=W),
            "orthogonal": ortho}
    tab = perturbation_sweep(d["step_fn"], h[trials], dirs, [0.5, 1.0, 2.0], center=h.mean(0)).set_index(
        ["direction", "rel"])
    assert tab.loc[("class_mean", 2.0), "delta_match"] < -0.5
    assert tab.loc[("decoder", 2.0), "delta_match"] < -0.5
    assert abs(tab.loc[("orthogonal", 2.0), "delta_match"]) < 1e-9
    assert tab.loc[("class_mean", 0.0), "delta_match"] == 0
    # magnitudes are absolute: shift_norm = rel x mean ||h - center||
    dist = np.linalg.norm(h[trials] - h.mean(0), axis=1).mean()
    assert tab.loc[("orthogonal", 1.0), "shift_norm"] == pytest.approx(dist)
