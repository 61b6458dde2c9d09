"""F1/F2 helpers on planted tables: summary reductions and the figures (they must draw, not crash)."""
import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from wmnb.figures import cross_task as ff  # noqa: E402
from wmnb.figures import relevance as fr  # noqa: E402
from wmnb.analysis.cross_task import cross_task_summary  # noqa: E402
from wmnb.errors import ConfigError  # noqa: E402
from wmnb.experiments import cross_task as xt  # noqa: E402
from wmnb.experiments import relevance as rel  # noqa: E402


def _xt_rows(val, gen, chance=0.25, n_values=(1, 2), age=0):
    rows = []
    feats = ("location", "identity", "category")
    for a in feats:
        for na in n_values:
            for b in feats:
                for nb in n_values:
                    acc = val if (a, na) == (b, nb) else (gen if a != b else (val + gen) / 2)
                    rows.append(dict(property="location", train_feature=a, train_n=na, test_feature=b, test_n=nb,
                                     same_task=(a, na) == (b, nb), same_feature=a == b, accuracy=acc, chance=chance,
                                     age=age))
    return pd.DataFrame(rows)


def test_cross_task_summary_per_n_and_decodable():
    s = cross_task_summary(_xt_rows(0.9, 0.575))
    assert list(s["n"]) == [1, 2] and s["generalisation_index"].tolist() == pytest.approx([0.5, 0.5])
    assert s["same_feature_other_n"].tolist() == pytest.approx([0.7375, 0.7375])
    pooled = cross_task_summary(_xt_rows(0.9, 0.575), per_n=False)
    assert list(pooled["n"]) == [0]
    weak = cross_task_summary(_xt_rows(0.3, 0.26))                    # validation < chance + 0.1
    assert not weak["decodable"].any() and weak["generalisation_index"].isna().all()
    assert cross_task_summary(_xt_rows(0.3, 0.26), min_gap=0.0)["decodable"].all()


def _xt_summary():
    rows = []
    for core, g in (("rnn", 0.8), ("gru", 0.3)):
        for seed in (0, 1):
            for site, ages in (("encoding", (0,)), ("memory", (1, 2))):
                for pr in (("image", "sequence") if site == "encoding" else ("image",)):
                    for v in ("raw", "centred"):
                        for a in ages:
                            for n in (1, 2, 3):
                                if a > n:
                                    continue
                                for p in ("location", "identity", "category"):
                                    rows.append(dict(seed=seed, core=core, scenario="MTMF", site=site, protocol=pr,
                                                     variant=v, age=a, n=n, property=p, validation=0.9,
                                                     generalisation=0.25 + 0.65 * g, same_feature_other_n=0.8,
                                                     chance=0.25, generalisation_index=g + 0.01 * seed,
                                                     decodable=True))
    return pd.DataFrame(rows)


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


def test_figures_draw():
    import matplotlib.pyplot as plt

    s = _xt_summary()
    for fig in (ff.gi_by_site(s), ff.memory_gi(s), ff.memory_gi(s, variant="raw")):
        assert len(fig.axes) >= 1
        plt.close(fig)
    rows = []
    for seed in (0, 1):
        for pr in ("image", "transfer", "sequence"):
            for sc in ("STSF", "MTMF"):
                for p in ("location", "identity"):
                    rows.append(dict(seed=seed, protocol=pr, scenario=sc, core="gru", property=p, relevant=False,
                                     accuracy=0.6, normalised=0.4 + 0.1 * seed, chance=0.25, n_cells=3, n_test=10))
    fig = fr.relevance_protocol_bars(pd.DataFrame(rows, columns=rel.SUMMARY_COLUMNS))
    assert len(fig.axes) == 1
    plt.close(fig)
