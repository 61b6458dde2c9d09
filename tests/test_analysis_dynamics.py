"""Planted-answer tests for memory-labelled cross-time decoding and E(i,i)->E(j,j) transfer (wmnb.analysis.dynamics),
and for the F4 equal-age test and the F5 per-step centred transfer with principal angles.

The generators draw N-back sequences from a pool of images (each image = its class code + its own code), with
match steps exactly as the tasks make them (half of the decision steps repeat the remembered value), so the
two confounds the analyses remove are present in the data:

* executive steps of an N = a task vs memory steps at the same age a in N > a tasks (decay vs realignment);
* on match trials the shown stimulus carries the remembered value (a shown-stimulus reader scores there).
"""
import numpy as np
import pytest

from test_analysis_synth import memory_recording
from wmnb.analysis.dynamics import (cross_time_decoding, encoding_transfer, equal_age_summary, executive_summary,
                                    hypothesis_verdicts, step_kind, subspace_overlap, transfer_summary)


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


def _rotation(rng, H):
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    return q * np.sign(np.diag(r))


def nback_recording(seed=0, per_n=500, T=6, H=48, C=4, imgs_per_class=12, ns=(1, 2, 3), realign=False,
                    noise=0.3, image_noise=0.3):
    """h[b, t] = sum over held stimuli i <= t of Q[age] code[img_i] + noise; items are dropped after their
    executive step (age > N). ``realign``: the code at age N (the executive step) is the encoding code."""
    rng = np.random.default_rng(seed)
    n_img = C * imgs_per_class
    img_label = np.arange(n_img) % C
    class_code = rng.normal(size=(C, H)) * 1.5
    code = class_code[img_label] + rng.normal(size=(n_img, H)) * image_noise
    Q = {0: np.eye(H), **{a: _rotation(rng, H) for a in range(1, T)}}
    rows = []
    for N in ns:
        for _ in range(per_n):
            stim = np.empty(T, dtype=int)
            for t in range(T):
                if t >= N:
                    want = img_label[stim[t - N]]
                    pool = np.flatnonzero(img_label == want) if rng.random() < 0.5 else \
                        np.flatnonzero(img_label != want)
                    stim[t] = rng.choice(pool)
                else:
                    stim[t] = rng.integers(n_img)
            rows.append((N, stim))
    B = len(rows)
    n = np.array([r[0] for r in rows])
    stimuli = np.stack([r[1] for r in rows])
    hidden = rng.normal(size=(B, T, H)) * noise
    for b in range(B):
        N = n[b]
        for t in range(T):
            for i in range(t + 1):
                a = t - i
                if a > N:
                    continue
                M = Q[0] if (realign and a == N) else Q[a]
                hidden[b, t] += M @ code[stimuli[b, i]]
    labels = {"location": img_label[stimuli] * 10 + 3}   # raw values 3, 13, 23, 33
    return dict(hidden=hidden, labels=labels, n=n, seq_id=np.arange(B), stimuli=stimuli,
                feature=np.zeros(B, dtype=int))


def _cross(r, **kw):
    return cross_time_decoding(r["hidden"], r["labels"], r["n"], r["seq_id"], stimuli=r["stimuli"],
                               feature=r["feature"], properties=("location",), positions=(0, 1, 2), ci="wilson",
                               **kw)


@pytest.fixture(scope="module")
def no_realign():
    return _cross(nback_recording(seed=0, realign=False))


@pytest.fixture(scope="module")
def realign():
    return _cross(nback_recording(seed=1, realign=True))


def test_equal_age_without_realignment_is_not_fooled_by_match_trials(no_realign):
    ea = equal_age_summary(no_realign)
    assert list(ea["age"]) == [1, 2] and list(ea["n_memory"]) == ["2,3", "3"]
    assert (ea["validation_executive"] > 0.9).all() and (ea["validation_memory"] > 0.9).all()
    # all rows: match trials let the executive side read the shown stimulus (would pass for realignment)
    assert (ea["difference_all"] > 0.15).all()
    # shown != remembered rows: executive and memory steps at equal age are alike (no realignment)
    assert (ea["difference"].abs() < 0.1).all()
    # the paper's contrast (executive vs all non-executive ages) is fooled too
    es = executive_summary(no_realign, by=["property"]).iloc[0]
    assert es["executive_minus_non_executive"] > 0.15


def test_decoder_trained_on_match_correlated_rows_fakes_realignment():
    """Without decorrelation the N = a decoder learns to read the age-a memory of stimulus i - a (same value on
    match trials) and then 'realigns' at the executive step although the network does not."""
    ea = equal_age_summary(_cross(nback_recording(seed=0, realign=False), decorrelate=False))
    assert ea.loc[ea["age"] == 1, "difference"].iloc[0] > 0.1


def test_equal_age_detects_realignment(realign):
    ea = equal_age_summary(realign)
    assert (ea["difference"] > 0.2).all()
    assert np.allclose(ea["chance"], 1 / 3)             # shown class excluded: chance 1 / (C - 1)
    assert (ea["memory"] < ea["chance"] + 0.06).all()   # rotated away at equal age in the longer task
    # the distinct-row accuracy is defined off the encoding step only
    assert realign.loc[realign["age"] == 0, "accuracy_distinct"].isna().all()
    assert (realign.loc[realign["age"] > 0, "n_distinct"] > 0).all()


def test_cross_time_image_split_vs_sequence_split_on_random_image_codes():
    """Random per-image codes (no class structure): chance under the image rule, high under the sequence split."""
    rng = np.random.default_rng(3)
    n_img, B, T, H = 120, 900, 3, 40
    lab = rng.integers(0, 4, n_img)
    code = rng.normal(size=(n_img, H)) * 2.0
    stim = rng.integers(0, n_img, (B, T))
    hidden = code[stim] + rng.normal(size=(B, T, H)) * 0.1
    kw = dict(stimuli=stim, properties=("location",), positions=(0,), ci="wilson")
    args = (hidden, {"location": lab[stim]}, np.full(B, 1), np.arange(B))
    img = cross_time_decoding(*args, protocol="image", **kw)
    seq = cross_time_decoding(*args, protocol="sequence", **kw)
    v_img = img.loc[img["kind"] == "encoding", "accuracy"].iloc[0]
    v_seq = seq.loc[seq["kind"] == "encoding", "accuracy"].iloc[0]
    assert v_img < 0.4 and v_seq > 0.8
    assert set(img["protocol"]) == {"image-disjoint"} and set(seq["protocol"]) == {"paper-style (images may repeat)"}


def encoding_recording(seed=0, B=900, T=4, H=40, C=4, k=3, shared=True, offset=0.0, n_img=80, noise=0.3):
    """h[b, t] = P_t code[label of stim t] + offset_t + noise, with P_t = P (shared) or independent per step."""
    rng = np.random.default_rng(seed)
    img_label = np.arange(n_img) % C
    class_code = rng.normal(size=(C, k)) * 2.0
    code = class_code[img_label] + rng.normal(size=(n_img, k)) * 0.2
    P0 = np.linalg.qr(rng.normal(size=(H, k)))[0]
    P = [P0 if shared else np.linalg.qr(rng.normal(size=(H, k)))[0] for _ in range(T)]
    off = [rng.normal(size=H) * offset for _ in range(T)]
    stim = rng.integers(0, n_img, (B, T))
    hidden = rng.normal(size=(B, T, H)) * noise
    for t in range(T):
        hidden[:, t] += code[stim[:, t]] @ P[t].T + off[t]
    return dict(hidden=hidden, labels={"location": img_label[stim]}, n=np.full(B, 2), seq_id=np.arange(B),
                stimuli=stim)


def _transfer(r, **kw):
    return encoding_transfer(r["hidden"], r["labels"], r["n"], r["seq_id"], stimuli=r["stimuli"],
                             properties=("location",), ci="wilson", **kw)


def test_shared_subspace_with_offsets_generalises_after_centring():
    r = encoding_recording(seed=0, shared=True, offset=4.0)
    tab = _transfer(r)
    s = transfer_summary(tab).iloc[0]
    assert s["validation"] > 0.9 and s["validation_centred"] > 0.9
    assert s["generalisation"] < 0.7                      # the offsets alone break the raw transfer
    assert s["generalisation_centred"] > 0.9              # ... and centring restores it
    assert s["overlap_relative"] > 0.7 and s["mean_angle_deg"] < 40
    assert s["overlap"] > 5 * s["overlap_null"]
    assert set(tab["protocol"]) == {"image-disjoint"} and (tab["n"] == 2).all()


def test_independent_subspaces_neither_generalise_nor_align():
    r = encoding_recording(seed=1, shared=False, offset=0.0)
    s = transfer_summary(_transfer(r)).iloc[0]
    assert s["validation_centred"] > 0.9
    assert s["generalisation"] < 0.45 and s["generalisation_centred"] < 0.45
    assert s["overlap_relative"] < 0.3 and s["mean_angle_deg"] > 60
    assert s["overlap_ceiling"] > 3 * s["overlap_null"]     # two halves of one step agree well above the null


def test_step0_reported_apart_and_per_n():
    r = encoding_recording(seed=2, shared=True)
    r["n"] = np.where(np.arange(len(r["n"])) % 2 == 0, 1, 2)
    tab = _transfer(r, angles=False)
    assert set(tab["n"]) == {1, 2}                        # never pooled unless asked
    s = transfer_summary(tab)
    assert {"step0_validation", "step0_generalisation"} <= set(s.columns)
    assert s["overlap"].isna().all()
    pooled = _transfer(r, angles=False, by_n=False)
    assert set(pooled["n"]) == {0}


def test_subspace_overlap_limits():
    rng = np.random.default_rng(0)
    A = np.linalg.qr(rng.normal(size=(30, 3)))[0]
    assert subspace_overlap(A, A)[0] == pytest.approx(1.0)
    assert subspace_overlap(A, A @ _rotation(rng, 3))[0] == pytest.approx(1.0)
    B = np.linalg.qr(np.hstack([A, rng.normal(size=(30, 3))]))[0][:, 3:]
    assert subspace_overlap(A, B)[0] == pytest.approx(0.0, abs=1e-10)
