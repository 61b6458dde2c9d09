"""wmnb.experiments.relevance (F1, chapter 5): end to end at profile="smoke" (plumbing, columns and caching;
the world and runs come from the session's cache, tests/conftest.py), and the F1 rule and claim on hand-made
tables."""
import numpy as np
import pandas as pd
import pytest

from helpers import CLAIM_KEYS
from wmnb.errors import ConfigError
from wmnb.experiments import relevance as rel
from wmnb.pipeline import RunSet


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results_a")


def test_relevance_smoke(world, cache):
    runs = RunSet(world, rel.needs(dict(profile="smoke", scenarios=("STSF", "MTMF"))))
    assert [(s.scenario, s.feature) for s in runs] == [("STSF", "category"), ("MTMF", None)]
    r = rel.relevance(runs, cache_dir=cache)
    assert list(r.per_seed.columns) == rel.PER_SEED_COLUMNS
    assert list(r.summary.columns) == rel.SUMMARY_COLUMNS
    assert set(r.per_seed["scenario"]) == {"STSF", "MTMF"}
    assert set(r.per_seed["protocol"]) == {"image", "transfer", "sequence"}
    img = r.per_seed[r.per_seed.protocol == "image"]
    stsf = img[img.scenario == "STSF"]
    assert set(stsf["task_feature"]) == {"category"} and set(stsf["n"]) == {2}   # smoke: STSF category only
    mt = img[img.scenario == "MTMF"]
    assert len(mt) == 9 * 3 and mt["relevant"].sum() == 9
    assert (mt["n_test_images"] > 0).all()
    assert len(r.per_seed[(r.per_seed.protocol == "transfer") & (r.per_seed.scenario == "MTMF")]) == 27
    assert r.per_seed["relevant"].dtype == bool
    assert ((r.per_seed["accuracy"] >= 0) & (r.per_seed["accuracy"] <= 1)).all()
    assert {"accuracy_mean", "accuracy_ci_low", "n_seeds", "normalised_mean"} <= set(r.aggregated.columns)
    assert {"accuracy_mean", "chance_mean"} <= set(r.extra["cells"].columns)
    assert set(r.runs["model"]) == {"STSF-category gru", "MTMF gru"}
    c = rel.claim_F1(r)
    assert set(c) == CLAIM_KEYS and c["verdict"] == "inconclusive"          # one seed at smoke: no interval
    assert c["details"]["properties"] == ["location", "identity"]
    assert c["protocol"] == "image-disjoint" and set(c["details"]["by_protocol"]) == {"image", "transfer", "sequence"}
    assert len(c["details"]["per_seed"]) == 3
    again = rel.relevance(runs, cache_dir=cache)    # read back from the cache
    pd.testing.assert_frame_equal(again.per_seed, r.per_seed)
    with pytest.raises(ConfigError, match="protocols"):
        rel.relevance(runs, protocols=("sequence",), cache_dir=cache)
    with pytest.raises(ConfigError, match="core"):      # one core per call
        rel.relevance(RunSet.grid(world, ("MTMF",), ("rnn", "gru")), cache_dir=cache)


def _relevance_table(mtmf_irr, stsf_irr, seeds=(0, 1, 2), rng=None, noise=0.005, relevant=0.95,
                     stsf_features=("category",)):
    """Raw accuracies with chance 0.25 everywhere (so normalised = (acc - 0.25) / 0.75)."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for s in seeds:
        for f in ("location", "identity", "category"):
            for p in ("location", "identity", "category"):
                acc = relevant if p == f else mtmf_irr
                rows.append(dict(scenario="MTMF", seed=s, task_feature=f, n=2, property=p, relevant=p == f,
                                 accuracy=acc + rng.normal(0, noise), chance=0.25))
        for f in stsf_features:
            for p in ("location", "identity", "category"):
                acc = relevant if p == f else stsf_irr
                rows.append(dict(scenario="STSF", seed=s, task_feature=f, n=2, property=p,
                                 relevant=p == f, accuracy=acc + rng.normal(0, noise), chance=0.25))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("mtmf,stsf,verdict", [(0.92, 0.5, "holds"), (0.92, 0.9, "mixed"),
                                                (0.7, 0.4, "mixed"), (0.6, 0.7, "does not hold")])
def test_claim_F1_rule(mtmf, stsf, verdict):
    c = rel.claim_F1(_relevance_table(mtmf, stsf))
    assert c["verdict"] == verdict
    assert c["value"] == pytest.approx((mtmf - 0.25) / 0.75, abs=0.02)          # normalised above chance
    assert c["ci_low"] < c["value"] < c["ci_high"]
    assert c["details"]["properties"] == ["location", "identity"]      # only properties irrelevant in both
    assert c["details"]["keep_level"] == pytest.approx(0.8)             # the paper's 85 % at chance 0.25
    assert c["protocol"] == "image-disjoint" and len(c["details"]["per_seed"]) == 9


def test_claim_F1_all_stsf_features():
    c = rel.claim_F1(_relevance_table(0.92, 0.5, stsf_features=("location", "identity", "category")))
    assert c["verdict"] == "holds" and c["details"]["properties"] == ["location", "identity", "category"]


@pytest.mark.parametrize("kw,why", [(dict(noise=0.2), "straddles"), (dict(seeds=(0,)), "one seed"),
                                    (dict(relevant=0.26), "control")])
def test_claim_F1_inconclusive(kw, why):
    c = rel.claim_F1(_relevance_table(0.92, 0.5, **kw))
    assert c["verdict"] == "inconclusive", why
    if why == "control":
        assert not c["details"]["controls_pass"] and "FAILED" in c["controls"]


def test_f1_rule_pure():
    ps = pd.DataFrame(dict(seed=[0, 1, 2], mtmf=[0.9, 0.91, 0.89], single=[0.3, 0.32, 0.31],
                           mtmf_relevant=0.9, single_relevant=0.9))
    assert rel.f1_rule(ps, keep_level=0.8)["verdict"] == "holds"
    assert rel.f1_rule(ps, keep_level=0.95)["verdict"] == "mixed"
    assert rel.f1_rule(ps.assign(single=ps.mtmf), keep_level=0.95)["verdict"] == "does not hold"
    assert rel.f1_rule(ps.assign(mtmf=[0.7, 0.9, 0.8]), keep_level=0.8)["verdict"] == "inconclusive"


def test_claim_F1_protocols_reported():
    img = _relevance_table(0.7, 0.4).assign(protocol="image")
    seq = _relevance_table(0.95, 0.8).assign(protocol="sequence")
    c = rel.claim_F1(pd.concat([img, seq]))
    assert c["details"]["by_protocol"]["sequence"]["mtmf"] > c["value"] + 0.2
    assert c["details"]["sequence_minus_image"] > 0.2
    assert c["verdict"] == rel.claim_F1(img)["verdict"]                    # the verdict uses the image rows


def test_claim_F1_needs_both_diets():
    t = _relevance_table(0.9, 0.5)
    with pytest.raises(ConfigError):
        rel.claim_F1(t[t.scenario == "MTMF"])
