"""Tests of chapter 11's attention (wmnb.analysis.attention, wmnb.experiments.attention): a planted attention task,
parameter checks before training, and every verdict of the A1-A3 rules on planted numbers."""
import numpy as np
import pandas as pd
import pytest

from wmnb.analysis import attention as aa
from wmnb.experiments import attention as at
from wmnb.errors import ConfigError
from wmnb.models import ModelConfig
from wmnb.training import TrainConfig, train


# ---------------------------------------------------------------------------------------------------------
# planted task: four equally salient objects per image, one per quadrant; only one of them is relevant
# ---------------------------------------------------------------------------------------------------------
class PlantedBank:
    """Images with an object in every quadrant (identity codes of equal norm). The *relevant* object (whose
    identity and quadrant are the labels) sits in the top-left quadrant (``randomise=False``) or in a random
    quadrant (``randomise=True``, the control: nothing tells it apart from the distractors). Doubles as a
    stimulus set (``labels``, ``pool``) and a feature bank (``maps``, ``key``)."""

    def __init__(self, randomise: bool, n_ids: int = 4, n_images: int = 160, C: int = 16, seed: int = 0):
        rng = np.random.default_rng(seed)
        codes = rng.normal(size=(n_ids, C))
        codes /= np.linalg.norm(codes, axis=1, keepdims=True) / 3
        ids = rng.integers(0, n_ids, size=(n_images, 4))  # object identity in each quadrant
        self.loc = rng.integers(0, 4, size=n_images) if randomise else np.zeros(n_images, dtype=int)
        self.ident = ids[np.arange(n_images), self.loc]
        maps = 0.1 * rng.normal(size=(n_images, C, 7, 7))
        for i in range(n_images):
            for q in range(4):
                r0, c0 = 4 * (q // 2), 4 * (q % 2)
                maps[i, :, r0:r0 + 3, c0:c0 + 3] += codes[ids[i, q]][:, None, None]
        self.maps = maps.astype(np.float32)
        self.pooled = self.maps.mean((2, 3))
        self.hash = self.key = f"planted-{randomise}-{seed}"

    def labels(self, feature):
        return {"location": self.loc, "identity": self.ident, "category": self.ident % 2,
                "angle": np.zeros_like(self.loc)}[feature].astype(np.int64)

    def pool(self, split):
        return np.arange(len(self.loc)) if split == "train" else np.zeros(0, dtype=np.int64)


def _top_left_mass(run, bank, n_seq=200):
    from wmnb.recording import record

    rec = record(run, bank, bank, split="train", n_per_condition=n_seq, seed=1)
    return float(rec.attention[..., aa.QUADRANT_MASKS[0]].sum(-1).mean()), rec


def _planted_run(bank, tmp_path, steps):
    mc = ModelConfig(core="gru", hidden_size=32, embedding_dim=32, readout="attention", attention="task",
                     attention_dim=16, pca_channels=None)
    cfg = TrainConfig(tasks=(("identity", 1),), profile="smoke", steps=steps, batch_size=64, lr=3e-3,
                      milestones=(), eval_every=steps, n_eval_per_condition=32, checkpoint_every=steps,
                      eval_splits=("train",), seq_len=4, model=mc, device="cpu")
    return train(bank, bank, cfg, cache_dir=tmp_path, progress=False)


def test_attention_learns_the_relevant_quadrant(tmp_path):
    bank = PlantedBank(randomise=False)
    untrained, _ = _top_left_mass(_planted_run(bank, tmp_path / "u", 1), bank)
    run = _planted_run(bank, tmp_path / "t", 800)
    mass, rec = _top_left_mass(run, bank)
    acc = run.metrics.set_index("feature").loc["all", "accuracy"]
    # the positive result: most weight on the relevant quadrant, far above the untrained model (which spreads
    # it over four equally salient objects) and above uniform attention (9/49)
    assert acc > 0.8, acc
    assert mass > 0.5, (mass, untrained)
    assert untrained < 0.35 and mass > untrained + 0.2
    # the pure helpers read the same number from the recording
    maps = aa.maps_from_arrays(rec.attention, rec.feature, rec.labels["location"])
    assert aa.quadrant_mass(maps)["mass"].iloc[0] == pytest.approx(mass, abs=1e-4)


def test_attention_not_concentrated_when_quadrant_randomised(tmp_path):
    bank = PlantedBank(randomise=True)
    run = _planted_run(bank, tmp_path, 800)
    mass, _ = _top_left_mass(run, bank)
    assert mass < 0.35, mass


def test_entropy_and_masks():
    assert aa.QUADRANT_MASKS.sum(1).tolist() == [9, 9, 9, 9]
    assert not (aa.QUADRANT_MASKS.sum(0) > 1).any()
    assert aa.entropy(np.full(49, 1 / 49)) == pytest.approx(np.log(49))
    one = np.zeros(49)
    one[0] = 1
    assert aa.entropy(one) == pytest.approx(0, abs=1e-6)


def test_suppression_index_sign_and_null():
    rng = np.random.default_rng(0)
    D = 40
    rel = {"location": rng.random(D), "identity": rng.random(D), "category": rng.random(D)}
    contrast_order = np.argsort(rel["location"] - (rel["identity"] + rel["category"]) / 2)
    gates = np.full((50, D), 0.5)
    gates[:, contrast_order[:10]] = 0.1  # irrelevant channels suppressed
    res = aa.suppression_index(gates, rel, "location", n_null=30)
    assert res["index"] < -0.2 and abs(res["null_mean"]) < 0.1
    flat = aa.suppression_index(np.full((50, D), 0.5), rel, "location", n_null=30)
    assert flat["index"] == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------------------------
# parameters fail before any training
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,words", [
    (dict(readout="spatial", attention="task"), ["attention", "readout"]),
    (dict(readout="attention", attention="none"), ["attention", "none"]),
    (dict(readout="pooling"), ["readout", "pooling"]),
    (dict(readout="avgpool", gate="sigmoid"), ["gate", "sigmoid"]),
    (dict(readout="attention", attention="both"), ["attention", "both"]),
])
def test_bad_arm_combinations_fail(kwargs, words):
    with pytest.raises(ConfigError) as e:
        at.check_arm(**kwargs)
    assert all(wd in str(e.value) for wd in words), str(e.value)


@pytest.mark.parametrize("kwargs,words", [
    (dict(arms=["spatial", "avgpool", "laser"]), ["arms", "laser"]),
    (dict(arms=["spatial", "task_attention"]), ["arms", "avgpool"]),
    (dict(arms=["spatial", "avgpool", "spatial"]), ["arms", "twice"]),
    (dict(scenarios=["STSF"]), ["scenarios", "STSF"]),
    (dict(gate_readout="max"), ["gate_readout", "max"]),
    (dict(core="transformer"), ["core", "transformer"]),
])
def test_bad_chapter_parameters_fail(kwargs, words):
    with pytest.raises(ConfigError) as e:
        at.check_params(**kwargs)
    assert all(wd in str(e.value) for wd in words), str(e.value)


def test_needs_validates_before_training(monkeypatch):
    """The chapter's runs are checked when they are named, before any run trains (no training is called)."""
    calls = []
    monkeypatch.setattr("wmnb.pipeline.trained_run", lambda *a, **k: calls.append(1))
    with pytest.raises(ConfigError, match="gate_readout"):
        at.needs(dict(profile="smoke", scenarios=("MTMF",), arms=["spatial", "avgpool", "gate_dual"],
                      gate_readout="nope"))
    assert calls == []


def test_needs_default_to_the_first_attention_seeds():
    from wmnb.config import ATTENTION_SEEDS, SEEDS

    specs = at.needs(dict(profile="quick"))
    assert {s.seed for s in specs} == set(SEEDS["quick"][:ATTENTION_SEEDS])
    assert len(specs) == 2 * len(at.ARMS) * ATTENTION_SEEDS
    assert {s.arm.name for s in specs} == set(at.ARMS)


def test_arm_kwargs_put_gates_on_gate_readout():
    assert at.arm_kwargs("gate_dual") == dict(readout="avgpool", attention="none", gate="dual")
    assert at.arm_kwargs("gate_task_only", "attention") == dict(readout="attention", attention="task",
                                                                 gate="task_only")
    for a in at.ARMS:
        for gr in at.GATE_READOUTS:
            at.check_arm(**at.arm_kwargs(a, gr))  # every arm on every gate readout is a valid model


# ---------------------------------------------------------------------------------------------------------
# rules on planted numbers: every verdict each rule can return
# ---------------------------------------------------------------------------------------------------------
def _a1(att, pool, spat, ctrl=0.9, jitter=0.005):
    rows = []
    for s in ("STMF", "MTMF"):
        for seed in range(3):
            e = jitter * (seed - 1)
            rows.append(dict(scenario=s, seed=seed, attention=att + e, avgpool=pool, spatial=spat,
                             avgpool_nonlocation=ctrl, spatial_nonlocation=0.9))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("args,verdict", [
    ((0.95, 0.80, 0.80), "holds"),                 # +15 points over both baselines
    ((0.95, 0.95, 0.95), "does not hold"),         # no gain at all
    ((0.95, 0.80, 0.95), "mixed"),                 # only over the pooled baseline
    ((0.95, 0.90, 0.90), "inconclusive"),          # gains straddle the 5-point threshold
])
def test_a1_rule_verdicts(args, verdict):
    jitter = 0.02 if verdict == "inconclusive" else 0.005
    assert at.a1_rule(_a1(*args, jitter=jitter))["verdict"] == verdict


def test_a1_rule_failed_control_is_inconclusive():
    res = at.a1_rule(_a1(0.95, 0.80, 0.80, ctrl=0.5))
    assert res["verdict"] == "inconclusive" and not res["controls_pass"]


def _a2(diffs, ctrl=True, jitter=0.01):
    rows = []
    for seed in range(3):
        for m, d in diffs.items():
            rows.append(dict(arm="spatial", seed=seed, measure=m, value=0.5, controls_pass=True))
            rows.append(dict(arm="task_attention", seed=seed, measure=m, value=0.5 + d + jitter * (seed - 1),
                             controls_pass=ctrl))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("diffs,verdict,jitter", [
    ({"F1": 0.0, "F3": 0.02, "F5": -0.03}, "holds", 0.01),
    ({"F1": 0.3, "F3": -0.3, "F5": 0.4}, "does not hold", 0.01),
    ({"F1": 0.0, "F3": 0.3, "F5": 0.0}, "mixed", 0.01),
    ({"F1": 0.1, "F3": 0.0, "F5": 0.0}, "inconclusive", 0.03),
])
def test_a2_rule_verdicts(diffs, verdict, jitter):
    assert at.a2_rule(_a2(diffs, jitter=jitter))["verdict"] == verdict


def test_a2_rule_failed_control_and_missing_baseline():
    assert at.a2_rule(_a2({"F1": 0.0}, ctrl=False))["verdict"] == "inconclusive"
    with pytest.raises(ConfigError):
        at.a2_rule(_a2({"F1": 0.0}).query("arm != 'spatial'"))


def _a3(diff, base=0.9, jitter=0.002):
    return pd.DataFrame(dict(seed=[0, 1, 2], task=[base] * 3, dual=[base + diff + jitter * k for k in (-1, 0, 1)]))


@pytest.mark.parametrize("diff,verdict,jitter", [
    (0.005, "holds", 0.002),          # a marginal gain
    (0.08, "does not hold", 0.002),   # a large gain is not marginal
    (-0.08, "does not hold", 0.002),  # dual clearly worse
    (0.02, "inconclusive", 0.01),     # straddles the margin
])
def test_a3_rule_verdicts(diff, verdict, jitter):
    assert at.a3_rule(_a3(diff, jitter=jitter))["verdict"] == verdict


def test_a3_rule_control_and_single_seed():
    assert at.a3_rule(_a3(0.0, base=0.5))["verdict"] == "inconclusive"  # models at chance
    assert at.a3_rule(_a3(0.0).iloc[:1])["verdict"] == "inconclusive"  # one seed: no interval


def test_equivalence_verdict_edges():
    assert at.equivalence_verdict(-0.05, 0.05, 0.1) == "holds"
    assert at.equivalence_verdict(0.15, 0.2, 0.1) == "does not hold"
    assert at.equivalence_verdict(-0.3, -0.2, 0.1) == "does not hold"
    assert at.equivalence_verdict(0.05, 0.15, 0.1) == "inconclusive"
    assert at.equivalence_verdict(np.nan, np.nan, 0.1) == "inconclusive"


def test_claims_from_planted_accuracy_tables():
    rows = []
    for s in ("STMF", "MTMF"):
        for seed in range(3):
            for arm, base in (("avgpool", 0.80), ("spatial", 0.93), ("task_attention", 0.95),
                              ("dual_attention", 0.955), ("gate_task_only", 0.82), ("gate_dual", 0.83)):
                for f, a in (("all", base), ("location", 0.5 if "avg" in arm or "gate" in arm else base),
                             ("identity", 0.9), ("category", 0.95)):
                    rows.append(dict(scenario=s, arm=arm, seed=seed, split="novel_angle", feature=f,
                                     n=0 if f == "all" else 2, accuracy=a + 0.003 * seed, chance=0.5))
    acc = pd.DataFrame(rows)
    a1 = at.claim_A1(acc)
    assert a1["verdict"] == "mixed"  # +15 over the pooled baseline, +2 over the spatial one
    assert set(a1) >= {"claim", "verdict", "protocol", "controls", "details"} and a1["details"]["per_seed"]
    assert a1["details"]["location_share"]["mean"] > 0.5
    a3 = at.claim_A3(acc)
    assert a3["verdict"] == "holds" and a3["details"]["reference_pair_gates"]["verdict"] == "holds"
    summ = aa.accuracy_summary(acc)
    tab = at.reference_table(summ)
    assert tab.loc[("MTMF", "avgpool baseline"), "reference: train"] == "88.64"
    assert tab.loc[("MTMF", "spatial baseline"), "reference: train"] == "—"
    # three seeds, one failed: the t interval of the mean reaches past 100 %, the table cuts it there
    failed = acc.copy()
    sel = (failed.arm == "task_attention") & (failed.feature == "all")
    failed.loc[sel, "accuracy"] = np.where(failed.loc[sel, "seed"] == 0, 0.6, 0.99)
    row = at.reference_table(aa.accuracy_summary(failed)).loc[("MTMF", "task attention"), "ours: novel angle"]
    assert row.startswith("86.0 [") and row.endswith(", 100.0]"), row


def test_location_learners_tell_the_seeds_that_solved_location_from_those_that_did_not():
    rows = []
    for seed, loc in enumerate((0.99, 0.52, 0.75)):  # learned, at chance, partly
        for f, a in (("all", 0.8 + 0.1 * (loc > 0.9)), ("location", loc), ("identity", 0.9)):
            rows.append(dict(scenario="MTMF", arm="task_attention", seed=seed, split="novel_angle", feature=f,
                             n=0 if f == "all" else 1, accuracy=a, chance=0.5))
            rows.append(dict(scenario="MTMF", arm="task_attention", seed=seed, split="train", feature=f,
                             n=0 if f == "all" else 1, accuracy=1.0, chance=0.5))
    learners = aa.location_learners(pd.DataFrame(rows))
    assert list(learners.outcome) == ["learned", "at chance", "partly"]
    assert learners.location.tolist() == [0.99, 0.52, 0.75]
    summ = at.location_learner_summary(learners).loc[("MTMF", "task attention")]
    assert (summ["seeds"], summ["learned"], summ["partly"], summ["at chance"]) == (3, 1, 1, 1)
    assert summ["location accuracy per seed (%)"] == "99, 52, 75"


def test_chapter_parameters_are_known_to_the_book_wide_check():
    """checks.check validates chapter 11's own parameters like every other chapter's, naming the allowed values."""
    from wmnb import checks

    assert checks.check(arms=["avgpool", "spatial"], gate_readout="spatial") == dict(
        arms=("avgpool", "spatial"), gate_readout="spatial")
    with pytest.raises(ConfigError, match="arms.*task_attention"):
        checks.check(arms=["avgpool", "bogus"])
    with pytest.raises(ConfigError, match="gate_readout"):
        checks.check(gate_readout="conv")
