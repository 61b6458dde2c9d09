"""Experiments on trained runs for chapters 8-10: end to end at profile="smoke", claim rules, causal step.

Smoke numbers are meaningless; these tests check plumbing (columns, caching, seeds), the explicit verdict
rules on hand-made tables, and that the perturbation's re-run step at d = 0 reproduces the recording.
"""
import numpy as np
import pandas as pd
import pytest

from wmnb import pipeline
from wmnb.experiments import dynamics as dyn
from wmnb.experiments import perturbation as prt
from wmnb.experiments import procrustes as prc


@pytest.fixture(scope="module")
def world():
    return pipeline.world(profile="smoke")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


# ---------------------------------------------------------------------------------------------------------
# end to end at smoke
# ---------------------------------------------------------------------------------------------------------
def test_cross_time_and_transfer_smoke(world, cache):
    ct = dyn.cross_time(world, "MTMF", "gru", features=("location",), positions=(0,), cache_dir=cache)
    assert ct.seeds == (0,)
    for c in ["seed", "property", "task_feature", "n", "stim", "step", "age", "kind", "executive", "accuracy",
              "ci_low", "ci_high", "chance", "n_train", "n_test"]:
        assert c in ct.per_seed.columns
    assert set(ct.per_seed["task_feature"]) == {"location"} and set(ct.per_seed["property"]) == {"location"}
    assert set(ct.per_seed["n"]) == {1, 2, 3} and (ct.per_seed["stim"] == 0).all()
    assert ct.per_seed["executive"].dtype == bool
    for c in ["seed", "validation", "executive", "non_executive", "chance"]:
        assert c in ct.summary.columns
    assert {"validation_mean", "executive_ci_low", "n_seeds"} <= set(ct.aggregated.columns)
    assert {"accuracy_mean", "ci_low_mean"} <= set(ct.extra["curves"].columns)
    assert set(ct.runs.columns) >= {"seed", "run_key", "acc_train", "acc_novel_angle"}
    # cached: the second call reads the same table back
    again = dyn.cross_time(world, "MTMF", "gru", features=("location",), positions=(0,), cache_dir=cache)
    pd.testing.assert_frame_equal(again.per_seed, ct.per_seed)

    tr = dyn.encoding_transfer(world, "MTMF", "gru", features=("category",), cache_dir=cache)
    for c in ["seed", "property", "task_feature", "n", "train_stim", "test_stim", "same", "accuracy", "chance"]:
        assert c in tr.per_seed.columns
    assert (tr.per_seed["n"] == 0).all()      # N pooled
    T = int(tr.per_seed["train_stim"].max()) + 1
    assert len(tr.per_seed) == T * T
    assert {"validation", "generalisation", "gap"} <= set(tr.summary.columns)
    hyp = dyn.hypotheses(ct, tr)
    assert {"H1 slot", "F4 executive realignment", "F5 shared encoding"} <= set(hyp["test"])


def test_swap_tests_smoke(world, cache):
    sw = prc.swap_tests(world, "MTMF", "gru", features=("location",), n_back=(2,), cache_dir=cache)
    for c in ["seed", "property", "task_feature", "n", "stim", "step_from", "step_to", "swap", "accuracy",
              "chance", "disparity", "scale"]:
        assert c in sw.per_seed.columns
    assert set(sw.per_seed["n"]) == {2}
    assert {"fitted", "correct", "none", "other_stimulus_same_age",
            "same_stimulus_other_interval"} <= set(sw.per_seed["swap"])
    assert {"correct", "other_stimulus_same_age", "same_stimulus_other_interval"} <= set(sw.summary.columns)
    rec = sw.extra["reconstruction"]
    assert {"fitted_accuracy", "reconstructed_accuracy", "no_rotation_accuracy", "transition"} <= set(rec.columns)
    for claim in (prc.claim_F6(sw), prc.claim_F7(sw)):
        assert claim["verdict"] in dyn.VERDICTS
        assert set(claim) == {"claim", "statement", "value", "ci_low", "ci_high", "paper", "verdict", "details",
                                  "protocol", "controls"}


def test_perturbation_smoke_reproduces_recording_at_zero(world, cache):
    pt = prt.perturbation(world, "MTMF", "gru", features=("location",), magnitudes=(0.0, 1.0, 2.0),
                          require_correct=False, cache_dir=cache)
    tab = pt.per_seed
    for c in ["seed", "task_feature", "n", "direction", "magnitude", "n_trials", "p_match", "p_match_ci_low",
              "p_no_action", "delta_match", "delta_match_ci_high", "frac_crossed", "d0_max_abs_diff"]:
        assert c in tab.columns
    assert set(tab["direction"]) == {"decoder", "random"}
    assert (tab["d0_max_abs_diff"] < 1e-5).all()
    z = tab[tab["magnitude"] == 0.0]
    assert np.allclose(z["delta_match"], 0) and np.allclose(z["delta_no_action"], 0)
    # pooled rows: probabilities sum to one
    s = pt.summary
    assert (s["task_feature"] == "all").all()
    assert np.allclose(s[["p_match", "p_non_match", "p_no_action"]].sum(axis=1), 1, atol=1e-5)
    claim = prt.claim_F8(pt)
    assert claim["verdict"] in dyn.VERDICTS and claim["claim"] == "F8"


def test_step_at_zero_matches_recorded_probs(world):
    run = pipeline.trained_run(world, "MTMF", "gru", seed=0, progress=False)
    rec = dyn.get_recording(world, run)
    model = run.model()
    t = rec.hidden.shape[1] - 1
    rows = np.arange(20)
    dirs = np.random.default_rng(0).normal(size=(rows.size, rec.hidden.shape[2]))
    out = prt.perturb_cell(model, rec.hidden[rows, t - 1], rec.stimuli[rows, t], rec.task_vector[rows], dirs,
                           [0.0, 0.5])
    np.testing.assert_allclose(out["probs"][0.0], rec.probs[rows, t], atol=1e-5)
    assert not np.allclose(out["probs"][0.5], out["probs"][0.0])


def test_step_at_zero_lstm_keeps_cell_state(world):
    """LSTM: the re-run step needs the recorded cell state; an untrained model suffices (no training here)."""
    import torch

    from wmnb.models import ModelConfig, build_model
    from wmnb.tasks import generate_trials

    torch.manual_seed(0)
    model = build_model(ModelConfig(core="lstm", hidden_size=32, embedding_dim=16, pca_channels=None,
                                    projection_channels=8), world.features.maps).eval()
    labels = {f: world.stimuli.labels(f) for f in ("location", "identity", "category")}
    tr = generate_trials(labels, world.stimuli.pool("train"), "MTMF", 3, seed=0, split="train")
    with torch.no_grad():
        fw = model(torch.as_tensor(tr.stimuli), torch.as_tensor(tr.task_vector), return_cells=True)
    hidden, cell = fw.hidden.numpy(), fw.cell.numpy()
    probs = torch.softmax(fw.logits, -1).numpy()
    t = tr.stimuli.shape[1] - 1
    dirs = np.ones((len(tr.stimuli), 32))
    out = prt.perturb_cell(model, hidden[:, t - 1], tr.stimuli[:, t], tr.task_vector, dirs, [0.0, 1.0],
                           c_prev=cell[:, t - 1])
    np.testing.assert_allclose(out["probs"][0.0], probs[:, t], atol=1e-5)
    with pytest.raises(Exception):
        prt.perturb_cell(model, hidden[:, t - 1], tr.stimuli[:, t], tr.task_vector, dirs, [0.0])


# ---------------------------------------------------------------------------------------------------------
# verdict rules on hand-made tables
# ---------------------------------------------------------------------------------------------------------
def _ct(seed_rows):
    return pd.DataFrame([dict(seed=s, validation=v, executive=e, non_executive=m, chance=0.25)
                         for s, v, e, m in seed_rows])


def test_claim_F4_rules():
    holds = _ct([(0, 0.9, 0.6, 0.4), (1, 0.92, 0.62, 0.41), (2, 0.88, 0.58, 0.39)])
    assert dyn.claim_F4(holds)["verdict"] == "holds"
    c = dyn.claim_F4(holds)
    assert c["value"] == pytest.approx(0.2, abs=1e-9) and c["ci_low"] < 0.2 < c["ci_high"]
    no_exec = _ct([(0, 0.9, 0.4, 0.4), (1, 0.9, 0.41, 0.4)])          # H1 rejected, no realignment
    assert dyn.claim_F4(no_exec)["verdict"] == "mixed"
    slot = _ct([(0, 0.9, 0.88, 0.87), (1, 0.9, 0.89, 0.88)])          # a stable slot: neither
    assert dyn.claim_F4(slot)["verdict"] == "does not hold"
    single = _ct([(0, 0.9, 0.6, 0.4)])
    c1 = dyn.claim_F4(single)
    assert c1["verdict"] == "holds" and np.isnan(c1["ci_low"])


def test_claim_F5_rules():
    def tab(gaps, val=0.8):
        return pd.DataFrame([dict(seed=s, validation=val, generalisation=val - g, chance=0.25)
                             for s, g in enumerate(gaps)])
    assert dyn.claim_F5(tab([0.02, 0.05, 0.0]))["verdict"] == "holds"
    assert dyn.claim_F5(tab([0.4, 0.5, 0.45]))["verdict"] == "does not hold"
    assert dyn.claim_F5(tab([0.05, 0.3, 0.05]))["verdict"] == "mixed"     # mean 0.13 > margin, 2/3 cells within
    assert dyn.claim_F5(tab([0.0, 0.0], val=0.3))["verdict"] == "mixed"    # uninformative: validation ~ chance


def test_claim_F6_rules():
    def tab(fitted, recon, chance=0.25):
        return pd.DataFrame([dict(seed=s, fitted_accuracy=f, reconstructed_accuracy=r, no_rotation_accuracy=0.3,
                                  chance=chance, disparity=0.01) for s, (f, r) in enumerate(zip(fitted, recon))])
    assert prc.claim_F6(tab([0.8, 0.82], [0.78, 0.8]))["verdict"] == "holds"
    assert prc.claim_F6(tab([0.8, 0.8], [0.4, 0.45]))["verdict"] == "does not hold"
    assert prc.claim_F6(tab([0.8, 0.8], [0.65, 0.66]))["verdict"] == "mixed"
    assert prc.claim_F6(tab([0.3, 0.3], [0.3, 0.3]))["verdict"] == "mixed"     # fitted at chance: uninformative


def test_claim_F7_rules():
    def tab(rows):
        return pd.DataFrame([dict(seed=s, correct=c, other_stimulus_same_age=a, same_stimulus_other_interval=o,
                                  chance=0.25) for s, (c, a, o) in enumerate(rows)])
    assert prc.claim_F7(tab([(0.8, 0.75, 0.4), (0.8, 0.77, 0.45)]))["verdict"] == "holds"
    assert prc.claim_F7(tab([(0.8, 0.4, 0.5), (0.8, 0.42, 0.5)]))["verdict"] == "does not hold"
    assert prc.claim_F7(tab([(0.8, 0.5, 0.3), (0.8, 0.52, 0.3)]))["verdict"] == "mixed"   # swap costs too much
    assert prc.claim_F7(tab([(0.8, 0.75, 0.7), (0.8, 0.76, 0.7)]))["verdict"] == "mixed"   # difference too small


def _pt(dm, dn, rm, seeds=(0, 1, 2), jitter=0.01):
    rows = []
    for s in seeds:
        j = jitter * (s - 1)
        for direction, m, n in (("decoder", dm, dn), ("random", rm, 0.0)):
            rows.append(dict(seed=s, task_feature="all", direction=direction, magnitude=0.0, delta_match=0.0,
                             delta_no_action=0.0, delta_non_match=0.0, p_match=0.9, p_no_action=0.05,
                             p_non_match=0.05, frac_crossed=0.1, n_trials=100))
            rows.append(dict(seed=s, task_feature="all", direction=direction, magnitude=2.0, delta_match=m + j,
                             delta_no_action=n + j, delta_non_match=-(m + n), p_match=0.9 + m, p_no_action=0.05 + n,
                             p_non_match=0.05 - m - n, frac_crossed=0.9, n_trials=100))
    return pd.DataFrame(rows)


def test_claim_F8_rules():
    assert prt.claim_F8(_pt(-0.5, 0.4, -0.02))["verdict"] == "holds"
    c = prt.claim_F8(_pt(-0.5, 0.4, -0.02))
    assert c["value"] == pytest.approx(0.4) and c["ci_low"] > 0
    assert prt.claim_F8(_pt(-0.5, 0.0, -0.02))["verdict"] == "mixed"       # mass goes to non-match
    assert prt.claim_F8(_pt(-0.5, 0.4, -0.5))["verdict"] == "does not hold"  # random direction does the same
    assert prt.claim_F8(_pt(0.0, 0.0, 0.0))["verdict"] == "does not hold"
    # a single seed uses the per-trial intervals given in the table
    one = _pt(-0.5, 0.4, 0.0, seeds=(0,)).assign(delta_match_ci_low=-0.6, delta_match_ci_high=-0.4,
                                                 delta_no_action_ci_low=0.3, delta_no_action_ci_high=0.5,
                                                 delta_non_match_ci_low=0.0, delta_non_match_ci_high=0.2)
    c1 = prt.claim_F8(one)
    assert c1["verdict"] == "holds" and c1["ci_low"] == pytest.approx(0.3)
