"""Planted tests for F8 (issue 9): the positive control moves a toy network whose readout is planted along a
known direction, a shift orthogonal to it does not, and the verdict rule returns each verdict it can."""
import numpy as np
import pandas as pd
import pytest

from wmnb.analysis.perturbation import (class_means, direction_vectors, perturbation_sweep, raw_decoder,
                                        substitution_control)
from wmnb.experiments.perturbation import rule_F8


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


def _summary(dec, cm, rnd, ctrl, seeds=(0, 1, 2), jitter=0.01):
    rows = []
    for s in seeds:
        j = jitter * (s - 1)
        for dname, v in (("decoder", dec), ("class_mean", cm), ("random", rnd)):
            v = v[s] if isinstance(v, (list, tuple)) else v
            rows.append(dict(seed=s, variant="one_step", task_feature="all", direction=dname, rel=0.0,
                             delta_match=0.0))
            rows.append(dict(seed=s, variant="one_step", task_feature="all", direction=dname, rel=1.5,
                             delta_match=v + j))
        rows.append(dict(seed=s, variant="one_step", task_feature="all", direction="substitution", rel=-1.0,
                         delta_match=ctrl + j))
    return pd.DataFrame(rows)


def test_rule_F8_every_verdict():
    assert rule_F8(_summary(-0.4, -0.35, -0.05, -0.5))["verdict"] == "holds"
    assert rule_F8(_summary(-0.05, -0.06, -0.05, -0.5))["verdict"] == "does not hold"   # no better than random
    assert rule_F8(_summary(-0.4, -0.05, -0.05, -0.5))["verdict"] == "mixed"           # one direction only
    r = rule_F8(_summary(-0.4, -0.35, -0.05, -0.01))                                   # control fails
    assert r["verdict"] == "inconclusive" and not r["control_pass"]
    noisy = _summary([-0.3, 0.0, -0.1], [-0.3, 0.0, -0.1], -0.05, -0.5)                 # straddles
    assert rule_F8(noisy)["verdict"] == "inconclusive"
    one = _summary(-0.4, -0.35, -0.05, -0.5, seeds=(0,)).assign(delta_match_ci_low=-0.6, delta_match_ci_high=-0.4)
    assert rule_F8(one)["verdict"] == "inconclusive"                                   # no interval across seeds
    assert rule_F8(one)["control_pass"]


@pytest.mark.parametrize("core", ["gru", "lstm"])
def test_encoding_time_propagation_reproduces_the_forward_pass(core):
    """The encoding-time variant re-runs N real steps from h_r: unperturbed, it must give the recorded P at t."""
    import torch

    from wmnb import pipeline
    from wmnb.experiments.perturbation import make_step_fn
    from wmnb.models import ModelConfig, build_model
    from wmnb.tasks import generate_trials

    w = pipeline.world(profile="smoke")
    torch.manual_seed(0)
    model = build_model(ModelConfig(core=core, hidden_size=24, embedding_dim=16, pca_channels=None,
                                    projection_channels=8), w.features.maps).eval()
    labels = {f: w.stimuli.labels(f) for f in ("location", "identity", "category")}
    tr = generate_trials(labels, w.stimuli.pool("train"), "MTMF", 2, seed=0, split="train")
    with torch.no_grad():
        fw = model(torch.as_tensor(tr.stimuli), torch.as_tensor(tr.task_vector), return_cells=True)
    hidden = fw.hidden.numpy()
    cell = None if fw.cell is None else fw.cell.numpy()
    probs = torch.softmax(fw.logits, -1).numpy()
    t, r = tr.stimuli.shape[1] - 1, 2
    fn = make_step_fn(model, tr.stimuli[:, r + 1: t + 1], tr.task_vector)
    rows = np.arange(len(tr.stimuli))
    p = fn(hidden[:, r], None if cell is None else cell[:, r], rows)
    np.testing.assert_allclose(p, probs[:, t], atol=1e-5)
    # batched with repeated rows (as perturbation_sweep does) gives the same answer per row
    p2 = fn(np.r_[hidden[:, r], hidden[:, r]], None if cell is None else np.r_[cell[:, r], cell[:, r]],
            np.r_[rows, rows])
    np.testing.assert_allclose(p2[len(rows):], probs[:, t], atol=1e-5)
