"""Chapter 15's arms and its factor table: which factor moves which verdict (wmnb.experiments.ablation)."""
from __future__ import annotations

import dataclasses

import pytest

from wmnb.errors import ConfigError
from wmnb.experiments import ablation
from wmnb.runs import DEFAULT_ARM, RunSpec


def _rec(claim, verdict, value=0.1, lo=0.05, hi=0.15, **details):
    return dict(claim=claim, verdict=verdict, value=value, ci_low=lo, ci_high=hi, details=details)


def _planted():
    """The readout arm flips F2 (does not hold -> holds); no arm changes F3; identities loses F9's evidence."""
    return {
        "default": [_rec("F2", "does not hold", -0.2, -0.3, -0.1), _rec("F3", "holds"), _rec("F9", "holds")],
        "only readout": [_rec("F2", "holds", 0.2, 0.1, 0.3), _rec("F3", "holds"), _rec("F9", "holds")],
        "only identities": [_rec("F2", "does not hold", -0.2, -0.3, -0.1), _rec("F3", "holds"),
                            _rec("F9", "inconclusive", 0.0, -0.1, 0.1)],
    }


def test_the_factor_table_names_the_factor_that_flips_a_verdict():
    table = ablation.verdict_table(_planted())
    f = ablation.flips(table)
    assert set(map(tuple, f[["arm", "claim"]].values)) == {("only readout", "F2"), ("only identities", "F9")}
    row = f[f.claim == "F2"].iloc[0]
    assert (row["from"], row["to"]) == ("does not hold", "holds")
    # a reversal crosses the threshold; losing the evidence to decide is not one
    assert list(ablation.reversals(table).arm) == ["only readout"]
    text = ablation.flips_markdown(table)
    assert "**F2** (default: *does not hold*): only readout → *holds* (reversal)" in text
    assert "**F3** (default: *holds*): no arm changes it" in text
    assert "only identities → *inconclusive* (evidence)" in text


def test_no_flip_when_every_arm_agrees():
    same = {"default": [_rec("F2", "holds")], "only readout": [_rec("F2", "holds")]}
    table = ablation.verdict_table(same)
    assert ablation.flips(table).empty and not table.changed.any()
    with pytest.raises(ConfigError, match="reference='paper'"):
        ablation.verdict_table(same, reference="paper")


def test_at_the_margin_only_when_an_interval_end_is_next_to_the_threshold():
    assert ablation.at_margin(_rec("F9", "holds", 0.5, 0.101, 0.9, threshold=0.1))     # lo 0.001 above 0.1
    assert not ablation.at_margin(_rec("F9", "holds", 0.5, 0.3, 0.9, threshold=0.1))   # far from it
    assert ablation.at_margin(_rec("F9", "does not hold", -0.5, -0.9, -0.02), threshold=0.0)
    assert not ablation.at_margin(_rec("F9", "inconclusive", 0.0, -0.1, 0.1, threshold=0.0))  # nothing decided
    assert not ablation.at_margin(_rec("F9", "holds", 0.5, float("nan"), float("nan"), threshold=0.0))
    assert not ablation.at_margin(_rec("F2", "holds", 0.5, 0.001, 0.9))                # states no threshold
    # a decided part next to the threshold (F5's per-N parts) puts the whole record at the margin
    part = dict(value=0.05, ci_low=0.0, ci_high=0.099, verdict="holds")
    assert ablation.at_margin(_rec("F5", "mixed", 0.2, 0.0, 0.4, threshold=0.1, per_n={"1": part}))


def test_a_factor_arm_changes_only_its_factor_and_the_paper_arm_takes_all_but_the_control():
    base = dataclasses.asdict(RunSpec("MTMF", "gru", 0).config("quick"))
    for f in ablation.factors("quick"):
        arm = ablation.factor_arm(f)
        cfg = dataclasses.asdict(RunSpec("MTMF", "gru", 0, arm=arm).config("quick"))
        changed = {k for k in cfg if cfg[k] != base[k]} | {f"model.{k}" for k in cfg["model"]
                                                            if cfg["model"][k] != base["model"][k]}
        expected = {f"model.{k}" for k, _ in f.model} | {k for k, _ in f.train}
        if f.model:
            expected |= {"model", "model.gate_hidden"}  # the (unused) gate width follows the embedding
        # a model field asked for may resolve to the default's value (e.g. embedding None -> hidden size)
        assert changed <= expected and (changed or f.world), f.name
        assert dict(arm.world) == dict(f.world)
    paper = ablation.paper_arm("quick")
    assert dict(paper.model)["readout"] == "avgpool" and dict(paper.train)["batch_size"] == 256
    assert "backbone" not in dict(paper.world)  # the untrained ResNet50 is a control, not the paper's value
    assert ablation.describe("hidden", "quick", paper) == ablation.describe("hidden", "quick", DEFAULT_ARM)


def test_the_settings_table_is_read_from_the_resolved_configs():
    t = ablation.settings_table("quick").set_index("factor")
    assert t.loc["readout", "book default"].startswith("spatial")
    assert t.loc["readout", "paper-faithful arm"].startswith("avgpool (all channels)")
    assert t.loc["identities", "book default"] == "K = 12" and t.loc["identities", "factor arm"] == "K = 3"
    assert t.loc["backbone", "factor arm"] == "random"
    assert t.loc["backbone", "paper-faithful arm"] == t.loc["backbone", "book default"]


def test_factor_arms_need_no_single_task_runs_and_the_paper_arm_needs_f1s():
    factor_specs = ablation.needs(dict(profile="quick", factors=["readout"]))
    paper = ablation.paper_arm("quick")
    by_arm = {}
    for s in factor_specs:
        by_arm.setdefault(s.arm.name, set()).add((s.scenario, s.core))
    assert by_arm["only readout"] == {("MTMF", "rnn"), ("MTMF", "gru")}
    assert ("STSF", "gru") in by_arm[ablation.PAPER] and ("MTMF", "lstm") in by_arm[ablation.PAPER]
    assert {s.seed for s in factor_specs if s.arm.name == "only readout"} == {0, 1, 2}  # quick's factor_seeds
    assert {s.seed for s in factor_specs if s.arm.name == ablation.PAPER} == {0, 1, 2, 3, 4}
    assert all(s.arm == paper for s in ablation.paper_needs(dict(profile="quick")))
    assert ablation.paper_needs(dict(profile="quick", paper_arm=False)) == []


@pytest.mark.parametrize("bad", ["readout", [], ["readout", "readout"], ["colour"]])
def test_bad_factors_are_refused_naming_the_allowed_ones(bad):
    with pytest.raises(ConfigError, match="factors=.*readout"):
        ablation.check_factors(bad)
