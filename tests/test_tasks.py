"""Behavioural tests of the N-back generator (wmnb.tasks) against brute-force recomputation."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from wmnb.errors import ConfigError
from wmnb.tasks import (FEATURES, MATCH, NO_ACTION, NON_MATCH, RESPONSES, Condition, NBackTrials,
                        TrialStream, encode_task, generate_trials, scenario_conditions)


def synthetic_labels(K=5, n_angles=4):
    """Labels laid out like a StimulusSet: category x identity x angle x location."""
    n = 4 * K * n_angles * 4
    idx = np.arange(n)
    loc = idx % 4
    ang = (idx // 4) % n_angles
    ident = idx // (4 * n_angles)            # global identity = category * K + k
    cat = ident // K
    return {"location": loc, "identity": ident, "category": cat, "angle": ang}


@pytest.fixture(scope="module")
def labels():
    return synthetic_labels()


@pytest.fixture(scope="module")
def pool(labels):
    # a "training" pool: first 3 identities per category, angles 0..2 (like the paper's split)
    K = 5
    keep = (labels["angle"] < 3) & (labels["identity"] % K < 3)
    return np.flatnonzero(keep)


@pytest.fixture(scope="module")
def trials(labels, pool):
    return generate_trials(labels, pool, "MTMF", 200, seed=1)


# ------------------------------------------------------------------------------------ constants / API
def test_response_codes_index_their_names():
    assert RESPONSES[NO_ACTION] == "no_action" and RESPONSES[NON_MATCH] == "non_match" and RESPONSES[MATCH] == "match"


def test_scenarios():
    assert scenario_conditions("STSF") == (Condition("category", 2),)
    assert scenario_conditions("STSF", "location") == (Condition("location", 2),)
    assert scenario_conditions("STMF") == tuple(Condition(f, 2) for f in FEATURES)
    mtmf = scenario_conditions("MTMF")
    assert len(mtmf) == 9 and len(set(mtmf)) == 9
    assert {c.n for c in mtmf} == {1, 2, 3} and {c.feature for c in mtmf} == set(FEATURES)


def test_condition_is_frozen_and_validated():
    c = Condition("identity", 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.n = 2
    assert c.feature_index == 1 and c.name == "identity 3-back"


# ----------------------------------------------------------------------------------- brute force
def test_targets_memory_mask_taskvector_brute_force(trials, labels):
    B, T = trials.stimuli.shape
    assert trials.stimuli.dtype == np.int64 and trials.targets.dtype == np.int64
    assert trials.memory.dtype == np.int64 and trials.executive.dtype == bool
    assert trials.task_vector.dtype == np.float32 and trials.task_vector.shape == (B, 6)
    for b in range(B):
        f = FEATURES[trials.feature[b]]
        n = int(trials.n[b])
        cond = trials.conditions[trials.condition_index[b]]
        assert (cond.feature, cond.n) == (f, n)
        tv = [0.0] * 6
        tv[FEATURES.index(f)] = 1.0
        tv[3 + n - 1] = 1.0
        assert trials.task_vector[b].tolist() == tv
        for t in range(T):
            s = int(trials.stimuli[b, t])
            if t < n:
                expected, mem, ex = NO_ACTION, -1, False
            else:
                ref = int(trials.stimuli[b, t - n])
                expected = MATCH if labels[f][s] == labels[f][ref] else NON_MATCH
                mem, ex = ref, True
            assert trials.targets[b, t] == expected, (b, t)
            assert trials.memory[b, t] == mem
            assert trials.executive[b, t] == ex


def test_encode_task():
    tv = encode_task(np.array([0, 2]), np.array([3, 1]))
    assert tv.tolist() == [[1, 0, 0, 0, 0, 1], [0, 0, 1, 1, 0, 0]]


def test_stratification_exact(trials):
    counts = np.bincount(trials.condition_index, minlength=9)
    assert counts.tolist() == [200] * 9
    assert len(trials) == 1800
    # shuffled, not blocked
    assert not np.all(np.diff(trials.condition_index) >= 0)
    assert np.array_equal(trials.seq_id, np.arange(1800))


def test_sample_batch_stratified(labels, pool):
    stream = TrialStream(labels, pool, "MTMF")
    rng = np.random.default_rng(0)
    b = stream.sample_batch(rng, 32)
    counts = np.bincount(b.condition_index, minlength=9)
    assert counts.sum() == 32 and counts.min() == 3 and counts.max() == 4
    b2 = stream.sample_batch(rng, 32)
    assert not np.array_equal(b.stimuli, b2.stimuli)   # fresh each step


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_match_rate_binomial_ci(labels, pool, p):
    tr = generate_trials(labels, pool, "MTMF", 500, seed=3, p_match=p)
    for ci in range(9):
        sel = tr.condition_index == ci
        ex = tr.executive[sel]
        k = int((tr.targets[sel][ex] == MATCH).sum())
        n = int(ex.sum())
        # two-sided test at alpha = 1e-4 per condition (false failure rate < 1e-3 overall)
        assert stats.binomtest(k, n, p).pvalue > 1e-4, (ci, k / n)


def test_match_sampling_uniform_within_value(labels, pool):
    """A match on category picks uniformly among that category's pool images (not just any one)."""
    tr = generate_trials(labels, pool, [("category", 1)], 4000, seed=5)
    ex = (tr.targets == MATCH)
    picked = tr.stimuli[ex]
    counts = np.bincount(picked, minlength=labels["category"].size)[pool]
    # each pool image is equally likely overall (the reference is uniform too)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_determinism(labels, pool):
    a = generate_trials(labels, pool, "MTMF", 50, seed=7)
    b = generate_trials(labels, pool, "MTMF", 50, seed=7)
    c = generate_trials(labels, pool, "MTMF", 50, seed=8)
    for name in NBackTrials._ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.stimuli, c.stimuli)
    s1 = TrialStream(labels, pool, "STMF").sample_batch(np.random.default_rng(2), 30)
    s2 = TrialStream(labels, pool, "STMF").sample_batch(np.random.default_rng(2), 30)
    assert np.array_equal(s1.stimuli, s2.stimuli) and np.array_equal(s1.targets, s2.targets)


def test_distractors_only_from_pool(trials, pool, labels):
    assert np.isin(trials.stimuli, pool).all()
    other = np.setdiff1d(np.arange(labels["location"].size), pool)
    tr = generate_trials(labels, other, "MTMF", 100, seed=0, split="novel")
    assert np.isin(tr.stimuli, other).all()


def test_avoid_identical_match(labels, pool):
    tr = generate_trials(labels, pool, "MTMF", 300, seed=0)
    assert (tr.stimuli == tr.memory).any()           # default allows identical repeats
    tr = generate_trials(labels, pool, "MTMF", 300, seed=0, avoid_identical_match=True)
    assert not (tr.stimuli == tr.memory).any()
    m = tr.targets == MATCH
    for f in FEATURES:
        fi = FEATURES.index(f)
        sel = (tr.feature == fi)[:, None] & m
        assert np.all(labels[f][tr.stimuli[sel]] == labels[f][tr.memory[sel]])


def test_stsf_and_seq_len(labels, pool):
    tr = generate_trials(labels, pool, scenario_conditions("STSF", "location"), 20, seed=0, seq_len=9)
    assert tr.stimuli.shape == (20, 9) and set(tr.feature.tolist()) == {0} and set(tr.n.tolist()) == {2}
    assert tr.executive.sum(axis=1).tolist() == [7] * 20


# ------------------------------------------------------------------------------------------ helpers
def test_subset_concat_frame_balance(trials, labels):
    sub = trials.subset(trials.condition_index == 4)
    assert len(sub) == 200 and set(sub.condition_index.tolist()) == {4}
    assert sub.subset(slice(0, 10)).seq_id.tolist() == sub.seq_id[:10].tolist()
    cat = NBackTrials.concat([sub, trials.subset(np.arange(5))])
    assert len(cat) == 205 and np.unique(cat.seq_id).size == 205
    other = generate_trials(labels, np.arange(0, 320, 3), "STMF", 4, seed=0)
    both = NBackTrials.concat([trials, other])
    assert len(both.conditions) == 9 and np.unique(both.seq_id).size == len(both)
    for b in range(len(both)):
        c = both.conditions[both.condition_index[b]]
        assert (c.feature_index, c.n) == (both.feature[b], both.n[b])
    df = trials.subset(np.arange(3)).to_frame()
    assert len(df) == 18 and {"seq", "t", "stimulus", "target", "feature", "n", "location"} <= set(df)
    assert (df["location"].to_numpy() == labels["location"][df["stimulus"].to_numpy()]).all()
    bt = trials.balance_table()
    assert len(bt) == 9 and (bt["sequences"] == 200).all()
    assert np.allclose(bt["match_rate"], [bt.loc[i, f"same_{bt.loc[i, 'feature']}"] for i in bt.index])
    assert np.allclose(bt["p_no_action"], bt["n"] / 6)
    # chance levels: about 0.5 masked, 0.58 / 0.67 / 0.75 unmasked for N = 1, 2, 3
    assert np.all(np.abs(bt["chance_masked"] - 0.5) < 0.06)
    assert abs(bt["chance_unmasked"].mean() - 2 / 3) < 0.03


# ------------------------------------------------------------------------------------------- errors
def _fails_fast(fn, *words):
    with pytest.raises(ConfigError) as e:
        fn()
    msg = str(e.value)
    for w in words:
        assert w in msg, msg
    return msg


def test_bad_parameters(labels, pool):
    _fails_fast(lambda: scenario_conditions("XYZ"), "XYZ", "STSF", "MTMF")
    _fails_fast(lambda: scenario_conditions("MTMF", "category"), "STSF")
    _fails_fast(lambda: Condition("colour", 1), "colour", "location")
    _fails_fast(lambda: Condition("location", 0), "n=0")
    _fails_fast(lambda: Condition("location", 4), "n=4")
    _fails_fast(lambda: generate_trials(labels, pool, [("location", 3)], 2, 0, seq_len=3), "seq_len=3", ">= 4")
    for p in (0.0, 1.0, -0.1, 1.5):
        _fails_fast(lambda: generate_trials(labels, pool, "MTMF", 2, 0, p_match=p), "p_match", "(0.0, 1.0)")
    _fails_fast(lambda: generate_trials(labels, np.array([], dtype=int), "MTMF", 2, 0, split="train"),
                "pool", "train", "empty")
    one_cat = np.flatnonzero(labels["category"] == 0)
    _fails_fast(lambda: generate_trials(labels, one_cat, "MTMF", 2, 0, split="novel_both"),
                "'category'", "novel_both", "2 values")
    # a feature with one value is fine if no condition uses it
    assert len(generate_trials(labels, one_cat, [("location", 1)], 2, 0)) == 2
    _fails_fast(lambda: generate_trials(labels, pool, "MTMF", 0, 0), "n_per_condition")
    _fails_fast(lambda: generate_trials(labels, np.array([0, 10**6]), "MTMF", 2, 0), "outside")
    _fails_fast(lambda: generate_trials(labels, pool, [], 2, 0), "conditions")
    _fails_fast(lambda: generate_trials(labels, pool, [("location", 1)] * 2, 2, 0), "duplicates")
    single = np.flatnonzero((labels["angle"] == 0) & (labels["location"] == 0))
    _fails_fast(lambda: generate_trials(labels, single, [("identity", 1)], 2, 0, avoid_identical_match=True),
                "avoid_identical_match", "identity")
