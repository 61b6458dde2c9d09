"""Experiments for chapters 5-7 (F1 task relevance, F2 cross-task, F3 orthogonality) and their claim rules.

End-to-end tests run at profile="smoke" (meaningless numbers; they check plumbing, columns and caching): the
world and trained runs come from the default cache, result tables go to a temporary cache. The verdict rules are
checked on hand-made tables.
"""
import numpy as np
import pandas as pd
import pytest

from wmnb import pipeline
from wmnb.errors import ConfigError
from wmnb.verdicts import VERDICTS
from wmnb.experiments import cross_task as xt
from wmnb.experiments import orthogonality as orth
from wmnb.experiments import relevance as rel

CLAIM_KEYS = {"claim", "statement", "value", "ci_low", "ci_high", "paper", "verdict", "details", "protocol",
              "controls"}


@pytest.fixture(scope="module")
def world():
    return pipeline.world(profile="smoke")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results_a")


# ---------------------------------------------------------------------------------------------------------
# end to end at smoke
# ---------------------------------------------------------------------------------------------------------
def test_relevance_smoke(world, cache):
    r = rel.relevance(world, ("STSF", "MTMF"), "gru", cache_dir=cache)
    assert list(r.per_seed.columns) == rel.PER_SEED_COLUMNS
    assert list(r.summary.columns) == rel.SUMMARY_COLUMNS
    assert set(r.per_seed["scenario"]) == {"STSF", "MTMF"}
    stsf = r.per_seed[r.per_seed.scenario == "STSF"]
    assert set(stsf["task_feature"]) == {"category"} and set(stsf["n"]) == {2}   # smoke: STSF category only
    mt = r.per_seed[r.per_seed.scenario == "MTMF"]
    assert len(mt) == 9 * 3 and mt["relevant"].sum() == 9
    assert r.per_seed["relevant"].dtype == bool
    assert ((r.per_seed["accuracy"] >= 0) & (r.per_seed["accuracy"] <= 1)).all()
    assert {"accuracy_mean", "accuracy_ci_low", "n_seeds"} <= set(r.aggregated.columns)
    assert {"accuracy_mean", "chance_mean"} <= set(r.extra["cells"].columns)
    assert set(r.runs["model"]) == {"STSF-category gru", "MTMF gru"}
    c = rel.claim_F1(r)
    assert set(c) == CLAIM_KEYS and c["verdict"] in VERDICTS
    assert c["details"]["properties"] == ["location", "identity"]
    again = rel.relevance(world, ("STSF", "MTMF"), "gru", cache_dir=cache)    # read back from the cache
    pd.testing.assert_frame_equal(again.per_seed, r.per_seed)


def test_cross_task_smoke(world, cache):
    r = xt.cross_task(world, ("rnn", "gru"), cache_dir=cache)
    assert list(r.per_seed.columns) == xt.PER_SEED_COLUMNS
    assert list(r.summary.columns) == xt.SUMMARY_COLUMNS
    assert len(r.per_seed) == 2 * 3 * 9 * 9                   # cores x properties x 9 train x 9 test tasks
    assert r.per_seed["same_task"].sum() == 2 * 3 * 9
    assert set(r.summary["core"]) == {"rnn", "gru"}
    assert {"generalisation_index_mean", "validation_ci_low"} <= set(r.aggregated.columns)
    c = xt.claim_F2(r)
    assert set(c) == CLAIM_KEYS and set(c["details"]["per_core"]) == {"rnn", "gru"}
    with pytest.raises(ConfigError):
        xt.claim_F2(r.summary[r.summary.core == "gru"])
    with pytest.raises(ValueError):
        xt.cross_task(world, "transformer", cache_dir=cache)


def test_orthogonality_smoke(world, cache):
    r = orth.orthogonality(world, "gru", max_per_condition=30, cache_dir=cache)
    assert list(r.per_seed.columns) == orth.PER_SEED_COLUMNS
    assert list(r.summary.columns) == orth.SUMMARY_COLUMNS
    assert set(r.per_seed["space"]) == {"backbone", "projection", "encoding"}
    assert set(r.per_seed["n"]) == {1, 2, 3}                          # one cell per N (features pooled)
    assert len(r.per_seed) == 3 * 3 * 3                                # spaces x cells x properties
    ok = r.per_seed["O"].dropna()
    assert ((ok >= 0) & (ok <= 1)).all()
    assert r.summary.loc[r.summary.space == "encoding", "frac_encoding_below"].isna().all()
    assert {"backbone", "projection"} == set(r.extra["tests"]["a"])
    c = orth.claim_F3(r)
    assert set(c) == CLAIM_KEYS and set(c["details"]["per_space"]) == {"backbone", "projection"}


# ---------------------------------------------------------------------------------------------------------
# verdict rules on hand-made tables
# ---------------------------------------------------------------------------------------------------------
def _relevance_table(mtmf_irr, stsf_irr, seeds=(0, 1, 2), rng=None):
    rng = rng or np.random.default_rng(0)
    rows = []
    for s in seeds:
        for f in ("location", "identity", "category"):
            for p in ("location", "identity", "category"):
                acc = 0.95 if p == f else mtmf_irr
                rows.append(dict(scenario="MTMF", seed=s, task_feature=f, n=2, property=p, relevant=p == f,
                                 accuracy=acc + rng.normal(0, 0.005), chance=0.25))
        for p in ("location", "identity", "category"):
            acc = 0.95 if p == "category" else stsf_irr
            rows.append(dict(scenario="STSF", seed=s, task_feature="category", n=2, property=p,
                             relevant=p == "category", accuracy=acc + rng.normal(0, 0.005), chance=0.25))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("mtmf,stsf,verdict", [(0.92, 0.5, "holds"), (0.92, 0.9, "mixed"),
                                                (0.7, 0.4, "mixed"), (0.6, 0.7, "does not hold")])
def test_claim_F1_rule(mtmf, stsf, verdict):
    c = rel.claim_F1(_relevance_table(mtmf, stsf))
    assert c["verdict"] == verdict
    assert c["value"] == pytest.approx(mtmf, abs=0.02)
    assert c["ci_low"] < c["value"] < c["ci_high"]
    assert c["details"]["properties"] == ["location", "identity"]      # only properties irrelevant in both


def test_claim_F1_needs_both_diets():
    t = _relevance_table(0.9, 0.5)
    with pytest.raises(ConfigError):
        rel.claim_F1(t[t.scenario == "MTMF"])


def _cross_summary(gi, seeds=(0, 1, 2), rng=None):
    rng = rng or np.random.default_rng(1)
    rows = []
    for core, g in gi.items():
        for s in seeds:
            for p in ("location", "identity", "category"):
                x = g + rng.normal(0, 0.01)
                rows.append(dict(seed=s, core=core, property=p, validation=0.9, generalisation=0.25 + x * 0.65,
                                 chance=0.25, generalisation_index=x))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("gi,verdict", [(dict(rnn=0.9, gru=0.2, lstm=0.3), "holds"),
                                        (dict(rnn=0.2, gru=0.5, lstm=0.6), "does not hold"),
                                        (dict(rnn=0.5, gru=0.2, lstm=0.7), "mixed"),
                                        (dict(rnn=0.52, gru=0.5, lstm=0.1), "mixed")])
def test_claim_F2_rule(gi, verdict):
    c = xt.claim_F2(_cross_summary(gi))
    assert c["verdict"] == verdict
    assert c["value"] == pytest.approx(gi["rnn"] - (gi["gru"] + gi["lstm"]) / 2, abs=0.03)


def _orth_table(d_backbone, d_projection, rng=None):
    """O_normalised per cell: encoding = perceptual + d (negative d = less orthogonal in the RNN)."""
    rng = rng or np.random.default_rng(2)
    rows = []
    for model in ("rnn", "gru"):
        for s in (0, 1):
            for n in (1, 2, 3):
                for p in ("location", "identity", "category"):
                    base = 0.9 + rng.normal(0, 0.02)
                    enc = base + rng.normal(0, 0.01)
                    for space, val in (("encoding", enc), ("backbone", enc - d_backbone + rng.normal(0, 0.01)),
                                       ("projection", enc - d_projection + rng.normal(0, 0.01))):
                        rows.append(dict(space=space, model=model, seed=s, task_feature="all", n=n, property=p,
                                         step=0, O_normalised=val))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("db,dp,verdict", [(-0.1, -0.1, "holds"), (-0.1, 0.1, "mixed"),
                                           (0.1, 0.1, "does not hold"), (0.0, 0.0, "does not hold")])
def test_claim_F3_rule(db, dp, verdict):
    c = orth.claim_F3(_orth_table(db, dp))
    assert c["verdict"] == verdict
    ps = c["details"]["per_space"]
    assert ps["backbone"]["n_cells"] == 2 * 2 * 3 * 3
    if db < 0:
        assert c["value"] > 0.9 and ps["backbone"]["status"] == "supports"
    if dp > 0:
        assert ps["projection"]["status"] == "contradicts"
    assert c["ci_low"] <= c["value"] <= c["ci_high"]
