"""Planted-answer tests for task_relevance and cross_task."""
import numpy as np

from wmnb.analysis.cross_task import cross_task, cross_task_matrix, cross_task_summary
from wmnb.analysis.task_relevance import relevance_summary, task_relevance

N_VALUES = {"location": 4, "identity": 8, "category": 4}


def _recording(seed=0, per_task=120, T=3, H=24, mode="shared", relevant_only=False):
    rng = np.random.default_rng(seed)
    feature = np.repeat(np.arange(3), 3 * per_task)
    n = np.tile(np.repeat([1, 2, 3], per_task), 3)
    B = feature.size
    labels = {p: rng.integers(0, k, (B, T)) for p, k in N_VALUES.items()}
    hidden = rng.normal(size=(B, T, H)) * 0.5
    shared = {p: rng.normal(size=(k, H)) * 2 for p, k in N_VALUES.items()}
    for b in range(B):
        for pi, p in enumerate(N_VALUES):
            if relevant_only and pi != feature[b]:
                continue
            code = shared[p] if mode == "shared" else None
            if code is None:  # task-specific: a code matrix per (feature, n), same for all sequences of a task
                trng = np.random.default_rng(1000 + 10 * feature[b] + n[b] + 100 * pi)
                code = trng.normal(size=(N_VALUES[p], H)) * 2
            hidden[b] += code[labels[p][b]]
    return hidden, labels, feature, n, np.arange(B) + 500


def test_task_relevance_relevant_vs_irrelevant():
    hidden, labels, feature, n, seq = _recording(relevant_only=True)
    tab = task_relevance(hidden, labels, feature, n, seq)
    assert len(tab) == 27 and set(tab["n"]) == {1, 2, 3}
    rel = tab[tab["relevant"]]
    irr = tab[~tab["relevant"]]
    assert (rel["accuracy"] > 0.9).all()
    assert (irr["accuracy"] < irr["chance"] + 0.25).all()
    assert (tab["n_test"] == 24).all() and (tab["n_train"] == 96).all()
    summ = relevance_summary(tab)
    assert (summ["relevant_accuracy"] > summ["irrelevant_mean"] + 0.4).all()
    pooled = task_relevance(hidden, labels, feature, n, seq, by_n=False, step=1)
    assert set(pooled["n"]) == {0} and len(pooled) == 9 and (pooled["step"] == 1).all()


def test_cross_task_shared_vs_specific():
    h, lab, f, n, seq = _recording(mode="shared")
    shared = cross_task(h, lab, f, n, seq, properties=("location",))
    assert len(shared) == 81
    s = cross_task_summary(shared).iloc[0]
    assert s["validation"] > 0.9 and s["generalisation"] > 0.9 and s["generalisation_index"] > 0.85

    h, lab, f, n, seq = _recording(mode="specific")
    spec = cross_task(h, lab, f, n, seq, properties=("location",))
    s = cross_task_summary(spec).iloc[0]
    assert s["validation"] > 0.9
    assert s["generalisation"] < 0.5 and s["generalisation_index"] < 0.3
    m = cross_task_matrix(spec, "location")
    assert m.shape == (9, 9) and m.index[0] == "1-back location"
    assert np.all(np.diag(m.to_numpy()) > 0.9)
