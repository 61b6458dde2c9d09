"""Chapter 13's sweep over the delay k: parameter checks, the hidden size at a fixed d / (n k), the stacks it
trains, and its per-k summary on planted tables (every verdict of T1's rule reachable per k)."""
import numpy as np
import pandas as pd
import pytest

from wmnb.errors import ConfigError
from wmnb.superposition import claims as C
from wmnb.config import SUPERPOSITION_KS as KS
from wmnb.superposition.ksweep import check_ks, k_hidden_size, k_summary, ksweep_configs, with_main
from wmnb.config import SUPERPOSITION as PROFILES
from wmnb.superposition.sweep import check_params


def test_check_ks_names_parameter_value_and_allowed():
    assert check_ks(None, "quick") == KS["quick"]
    assert check_ks([4, 1, 2]) == (1, 2, 4)
    for bad in ([3], [1, 1], [0, 2], [2, 13], ["a", 2], 3):
        with pytest.raises(ConfigError, match="ks"):
            check_ks(bad)
    with pytest.raises(ConfigError, match="profile"):
        check_ks(None, "bogus")
    for prof, ks in KS.items():                 # every profile's grid holds its main k (reused, not retrained)
        assert PROFILES[prof]["k"] in ks and check_ks(ks, prof) == ks


def test_hidden_size_keeps_the_ratio_and_configs_skip_the_main_k():
    p = check_params("quick")
    for k in (1, 2, 3, 4, 5):
        assert k_hidden_size(p, k) / (p["n"] * k) == pytest.approx(p["d"] / (p["n"] * p["k"]))
    cfgs = ksweep_configs(p, (1, 2, 3, 4, 5))
    assert [c.k for c in cfgs] == [1, 2, 4, 5] and all(c.kind == "linear" for c in cfgs)
    assert [c.ds for c in cfgs] == [(2,), (4,), (8,), (10,)]
    assert all(c.sparsities == p["sparsities"] and c.seeds == p["seeds"] for c in cfgs)
    assert k_hidden_size(dict(d=1, k=4), 1) == 1                      # never below one unit


def _table(curves):
    """Planted k-sweep rows: curves = {k: (frac_filtered per S, radius per S)} for three seeds."""
    rows = []
    for k, (ff, rad) in curves.items():
        for seed in (0, 1, 2):
            for s, f, r in zip((0.0, 0.5, 0.9, 0.95), ff, rad):
                rows.append(dict(kind="linear", n=3, k=k, d=k, sparsity=s, seed=seed, frac_recovered=0.5,
                                 spectral_radius=r + 0.01 * seed, **{C.STATISTIC: f + 0.01 * seed}))
    return pd.DataFrame(rows)


def test_k_summary_every_verdict_per_k():
    t = _table({1: ((0.0, 0.0, 0.01, 0.0), (0.9, 0.9, 0.9, 0.9)),        # no change: does not hold
                2: ((0.0, 0.02, 0.5, 0.52), (1.0, 1.0, 0.8, 0.8)),         # a step and a radius drop
                3: ((0.0, 0.17, 0.34, 0.5), (1.0, 0.9, 0.8, 0.7))})         # a change without a step: mixed
    s = k_summary(t, controls_pass=True).set_index("k")
    assert s.loc[1, "t1_verdict"] == "does not hold" and s.loc[1, "t2_verdict"] == "inconclusive"
    assert s.loc[2, "t1_verdict"] == "holds" and (s.loc[2, "transition_lo"], s.loc[2, "transition_hi"]) == (0.5, 0.9)
    assert s.loc[2, "t2_verdict"] == "holds" and s.loc[2, "radius_drop"] == pytest.approx(0.2, abs=0.02)
    assert s.loc[3, "t1_verdict"] == "mixed" and s.loc[3, "n_seeds"] == 3
    assert s.loc[2, "ratio"] == pytest.approx(2 / 6)
    assert s.loc[2, "seed_mid_min"] == s.loc[2, "seed_mid_max"] == pytest.approx(0.7)   # every seed steps there
    failed = k_summary(t, controls_pass=False)
    assert set(failed["t1_verdict"]) == {"inconclusive"} and set(failed["t2_verdict"]) == {"inconclusive"}


def test_with_main_adds_the_main_k_row():
    p = dict(n=3, k=2, d=2)
    kt = _table({1: ((0, 0, 0, 0), (1, 1, 1, 1))})
    main = pd.concat([_table({2: ((0, 0, 0, 0), (1, 1, 1, 1))}).assign(d=2),
                      _table({2: ((0, 0, 0, 0), (1, 1, 1, 1))}).assign(d=6)])
    out = with_main(kt, main, p, (1, 2))
    assert sorted(out["k"].unique()) == [1, 2] and set(out[out["k"] == 2]["d"]) == {2}
    assert len(with_main(kt, main, p, (1, 3))) == len(kt)           # main k not asked for: not added
    with pytest.raises(ConfigError):
        with_main(kt, main[main["d"] == 6], p, (1, 2))               # the main rows are missing
