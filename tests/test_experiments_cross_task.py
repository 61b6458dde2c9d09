"""wmnb.experiments.cross_task (F2, chapter 6): end to end at profile="smoke" (plumbing, columns and caching;
the numbers are meaningless; the world and runs come from the session's cache, tests/conftest.py), and the F2
rule and claim on hand-made tables."""
import numpy as np
import pandas as pd
import pytest

from helpers import CLAIM_KEYS, _xt_summary
from wmnb.errors import ConfigError
from wmnb.experiments import cross_task as xt
from wmnb.pipeline import RunSet


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("results_a")


def test_cross_task_smoke(world, cache):
    r = xt.cross_task(RunSet(world, xt.needs(dict(profile="smoke", cores=("rnn", "gru")))), cache_dir=cache)
    assert list(r.per_seed.columns) == xt.PER_SEED_COLUMNS
    assert list(r.summary.columns) == xt.SUMMARY_COLUMNS
    enc = r.per_seed[(r.per_seed.site == "encoding") & (r.per_seed.protocol == "image")]
    assert len(enc) == 2 * 2 * 3 * 9 * 9                   # cores x variants x properties x 9 train x 9 test
    assert enc["same_task"].sum() == 2 * 2 * 3 * 9
    assert set(r.per_seed.loc[r.per_seed.site == "encoding", "protocol"]) == {"image", "sequence"}
    mem = r.per_seed[r.per_seed.site == "memory"]
    assert set(mem["protocol"]) == {"image"} and (mem["train_n"] == mem["test_n"]).all()
    assert mem.groupby("train_n")["age"].max().to_dict() == {1: 1, 2: 2, 3: 3}
    assert set(r.summary["core"]) == {"rnn", "gru"} and set(r.summary["variant"]) == {"raw", "centred"}
    assert set(r.summary["n"]) == {1, 2, 3}                 # per N, never pooled
    assert {"generalisation_index_mean", "validation_ci_low"} <= set(r.aggregated.columns)
    assert {"core", "feature", "n", "accuracy", "split"} <= set(r.extra["task_accuracy"].columns)
    assert list(r.extra["comparability"][["core_a", "core_b"]].iloc[0]) == ["rnn", "gru"]
    c = xt.claim_F2(r)
    assert set(c) == CLAIM_KEYS and c["verdict"] == "inconclusive"          # one seed at smoke
    assert set(c["details"]["parts"]) == {"gru@encoding", "gru@memory"}
    assert {"raw", "paper_style"} <= set(c["details"]["others"])
    with pytest.raises(ConfigError):
        xt.claim_F2(r.summary[r.summary.core == "gru"])
    with pytest.raises(ConfigError, match="transformer"):
        xt.needs(dict(profile="smoke", core="transformer"))
    with pytest.raises(ConfigError, match="STSF"):      # one task: nothing to cross
        xt.cross_task(RunSet.grid(world, ("STSF",), ("gru",)), cache_dir=cache)


def test_generalisation_by_core_filters():
    s = _xt_summary()
    g = xt.generalisation_by_core(s, protocol="image", variant="centred", site="memory")
    assert len(g) == 4 and set(g.columns) >= {"core", "seed", "generalisation_index"}
    assert g.loc[g.core == "rnn", "generalisation_index"].tolist() == pytest.approx([0.8, 0.81])
    allv = xt.generalisation_by_core(s, protocol=None, variant=None, site=None)
    assert {"site", "protocol", "variant"} <= set(allv.columns)


def test_f2_rule_pure():
    gi = pd.DataFrame(dict(core=["rnn"] * 3 + ["gru"] * 3, seed=[0, 1, 2] * 2, site="encoding",
                           generalisation_index=[0.8, 0.82, 0.79, 0.2, 0.22, 0.21]))
    assert xt.f2_rule(gi, comparable=dict(gru=True))["verdict"] == "holds"
    assert xt.f2_rule(gi, comparable=dict(gru=False))["verdict"] == "inconclusive"
    assert xt.f2_rule(gi, comparable={})["verdict"] == "inconclusive"
    flipped = gi.assign(core=["gru"] * 3 + ["rnn"] * 3)
    assert xt.f2_rule(flipped, comparable=dict(gru=True))["verdict"] == "does not hold"
    with pytest.raises(ConfigError, match="'rnn' core and 'gru'"):
        xt.f2_rule(gi[gi.core == "rnn"], comparable=dict(gru=True))


def _cross_summary(gi, seeds=(0, 1, 2), rng=None, noise=0.01, sites=("encoding",)):
    rng = rng or np.random.default_rng(1)
    rows = []
    for core, g in gi.items():
        for s in seeds:
            for site in sites:
                for p in ("location", "identity", "category"):
                    x = g + rng.normal(0, noise)
                    rows.append(dict(seed=s, core=core, site=site, property=p, validation=0.9,
                                     generalisation=0.25 + x * 0.65, chance=0.25, generalisation_index=x))
    return pd.DataFrame(rows)


def _accuracy(gaps):
    rows = [dict(core=c, seed=0, split="novel_angle", feature=f, n=k, accuracy=0.9 + gaps.get(c, 0.0))
            for c in ("rnn", "gru", "lstm") for f in ("location", "identity", "category") for k in (1, 2, 3)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("gi,verdict", [(dict(rnn=0.9, gru=0.2, lstm=0.3), "holds"),
                                        (dict(rnn=0.2, gru=0.5, lstm=0.6), "does not hold"),
                                        (dict(rnn=0.5, gru=0.2, lstm=0.7), "mixed"),
                                        (dict(rnn=0.52, gru=0.5, lstm=0.1), "mixed")])
def test_claim_F2_rule(gi, verdict):
    c = xt.claim_F2(_cross_summary(gi), accuracy=_accuracy({}))
    assert c["verdict"] == verdict
    assert c["value"] == pytest.approx(gi["rnn"] - (gi["gru"] + gi["lstm"]) / 2, abs=0.03)
    assert c["protocol"] == "image-disjoint" and c["details"]["comparable"] == dict(gru=True, lstm=True)


def test_claim_F2_inconclusive():
    gi = dict(rnn=0.9, gru=0.2, lstm=0.3)
    # architectures not comparable (GRU 3 points better on one task... here on every task): inconclusive
    c = xt.claim_F2(_cross_summary(gi), accuracy=_accuracy(dict(gru=0.03, lstm=0.03)))
    assert c["verdict"] == "inconclusive" and "NOT comparable" in c["controls"]
    # no accuracy table: comparability not shown -> inconclusive
    assert xt.claim_F2(_cross_summary(gi))["verdict"] == "inconclusive"
    # the interval straddles the margin
    c = xt.claim_F2(_cross_summary(dict(rnn=0.4, gru=0.35, lstm=0.35), noise=0.15), accuracy=_accuracy({}))
    assert c["verdict"] == "inconclusive"
    # one seed
    assert xt.claim_F2(_cross_summary(gi, seeds=(0,)), accuracy=_accuracy({}))["verdict"] == "inconclusive"
    # positive control: no decodable cell for the GRU (NaN index)
    s = _cross_summary(gi)
    s.loc[s.core == "gru", "generalisation_index"] = np.nan
    c = xt.claim_F2(s, accuracy=_accuracy({}))
    assert c["verdict"] == "inconclusive" and "FAILED" in c["controls"]
    # only one gated core comparable: its part holds, the other is inconclusive -> inconclusive
    c = xt.claim_F2(_cross_summary(dict(rnn=0.9, gru=0.2, lstm=0.3)), accuracy=_accuracy(dict(lstm=0.05)))
    assert c["verdict"] == "inconclusive" and c["details"]["parts"]["gru@encoding"]["verdict"] == "holds"


def test_claim_F2_sites_and_variants():
    enc = _cross_summary(dict(rnn=0.9, gru=0.2, lstm=0.3), sites=("encoding",))
    mem = _cross_summary(dict(rnn=0.2, gru=0.5, lstm=0.6), sites=("memory",))
    both = pd.concat([enc, mem])
    c = xt.claim_F2(both, accuracy=_accuracy({}))
    assert c["verdict"] == "mixed" and set(c["details"]["parts"]) == {"gru@encoding", "lstm@encoding",
                                                                      "gru@memory", "lstm@memory"}
    assert xt.claim_F2(both, accuracy=_accuracy({}), sites=("memory",))["verdict"] == "does not hold"
    # raw says task-specific, centred says shared: the verdict uses the centred variant, raw is reported
    raw = _cross_summary(dict(rnn=0.9, gru=0.2, lstm=0.3)).assign(variant="raw")
    cen = _cross_summary(dict(rnn=0.9, gru=0.9, lstm=0.9)).assign(variant="centred")
    c = xt.claim_F2(pd.concat([raw, cen]), accuracy=_accuracy({}))
    assert c["verdict"] == "does not hold" and c["details"]["others"]["raw"]["verdict"] == "holds"
    assert xt.claim_F2(pd.concat([raw, cen]), accuracy=_accuracy({}), variant="raw")["verdict"] == "holds"
