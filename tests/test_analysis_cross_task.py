"""wmnb.analysis.cross_task on planted tables: the per-N summary reductions and the decodability gate."""
import pandas as pd
import pytest

from wmnb.analysis.cross_task import cross_task_summary


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
