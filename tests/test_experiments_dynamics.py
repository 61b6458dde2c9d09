"""wmnb.experiments.dynamics (F4, F5, chapter 8): end to end at profile="smoke" (plumbing, columns, caching),
and the verdict rules of F4 (equal-age executive realignment) and F5 (per-N centred encoding transfer) on
planted tables: every verdict each rule can return, and the claim records built from them."""
import numpy as np
import pandas as pd
import pytest

from wmnb.experiments import dynamics as dyn
from wmnb.verdicts import VERDICTS


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


def test_cross_time_and_transfer_smoke(gru, cache):
    ct = dyn.cross_time(gru, features=("location",), positions=(0,), cache_dir=cache)
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
    again = dyn.cross_time(gru, features=("location",), positions=(0,), cache_dir=cache)
    pd.testing.assert_frame_equal(again.per_seed, ct.per_seed)

    assert set(ct.per_seed["protocol"]) == {"image-disjoint"}
    assert {"accuracy_excl_shown", "chance_excl_shown"} <= set(ct.per_seed.columns)
    assert {"seed", "age", "executive", "memory", "difference", "validation_memory"} <= set(ct.extra["equal_age"])

    tr = dyn.encoding_transfer(gru, features=("category",), cache_dir=cache)
    for c in ["seed", "property", "task_feature", "n", "train_stim", "test_stim", "same", "accuracy", "chance",
              "accuracy_centred", "overlap"]:
        assert c in tr.per_seed.columns
    assert set(tr.per_seed["n"]) == {1, 2, 3}     # per N, never pooled
    T = int(tr.per_seed["train_stim"].max()) + 1
    assert len(tr.per_seed) <= 3 * T * T
    assert {"validation", "generalisation", "gap", "gap_centred", "step0_validation",
            "overlap_relative"} <= set(tr.summary.columns)
    for claim in (dyn.claim_F4(ct), dyn.claim_F5(tr)):
        assert claim["verdict"] in VERDICTS and claim["protocol"] == "image-disjoint"
    hyp = dyn.hypotheses(ct, tr)
    assert {"H1 slot", "F4 executive realignment", "F5 shared encoding"} <= set(hyp["test"])


def _eq(rows, features=("location", "identity"), ages=(1, 2), chance_all=0.25):
    """rows: per seed (validation, executive, memory); the same numbers in every (feature, age) cell."""
    out = []
    for s, (v, e, m) in enumerate(rows):
        for f in features:
            for a in ages:
                out.append(dict(seed=s, property=f, task_feature=f, age=a, executive=e, memory=m,
                                chance=1 / 3, chance_all=chance_all, validation_executive=v, validation_memory=v))
    return pd.DataFrame(out)


def test_f4_holds():
    r = dyn.f4_rule(_eq([(0.95, 0.60, 0.35), (0.94, 0.62, 0.36), (0.96, 0.58, 0.34)]))
    assert r["verdict"] == "holds" and r["verdict_slot"] == "holds" and r["verdict_realign"] == "holds"
    assert r["value"] == pytest.approx(0.25, abs=1e-9) and r["ci_low"] < 0.25 < r["ci_high"]
    assert r["n_cells"] == 4 and r["n_dropped"] == 0 and r["controls_pass"]


def test_f4_mixed_when_memory_drops_without_realignment():
    r = dyn.f4_rule(_eq([(0.95, 0.30, 0.35), (0.94, 0.31, 0.36), (0.96, 0.29, 0.34)]))
    assert r["verdict_slot"] == "holds" and r["verdict_realign"] == "does not hold"
    assert r["verdict"] == "mixed"


def test_f4_does_not_hold_for_a_stable_slot():
    r = dyn.f4_rule(_eq([(0.95, 0.93, 0.94), (0.94, 0.92, 0.93), (0.96, 0.94, 0.95)]))
    assert r["verdict"] == "does not hold"


def test_f4_inconclusive_when_the_interval_straddles():
    r = dyn.f4_rule(_eq([(0.95, 0.25, 0.35), (0.94, 0.45, 0.35), (0.96, 0.65, 0.35)]))
    assert r["verdict_realign"] == "inconclusive" and r["verdict"] == "inconclusive"


def test_f4_inconclusive_with_one_seed_or_failed_control():
    assert dyn.f4_rule(_eq([(0.95, 0.60, 0.35)]))["verdict"] == "inconclusive"
    r = dyn.f4_rule(_eq([(0.3, 0.6, 0.35), (0.3, 0.6, 0.35), (0.3, 0.6, 0.35)]))   # encoding not decodable
    assert r["verdict"] == "inconclusive" and not r["controls_pass"] and r["n_dropped"] == 4


def test_f4_drops_only_undecodable_cells():
    t = _eq([(0.95, 0.60, 0.35), (0.94, 0.62, 0.36), (0.96, 0.58, 0.34)])
    t.loc[t["task_feature"] == "identity", ["validation_executive", "validation_memory"]] = 0.3
    r = dyn.f4_rule(t)
    assert r["n_cells"] == 2 and r["n_dropped"] == 2 and r["verdict"] == "holds"


def _tr(gaps_by_n, val=0.9, chance=0.25, features=("location", "category")):
    """gaps_by_n: {N: [gap per seed]} -> per-seed transfer summary rows."""
    out = []
    for nv, gaps in gaps_by_n.items():
        for s, g in enumerate(gaps):
            for f in features:
                out.append(dict(seed=s, property=f, task_feature=f, n=nv, validation_centred=val,
                                generalisation_centred=val - g, validation=val, generalisation=val - g - 0.1,
                                gap=g + 0.1, chance=chance))
    return pd.DataFrame(out)


def test_f5_holds_does_not_hold_mixed_inconclusive():
    ok = [0.02, 0.03, 0.01]
    bad = [0.40, 0.42, 0.38]
    assert dyn.f5_rule(_tr({1: ok, 2: ok, 3: ok}))["verdict"] == "holds"
    assert dyn.f5_rule(_tr({1: bad, 2: bad, 3: bad}))["verdict"] == "does not hold"
    r = dyn.f5_rule(_tr({1: ok, 2: ok, 3: bad}))                       # per N, never pooled
    assert r["verdict"] == "mixed"
    assert r["per_n"][3]["verdict"] == "does not hold" and r["per_n"][1]["verdict"] == "holds"
    assert dyn.f5_rule(_tr({1: [0.0, 0.1, 0.2]}))["verdict"] == "inconclusive"          # straddles the margin
    assert dyn.f5_rule(_tr({1: [0.02]}))["verdict"] == "inconclusive"                   # one seed: no interval
    r = dyn.f5_rule(_tr({1: ok, 2: ok}, val=0.3))                                        # validation ~ chance
    assert r["verdict"] == "inconclusive" and not r["controls_pass"]


def test_claim_records_carry_protocol_per_seed_and_controls():
    c4 = dyn.claim_F4(_eq([(0.95, 0.60, 0.35), (0.94, 0.62, 0.36), (0.96, 0.58, 0.34)]), core="lstm")
    assert c4["claim"] == "F4" and c4["verdict"] == "holds" and c4["protocol"] == "image-disjoint"
    assert [p["model"] for p in c4["details"]["per_seed"]] == ["lstm"] * 3
    assert "control" in c4["controls"] and c4["verdict"] in VERDICTS
    c5 = dyn.claim_F5(_tr({1: [0.02, 0.03, 0.01], 2: [0.02, 0.03, 0.01]}))
    assert c5["verdict"] == "holds" and c5["protocol"] == "image-disjoint"
    assert set(c5["details"]["per_n"]) == {"1", "2"} and "raw_gap" in c5["details"]
    both = dyn.claim_F5(_tr({1: [0.02, 0.03, 0.01]}), cores=("rnn", "gru"))
    assert [c["claim"] for c in both] == ["F5 (rnn)", "F5 (gru)"]
    assert np.isfinite(c5["ci_low"])
