"""Planted-answer tests for memory-labelled cross-time decoding and E(i,i)->E(j,j) transfer."""
import numpy as np

from test_analysis_synth import memory_recording
from wmnb.analysis.dynamics import (cross_time_decoding, encoding_transfer, executive_summary,
                                    hypothesis_verdicts, step_kind, transfer_summary)


def test_step_kinds():
    assert [step_kind(1, j, 2) for j in range(1, 5)] == ["encoding", "memory", "executive", "after"]


def test_rotating_memory_drops_then_realigns_at_executive_step():
    r = memory_recording(seed=0, realign=True, n=2)
    tab = cross_time_decoding(r["hidden"], r["labels"], r["n"], r["seq_id"], feature=r["feature"],
                              properties=("location",))
    assert set(tab["kind"]) == {"encoding", "memory", "executive", "after"}
    s = executive_summary(tab).iloc[0]
    assert s["validation"] > 0.7        # < 1: the item at age 2 shares the encoding subspace (interference)
    assert s["memory"] < 0.45          # rotated away at age 1: near chance (0.25)
    assert s["executive"] > s["non_executive"] + 0.2
    # labels are the remembered stimulus: E(0,0) decoder at the executive step reads stimulus 0, not 2
    row = tab[(tab.stim == 0) & (tab.step == 2)].iloc[0]
    assert row["kind"] == "executive" and row["accuracy"] > 0.45
    assert (abs(tab["n_test"] - 180) <= 3).all() and (tab["chance"] == 0.25).all()   # image split: ~20 %
    assert set(tab["protocol"]) == {"image-disjoint"}


def test_encoding_transfer_shared_vs_position_specific():
    shared = memory_recording(seed=1, T=3)
    t1 = encoding_transfer(shared["hidden"], shared["labels"], shared["n"], shared["seq_id"],
                           properties=("location",))
    s1 = transfer_summary(t1).iloc[0]
    assert s1["validation"] > 0.9 and s1["generalisation"] > 0.85

    spec = memory_recording(seed=2, T=3, per_stimulus=True)
    # make the encoding code itself position-specific
    rng = np.random.default_rng(5)
    H = spec["hidden"].shape[2]
    for t in range(1, 3):
        q, _ = np.linalg.qr(rng.normal(size=(H, H)))
        spec["hidden"][:, t] = spec["hidden"][:, t] @ q.T
    t2 = encoding_transfer(spec["hidden"], spec["labels"], spec["n"], spec["seq_id"], properties=("location",))
    s2 = transfer_summary(t2).iloc[0]
    assert s2["validation"] > 0.85 and s2["generalisation"] < 0.45

    ct = cross_time_decoding(shared["hidden"], shared["labels"], shared["n"], shared["seq_id"],
                             properties=("location",))
    v = hypothesis_verdicts(ct, t1).set_index("test")
    assert v.loc["H1 slot", "verdict"] == "rejected"
    assert v.loc["F5 shared encoding", "verdict"].startswith("shared")
    v2 = hypothesis_verdicts(ct, t2).set_index("test")
    assert v2.loc["F5 shared encoding", "verdict"].startswith("position-specific")
