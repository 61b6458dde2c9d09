"""wmnb.experiments.orthogonality (F3, chapter 7): end to end at profile="smoke" (plumbing, columns and caching;
the world and runs come from the session's cache, tests/conftest.py), and the F3 claim rule on planted
per-seed tables."""
import numpy as np
import pandas as pd
import pytest

from helpers import CLAIM_KEYS
from wmnb.experiments import orthogonality as orth
from wmnb.pipeline import RunSet
from wmnb.verdicts import VERDICTS


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results_a")


def test_orthogonality_smoke(world, cache):
    r = orth.orthogonality(RunSet.grid(world, ("MTMF",), ("gru",)), paper_max_per_condition=30, cache_dir=cache)
    assert list(r.per_seed.columns) == orth.PER_SEED_COLUMNS
    assert list(r.summary.columns) == orth.SUMMARY_COLUMNS
    assert set(r.per_seed["space"]) == {"backbone", "projection", "encoding"}
    assert set(r.per_seed["n"]) == {1, 2, 3} and len(set(r.per_seed["task_feature"])) == 3   # per task context
    assert len(r.per_seed) == 3 * 9 * 3                                # spaces x (feature, N) cells x properties
    assert (r.per_seed["protocol"] == "image").all()
    ks = r.per_seed.groupby("space")["k"].max()
    assert ks.nunique() == 1                                           # equal dimension in every space
    ok = r.per_seed["O"].dropna()
    assert ((ok >= 0) & (ok <= 1)).all()
    assert r.summary.loc[r.summary.space == "encoding", "frac_encoding_below"].isna().all()
    assert {"backbone", "projection"} == set(r.extra["tests"]["a"])
    assert list(r.extra["per_model"].columns) == orth.PER_MODEL_COLUMNS
    assert set(r.extra["paper_style"]["space"]) == {"backbone", "projection", "encoding"}
    c = orth.claim_F3(r)
    assert set(c) == CLAIM_KEYS and set(c["details"]["per_space"]) == {"backbone", "projection"}
    assert c["verdict"] == "inconclusive"                              # one seed at smoke: no interval
    assert c["details"]["paper_style"] is not None and "n_dropped" in c["details"]


def _orth_table(d_backbone, d_projection, rng=None):
    """(O - O_null) per cell: encoding = perceptual + d (negative d = less orthogonal in the RNN)."""
    rng = rng or np.random.default_rng(2)
    rows = []
    for model in ("rnn", "gru"):
        for s in (0, 1, 2):
            for n in (1, 2, 3):
                for p in ("location", "identity", "category"):
                    enc = rng.normal(-0.1, 0.02)
                    for space, val in (("encoding", enc), ("backbone", enc - d_backbone + rng.normal(0, 0.01)),
                                       ("projection", enc - d_projection + rng.normal(0, 0.01))):
                        rows.append(dict(space=space, model=model, seed=s, task_feature="location", n=n,
                                         property=p, step=0, O_normalised=val + 1, O_minus_null=val,
                                         decodable=True))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("db,dp,verdict", [(-0.1, -0.1, "holds"), (-0.1, 0.1, "holds"),
                                           (0.1, 0.1, "does not hold"), (0.0, 0.0, "inconclusive")])
def test_claim_F3_rule_backbone_decides(db, dp, verdict):
    """The backbone decides; the projection is reported (the full rule's tests: test_claim_F3_rule below)."""
    c = orth.claim_F3(_orth_table(db, dp))
    assert c["verdict"] == verdict
    ps = c["details"]["per_space"]
    assert ps["backbone"]["n_pairs"] == 2 * 3 * 3 * 3 and ps["backbone"]["n_models"] == 6
    if dp > 0:
        assert ps["projection"]["verdict"] == "does not hold"
    if verdict != "inconclusive":
        assert c["ci_low"] <= c["value"] <= c["ci_high"]
        assert c["value"] == pytest.approx(db, abs=0.02)


def _per_seed(deltas: dict, seeds=(0, 1, 2), undecodable=0.0, sd=0.01, rng=None):
    """Per-seed rows where (O - O_null)(encoding) = backbone's + delta[core] (+ noise per seed)."""
    rng = rng or np.random.default_rng(5)
    rows = []
    for core, d in deltas.items():
        for s in seeds:
            shift = d + rng.normal(0, sd)
            for f in ("location", "identity", "category"):
                for nn in (1, 2, 3):
                    for p in orth.PROPERTIES:
                        base = rng.normal(-0.1, 0.05)
                        dec = rng.random() >= undecodable
                        for sp, v in (("backbone", base), ("projection", base + 0.5 * shift),
                                      ("encoding", base + shift + rng.normal(0, 0.01))):
                            rows.append(dict(space=sp, model=core, core=core, seed=s, task_feature=f, n=nn,
                                             property=p, O_normalised=v + 1, O_minus_null=v, decodable=dec,
                                             protocol="image", k=64))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("deltas,verdict", [
    (dict(gru=-0.1), "holds"),
    (dict(gru=0.1), "does not hold"),
    (dict(gru=0.0), "inconclusive"),
    (dict(rnn=-0.1, gru=0.1, lstm=-0.1), "mixed"),
    (dict(rnn=-0.1, gru=-0.12, lstm=-0.08), "holds"),
])
def test_claim_F3_rule(deltas, verdict):
    c = orth.claim_F3(_per_seed(deltas, sd=0.01 if verdict != "inconclusive" else 0.05))
    assert c["verdict"] == verdict and c["verdict"] in VERDICTS
    assert c["protocol"] == "image-disjoint"
    assert len(c["details"]["per_seed"]) == 3 * len(deltas)          # one value per trained model
    assert c["details"]["primary"] == "backbone" and "projection" in c["details"]["per_space"]
    if verdict in ("holds", "does not hold"):
        assert c["ci_low"] <= c["value"] <= c["ci_high"]
        assert np.mean(list(deltas.values())) == pytest.approx(c["value"], abs=0.02)


def test_claim_F3_controls_fail_inconclusive():
    t = _per_seed(dict(gru=-0.2), undecodable=0.7)
    c = orth.claim_F3(t)
    assert c["verdict"] == "inconclusive" and "FAIL" in c["controls"]
    assert c["details"]["n_dropped"] > 0.5 * c["details"]["n_pairs"]
    one = orth.claim_F3(_per_seed(dict(gru=-0.2), seeds=(0,)))           # one model: no interval
    assert one["verdict"] == "inconclusive"


def test_per_model_deltas_counts_dropped():
    t = _per_seed(dict(gru=-0.1), undecodable=0.2)
    pm = orth.per_model_deltas(t)
    assert set(pm["space"]) == {"backbone", "projection"} and len(pm) == 2 * 3
    assert (pm["n_pairs"] == 27).all() and (pm["n_kept"] + pm["n_dropped"] == 27).all()
    assert pm.loc[pm.space == "backbone", "delta"].mean() == pytest.approx(-0.1, abs=0.03)
