"""wmnb.experiments.procrustes (F6, F7, chapter 9): swap tests and state maps end to end at profile="smoke", and
the F6 and F7 rules on hand-made tables."""
import pandas as pd
import pytest

from wmnb.experiments import procrustes as prc
from wmnb.verdicts import VERDICTS


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


def test_swap_tests_smoke(gru, cache):
    sw = prc.swap_tests(gru, features=("location",), n_back=(2,), cache_dir=cache)
    for c in ["seed", "property", "task_feature", "n", "stim", "step_from", "step_to", "swap", "accuracy",
              "chance", "disparity", "scale"]:
        assert c in sw.per_seed.columns
    assert set(sw.per_seed["n"]) == {2}
    assert {"fitted", "correct", "none", "other_stimulus_same_age", "same_stimulus_other_interval",
            "correct_permuted", "correct_random", "other_stimulus_same_age_permuted"} <= set(sw.per_seed["swap"])
    assert {"correct", "other_stimulus_same_age", "same_stimulus_other_interval",
            "correct_permuted"} <= set(sw.summary.columns)
    assert sw.params["protocol"] == "image"
    rec = sw.extra["reconstruction"]
    assert {"fitted_accuracy", "reconstructed_accuracy", "no_rotation_accuracy", "permuted_accuracy",
            "transition"} <= set(rec.columns)
    sm = prc.state_maps(gru, features=("location",), n_back=(2,), cache_dir=cache)
    assert {"rotation", "ridge", "none", "rotation_permuted", "rotation_random", "fitted", "rotation_r2",
            "ridge_r2", "chance"} <= set(sm.summary.columns)
    assert (sm.per_seed["protocol"] == "image-disjoint").all()
    for claim in (prc.claim_F6(sm, swap=sw), prc.claim_F7(sw)):
        assert claim["verdict"] in VERDICTS
        assert set(claim) == {"claim", "statement", "value", "ci_low", "ci_high", "paper", "verdict", "details",
                              "protocol", "controls"}
        assert claim["protocol"] == "image-disjoint" and claim["controls"]
    assert prc.claim_F6(sm)["verdict"] == "inconclusive"      # one seed: no interval, never a verdict


def _sm(rows):
    return pd.DataFrame([dict(seed=k, fitted=f, rotation=r, ridge=rg, rotation_permuted=p, rotation_random=q,
                              none=0.3, chance=0.25, rotation_r2=r2, ridge_r2=rr2)
                         for k, (f, r, rg, p, q, r2, rr2) in enumerate(rows)])


def test_claim_F6_rules():
    holds = _sm([(0.9, 0.85, 0.86, 0.2, 0.25, 0.6, 0.62), (0.9, 0.83, 0.85, 0.22, 0.24, 0.58, 0.61),
                 (0.9, 0.86, 0.86, 0.21, 0.26, 0.61, 0.63)])
    c = prc.claim_F6(holds)
    assert c["verdict"] == "holds" and c["ci_low"] > 0 and c["controls"]
    linear = _sm([(0.9, 0.8, 0.88, 0.2, 0.25, 0.3, 0.8), (0.9, 0.78, 0.87, 0.22, 0.24, 0.28, 0.79),
                  (0.9, 0.81, 0.88, 0.21, 0.26, 0.31, 0.82)])           # linear but not a rotation
    assert prc.claim_F6(linear)["verdict"] == "does not hold"
    item = _sm([(0.9, 0.6, 0.95, 0.2, 0.25, 0.6, 0.62), (0.9, 0.62, 0.96, 0.22, 0.24, 0.58, 0.61),
                (0.9, 0.58, 0.94, 0.21, 0.26, 0.61, 0.63)])             # the item's code is not rotated
    assert prc.claim_F6(item)["verdict"] == "does not hold"
    nulls = _sm([(0.9, 0.3, 0.3, 0.28, 0.3, 0.1, 0.12), (0.9, 0.25, 0.27, 0.3, 0.27, 0.1, 0.11),
                 (0.9, 0.31, 0.3, 0.26, 0.33, 0.1, 0.1)])               # no map beats the nulls
    assert prc.claim_F6(nulls)["verdict"] == "inconclusive"
    chance = _sm([(0.27, 0.27, 0.27, 0.2, 0.2, 0.5, 0.5)] * 3)           # nothing to carry
    assert prc.claim_F6(chance)["verdict"] == "inconclusive"
    assert prc.claim_F6(holds.iloc[:1])["verdict"] == "inconclusive"     # one seed: no interval


def test_claim_F7_rules():
    def tab(rows):
        return pd.DataFrame([dict(seed=s, correct=c, correct_permuted=pc, other_stimulus_same_age=a,
                                  other_stimulus_same_age_permuted=pa, same_stimulus_other_interval=o, chance=0.25)
                             for s, (c, pc, a, pa, o) in enumerate(rows)])
    assert prc.claim_F7(tab([(0.8, 0.1, 0.75, 0.1, 0.4), (0.8, 0.12, 0.77, 0.1, 0.45),
                             (0.81, 0.1, 0.76, 0.12, 0.42)]))["verdict"] == "holds"
    assert prc.claim_F7(tab([(0.8, 0.1, 0.4, 0.1, 0.45), (0.8, 0.12, 0.42, 0.1, 0.44),
                             (0.8, 0.1, 0.41, 0.1, 0.43)]))["verdict"] == "does not hold"
    assert prc.claim_F7(tab([(0.8, 0.1, 0.48, 0.1, 0.3), (0.8, 0.12, 0.49, 0.1, 0.31),
                             (0.8, 0.1, 0.47, 0.1, 0.3)]))["verdict"] == "mixed"       # keeps less than half
    c = prc.claim_F7(tab([(0.3, 0.3, 0.3, 0.3, 0.2), (0.28, 0.3, 0.31, 0.3, 0.2),
                          (0.3, 0.29, 0.3, 0.3, 0.21)]))                               # control fails
    assert c["verdict"] == "inconclusive" and "FAILED" in c["controls"]
    assert prc.claim_F7(tab([(0.8, 0.1, 0.6, 0.1, 0.5), (0.8, 0.1, 0.75, 0.1, 0.5),
                             (0.8, 0.1, 0.45, 0.1, 0.5)]))["verdict"] == "inconclusive"  # S - O straddles
    # retention straddles one half: no verdict either way
    assert prc.claim_F7(tab([(0.8, 0.1, 0.50, 0.1, 0.3), (0.8, 0.1, 0.55, 0.1, 0.3),
                             (0.8, 0.1, 0.52, 0.1, 0.3)]))["verdict"] == "inconclusive"
    # a swap cost near 0.1 (where a fixed cost margin flipped between seed sets) keeps ~0.84 of the decoding:
    # decided, and the cost is reported beside the verdict
    c = prc.claim_F7(tab([(0.8, 0.1, 0.72, 0.1, 0.3), (0.8, 0.1, 0.69, 0.1, 0.3),
                          (0.8, 0.1, 0.70, 0.1, 0.3)]))
    assert c["verdict"] == "holds" and c["details"]["cost"] == pytest.approx(0.097, abs=1e-3)
    assert "costs 0.097" in c["controls"]
