"""The one Wilson interval and the one seed interval (wmnb.analysis.stats) and the shared experiment core.

Planted numbers with known answers; every edge case documented in the docstrings is checked.
"""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from wmnb.analysis import probes
from wmnb.analysis.stats import aggregate_seeds, mean_t_interval, seed_ci, wilson_ci


def test_wilson_known_value_and_edges():
    # textbook value: 8 / 10 at 95 % -> (0.4902, 0.9433)
    lo, hi = wilson_ci(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert all(np.isnan(wilson_ci(0, 0)))                      # n == 0: no interval
    lo0, hi0 = wilson_ci(0, 20)
    z = st.norm.ppf(0.975)
    assert lo0 == 0.0 and hi0 == pytest.approx(z * z / (20 + z * z))   # k == 0
    lon, hin = wilson_ci(20, 20)
    assert hin == pytest.approx(1.0, abs=1e-12) and lon == pytest.approx(20 / (20 + z * z))   # k == n
    # wider at a higher level; narrower with more trials
    assert wilson_ci(8, 10, 0.99)[0] < lo
    assert wilson_ci(80, 100)[1] - wilson_ci(80, 100)[0] < hi - lo


def test_wilson_arrays_and_probe_alias():
    k = np.array([0, 3, 10, 0])
    n = np.array([10, 10, 10, 0])
    lo, hi = wilson_ci(k, n)
    assert lo.shape == (4,) and np.isnan(lo[3]) and np.isnan(hi[3])
    for i in range(3):
        assert (lo[i], hi[i]) == wilson_ci(int(k[i]), int(n[i]))
    # probes.wilson_interval is wilson_ci at its historical z
    plo, phi = probes.wilson_interval(k, n)
    qlo, qhi = wilson_ci(k, n, z=1.959964)
    np.testing.assert_array_equal(plo, qlo)
    np.testing.assert_array_equal(phi, qhi)
    assert probes.wilson_interval(3, 10) == wilson_ci(3, 10, z=1.959964)


def test_seed_ci_edges_and_value():
    assert mean_t_interval is seed_ci
    assert all(np.isnan(seed_ci([])))
    assert all(np.isnan(seed_ci([np.nan, np.inf])))
    m, lo, hi = seed_ci([0.7])                                 # a single seed: the mean, no interval
    assert m == 0.7 and np.isnan(lo) and np.isnan(hi)
    assert seed_ci([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)         # identical values: zero width
    x = np.array([0.1, 0.4, 0.35, 0.2])
    m, lo, hi = seed_ci(np.r_[x, np.nan])                      # NaN dropped
    half = st.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert m == pytest.approx(x.mean()) and lo == pytest.approx(x.mean() - half)
    assert hi == pytest.approx(x.mean() + half)
    # a planted null: an interval around a true mean of 0 must not exclude it for this sample
    assert seed_ci([-0.1, 0.1, 0.05, -0.05])[1] < 0 < seed_ci([-0.1, 0.1, 0.05, -0.05])[2]


def test_aggregate_seeds_uses_the_seed_interval():
    rng = np.random.default_rng(0)
    tables = [pd.DataFrame(dict(key=["a", "b"], v=rng.normal(size=2))) for _ in range(3)]
    agg = aggregate_seeds(tables, ["key"]).set_index("key")
    for key in ("a", "b"):
        vals = [float(t.set_index("key").loc[key, "v"]) for t in tables]
        m, lo, hi = seed_ci(vals)
        assert agg.loc[key, "v_mean"] == m and agg.loc[key, "v_ci_low"] == lo and agg.loc[key, "v_ci_high"] == hi
        assert agg.loc[key, "n_seeds"] == 3
    one = aggregate_seeds(tables[:1], ["key"])
    assert one["v_ci_low"].isna().all() and one["v_sd"].isna().all()


def test_claim_dict_checks_the_verdict():
    from wmnb.experiments import claim_dict

    rec = claim_dict("X", "s", 0.5, (0.1, 0.9), "paper", "holds", {}, per_seed=[0.4, 0.6])
    assert rec["details"]["per_seed"] == [0.4, 0.6] and rec["ci_low"] == 0.1
    with pytest.raises(ValueError, match="maybe"):
        claim_dict("X", "s", 0.5, (0.1, 0.9), "paper", "maybe", {})


def test_run_row_from_metrics():
    from wmnb.experiments.core import run_row
    from wmnb.runs import RunSpec

    class Run:
        key = "abc"
        metrics = pd.DataFrame(dict(feature=["all", "all", "location"], split=["train", "novel_angle", "train"],
                                    accuracy=[0.9, 0.8, 0.1]))

    row = run_row(Run(), RunSpec("STSF", "gru", 2, "category"))
    assert row["model"] == "STSF-category gru" and row["acc_train"] == 0.9 and row["acc_novel_angle"] == 0.8
    assert np.isnan(row["acc_novel_identity"]) and row["seed"] == 2 and row["run_key"] == "abc"
